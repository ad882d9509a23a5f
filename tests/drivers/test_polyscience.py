"""PolyScience 4100 driver on protocol scripts: CR-only replies, ``!`` and ``?``."""

from __future__ import annotations

import math

import pytest

from PyExpLabSys.drivers.base import (
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
)
from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100, format_setpoint, parse_reply

from .conftest import fails_then_recovers, scripted, simulated


@pytest.mark.parametrize(
    ("value", "text"),
    [(20, "020"), (20.5, "020"), (21.5, "022"), (12.4, "012"), (5, "005"), (-5, "-05"), (100, "100")],
)
def test_format_setpoint(value, text) -> None:
    assert format_setpoint(value) == text


def test_pure_parsers() -> None:
    assert parse_reply(b"+023.4\r") == "+023.4"
    with pytest.raises(InstrumentReportedError) as info:
        parse_reply(b"?\r")
    assert info.value.code == "?"
    for garbage in (b"+023.4\r\n", b"\r"):
        with pytest.raises(GarbledReply):
            parse_reply(garbage)


@pytest.mark.parametrize(
    ("call", "request_", "reply", "expected"),
    [
        (lambda d: d.read_temperature_reading(), b"RT\r", b"+023.4\r", Reading(23.4)),
        (lambda d: d.read_status(), b"RW\r", b"1\r", "On"),
        (lambda d: d.read_status(), b"RW\r", b"0\r", "Off"),
        (lambda d: d.read_setpoint(), b"RS\r", b"+020.0\r", 20.0),
        (lambda d: d.read_setpoint_reading(), b"RS\r", b"+020.0\r", Reading(20.0)),
        (lambda d: d.read_unit(), b"RU\r", b"C\r", "C"),
        (lambda d: d.read_pressure_reading(), b"RK\r", b"012\r", Reading(0.12)),
        (lambda d: d.read_flow_rate_reading(), b"RL\r", b"02.5\r", Reading(2.5)),
        (lambda d: d.read_ambient_temperature_reading(), b"RA\r", b"+022.1\r", Reading(22.1)),
        (lambda d: d.set_setpoint(20), b"SS020\r", b"!\r", True),
        (lambda d: d.set_setpoint(12.5), b"SS012\r", b"!\r", True),  # whole degrees
        (lambda d: d.set_setpoint(99), b"SS030\r", b"!\r", True),  # clamped to max_setpoint
        (lambda d: d.set_setpoint(-4), b"SS010\r", b"!\r", True),  # clamped to min_setpoint
        (lambda d: d.turn_unit_on(True), b"SO1\r", b"!\r", "!"),
        (lambda d: d.turn_unit_on(False), b"SO0\r", b"!\r", "!"),
    ],
)
def test_commands(call, request_, reply, expected) -> None:
    result = scripted(Polyscience4100, [(request_, reply)], call)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"?\r", InstrumentReportedError),
        (b"", InstrumentTimeout),
        (b"+023.4", InstrumentTimeout),  # no CR: incomplete
        (b"+0#3.4\r", GarbledReply),
        (b"F\r", GarbledReply),
    ],
)
def test_errors_then_recovers(reply, error) -> None:
    pairs = [(b"RT\r", reply), (b"RT\r", b"+023.4\r")]
    result = fails_then_recovers(Polyscience4100, pairs, lambda d: d.read_temperature_reading(), error)
    assert result == Reading(23.4)


def test_rejected_write_is_false() -> None:
    assert scripted(Polyscience4100, [(b"SS030\r", b"?\r")], lambda d: d.set_setpoint(999)) is False


# --------------------------------------------------------------------------- bad paths, on bytes
RW = b"RW\r"
MEASUREMENTS = [
    (lambda d: d.read_temperature(), b"RT\r", b"+023.4\r", 23.4),
    (lambda d: d.read_pressure(), b"RK\r", b"012\r", 0.12),
    (lambda d: d.read_flow_rate(), b"RL\r", b"02.5\r", 2.5),
    (lambda d: d.read_ambient_temperature(), b"RA\r", b"+022.1\r", 22.1),
]


