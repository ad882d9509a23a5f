"""TPG 261 / 262 driver on protocol scripts, and its pure parsers."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import (
    EmptyReply,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    Status,
    UnknownCode,
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

from .conftest import fails_then_recovers, scripted, simulated

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
        (
            lambda d: d.pressure_gauge(2),
            two_step(b"PR2", b"5,+2.0000E-02"),
            (2.0e-2, (5, "No sensor (output: 5,2.0000E-2 [mbar])")),
        ),
        (
            lambda d: d.pressure_gauges(),
            two_step(b"PRX", b"0,+1.0000E-03,4,+0.0000E+00"),
            (1e-3, (0, "Measurement data okay"), 0.0, (4, "Sensor off (IKR, PKR, IMR, PBR)")),
        ),
        (
            lambda d: d.gauge_identification(),
            two_step(b"TID", b"TPR,noSEn"),
            ("TPR", "Pirani Gauge or Pirani Capacitive gauge", "noSEn", "no SEnsor"),
        ),
        (lambda d: d.pressure_unit(), two_step(b"UNI", b"1"), "Torr"),
        (lambda d: d.program_number(), two_step(b"PNR", b"BG5540-C"), "BG5540-C"),
        (lambda d: d.reset(), two_step(b"RES", b"0"), "0"),
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
        scripted(TPG261, [], lambda d: d.pressure_gauge_reading(2))
    with pytest.raises(ValueError, match=r"gauges 1..2, not 0"):
        scripted(TPG262, [], lambda d: d.pressure_gauge_reading(0))
    with pytest.raises(ValueError, match="1 or 2"):
        scripted(TPG261, [], lambda d: d.pressure_gauge(3))
    # PyExpLabSys let a TPG 261 ask for gauge 2 and left the answer to the unit:
    with pytest.raises(OSError):
        scripted(TPG261, [(b"PR2\r\n", NAK)], lambda d: d.pressure_gauge(2))


def test_upstream_shapes_unpack_as_in_old_scripts() -> None:
    pairs = two_step(b"PR1", b"1,+1.0000E-04") + two_step(b"UNI", b"2")
    value, (code, message) = scripted(TPG262, pairs[:2], lambda d: d.pressure_gauge(1))
    assert (type(value), value, code, message) == (float, 1e-4, 1, "Underrange")
    assert scripted(TPG262, pairs[2:], lambda d: d.pressure_unit()) == "Pascal"


# --------------------------------------------------------------------------- bad paths, on bytes
PR1 = b"PR1\r\n"
UPSTREAM_CALLS = [
    (lambda d: d.pressure_gauge(1), b"PR1"),
    (lambda d: d.pressure_gauges(), b"PRX"),
    (lambda d: d.gauge_identification(), b"TID"),
    (lambda d: d.pressure_unit(), b"UNI"),
]


@pytest.mark.parametrize(("call", "mnemonic"), UPSTREAM_CALLS)
@pytest.mark.parametrize(
    ("answer", "errors"),
    [
        (b"", (InstrumentTimeout, IOError)),  # no acknowledgement
        (NAK, (InstrumentReportedError, IOError)),
        (b"\x07\r\n", (GarbledReply, IOError)),
    ],
    ids=["silent", "NAK", "garbled"],
)
def test_acknowledgement_failures_raise_ioerror_as_pyexplabsys(call, mnemonic, answer, errors) -> None:
    with pytest.raises(errors):
        scripted(TPG262, [(mnemonic + b"\r\n", answer)], call)


@pytest.mark.parametrize(("call", "mnemonic"), UPSTREAM_CALLS)
def test_no_data_after_the_acknowledgement_is_a_value_error_as_pyexplabsys(call, mnemonic) -> None:
    with pytest.raises(EmptyReply) as info:
        scripted(TPG262, [(mnemonic + b"\r\n", ACK), (ENQ, b"")], call)
    assert isinstance(info.value, ValueError) and isinstance(info.value, IOError)


def test_the_twin_keeps_a_plain_time_out_for_missing_data() -> None:
    """The service counts its errors by type: the twins' time-outs are InstrumentTimeout."""
    with pytest.raises(InstrumentTimeout) as info:
        scripted(TPG262, [(PR1, ACK), (ENQ, b"")], lambda d: d.pressure_gauge_reading(1))
    assert type(info.value) is InstrumentTimeout


