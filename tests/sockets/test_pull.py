"""Pull sockets over real UDP on loopback, read by the independent client: every command
byte for byte, OLD_DATA after a time-out, status, ports."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from PyExpLabSys.common.sockets import (
    DATA,
    DataPullSocket,
    DateDataPullSocket,
    PortStillReserved,
)

from .udp_client import Client

NAME = "Last shot usage data from the giant laser on the moon"


@pytest.fixture
def moon() -> Iterator[DateDataPullSocket]:
    sock = DateDataPullSocket(NAME, ["moon_laser_power", "moon_laser_duration"], port=0)
    sock.start()
    yield sock
    sock.stop()


def test_defaults_are_upstreams() -> None:
    """Ports 9000/9010 and the 0.0 defaults, without binding them (a fixed port may be taken)."""
    import inspect

    date = inspect.signature(DateDataPullSocket).parameters
    data = inspect.signature(DataPullSocket).parameters
    assert date["port"].default == 9000 and data["port"].default == 9010
    for params in (date, data):
        assert [params[k].default for k in ("default_x", "default_y", "timeouts")] == [0.0, 0.0, None]
        assert [params[k].default for k in ("check_activity", "activity_timeout", "poke_on_set")] == [
            True,
            900,
            True,
        ]
    assert list(date)[:9] == [
        "name",
        "codenames",
        "port",
        "default_x",
        "default_y",
        "timeouts",
        "check_activity",
        "activity_timeout",
        "poke_on_set",
    ]


def test_every_command_byte_for_byte(moon: DateDataPullSocket, client: Client) -> None:
    port = moon.port
    assert port != 0 and DATA[port]["type"] == "date"
    moon.set_point("moon_laser_power", (1414150015.697648, 47.0))
    moon.set_point("moon_laser_duration", (1414150015.5, 42))
    expected = {
        "name": NAME.encode(),
        "codenames_raw": b"moon_laser_power,moon_laser_duration",
        "codenames_json": b'["moon_laser_power", "moon_laser_duration"]',
        "raw": b"1414150015.697648,47.0;1414150015.5,42",
        "json": b"[[1414150015.697648, 47.0], [1414150015.5, 42]]",
        "raw_wn": b"moon_laser_power:1414150015.697648,47.0;moon_laser_duration:1414150015.5,42",
        "json_wn": b'{"moon_laser_power": [1414150015.697648, 47.0], '
        b'"moon_laser_duration": [1414150015.5, 42]}',
        "moon_laser_power#raw": b"1414150015.697648,47.0",
        "moon_laser_duration#json": b"[1414150015.5, 42]",
        # Unknown: upstream's spelling, three M's
        "moon_laser_power#xml": b"UNKNOWN_COMMMAND",
        "nobody#json": b"UNKNOWN_COMMMAND",
        "a#b#c": b"UNKNOWN_COMMMAND",
        "JSON": b"UNKNOWN_COMMMAND",
        "": b"UNKNOWN_COMMMAND",
    }
    for command, reply in expected.items():
        assert client.ask(port, command) == reply, command


def test_set_point_now_serves_the_time_now(moon: DateDataPullSocket, client: Client) -> None:
    before = time.time()
    moon.set_point_now("moon_laser_power", 12.5)
    x, y = client.json(moon.port, "moon_laser_power#json")
    assert before <= x <= time.time() and y == 12.5
    assert client.json(moon.port, "moon_laser_duration#json") == [0.0, 0.0]  # the defaults


def test_old_data_after_the_timeout(client: Client) -> None:
    sock = DateDataPullSocket(NAME, ["one", "two", "three"], port=0, timeouts=[1.0, 10.0, None])
    sock.start()
    try:
        old = time.time() - 5.0
        sock.set_point("one", (old, 42.0))  # older than its 1 s
        sock.set_point("two", (old, 47.0))  # within its 10 s
        sock.set_point("three", (0.0, 1.0))  # no time-out: never old
        port = sock.port
        assert client.text(port, "raw") == f"OLD_DATA;{old},47.0;0.0,1.0"
        assert client.json(port, "json") == ["OLD_DATA", [old, 47.0], [0.0, 1.0]]
        assert client.text(port, "raw_wn") == f"one:OLD_DATA;two:{old},47.0;three:0.0,1.0"
        assert client.json(port, "json_wn") == {"one": "OLD_DATA", "two": [old, 47.0], "three": [0.0, 1.0]}
        assert client.ask(port, "one#raw") == b"OLD_DATA"
        assert client.ask(port, "one#json") == b'"OLD_DATA"'
        sock.set_point_now("one", 43.0)  # fresh again
        assert client.json(port, "one#json")[1] == 43.0
    finally:
        sock.stop()


def test_data_pull_socket_times_out_from_when_the_point_was_set(client: Client) -> None:
    sock = DataPullSocket(NAME, ["x1", "x2"], port=0, timeouts=0.5)
    sock.start()
    try:
        sock.set_point("x1", (9.7, 100), timestamp=time.time() - 1.0)
        sock.set_point("x2", (15.3, 111))
        assert client.text(sock.port, "raw") == "OLD_DATA;15.3,111"
        assert DATA[sock.port]["type"] == "data" and DATA[sock.port]["timestamps"]["x1"] > 0
    finally:
        sock.stop()


def test_status_reports_this_pc_and_every_socket(moon: DateDataPullSocket, client: Client) -> None:
    other = DataPullSocket("quiet", ["q"], port=0, check_activity=False)
    other.start()
    try:
        moon.set_point_now("moon_laser_power", 1.0)
        status = client.json(moon.port, "status")
        servers = status["socket_server_status"]
        assert servers[str(moon.port)]["name"] == NAME
        assert servers[str(moon.port)]["type"] == "date"
        assert servers[str(moon.port)]["status"] == "OK"
        assert 0 <= servers[str(moon.port)]["since_last_activity"] < 60
        assert servers[str(other.port)] == {
            "name": "quiet",
            "type": "data",
            "status": "DISABLED",
            "since_last_activity": None,
        }
        system = status["system_status"]
        assert system["number_of_python_threads"] >= 2
        assert set(system["load_average"]) == {"1m", "5m", "15m"}
    finally:
        other.stop()


def test_activity_goes_inactive_without_set_points(client: Client) -> None:
    sock = DateDataPullSocket("idle", ["a"], port=0, activity_timeout=0.0)
    sock.start()
    try:
        assert (
            client.json(sock.port, "status")["socket_server_status"][str(sock.port)]["status"] == "INACTIVE"
        )
    finally:
        sock.stop()


def test_stop_frees_the_port_at_once_and_removes_the_entry() -> None:
    sock = DateDataPullSocket(NAME, ["a"], port=0)
    sock.start()
    port = sock.port
    sock.stop()
    assert port not in DATA
    again = DateDataPullSocket(NAME, ["a"], port=port)  # no PortStillReserved
    again.stop()  # never started: stop must not hang


def test_port_taken(moon: DateDataPullSocket) -> None:
    with pytest.raises(ValueError, match=f"A UDP server already exists on port: {moon.port}"):
        DateDataPullSocket(NAME, ["a"], port=moon.port)
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("", 0))
    try:
        with pytest.raises(PortStillReserved):
            DataPullSocket(NAME, ["a"], port=holder.getsockname()[1])
    finally:
        holder.close()


@pytest.mark.parametrize(
    ("codenames", "timeouts", "message"),
    [
        (["a", "a"], None, "Codenames must be unique; 'a' is present more than once"),
        (["a,b"], None, "The character ',' is not allowed in the codenames"),
        (["a#b"], None, "The character '#' is not allowed in the codenames"),
        (["a", "b"], [1.0], "If a list of timeouts is supplied, it must have as many items"),
    ],
)
def test_bad_arguments_fail_at_the_call(codenames: list[str], timeouts: object, message: str) -> None:
    before = dict(DATA)
    with pytest.raises(ValueError, match=message):
        DateDataPullSocket(NAME, codenames, port=0, timeouts=timeouts)  # type: ignore[arg-type]  # bad on purpose
    assert before == DATA


def test_numpy_values_are_served(moon: DateDataPullSocket, client: Client) -> None:
    numpy = pytest.importorskip("numpy")
    moon.set_point("moon_laser_power", (1.5, numpy.float32(2.5)))
    moon.set_point("moon_laser_duration", (2.5, numpy.int64(7)))
    assert client.json(moon.port, "json") == [[1.5, 2.5], [2.5, 7]]
    assert client.text(moon.port, "raw") == "1.5,2.5;2.5,7"


def test_replies_are_json_text(moon: DateDataPullSocket, client: Client) -> None:
    """A non-ASCII name still gets a reply (UTF-8), and JSON replies stay ASCII."""
    sock = DateDataPullSocket("Målestation", ["ø"], port=0)
    sock.start()
    try:
        assert client.ask(sock.port, "name") == "Målestation".encode()
        assert json.loads(client.ask(sock.port, "codenames_json")) == ["ø"]
        assert client.ask(sock.port, "ø#json".encode()) == b"[0.0, 0.0]"
    finally:
        sock.stop()
