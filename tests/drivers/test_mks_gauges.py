"""MKS 925 and 937B drivers on protocol scripts, and the shared parsers."""

from __future__ import annotations

import time

import pytest

from PyExpLabSys.drivers.base import (
    EmptyReply,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
    Reading,
    Status,
)
from PyExpLabSys.drivers.mks_925_pirani import Mks925
from PyExpLabSys.drivers.mks_937b import Mks937b, parse_all_pressures
from PyExpLabSys.drivers.mks_protocol import parse_pressure_value, parse_reply, request_frame

from .conftest import fails_then_recovers, scripted, simulated


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


def test_parse_all_pressures() -> None:
    assert parse_all_pressures("2.50E-7 LO OFF") == [
        Reading(2.5e-7),
        Reading(None, Status.UNDERRANGE),
        Reading(None, Status.SENSOR_OFF),
    ]
    with pytest.raises(GarbledReply):
        parse_all_pressures("")


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
    value = scripted(Mks925, pairs, lambda d: d.read_pressure(), address=address)
    assert type(value) is float and value == (-1.0 if expected.value is None else expected.value)


def test_925_serial_number_and_unit() -> None:
    """``change_unit`` returns the whole reply, as PyExpLabSys's did."""
    pairs = [(b"@254SN?;FF", b"@253ACK1234567890;FF"), (b"@254U!MBAR;FF", b"@253ACKMBAR;FF")]
    assert scripted(Mks925, pairs, lambda d: (d.read_serial(), d.change_unit("mbar"))) == (
        "1234567890",
        "@253ACKMBAR;FF",
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
    ("channel", "data", "expected", "upstream"),
    [
        (1, "2.50E-7", Reading(2.5e-7), 2.5e-7),
        (2, "1.00E-3", Reading(1e-3), 1e-3),
        (3, "LO", Reading(None, Status.UNDERRANGE), 0.0),
        (4, "OFF", Reading(None, Status.SENSOR_OFF), -1.0),
        (5, "WAIT", Reading(None, Status.WAIT), -1.0),
        (6, ">", Reading(None, Status.OVERRANGE), -1.0),
        (6, ">1.00E+3", Reading(1e3, Status.OVERRANGE), -1.0),
    ],
)
def test_937b_read_pressure_per_channel(channel, data, expected, upstream) -> None:
    pairs = [(f"@254PR{channel}?;FF".encode(), f"@253ACK{data};FF".encode())]
    assert scripted(Mks937b, pairs, lambda d: d.read_pressure_reading(channel)) == expected
    assert scripted(Mks937b, pairs, lambda d: d.read_pressure_gauge_reading(channel)) == expected
    value = scripted(Mks937b, pairs, lambda d: d.read_pressure_gauge(channel))  # PyExpLabSys's sentinels
    assert type(value) is float and value == upstream
    if expected.value is None:  # this project's own read_pressure stays strict
        with pytest.raises(NoValue) as info:
            scripted(Mks937b, pairs, lambda d: d.read_pressure(channel))
        assert info.value.status is expected.status
    else:
        assert scripted(Mks937b, pairs, lambda d: d.read_pressure(channel)) == expected.value


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
        (lambda d: d.comm("MT?"), b"@254MT?;FF", b"CC PR CP", "CC PR CP"),
    ],
)
def test_937b_commands(call, request_, data, expected) -> None:
    pairs = [(request_, b"@253ACK" + data + b";FF")]
    assert scripted(Mks937b, pairs, call) == expected


def test_937b_pressure_unit_sets_then_reads_as_pyexplabsys_did() -> None:
    pairs = [(b"@254U!MBAR;FF", b"@253ACKMBAR;FF"), (b"@254U?;FF", b"@253ACKMBAR;FF")]
    assert scripted(Mks937b, pairs, lambda d: d.pressure_unit("mbar")) == "MBAR"


@pytest.mark.parametrize(
    ("call", "request_", "data"),
    [
        (lambda d: d.read_all_pressures(), b"@254PRZ?;FF", b""),
        (lambda d: d.read_sensor_types(), b"@254MT?;FF", b"C#"),
    ],
)
def test_937b_text_replies_are_returned_as_sent(call, request_, data) -> None:
    """PyExpLabSys returned these as text, unchecked; so do we."""
    assert scripted(Mks937b, [(request_, b"@253ACK" + data + b";FF")], call) == data.decode()


def test_937b_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        scripted(Mks937b, [], lambda d: d.read_pressure(7))
    with pytest.raises(ValueError):
        scripted(Mks937b, [], lambda d: d.pressure_unit("bar"))
    with pytest.raises(ValueError):
        Mks937b("loop://", address=1000)


# --------------------------------------------------------------------------- bad paths, on bytes
PR1 = b"@254PR1?;FF"
NAK = b"@253NAK160;FF"


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([(PR1, b"@253ACKLO;FF")], -1.0),
        ([(PR1, b"@253ACKOFF;FF")], -1.0),
        ([(PR1, b"@253ACK<1.00E-4;FF")], -1.0),
        ([(PR1, b"")], -1.0),  # silent: at once, no retries
        ([(PR1, NAK)] * 9, -1.0),  # refused 9 times, as PyExpLabSys tried
        ([(PR1, b"@253ACK7.#0E+2;FF"), (PR1, b"@253ACK7.60E+2;FF")], 760.0),
    ],
)
def test_925_read_pressure_bad_paths(pairs, expected) -> None:
    value = scripted(Mks925, pairs, lambda d: d.read_pressure())
    assert type(value) is float and value == expected


