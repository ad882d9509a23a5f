"""The service's UDP sockets for other PCs: ``[service] pull_socket`` read by an
independent UDP client (json_wn, codename#json, OLD_DATA after a time-out) for channels
and client codenames, ``[service] live_server`` messages received by a UDP listener,
both shown in status.json and on the page."""

from __future__ import annotations

import json
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.common.sockets import DATA
from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts
from PyExpLabSys.service.cli import format_status
from PyExpLabSys.service.config import ConfigError, parse_config
from PyExpLabSys.service.runner import Service
from PyExpLabSys.service.udp_feed import pull_timeouts
from PyExpLabSys.testing.plugin import MockDatabase

from ..sockets.udp_client import Client, LiveServer
from .conftest import wait_until

CLIENT_CODENAMES = ["script_a", "script_b"]
CONFIG = """
[database]
path = "unused.sqlite"
table = "dateplots_udp"
[spool]
path = "spool.sqlite"
group_commit_interval = 0.05
[service]
state_directory = "state"
status_interval = 0.2
socket = "points.sock"
client_codenames = ["script_a", "script_b"]
{udp}
[[instruments]]
name = "bath"
driver = "polyscience"
port = "sim://"
[[instruments.channels]]
codename = "bath_temperature"
interval = 0.1
"""


def config_of(tmp_path: Path, udp: str) -> Any:
    return parse_config(tomllib.loads(CONFIG.format(udp=udp)), tmp_path / "udp.toml")


@pytest.fixture
def client() -> Any:
    udp = Client()
    yield udp
    udp.close()


@pytest.fixture
def live_server() -> Any:
    server = LiveServer()
    yield server
    server.close()


def test_both_are_off_by_default(tmp_path: Path) -> None:
    service = config_of(tmp_path, "").service
    assert service.pull_socket is None and service.live_server is None
    assert service.pull_host == "" and service.pull_timeout is None


def test_config_keys(tmp_path: Path) -> None:
    service = config_of(
        tmp_path,
        'pull_socket = 9000\npull_host = "10.0.0.5"\npull_timeout = 30\nlive_server = "wss.lab:9767"',
    ).service
    assert (service.pull_socket, service.pull_host, service.pull_timeout) == (9000, "10.0.0.5", 30.0)
    assert service.live_server == ("wss.lab", 9767)


