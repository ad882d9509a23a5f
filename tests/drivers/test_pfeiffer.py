"""TPG 261 / 262 driver on protocol scripts, and its pure parsers."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import (
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    Status,
)
from PyExpLabSys.drivers.pfeiffer import (
    TPG261,
    TPG262,
    check_acknowledgement,
    data_text,
    parse_gauge_fields,
    parse_identification,
    parse_pressure,
    parse_pressures,
    parse_unit,
)

from .conftest import fails_then_recovers, scripted

ACK, NAK, ENQ, ETX = b"\x06\r\n", b"\x15\r\n", b"\x05", b"\x03"


def two_step(mnemonic: bytes, data: bytes) -> list:
    return [(mnemonic + b"\r\n", ACK), (ENQ, data + b"\r\n")]


def on_reply(parse, reply: bytes):
    """A data parser applied to a whole reply, as the driver does."""
    return parse(data_text(reply))


@pytest.mark.parametrize(
    ("data", "reading"),
    [
        (b"0,+1.2300E-03", Reading(1.23e-3, Status.OK)),
        (b"1,+1.0000E-04", Reading(1.0e-4, Status.UNDERRANGE)),
        (b"2,+1.0000E+03", Reading(1.0e3, Status.OVERRANGE)),
        (b"3,+0.0000E+00", Reading(None, Status.SENSOR_ERROR)),
        (b"4,+0.0000E+00", Reading(None, Status.SENSOR_OFF)),
        (b"5,+2.0000E-02", Reading(None, Status.NO_SENSOR)),
        (b"6,+0.0000E+00", Reading(None, Status.IDENTIFICATION_ERROR)),
    ],
)
def test_parse_pressure_with_every_status(data, reading) -> None:
    assert on_reply(parse_pressure, data + b"\r\n") == reading


@pytest.mark.parametrize(
    "reply",
    [
        b"0,+1.2300E-03",
        b"7,+1.2300E-03",
        b"0,+1.2#00E-03\r\n",
        b"0;+1.2300E-03\r\n",
        b"0,+1.2300E-03,1\r\n",
        b"0,\xff\r\n",
    ],
)
def test_parse_pressure_rejects_garbage(reply) -> None:
    with pytest.raises(GarbledReply):
        on_reply(parse_pressure, reply)


def test_parse_pressures_identification_and_unit() -> None:
    assert on_reply(parse_pressures, b"0,+1.0000E-03,5,+2.0000E-02\r\n") == (
        Reading(1e-3),
        Reading(None, Status.NO_SENSOR),
    )
    assert on_reply(parse_identification, b"TPR,noSEn\r\n") == ("TPR", "noSEn")
    assert [on_reply(parse_unit, f"{i}\r\n".encode()) for i in range(3)] == ["mbar/bar", "Torr", "Pascal"]
    assert parse_gauge_fields("5,+2.0000E-02", 1) == [(5, 2.0e-2)]


@pytest.mark.parametrize(
    ("parse", "reply"),
    [
        (parse_pressures, b"0,+1.0000E-03\r\n"),
        (parse_identification, b",\r\n"),
        (parse_identification, b"TPR\x01\r\n"),
        (parse_unit, b"3\r\n"),
        (parse_unit, b"0\n"),
    ],
)
def test_parsers_reject_garbage(parse, reply) -> None:
    with pytest.raises(GarbledReply):
        on_reply(parse, reply)


def test_acknowledgement() -> None:
    check_acknowledgement(ACK)
    with pytest.raises(InstrumentReportedError) as info:
        check_acknowledgement(NAK)
    assert info.value.code == "NAK"
    with pytest.raises(GarbledReply):
        check_acknowledgement(b"\x07\r\n")


@pytest.mark.parametrize(
    ("call", "pairs", "expected"),
    [
        (lambda d: d.pressure_gauge_reading(), two_step(b"PR1", b"0,+1.2300E-03"), Reading(1.23e-3)),
        (
            lambda d: d.pressure_gauge_reading(2),
            two_step(b"PR2", b"5,+2.0000E-02"),
            Reading(None, Status.NO_SENSOR),
        ),
        (
            lambda d: d.pressure_gauges_reading(),
            two_step(b"PRX", b"0,+1.0000E-03,4,+0.0000E+00"),
            (Reading(1e-3), Reading(None, Status.SENSOR_OFF)),
        ),
        # PyExpLabSys's shapes under its names:
        (
            lambda d: d.pressure_gauge(),
            two_step(b"PR1", b"0,+1.2300E-03"),
            (1.23e-3, (0, "Measurement data okay")),
        ),
        (lambda d: d.pressure_gauge(2), two_step(b"PR2", b"5,+2.0000E-02"), (2.0e-2, (5, "No sensor"))),
        (
            lambda d: d.pressure_gauges(),
            two_step(b"PRX", b"0,+1.0000E-03,4,+0.0000E+00"),
            (1e-3, (0, "Measurement data okay"), 0.0, (4, "Sensor off")),
        ),
        (
            lambda d: d.gauge_identification(),
            two_step(b"TID", b"TPR,noSEn"),
            ("TPR", "Pirani gauge (or Pirani capacitive gauge)", "noSEn", "no sensor"),
        ),
        (lambda d: d.pressure_unit(), two_step(b"UNI", b"1"), "Torr"),
        (lambda d: d.program_number(), two_step(b"PNR", b"BG5540-C"), "BG5540-C"),
        (lambda d: d.reset(), two_step(b"RST", b""), ""),
    ],
)
def test_commands(call, pairs, expected) -> None:
    assert scripted(TPG262, pairs, call) == expected


@pytest.mark.parametrize(
    ("first", "error"),
    [
        ([(b"PR1\r\n", NAK)], InstrumentReportedError),
        ([(b"PR1\r\n", b"")], InstrumentTimeout),
        ([(b"PR1\r\n", ACK), (ENQ, b"")], InstrumentTimeout),
        ([(b"PR1\r\n", ACK), (ENQ, b"0,+1.2300")], InstrumentTimeout),
        ([(b"PR1\r\n", ACK), (ENQ, b"garbage\r\n")], GarbledReply),
    ],
)
def test_errors_then_etx_resynchronises(first, error) -> None:
    pairs = [*first, (ETX, b""), *two_step(b"PR1", b"0,+1.2300E-03")]
    result = fails_then_recovers(TPG262, pairs, lambda d: d.pressure_gauge_reading(), error)
    assert result == Reading(1.23e-3)


def test_tpg261_has_one_gauge() -> None:
    with pytest.raises(ValueError):
        scripted(TPG261, [], lambda d: d.pressure_gauge(2))
    with pytest.raises(ValueError, match=r"gauges 1..2, not 0"):
        scripted(TPG262, [], lambda d: d.pressure_gauge_reading(0))


def test_upstream_shapes_unpack_as_in_old_scripts() -> None:
    pairs = two_step(b"PR1", b"1,+1.0000E-04") + two_step(b"UNI", b"2")
    value, (code, message) = scripted(TPG262, pairs[:2], lambda d: d.pressure_gauge(1))
    assert (type(value), value, code, message) == (float, 1e-4, 1, "Underrange")
    assert scripted(TPG262, pairs[2:], lambda d: d.pressure_unit()) == "Pascal"