@pytest.mark.parametrize(
    ("call", "request_", "reply", "expected"),
    [
        (lambda d: d.read_serial(), b"@254SN?;FF", b"", ""),
        (lambda d: d.read_serial(), b"@254SN?;FF", NAK, ""),
        (lambda d: d.change_unit("torr"), b"@254U!TORR;FF", NAK, "@253NAK160;FF"),
        (lambda d: d.change_unit("torr"), b"@254U!TORR;FF", b"", ""),
        (lambda d: d.set_comm_speed(9600), b"@254BR!9600;FF", b"@253ACK9600;FF", "@253ACK9600;FF"),
        (lambda d: d.set_comm_speed(19200), b"@254BR!19200;FF", b"", ""),
        (lambda d: d.comm("PR1?"), PR1, b"@253ACK7.60E+2;FF", "@253ACK7.60E+2;FF"),
        (lambda d: d.comm("XX?"), b"@254XX?;FF", NAK, "@253NAK160;FF"),
        (lambda d: d.comm("PR1?"), PR1, b"@253ACK7.6", "@253ACK7.6"),  # what came in time
    ],
)
def test_925_text_methods_bad_paths(call, request_, reply, expected) -> None:
    assert scripted(Mks925, [(request_, reply)], call) == expected


def test_925_set_comm_speed_refuses_a_rate_the_unit_lacks() -> None:
    with pytest.raises(ValueError, match="baud rate"):
        scripted(Mks925, [], lambda d: d.set_comm_speed(1200))


@pytest.mark.parametrize(
    ("reply", "errors"),
    [
        (b"", (EmptyReply, ValueError, TimeoutError, OSError)),  # float('') raised there
        (NAK, (InstrumentReportedError, ValueError, OSError)),
        (b"@253ACK1.2#E-3;FF", (GarbledReply, ValueError)),
        (b"@253ACK<1.00E-4;FF", (NoValue, ValueError)),
    ],
)
def test_937b_read_pressure_gauge_raises_value_error_where_pyexplabsys_did(reply, errors) -> None:
    with pytest.raises(errors):
        scripted(Mks937b, [(b"@254PR2?;FF", reply)], lambda d: d.read_pressure_gauge(2))


@pytest.mark.parametrize(
    ("call", "request_", "reply", "expected"),
    [
        (lambda d: d.comm("PR1?"), PR1, b"@253ACK2.50E-7;FF", "2.50E-7"),
        (lambda d: d.comm("PR9?"), b"@254PR9?;FF", NAK, "@253NAK160;FF"),
        (lambda d: d.comm("PR1?"), PR1, b"", ""),
        (lambda d: d.read_all_pressures(), b"@254PRZ?;FF", b"", ""),
        (lambda d: d.read_sensor_types(), b"@254MT?;FF", NAK, "@253NAK160;FF"),
        (lambda d: d.pressure_unit(), b"@254U?;FF", b"", ""),
    ],
)
def test_937b_text_methods_bad_paths(call, request_, reply, expected) -> None:
    assert scripted(Mks937b, [(request_, reply)], call) == expected


# --------------------------------------------------------------------------- bad paths, on the simulators
def test_925_simulator_answers_every_command_of_the_driver() -> None:
    with simulated("mks925") as (sim, gauge):
        assert gauge.read_serial() == "1234567890"
        assert gauge.change_unit("torr") == "@253ACKTORR;FF" and sim.unit == "TORR"
        assert gauge.set_comm_speed(19200) == "@253ACK19200;FF"
        assert gauge.comm("U?") == "@253ACKTORR;FF"
        assert gauge.read_pressure() == pytest.approx(760, rel=0.03)


@pytest.mark.parametrize("state", ["LO", "OFF", "WAIT", ">"])
def test_925_read_pressure_in_each_state_of_the_simulator(state) -> None:
    with simulated("mks925") as (sim, gauge):
        sim.reading = state
        assert gauge.read_pressure() == -1.0
        assert gauge.read_pressure_reading().value is None


def test_925_silent_refusing_and_absent_units_give_the_sentinels() -> None:
    with simulated("mks925") as (sim, gauge):
        sim.inject("silent")
        assert gauge.read_pressure() == -1.0
        refusals = sim.inject("nak", times=9)
        assert gauge.read_pressure() == -1.0
        assert refusals.done.wait(2), "the 9 refusals were not all asked for"
        sim.inject("silent")
        assert gauge.read_serial() == ""
        assert gauge.read_pressure() > 0  # the line is fine again
        with Mks925(sim.port, address=7, timeout=0.1) as absent:  # no unit at 007
            assert (absent.read_pressure(), absent.read_serial(), absent.change_unit("mbar")) == (
                -1.0,
                "",
                "",
            )


def test_937b_channels_in_every_state_of_the_simulator() -> None:
    with simulated("mks937b") as (sim, gauge):
        values = [gauge.read_pressure_gauge(n) for n in range(1, 7)]
        assert values[0] == pytest.approx(2.5e-7, rel=0.03) and values[1] == pytest.approx(1e-3, rel=0.03)
        assert values[2:] == [0.0, -1.0, -1.0, -1.0]  # LO, OFF, WAIT, >
        assert gauge.read_all_pressures().split()[2:] == ["LO", "OFF", "WAIT", ">"]
        assert gauge.read_sensor_types() == "CC PR CP"
        assert gauge.pressure_unit("pascal") == "PASCAL"
        sim.inject("silent")
        start = time.monotonic()
        with pytest.raises(ValueError):  # float('') there: a script's except ValueError catches it
            gauge.read_pressure_gauge(1)
        assert time.monotonic() - start < 1.0
        sim.inject("silent")
        assert gauge.read_all_pressures() == ""
        sim.inject("nak", code="152")
        assert gauge.comm("PR1?") == "@253NAK152;FF"