@pytest.mark.parametrize(
    ("udp", "message"),
    [
        ("pull_socket = 70000", "service.pull_socket: must be a UDP port 0..65535"),
        ('pull_socket = "9000"', "service.pull_socket"),
        ("pull_timeout = 0", "service.pull_timeout: must be > 0"),
        ('live_server = "wss.lab"', "service.live_server: must be 'host:port'"),
        ('live_server = "wss.lab:0"', "service.live_server: must be 'host:port'"),
        ("pull_sockets = 9000", "did you mean 'pull_socket'"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, udp: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_of(tmp_path, udp)


def test_a_codename_the_protocol_cannot_carry_is_a_config_error(tmp_path: Path) -> None:
    text = CONFIG.format(udp="pull_socket = 9000").replace('"script_b"]', '"script,b"]')
    with pytest.raises(ConfigError, match="codename 'script,b': the UDP sockets"):
        parse_config(tomllib.loads(text), tmp_path / "udp.toml")
    parse_config(
        tomllib.loads(CONFIG.format(udp="").replace('"script_b"]', '"script,b"]')), tmp_path / "x.toml"
    )


def test_timeouts_follow_the_channels_stale_time(tmp_path: Path) -> None:
    assert pull_timeouts(config_of(tmp_path, "pull_socket = 0")) == {
        "bath_temperature": 5.0,  # stale_after(0.1 s interval, 0.2 s status): the 5 s floor
        "script_a": None,
        "script_b": None,
    }
    assert set(pull_timeouts(config_of(tmp_path, "pull_socket = 0\npull_timeout = 2")).values()) == {2.0}


def test_service_serves_its_values_over_udp(tmp_path: Path, client: Client, live_server: LiveServer) -> None:
    config = config_of(
        tmp_path,
        'pull_socket = 0\npull_host = "127.0.0.1"\npull_timeout = 2.0\nhttp = "127.0.0.1:0"\n'
        f'live_server = "127.0.0.1:{live_server.port}"',
    )
    mock_database = MockDatabase()  # not the fixture: it would take the script's points too
    mock_database.declare(*config.codenames)
    service = Service(config, environ={}, backend=mock_database.backend())
    service.start()
    script = None
    try:
        assert service.udp is not None and service.udp.pull is not None
        port = service.udp.pull.port
        assert client.ask(port, "name") == f"pyexplabsys-logger {config.name}".encode()
        assert client.json(port, "codenames_json") == ["bath_temperature", *CLIENT_CODENAMES]

        # A channel: every reading is served, fresh, stamped with its time.
        point = wait_until(
            lambda: (p := client.json(port, "bath_temperature#json")) != [0.0, 0.0] and p, what="a reading"
        )
        assert isinstance(point, list) and time.time() - point[0] < 2.0

        # A client's points (a lab script logging through the service's socket).
        script = ContinuousLogger(
            "dateplots_udp",
            "user",
            "unused",
            CLIENT_CODENAMES,
            service=str(tmp_path / "state" / "points.sock"),
            timeouts=Timeouts(connect=1, read=1, write=1, query=1, startup=2),
            retry=RetryPolicy(first_delay=0.01, base_delay=0.02, max_delay=0.1),
        )
        script.start()
        now = time.time()
        script.enqueue_point("script_a", (now, 1.25))
        script.enqueue_point("script_a", (now + 0.001, 1.5))  # the newest one is served
        script.enqueue_point("script_b", (now - 10.0, 7.0))  # older than pull_timeout
        assert script.flush(10)
        wait_until(lambda: client.json(port, "script_a#json") == [now + 0.001, 1.5], what="script_a")
        assert client.ask(port, "script_b#json") == b'"OLD_DATA"'
        assert client.ask(port, "script_b#raw") == b"OLD_DATA"
        served = client.json(port, "json_wn")
        assert served["script_a"] == [now + 0.001, 1.5] and served["script_b"] == "OLD_DATA"
        assert isinstance(served["bath_temperature"], list)

        # Read-only: a push command is an unknown command here.
        assert client.ask(port, b'json_wn#{"bath_temperature": 1}') == b"UNKNOWN_COMMMAND"

        # The live server gets upstream's LiveSocket messages, channels and clients.
        def seen(messages: list[Any]) -> bool:
            names = {codename for message in messages for codename in message["data"]}
            return {"bath_temperature", "script_a", "script_b"} <= names

        messages = live_server.wait_for(seen)
        assert all(set(m) == {"host", "data"} for m in messages)
        assert any(m["data"].get("script_a") == [now + 0.001, 1.5] for m in messages)
        assert not any(m["data"].get("script_a") == [now, 1.25] for m in messages)  # coalesced

        # status.json and the page's source show both.
        snapshot = service.write_status()
        assert snapshot["pull_socket"]["port"] == port and snapshot["pull_socket"]["codenames"] == 3
        assert snapshot["pull_socket"]["answered"] >= 5 and snapshot["pull_socket"]["host"] == "127.0.0.1"
        assert snapshot["live_server"]["port"] == live_server.port and snapshot["live_server"]["sent"] >= 1
        on_disk = json.loads((tmp_path / "state" / "status.json").read_text())
        assert on_disk["pull_socket"]["port"] == port
        assert service.web is not None
        with urllib.request.urlopen(service.web.url + "status.json", timeout=5) as response:
            served_status = json.loads(response.read())
        assert served_status["pull_socket"]["port"] == port
        assert served_status["live_server"]["host"] == "127.0.0.1"
        table = format_status({**on_disk, "fresh": True})
        assert f"  UDP pull socket 127.0.0.1:{port}: " in table
        assert f"  live server 127.0.0.1:{live_server.port}: " in table
    finally:
        if script is not None:
            script.stop()
        report = service.stop()
    assert report.delivered_all
    assert mock_database.values("script_a") == [1.25, 1.5]
    assert port not in DATA  # stopped with the service: the port is free again


def test_channel_value_turns_old_when_the_instrument_stops_answering(
    tmp_path: Path, mock_database: MockDatabase, client: Client
) -> None:
    """OLD_DATA once a channel's newest reading is older than the time-out."""
    config = config_of(tmp_path, 'pull_socket = 0\npull_host = "127.0.0.1"\npull_timeout = 0.5')
    mock_database.declare(*config.codenames)
    service = Service(config, environ={}, backend=mock_database.backend())
    service.start()
    try:
        assert service.udp is not None and service.udp.pull is not None
        port = service.udp.pull.port
        wait_until(
            lambda: (
                isinstance(client.json(port, "bath_temperature#json"), list)
                and client.json(port, "bath_temperature#json")[0] > 0
            ),
            what="a reading",
        )
        for reader in service.readers:  # the instrument goes quiet
            reader.stop(timeout=5)
        wait_until(lambda: client.ask(port, "bath_temperature#json") == b'"OLD_DATA"', what="OLD_DATA")
    finally:
        service.stop()


@pytest.mark.parametrize("udp", [True, False])
def test_page_shows_the_udp_sockets(browser: Any, udp: bool) -> None:
    """The page's "UDP sockets for other PCs" panel, from the snapshot; hidden when off."""
    from PyExpLabSys.service.web import WebPage

    from .test_web import StubSource, _snapshot

    snapshot = _snapshot()
    if udp:
        snapshot["pull_socket"] = {"host": "", "port": 9000, "codenames": 3, "answered": 12, "refused": 2}
        snapshot["live_server"] = {"host": "wss.lab", "port": 9767, "sent": 40, "failed": 1}
    page_server = WebPage(StubSource(snapshot), "127.0.0.1", 0).start()
    try:
        page = browser.open(page_server.url)
        page.wait_for("document.querySelectorAll('#database dt').length > 0", timeout=15, what="the page")
        hidden = page.evaluate("document.getElementById('udp-section').hidden")
        facts = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#udp dt')]"
            ".map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
        )
    finally:
        page_server.stop()
    if not udp:
        assert hidden is True and facts == {}
        return
    assert hidden is False
    assert facts == {
        "pull socket": "UDP all interfaces:9000, 3 codenames",
        "pull requests": "12 answered, 2 refused",
        "live server": "wss.lab:9767",
        "live messages": "40 sent, 1 failed",
    }