@pytest.mark.parametrize(
    ("call", "pairs"),
    [
        (lambda d: d.pressure_gauge(1), two_step(b"PR1", b"7,+1.2300E-03")),
        (lambda d: d.gauge_identification(), two_step(b"TID", b"TPR,XYZ")),
        (lambda d: d.pressure_unit(), two_step(b"UNI", b"3")),
    ],
)
def test_unknown_codes_are_key_errors_as_pyexplabsys(call, pairs) -> None:
    with pytest.raises(KeyError) as info:
        scripted(TPG262, pairs, call)
    assert isinstance(info.value, UnknownCode) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("call", "pairs", "expected"),
    [
        (lambda d: d.program_number(), [(b"PNR\r\n", ACK), (ENQ, b"")], ""),
        (
            lambda d: d.rs232_communication_test(),
            [(b"RST\r\n", ACK), (ENQ, ENQ), (b"a", b"a"), (b"1", b"1"), (ETX, b"")],
            True,
        ),
        (
            lambda d: d.rs232_communication_test(),
            [(b"RST\r\n", ACK), (ENQ, b""), (b"a", b"a"), (b"1", b"1"), (ETX, b"")],
            True,  # a unit that does not echo the ENQ
        ),
        (
            lambda d: d.rs232_communication_test(),
            [(b"RST\r\n", ACK), (ENQ, ENQ), (b"a", b"b"), (b"1", b"1"), (ETX, b"")],
            False,
        ),
        (
            lambda d: d.rs232_communication_test(),
            [(b"RST\r\n", ACK), (ENQ, b""), (b"a", b""), (ETX, b"")],
            False,
        ),
    ],
)
def test_text_and_test_methods_bad_paths(call, pairs, expected) -> None:
    assert scripted(TPG262, pairs, call) == expected


def test_rs232_test_not_acknowledged_raises_ioerror() -> None:
    with pytest.raises(IOError):
        scripted(TPG262, [(b"RST\r\n", NAK)], lambda d: d.rs232_communication_test())


@pytest.mark.parametrize("cls", [TPG261, TPG262])
def test_default_port_and_baudrate_as_pyexplabsys(cls) -> None:
    import inspect

    parameters = inspect.signature(cls).parameters
    assert list(parameters)[:2] == ["port", "baudrate"] and parameters["port"].default == "/dev/ttyUSB0"


# --------------------------------------------------------------------------- bad paths, on the simulator
def test_tpg_states_and_silence_on_the_simulator() -> None:
    with simulated("tpg26x") as (sim, tpg):
        assert tpg.rs232_communication_test() is True
        assert tpg.reset() == "0"
        assert tpg.pressure_gauge(2)[1] == (5, "No sensor (output: 5,2.0000E-2 [mbar])")
        sim.gauges[0].status = 4
        assert tpg.pressure_gauge(1)[1] == (4, "Sensor off (IKR, PKR, IMR, PBR)")
        sim.gauges[0].ident = "XYZ"
        with pytest.raises(KeyError):
            tpg.gauge_identification()
        sim.inject("silent")  # no data after the acknowledgement
        with pytest.raises(ValueError):
            tpg.pressure_gauge(1)
        sim.inject("nak")
        with pytest.raises(IOError):
            tpg.pressure_unit()
        sim.inject("silent")
        assert tpg.program_number() == ""
        assert tpg.program_number() == "BG5540-C"
        sim.powered = False  # switched off at the wall: nothing answers
        with pytest.raises(IOError) as info:
            tpg.pressure_gauge(1)
        assert isinstance(info.value, InstrumentTimeout)
        with pytest.raises(IOError):
            tpg.rs232_communication_test()
        sim.powered = True
        assert tpg.pressure_gauge(1)[1][0] == 4
