"""An upstream-style lab script (tests/scripts/socket_setup.py: a DateDataPullSocket and
a LiveSocket beside a ContinuousDataSaver and ValueLoggers, a DataPushSocket in each
action mode) runs unchanged against the mock database while an independent UDP client
reads and writes its sockets and a UDP listener plays the live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from PyExpLabSys.testing.plugin import MockDatabase
from tests.scripts import socket_setup

from .udp_client import Client, LiveServer


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` (an independent client's question) until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: last answer {result!r}")
        time.sleep(0.05)


def test_upstream_style_script_serves_logs_and_obeys(
    mock_database: MockDatabase,
    client: Client,
    live_server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The lab PC's user settings name the live server (here: the listener).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "PyExpLabSys").mkdir()
    (tmp_path / "PyExpLabSys" / "user_settings.yaml").write_text(
        f"common_liveserver_host: 127.0.0.1\ncommon_liveserver_port: {live_server.port}\n"
    )
    codenames = [*socket_setup.CODENAMES, socket_setup.MARKER]
    mock_database.declare(*codenames)
    setup = socket_setup.Setup(pull_port=0, live_pull_port=0, push_ports=(0, 0, 0, 0))
    stop = threading.Event()
    runner = threading.Thread(target=setup.run, args=(stop,), daemon=True)
    runner.start()
    try:
        pull = setup.pullsocket.port
        setpoint, commands, valve, questions = (
            s.port
            for s in (setup.setpoint_socket, setup.command_socket, setup.valve_socket, setup.question_socket)
        )
        assert client.ask(pull, "name") == b"moon vacuum"
        assert client.ask(pull, "codenames_raw") == b"moon_pressure,moon_temperature"

        # Values arrive on the pull socket, fresh (not OLD_DATA), stamped with the time.
        def fresh_values() -> Any:
            data = client.json(pull, "json_wn")
            return data if all(isinstance(data[c], list) and data[c][0] > 0 for c in data) else None

        served = eventually(fresh_values)
        assert 0.5e-6 <= served["moon_pressure"][1] <= 2.5e-6
        assert time.time() - served["moon_pressure"][0] < 4

        # store_last: a setpoint; the temperature follows it on the pull socket.
        assert client.ask(setpoint, b'json_wn#{"temperature": 300.0}') == b"ACK#{'temperature': 300.0}"
        eventually(lambda: client.json(pull, "moon_temperature#json")[1] == 300.0)

        # enqueue: a command the script carries out (it logs a marker).
        assert client.ask(commands, b"raw_wn#command:str:mark;value:float:5.0").startswith(b"ACK#")

        # callback_async: the valve switches on the script's callback thread.
        assert client.ask(valve, b'json_wn#{"valve": "open"}') == b"ACK#{'valve': 'open'}"
        # callback_direct: questions answered at once.
        eventually(lambda: client.ask(questions, b'json_wn#{"question": "valve"}') == b'RET#"open"')
        values = client.ask(questions, b'json_wn#{"question": "values"}')
        unknown = client.ask(questions, b'json_wn#{"question": "why"}')
    finally:
        stop.set()
        runner.join(30)
    assert values.startswith(b'RET#{"moon_pressure": ') and b'"moon_temperature": 300.0' in values
    assert unknown == b"EXCEP#Unknown question: why"
    assert not runner.is_alive()

    # The live server got the same codenames and values, as {"host": ..., "data": {...}}.
    messages = live_server.wait_for(
        lambda m: any(msg["data"].get("moon_temperature", [0, 0])[1] == 300.0 for msg in m)
    )
    assert all(set(msg) == {"host", "data"} for msg in messages)
    assert {codename for msg in messages for codename in msg["data"]} == set(socket_setup.CODENAMES)

    # The logged points are in the database: the criterion let some through, the marker once.
    temperatures = mock_database.values("moon_temperature")
    assert temperatures[0] == 20.0 and temperatures[-1] == 300.0
    assert mock_database.values("moon_pressure")
    assert mock_database.values(socket_setup.MARKER) == [5.0]