@pytest.mark.parametrize(("call", "request_", "reply", "value"), MEASUREMENTS)
def test_measurements_ask_whether_the_chiller_runs_first(call, request_, reply, value) -> None:
    assert scripted(Polyscience4100, [(RW, b"1\r"), (request_, reply)], call) == value


@pytest.mark.parametrize(("call", "request_", "reply", "value"), MEASUREMENTS)
@pytest.mark.parametrize(
    "pairs",
    [
        [(RW, b"0\r")],  # switched off: not read at all
        [(RW, b"?\r")],
        [(RW, b"")],
        [(RW, b"1\r"), ("measure", b"?\r")],
        [(RW, b"1\r"), ("measure", b"")],
        [(RW, b"1\r"), ("measure", b"+0#3.4\r")],
    ],
    ids=["off", "RW refused", "RW silent", "refused", "silent", "garbled"],
)
def test_measurements_are_nan_when_off_refused_or_silent(call, request_, reply, value, pairs) -> None:
    pairs = [(request_ if sent == "measure" else sent, answer) for sent, answer in pairs]
    result = scripted(Polyscience4100, pairs, call)
    assert type(result) is float and math.isnan(result)


@pytest.mark.parametrize(
    ("call", "request_", "reply", "expected"),
    [
        (lambda d: d.read_setpoint(), b"RS\r", b"?\r", "nan"),
        (lambda d: d.read_setpoint(), b"RS\r", b"", "nan"),
        (lambda d: d.read_status(), b"RW\r", b"?\r", "error"),
        (lambda d: d.read_status(), b"RW\r", b"", "error"),
        (lambda d: d.read_unit(), b"RU\r", b"?\r", "?"),
        (lambda d: d.read_unit(), b"RU\r", b"", ""),
        (lambda d: d.turn_unit_on(True), b"SO1\r", b"?\r", "?"),
        (lambda d: d.turn_unit_on(False), b"SO0\r", b"", ""),
        (lambda d: d.set_setpoint(20), b"SS020\r", b"", False),
        (lambda d: d.comm("XX"), b"XX\r", b"?\r", "?"),
    ],
)
def test_other_methods_bad_paths(call, request_, reply, expected) -> None:
    result = scripted(Polyscience4100, [(request_, reply)], call)
    if expected == "nan":
        assert type(result) is float and math.isnan(result)
    else:
        assert result == expected and type(result) is type(expected)


def test_setpoint_limits_are_attributes_as_in_pyexplabsys() -> None:
    def call(chiller: Polyscience4100) -> bool:
        assert (chiller.min_setpoint, chiller.max_setpoint) == (10, 30)
        chiller.max_setpoint = 40
        return chiller.set_setpoint(35.2)

    assert scripted(Polyscience4100, [(b"SS035\r", b"!\r")], call) is True


def test_default_port_is_pyexplabsys_default() -> None:
    import inspect

    assert inspect.signature(Polyscience4100).parameters["port"].default == "/dev/ttyUSB0"


# --------------------------------------------------------------------------- bad paths, on the simulator
def test_a_switched_off_chiller_on_the_simulator() -> None:
    with simulated("polyscience") as (sim, chiller):
        assert chiller.read_temperature() == pytest.approx(20.0, abs=0.5)
        assert chiller.turn_unit_on(False) == "!" and chiller.read_status() == "Off"
        readings = [
            chiller.read_temperature(),
            chiller.read_pressure(),
            chiller.read_flow_rate(),
            chiller.read_ambient_temperature(),
        ]
        assert all(math.isnan(value) for value in readings)
        assert chiller.read_temperature_reading().value == pytest.approx(22.1, abs=0.5)  # the twin reads on
        assert chiller.read_setpoint() == 20.0
        sim.inject("nak", times=None)  # '?' to everything
        assert math.isnan(chiller.read_setpoint()) and chiller.read_status() == "error"
        assert chiller.set_setpoint(15) is False
        sim.clear_faults()
        sim.inject("silent")
        assert chiller.read_unit() == ""
        assert chiller.turn_unit_on(True) == "!" and chiller.set_setpoint(5) is True
        assert sim.setpoint == 10.0 and chiller.read_temperature() == pytest.approx(10.0, abs=0.5)
