"""An upstream-style lab script (tests/scripts/socket_setup.py: a DateDataPullSocket and
a LiveSocket beside a ContinuousDataSaver and ValueLoggers, a DataPushSocket in each
action mode) runs unchanged, against the mock database and against the throw-away
MariaDB, while an independent UDP client reads and writes its sockets and a UDP listener
plays the live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from PyExpLabSys.backends.schema import create_tables, register_codenames
from PyExpLabSys.testing.plugin import MockDatabase
from tests.scripts import socket_setup

from ..conftest import DATABASE
from ..service.conftest import wait_until
from .udp_client import Client, LiveServer

CODENAMES = [*socket_setup.CODENAMES, socket_setup.MARKER]


def run_script_and_check(
    values_of: Callable[[str], list[float]],
    client: Client,
    live_server: LiveServer,
    settings_home: Path,
) -> None:
    """Run the script (in a thread, as on a lab PC but with free ports), talk to it over
    UDP, stop it; then check the database through ``values_of(codename)``."""
    # The lab PC's user settings name the live server (here: the listener).
    settings_home.write_text(
        f"common_liveserver_host: 127.0.0.1\ncommon_liveserver_port: {live_server.port}\n"
    )
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

        served = wait_until(fresh_values)
        assert 0.5e-6 <= served["moon_pressure"][1] <= 2.5e-6
        assert time.time() - served["moon_pressure"][0] < 4

        # store_last: a setpoint; the temperature follows it on the pull socket.
        assert client.ask(setpoint, b'json_wn#{"temperature": 300.0}') == b"ACK#{'temperature': 300.0}"
        wait_until(lambda: client.json(pull, "moon_temperature#json")[1] == 300.0)

        # enqueue: a command the script carries out (it logs a marker).
        assert client.ask(commands, b"raw_wn#command:str:mark;value:float:5.0").startswith(b"ACK#")

        # callback_async: the valve switches on the script's callback thread.
        assert client.ask(valve, b'json_wn#{"valve": "open"}') == b"ACK#{'valve': 'open'}"
        # callback_direct: questions answered at once.
        wait_until(lambda: client.ask(questions, b'json_wn#{"question": "valve"}') == b'RET#"open"')
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
    temperatures = values_of("moon_temperature")
    assert temperatures[0] == 20.0 and temperatures[-1] == 300.0
    assert values_of("moon_pressure")
    assert values_of(socket_setup.MARKER) == [5.0]


def test_upstream_style_script_against_the_mock_database(
    mock_database: MockDatabase, client: Client, live_server: LiveServer, settings_home: Path
) -> None:
    mock_database.declare(*CODENAMES)
    run_script_and_check(mock_database.values, client, live_server, settings_home)


@pytest.mark.mariadb
def test_upstream_style_script_against_mariadb(
    mariadb: Any,
    client: Client,
    live_server: LiveServer,
    settings_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The script's ContinuousDataSaver (user moon, table dateplots_moon) finds the server
    in PyExpLabSys's settings, here the environment, as on a lab PC."""
    with mariadb.connect(DATABASE) as conn:
        create_tables(conn, "dateplots_moon")
        ids = register_codenames(conn, {codename: codename for codename in CODENAMES})
        with conn.cursor() as cursor:
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(f"CREATE USER IF NOT EXISTS 'moon'@'{host}' IDENTIFIED BY 'moon'")
                cursor.execute(f"GRANT ALL ON {DATABASE}.* TO 'moon'@'{host}'")
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_HOST", mariadb.host)
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_PORT", str(mariadb.port))
    monkeypatch.setenv("PYEXPLABSYS_SQL_DATABASE", DATABASE)

    def values_of(codename: str) -> list[float]:
        rows = mariadb.query(
            "SELECT value FROM dateplots_moon WHERE type = %s ORDER BY id",
            (ids[codename],),
            database=DATABASE,
        )
        return [float(value) for (value,) in rows]

    run_script_and_check(values_of, client, live_server, settings_home)
