"""PolyScience 4100 driver on protocol scripts: CR-only replies, ``!`` and ``?``."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import (
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
)
from PyExpLabSys.drivers.polyscience_4100 import (
    Polyscience4100,
    format_setpoint,
    parse_acknowledgement,
    parse_reply,
    parse_status,
)

from .conftest import fails_then_recovers, scripted


@pytest.mark.parametrize(
    ("value", "text"), [(20, "020"), (20.5, "020.5"), (5, "005"), (-5, "-05"), (100, "100")]
)
def test_format_setpoint(value, text) -> None:
    assert format_setpoint(value) == text


def test_pure_parsers() -> None:
    assert parse_reply(b"+023.4\r") == "+023.4"
    assert parse_status(parse_reply(b"1\r")) == "On"
    assert parse_status(parse_reply(b"0\r")) == "Off"
    assert parse_acknowledgement(parse_reply(b"!\r")) == "!"
    with pytest.raises(InstrumentReportedError) as info:
        parse_reply(b"?\r")
    assert info.value.code == "?"
    for parse, garbage in (
        (str, b"+023.4\r\n"),
        (str, b"\r"),
        (parse_status, b"2\r"),
        (parse_acknowledgement, b"1\r"),
    ):
        with pytest.raises(GarbledReply):
            parse(parse_reply(garbage))


@pytest.mark.parametrize(
    ("call", "request_", "reply", "expected"),
    [
        (lambda d: d.read_temperature_reading(), b"RT\r", b"+023.4\r", Reading(23.4)),
        (lambda d: d.read_temperature(), b"RT\r", b"+023.4\r", 23.4),
        (lambda d: d.read_status(), b"RW\r", b"1\r", "On"),
        (lambda d: d.read_status(), b"RW\r", b"0\r", "Off"),
        (lambda d: d.read_setpoint(), b"RS\r", b"+020.0\r", 20.0),
        (lambda d: d.read_setpoint_reading(), b"RS\r", b"+020.0\r", Reading(20.0)),
        (lambda d: d.read_unit(), b"RU\r", b"C\r", "C"),
        (lambda d: d.read_pressure_reading(), b"RK\r", b"012\r", Reading(0.12)),
        (lambda d: d.read_pressure(), b"RK\r", b"012\r", 0.12),
        (lambda d: d.read_flow_rate_reading(), b"RL\r", b"02.5\r", Reading(2.5)),
        (lambda d: d.read_flow_rate(), b"RL\r", b"02.5\r", 2.5),
        (lambda d: d.read_ambient_temperature_reading(), b"RA\r", b"+022.1\r", Reading(22.1)),
        (lambda d: d.read_ambient_temperature(), b"RA\r", b"+022.1\r", 22.1),
        (lambda d: d.set_setpoint(20), b"SS020\r", b"!\r", True),
        (lambda d: d.set_setpoint(12.5), b"SS012.5\r", b"!\r", True),
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


def test_rejected_write_is_reported() -> None:
    with pytest.raises(InstrumentReportedError):
        scripted(Polyscience4100, [(b"SS999\r", b"?\r")], lambda d: d.set_setpoint(999))
