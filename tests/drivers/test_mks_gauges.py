"""MKS 925 and 937B drivers on protocol scripts, and the shared parsers."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import (
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
    Reading,
    Status,
)
from PyExpLabSys.drivers.mks_925_pirani import Mks925
from PyExpLabSys.drivers.mks_937b import Mks937b, parse_all_pressures, parse_sensor_types
from PyExpLabSys.drivers.mks_protocol import parse_pressure_value, parse_reply, request_frame

from .conftest import fails_then_recovers, scripted


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("1.23E-3", Reading(1.23e-3)),
        ("7.60E+2", Reading(760.0)),
        ("LO", Reading(None, Status.UNDERRANGE)),
        ("<1.00E-4", Reading(1e-4, Status.UNDERRANGE)),
        (">", Reading(None, Status.OVERRANGE)),
        (">1.00E+3", Reading(1e3, Status.OVERRANGE)),
        ("OFF", Reading(None, Status.SENSOR_OFF)),
        ("WAIT", Reading(None, Status.WAIT)),
    ],
)
def test_parse_pressure_value(text, reading) -> None:
    assert parse_pressure_value(text) == reading


@pytest.mark.parametrize("text", ["", "LOW", "1.2x", ">x", "MISC"])
def test_parse_pressure_value_rejects_garbage(text) -> None:
    with pytest.raises(GarbledReply):
        parse_pressure_value(text)


def test_request_frame_and_reply() -> None:
    assert request_frame(254, "PR1?") == b"@254PR1?;FF"
    assert parse_reply(b"@253ACK1.23E-3;FF") == "1.23E-3"
    assert parse_reply(b"@253ACK1.23E-3;FF", address=253) == "1.23E-3"
    with pytest.raises(GarbledReply):
        parse_reply(b"@252ACK1.23E-3;FF", address=253)
    for garbage in (b"@253ACK1.23E-3;F", b"253ACK1;FF", b"@25ACK1;FF", b"@253AKC1;FF"):
        with pytest.raises(GarbledReply):
            parse_reply(garbage)


@pytest.mark.parametrize(
    ("reply", "code", "meaning"),
    [
        (b"@253NAK160;FF", "160", "command error"),
        (b"@253NAK152;FF", "152", "not an ion gauge"),
        (b"@253NAK169;FF", "169", ""),
    ],
)
def test_nak_codes(reply, code, meaning) -> None:
    with pytest.raises(InstrumentReportedError) as info:
        parse_reply(reply)
    assert (info.value.code, info.value.meaning) == (code, meaning)


def test_parse_all_pressures_and_sensor_types() -> None:
    assert parse_all_pressures("2.50E-7 LO OFF") == [
        Reading(2.5e-7),
        Reading(None, Status.UNDERRANGE),
        Reading(None, Status.SENSOR_OFF),
    ]
    assert parse_sensor_types("CC PR CP") == parse_sensor_types("CC,PR,CP") == ["CC", "PR", "CP"]
    with pytest.raises(GarbledReply):
        parse_all_pressures("")
    with pytest.raises(GarbledReply):
        parse_sensor_types("C#")


@pytest.mark.parametrize(
    ("address", "request_", "reply", "expected"),
    [
        (254, b"@254PR1?;FF", b"@253ACK1.23E-3;FF", Reading(1.23e-3)),
        (253, b"@253PR1?;FF", b"@253ACK7.60E+2;FF", Reading(760.0)),
        (254, b"@254PR1?;FF", b"@253ACKLO;FF", Reading(None, Status.UNDERRANGE)),
    ],
)
def test_925_read_pressure(address, request_, reply, expected) -> None:
    pairs = [(request_, reply)]
    assert scripted(Mks925, pairs, lambda d: d.read_pressure_reading(), address=address) == expected
    if expected.value is None:  # PyExpLabSys's float: no number is an error with the status
        with pytest.raises(NoValue) as info:
            scripted(Mks925, pairs, lambda d: d.read_pressure(), address=address)
        assert info.value.status is expected.status and info.value.reading == expected
    else:
        value = scripted(Mks925, pairs, lambda d: d.read_pressure(), address=address)
        assert type(value) is float and value == expected.value


def test_925_serial_number_and_unit() -> None:
    pairs = [(b"@254SN?;FF", b"@253ACK1234567890;FF"), (b"@254U!MBAR;FF", b"@253ACKMBAR;FF")]
    assert scripted(Mks925, pairs, lambda d: (d.read_serial(), d.change_unit("mbar"))) == (
        "1234567890",
        "MBAR",
    )
    with pytest.raises(ValueError, match="unit must be one of"):
        scripted(Mks925, [], lambda d: d.change_unit("bar"))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"@253NAK160;FF", InstrumentReportedError),
        (b"", InstrumentTimeout),
        (b"@253ACK1.23E-3", InstrumentTimeout),
        (b"@253ACK1.2#E-3;FF", GarbledReply),
        (b"@001ACK1.23E-3;FF", GarbledReply),  # another unit answered
    ],
)
def test_925_errors_then_recovers(reply, error) -> None:
    pairs = [(b"@253PR1?;FF", reply), (b"@253PR1?;FF", b"@253ACK1.00E-3;FF")]
    result = fails_then_recovers(Mks925, pairs, lambda d: d.read_pressure_reading(), error, address=253)
    assert result == Reading(1e-3)


@pytest.mark.parametrize(
    ("channel", "data", "expected"),
    [
        (1, "2.50E-7", Reading(2.5e-7)),
        (2, "1.00E-3", Reading(1e-3)),
        (3, "LO", Reading(None, Status.UNDERRANGE)),
        (4, "OFF", Reading(None, Status.SENSOR_OFF)),
        (5, "WAIT", Reading(None, Status.WAIT)),
        (6, ">", Reading(None, Status.OVERRANGE)),
    ],
)
def test_937b_read_pressure_per_channel(channel, data, expected) -> None:
    pairs = [(f"@254PR{channel}?;FF".encode(), f"@253ACK{data};FF".encode())]
    assert scripted(Mks937b, pairs, lambda d: d.read_pressure_reading(channel)) == expected
    assert scripted(Mks937b, pairs, lambda d: d.read_pressure_gauge_reading(channel)) == expected
    for plain in (lambda d: d.read_pressure(channel), lambda d: d.read_pressure_gauge(channel)):
        if expected.value is None:
            with pytest.raises(NoValue) as info:
                scripted(Mks937b, pairs, plain)
            assert info.value.status is expected.status
        else:
            assert scripted(Mks937b, pairs, plain) == expected.value


@pytest.mark.parametrize(
    ("call", "request_", "data", "expected"),
    [
        (
            lambda d: d.read_all_pressures_reading(),
            b"@254PRZ?;FF",
            b"2.50E-7 LO",
            [Reading(2.5e-7), Reading(None, Status.UNDERRANGE)],
        ),
        # PyExpLabSys returned these replies as text:
        (lambda d: d.read_all_pressures(), b"@254PRZ?;FF", b"2.50E-7 LO", "2.50E-7 LO"),
        (lambda d: d.read_sensor_types(), b"@254MT?;FF", b"CC PR CP", "CC PR CP"),
        (lambda d: d.pressure_unit(), b"@254U?;FF", b"TORR", "TORR"),
        (lambda d: d.pressure_unit("mbar"), b"@254U!MBAR;FF", b"MBAR", "MBAR"),
    ],
)
def test_937b_commands(call, request_, data, expected) -> None:
    pairs = [(request_, b"@253ACK" + data + b";FF")]
    assert scripted(Mks937b, pairs, call) == expected


@pytest.mark.parametrize(
    ("call", "request_", "data"),
    [
        (lambda d: d.read_all_pressures(), b"@254PRZ?;FF", b""),
        (lambda d: d.read_sensor_types(), b"@254MT?;FF", b"C#"),
    ],
)
def test_937b_text_replies_are_still_checked(call, request_, data) -> None:
    with pytest.raises(GarbledReply):
        scripted(Mks937b, [(request_, b"@253ACK" + data + b";FF")], call)


def test_937b_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        scripted(Mks937b, [], lambda d: d.read_pressure(7))
    with pytest.raises(ValueError):
        scripted(Mks937b, [], lambda d: d.pressure_unit("bar"))
    with pytest.raises(ValueError):
        Mks937b("loop://", address=1000)
