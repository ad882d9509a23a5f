"""Omega iSeries driver on protocol scripts: echo on/off, RS-485 address, no error frame."""

from __future__ import annotations

import time

import pytest

from PyExpLabSys.drivers.base import GarbledReply, InstrumentTimeout, Reading
from PyExpLabSys.drivers.omega_cni import CNi3244_C24, ISeries, parse_hex, parse_reply, request_frame
from PyExpLabSys.simulators import start_simulator

from .conftest import fails_then_recovers, scripted, simulated


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


# --------------------------------------------------------------------------- bad paths, on bytes
X01 = b"*X01\r"


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([(X01, b"")], None),  # silent: at once
        ([(X01, b"X01#75.4\r")] * 9, None),  # unreadable 9 times
        ([(X01, b"075.4\r"), (X01, b"X01075.4\r")], 75.4),  # no echo once, then fine
    ],
)
def test_read_temperature_bad_paths(pairs, expected) -> None:
    assert scripted(ISeries, pairs, lambda d: d.read_temperature()) == expected


@pytest.mark.parametrize(
    ("kwargs", "call", "pairs", "expected"),
    [
        ({}, lambda d: d.command("R26"), [(b"*R26\r", b"")], ""),
        ({}, lambda d: d.command("R26"), [(b"*R26\r", b"000C32\r")], "000C32"),  # no echo: as it came
        ({}, lambda d: d.command("X01"), [(X01, b"X01075.")], "075"),  # cut off: as PyExpLabSys cut it
        ({}, lambda d: d.identify_device(), [(b"*R26\r", b"")], ""),
        ({}, lambda d: d.reset_device(), [(b"*Z02\r", b"")], ""),
        ({"comm_stnd": "rs485"}, lambda d: d.reset_device(2), [(b"*02Z02\r", b"")], ""),
        ({"comm_stnd": "rs485"}, lambda d: d.identify_device(), [(b"*01R26\r", b"01R26000C32\r")], "000C32"),
    ],
)
def test_text_methods_bad_paths(kwargs, call, pairs, expected) -> None:
    assert scripted(ISeries, pairs, call, **kwargs) == expected


def test_a_silent_unit_is_given_up_after_half_a_second() -> None:
    start = time.monotonic()
    assert scripted(ISeries, [(X01, b"")], lambda d: d.read_temperature(), timeout=5) is None
    assert time.monotonic() - start < 1.5


def test_cni3244_c24_on_a_script() -> None:
    pairs = [(X01, b"X01075.4\r"), (b"*Z02\r", b"")]
    assert scripted(CNi3244_C24, pairs, lambda d: (d.read_temperature(), d.reset_device())) == (75.4, "")


def test_cni3244_c24_is_an_iseries_on_pyexplabsys_defaults() -> None:
    controller = CNi3244_C24("loop://")
    assert isinstance(controller, ISeries)
    assert controller.settings == {"baudrate": 19200, "bytesize": 7, "parity": "O", "stopbits": 1}
    assert controller.address is None
    controller.close()


# --------------------------------------------------------------------------- bad paths, on the simulator
def test_silent_and_resetting_units_on_the_simulator() -> None:
    with simulated("omega") as (sim, controller):
        assert controller.read_temperature() == pytest.approx(75.4, abs=0.5)
        sim.inject("silent")
        assert controller.read_temperature() is None
        assert controller.reset_device() == "" and sim.resets == 1
        assert controller.identify_device() == "000C32"
        assert controller.command("R99") == ""  # unknown command: no answer
    with start_simulator("omega") as sim, CNi3244_C24(sim.port) as controller:
        assert controller.read_temperature() == pytest.approx(75.4, abs=0.5)
