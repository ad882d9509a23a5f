"""LiveSocket: the JSON messages a live server receives (by a plain UDP listener), the
internal DataPullSocket, the settings default."""

from __future__ import annotations

import inspect
import json
import socket
import time
from pathlib import Path

import pytest

from PyExpLabSys.common.sockets import LiveSocket
from PyExpLabSys.settings import Settings

from .udp_client import Client, LiveServer

NAME = "dummy_live_socket"
HOSTNAME = socket.gethostname()


def test_signature_is_upstreams() -> None:
    params = inspect.signature(LiveSocket).parameters
    assert list(params) == [
        "name",
        "codenames",
        "live_server",
        "no_internal_data_pull_socket",
        "internal_data_pull_socket_port",
    ]
    assert params["live_server"].default is None
    assert params["no_internal_data_pull_socket"].default is False
    assert params["internal_data_pull_socket_port"].default == 8000


def test_messages_byte_for_byte(live_server: LiveServer) -> None:
    live = LiveSocket(NAME, ["sine_one", "sine_two"], ("127.0.0.1", live_server.port), True)
    live.start()
    live.set_point("sine_one", (1414150015.5, 0.25))
    live.set_batch({"sine_one": (1.0, 2.0), "sine_two": [1.0, "on"]})
    live.reset(["sine_two"])
    live.stop()
    raw = live_server.wait_for(lambda m: len(m) == 3) and live_server.raw
    assert raw == [
        f'{{"host": "{HOSTNAME}", "data": {{"sine_one": [1414150015.5, 0.25]}}}}'.encode(),
        f'{{"host": "{HOSTNAME}", "data": {{"sine_one": [1.0, 2.0], "sine_two": [1.0, "on"]}}}}'.encode(),
        f'{{"host": "{HOSTNAME}", "data": {{"sine_two": "RESET"}}}}'.encode(),
    ]
    assert live.stats == {"sent": 3, "failed": 0}


def test_now_methods_stamp_the_time(live_server: LiveServer) -> None:
    live = LiveSocket(
        NAME, ["a", "b"], live_server=("127.0.0.1", live_server.port), no_internal_data_pull_socket=True
    )
    before = time.time()
    live.set_point_now("a", 47.0)
    live.set_batch_now({"a": 1, "b": True})
    messages = live_server.wait_for(lambda m: len(m) == 2)
    ((x, y),) = messages[0]["data"].values()
    assert before <= x <= time.time() and y == 47.0
    batch = messages[1]["data"]
    assert batch["a"][0] == batch["b"][0] and batch["a"][1] == 1 and batch["b"][1] is True


def test_unregistered_codename_is_an_error_at_the_call(live_server: LiveServer) -> None:
    live = LiveSocket(NAME, ["a"], ("127.0.0.1", live_server.port), no_internal_data_pull_socket=True)
    with pytest.raises(RuntimeError, match="The codename: 'b' is not registered"):
        live.set_point_now("b", 1.0)
    assert live.stats["sent"] == 0


def test_internal_pull_socket_serves_the_points(live_server: LiveServer, client: Client) -> None:
    live = LiveSocket(NAME, ["a", "b"], ("127.0.0.1", live_server.port), internal_data_pull_socket_port=0)
    live.start()
    try:
        port = live.internal_port
        assert port
        live.set_point("a", (10.0, 1.5))
        live.reset(["a"])  # a reset goes to the live server only
        assert client.ask(port, "name") == NAME.encode()
        assert client.ask(port, "raw_wn") == b"a:10.0,1.5;b:0.0,0.0"
        status = client.json(port, "status")["socket_server_status"][str(port)]
        assert status["type"] == "data" and status["status"] == "OK"
    finally:
        live.stop()


def test_live_server_from_the_user_settings(live_server: LiveServer, settings_home: Path) -> None:
    with pytest.raises(ValueError, match="common_liveserver_host and common_liveserver_port"):
        LiveSocket(NAME, ["a"], no_internal_data_pull_socket=True)
    settings_home.write_text(
        f"common_liveserver_host: 127.0.0.1\ncommon_liveserver_port: {live_server.port}\n"
    )
    Settings.load()  # the settings file is read once per process, as upstream's Settings does
    live = LiveSocket(NAME, ["a"], no_internal_data_pull_socket=True)
    live.set_point("a", (1.0, 2.0))
    assert live_server.wait_for(lambda m: len(m) == 1)[0] == {"host": HOSTNAME, "data": {"a": [1.0, 2.0]}}


def test_live_server_a_script_assigned_to_the_settings(live_server: LiveServer, settings_home: Path) -> None:
    settings = Settings()
    settings.common_liveserver_host = "127.0.0.1"
    settings.common_liveserver_port = live_server.port
    live = LiveSocket(NAME, ["a"], no_internal_data_pull_socket=True)
    live.set_point("a", (1.0, 2.0))
    assert live_server.wait_for(lambda m: len(m) == 1)[0] == {"host": HOSTNAME, "data": {"a": [1.0, 2.0]}}


def test_a_failed_send_is_counted_not_raised(live_server: LiveServer) -> None:
    live = LiveSocket(NAME, ["a"], ("127.0.0.1", live_server.port), no_internal_data_pull_socket=True)
    live.set_point("a", (1.0, "x" * 70_000))  # longer than any UDP datagram
    live.set_point("a", (2.0, 3.0))
    assert live_server.wait_for(lambda m: len(m) == 1) == [{"host": HOSTNAME, "data": {"a": [2.0, 3.0]}}]
    assert live.stats == {"sent": 1, "failed": 1}


def test_a_value_json_cannot_carry_is_an_error_at_the_call(live_server: LiveServer) -> None:
    live = LiveSocket(NAME, ["a"], ("127.0.0.1", live_server.port), no_internal_data_pull_socket=True)
    with pytest.raises(TypeError):
        live.set_point("a", (1.0, object()))
    numpy = pytest.importorskip("numpy")
    live.set_point("a", (numpy.float64(1.0), numpy.float32(0.5)))
    assert json.loads(live_server.wait_for(lambda m: len(m) == 1) and live_server.raw[0])["data"] == {
        "a": [1.0, 0.5]
    }


def test_unknown_live_server_host_fails_at_construction() -> None:
    with pytest.raises(socket.gaierror):
        LiveSocket(NAME, ["a"], ("no-such-host.invalid", 9767), no_internal_data_pull_socket=True)
