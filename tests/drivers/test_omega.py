"""Omega iSeries driver on protocol scripts: echo on/off, RS-485 address, no error frame."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import GarbledReply, InstrumentTimeout, Reading
from PyExpLabSys.drivers.omega_cni import ISeries, parse_hex, parse_reply, request_frame

from .conftest import fails_then_recovers, scripted


@pytest.mark.parametrize(("address", "frame"), [(None, b"*X01\r"), (1, b"*01X01\r"), (42, b"*42X01\r")])
def test_request_frame(address, frame) -> None:
    assert request_frame("X01", address) == frame


def test_request_frame_rejects_bad_address() -> None:
    with pytest.raises(ValueError):
        request_frame("X01", 100)


@pytest.mark.parametrize(
    ("reply", "echo", "address", "data"),
    [
        (b"X01075.4\r", True, None, "075.4"),
        (b"075.4\r", False, None, "075.4"),
        (b"X01-012.3\r", True, 1, "-012.3"),
        (b"01X01075.4\r", True, 1, "075.4"),
    ],
)
def test_parse_reply(reply, echo, address, data) -> None:
    assert parse_reply(reply, "X01", echo, address) == data


@pytest.mark.parametrize(
    ("reply", "echo"),
    [
        (b"075.4\r", True),
        (b"X02075.4\r", True),
        (b"X01\r", True),
        (b"\r", False),
        (b"X01075.4\n", True),
    ],
)
def test_parse_reply_rejects_garbage(reply, echo) -> None:
    with pytest.raises(GarbledReply):
        parse_reply(reply, "X01", echo)


def test_parse_hex() -> None:
    assert parse_hex("2003E8") == 0x2003E8
    with pytest.raises(GarbledReply):
        parse_hex("20G3")


@pytest.mark.parametrize(
    ("kwargs", "call", "pairs", "expected"),
    [
        ({}, lambda d: d.read_temperature_reading(), [(b"*X01\r", b"X01075.4\r")], Reading(75.4)),
        ({}, lambda d: d.read_temperature(), [(b"*X01\r", b"X01075.4\r")], 75.4),
        ({"echo": False}, lambda d: d.read_temperature_reading(), [(b"*X01\r", b"075.4\r")], Reading(75.4)),
        (
            {"address": 1},
            lambda d: d.read_temperature_reading(),
            [(b"*01X01\r", b"X01075.4\r")],
            Reading(75.4),
        ),
        (
            {"address": 1, "echo": False},
            lambda d: d.read_temperature_reading(address=2),
            [(b"*02X01\r", b"-001.5\r")],
            Reading(-1.5),
        ),
        ({"address": 1, "echo": False}, lambda d: d.read_temperature(2), [(b"*02X01\r", b"-001.5\r")], -1.5),
        ({"comm_stnd": "rs485"}, lambda d: d.read_temperature(), [(b"*01X01\r", b"X01075.4\r")], 75.4),
        ({}, lambda d: d.identify(), [(b"*R26\r", b"R26000C32\r")], "000C32"),
        ({}, lambda d: d.identify_device(), [(b"*R26\r", b"R26000C32\r")], "000C32"),
        ({}, lambda d: d.command("R26", 6), [(b"*R26\r", b"R26000C32\r")], "000C32"),
        ({}, lambda d: d.read_reading_configuration(), [(b"*R01\r", b"R012003E8\r")], 0x2003E8),
        ({}, lambda d: d.reset(), [(b"*Z02\r", b"")], None),
    ],
)
def test_commands(kwargs, call, pairs, expected) -> None:
    result = scripted(ISeries, pairs, call, **kwargs)
    assert result == expected and type(result) is type(expected)


def test_constructor_takes_pyexplabsys_arguments() -> None:
    controller = ISeries("loop://", 9600, comm_stnd="rs485")
    assert controller.settings["baudrate"] == 9600 and controller.address == 1
    controller.close()
    with pytest.raises(ValueError, match="comm_stnd"):
        ISeries("loop://", comm_stnd="rs422")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"", InstrumentTimeout),  # unknown command / wrong address: no answer at all
        (b"X01075.", InstrumentTimeout),
        (b"X01#75.4\r", GarbledReply),
        (b"075.4\r", GarbledReply),  # echo expected
    ],
)
def test_errors_then_recovers(reply, error) -> None:
    pairs = [(b"*X01\r", reply), (b"*X01\r", b"X01075.4\r")]
    result = fails_then_recovers(ISeries, pairs, lambda d: d.read_temperature_reading(), error)
    assert result == Reading(75.4)
