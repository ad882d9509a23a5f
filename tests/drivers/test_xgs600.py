"""Agilent XGS-600: parsers on bytes, protocol scripts, and the driver against the
simulator over a real pty (faults, vanishing and reopening: test_pty_integration)."""

from __future__ import annotations

import pytest

from PyExpLabSys.drivers.base import (
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    Status,
)
from PyExpLabSys.drivers.xgs600 import (
    XGS600Driver,
    check_gauge_id,
    list_boards,
    parse_label,
    parse_pressure,
    parse_pressures,
    parse_reply,
    parse_setpoint_states,
    request_frame,
    setpoint_code,
    setpoint_pressure_data,
    upstream_pressure,
)
from PyExpLabSys.simulators.registry import start_simulator

from .conftest import TIMEOUT, fails_then_recovers, scripted, simulated


# --------------------------------------------------------------------------- bytes
def test_request_frame() -> None:
    assert request_frame("0F") == b"#000F\r"
    assert request_frame("02UION1", address=0x1A) == b"#1A02UION1\r"
    for address in (-1, 0x21):
        with pytest.raises(ValueError):
            request_frame("0F", address)
    with pytest.raises(ValueError):
        request_frame("0F\r")


def test_parse_reply() -> None:
    assert parse_reply(b">1.000E-02\r") == "1.000E-02"
    assert parse_reply(b">\r") == ""
    with pytest.raises(InstrumentReportedError) as info:
        parse_reply(b"?FF\r")
    assert info.value.code == "FF"
    for garbage in (b"1.000E-02\r", b">1.000E-02", b">\xff\r"):
        with pytest.raises(GarbledReply):
            parse_reply(garbage)


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("1.230E-07", Reading(1.23e-7)),
        ("7.600E+02", Reading(760.0)),
        (" 2.000E-09", Reading(2e-9)),
        ("OPEN", Reading(None, Status.SENSOR_ERROR)),
    ],
)
def test_parse_pressure(text, reading) -> None:
    assert parse_pressure(text) == reading


@pytest.mark.parametrize("text", ["", "OPN", "1.2x", "nan", "1.0E-02,2.0E-02"])
def test_parse_pressure_rejects_garbage(text) -> None:
    with pytest.raises(GarbledReply):
        parse_pressure(text)


def test_parse_pressures() -> None:
    assert parse_pressures("1.000E-02, 2.300E-09,OPEN") == [
        Reading(1e-2),
        Reading(2.3e-9),
        Reading(None, Status.SENSOR_ERROR),
    ]
    for garbage in ("", "1.000E-02,,2.0E-09", "1.000E-02;2.0E-09"):
        with pytest.raises(GarbledReply):
            parse_pressures(garbage)


def test_boards_as_pyexplabsys_listed_them() -> None:
    assert list_boards("1040FE3A4C99").splitlines() == [
        "0.0: Hot Filament Gauge",
        "1.0: Convection Board",
        "2.0: Empty Slot",
        "3.0: Inverted Magnetron Board",
    ]  # 4C (analog) and unknown codes: no line, as PyExpLabSys
    assert list_boards("?FF") == ""


def test_small_fields() -> None:
    assert parse_setpoint_states("0005") == [True, False, True] + [False] * 5
    assert parse_setpoint_states("0002") == [False, True] + [False] * 6
    with pytest.raises(GarbledReply):
        parse_setpoint_states("00G1")
    assert [upstream_pressure(f) for f in ("1.000E-02", "OPEN", "OPN", "?FF")] == [1e-2, "OPEN", -2, -2]


def test_parse_label() -> None:
    assert parse_label("ION 1") == "ION1"


def test_setpoint_arguments() -> None:
    assert [setpoint_code(s) for s in (0, 1, 3, "0", "on", "OFF", " Auto ")] == [0, 1, 3, 0, 1, 0, 3]
    for bad in (2, "2", "maybe", True, None):
        with pytest.raises(ValueError):
            setpoint_code(bad)
    assert setpoint_pressure_data(8, "user_label", "GATE", 3.2e-3) == "8UGATE3.200E-03"
    assert setpoint_pressure_data(1, "T", 1, "1.000E-01") == "1T11.000E-01"
    for args in [(9, "T", 1, 1e-3), (1, "X", 1, 1e-3), (1, "T", 9, 1e-3), (1, "T", 1, "low")]:
        with pytest.raises(ValueError):
            setpoint_pressure_data(*args)


def test_gauge_ids() -> None:
    for good in ("T1", "I8", "UION1", "UGATE"):
        assert check_gauge_id(good) == good
    for bad in ("T0", "I9", "X1", "U", "uion1", "UION 1", "", 1):
        with pytest.raises(ValueError):
            check_gauge_id(bad)


# --------------------------------------------------------------------------- scripts
def test_read_pressure_and_dump_on_a_script() -> None:
    pairs = [
        (b"#0002T1\r", b">1.000E-02\r"),
        (b"#000F\r", b">1.000E-02, OPEN,2.300E-09\r"),
        (b"#0002UION1\r", b">OPEN\r"),
        (b"#0002UION1\r", b">OPEN\r"),
    ]

    def calls(xgs: XGS600Driver) -> tuple:
        pressure, dump = xgs.read_pressure("T1"), xgs.read_all_pressures()
        return pressure, dump, xgs.read_pressure("UION1"), xgs.read_pressure_reading("UION1").status

    pressure, dump, open_sensor, status = scripted(XGS600Driver, pairs, calls)
    assert type(pressure) is float and pressure == 1e-2
    assert dump == [1e-2, "OPEN", 2.3e-9]
    assert open_sensor == -1.0 and status is Status.SENSOR_ERROR


@pytest.mark.parametrize(
    ("call", "pairs", "expected"),
    [
        (lambda x: x.read_pressure_unit(), [(b"#0013\r", b">01\r")], "mBar"),
        (lambda x: x.query("0F", address=0x1A), [(b"#1A0F\r", b">OPEN\r")], "OPEN"),
        (lambda x: x.xgs_comm("0F"), [(b"#000F\r", b">1.000E-02,OPEN\r")], "1.000E-02,OPEN"),
        (lambda x: x.xgs_comm("5E11", expect_reply=False), [(b"#005E11\r", b">\r")], None),
        (lambda x: x.read_software_version(), [(b"#0005\r", b">0400,0206\r")], "0400,0206"),
        (
            lambda x: x.list_all_gauges(),
            [(b"#0001\r", b">10FE\r")],
            "0.0: Hot Filament Gauge\n1.0: Empty Slot\n",
        ),
        (lambda x: x.read_setpoint_state(), [(b"#0003\r", b">0081\r")], [True] + [False] * 6 + [True]),
        (lambda x: x.read_setpoint(8), [(b"#005F8\r", b">3\r")], "AUTO"),
        (lambda x: x.set_setpoint(8, "auto"), [(b"#005E83\r", b">\r")], None),
        (lambda x: x.set_setpoint_on(2, "T", 1, 5e-2), [(b"#0062T15.000E-02\r", b">\r")], None),
        (
            lambda x: x.set_setpoint_off(2, "user_label", "CNV1", "9.000E-02"),
            [(b"#0072UCNV19.000E-02\r", b">\r")],
            None,
        ),
        (lambda x: x.emission_status("I1"), [(b"#0032I1\r", b">00\r")], False),
        (lambda x: x.filament_lit("UIG1"), [(b"#0034UIG1\r", b">02\r")], 2),
        # lit on filament 2: PyExpLabSys's emission_status was True for 01 only
        (lambda x: x.set_emission_on("I1", 2), [(b"#0033I1\r", b">\r"), (b"#0032I1\r", b">02\r")], False),
        (lambda x: x.set_emission_on("I1", 1), [(b"#0031I1\r", b">\r"), (b"#0032I1\r", b">01\r")], True),
        (lambda x: x.set_smission_off("I1"), [(b"#0030I1\r", b">\r"), (b"#0032I1\r", b">00\r")], False),
    ],
)
def test_commands_on_scripts(call, pairs, expected) -> None:
    assert scripted(XGS600Driver, pairs, call) == expected


def test_read_all_user_label_skips_missing_gauges() -> None:
    pairs = []
    for count in range(1, 9):
        pairs.append((f"#00T{count}\r".encode(), b">CNV1\r" if count == 1 else b"?FF\r"))
        pairs.append((f"#00I{count}\r".encode(), b">ION 1\r" if count == 1 else b"?FF\r"))
    assert scripted(XGS600Driver, pairs, lambda x: x.read_all_user_label()) == {"T1": "CNV1", "I1": "ION1"}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"?FF\r", InstrumentReportedError),
        (b"", InstrumentTimeout),
        (b">1.000E-02", InstrumentTimeout),
        (b">1.0#0E-02\r", GarbledReply),
        (b">\r", GarbledReply),
    ],
)
def test_errors_then_recovers(reply, error) -> None:
    pairs = [(b"#0002T1\r", reply), (b"#0002T1\r", b">2.000E-02\r")]
    result = fails_then_recovers(XGS600Driver, pairs, lambda x: x.read_pressure_reading("T1"), error)
    assert result == Reading(2e-2)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.read_pressure("t1"),
        lambda x: x.set_setpoint(9, "on"),
        lambda x: x.set_setpoint(1, "sometimes"),
        lambda x: x.read_setpoint(0),
        lambda x: x.set_emission_on("I1", 3),
        lambda x: x.set_setpoint_on(1, "T", 1, float("nan")),
    ],
)
def test_bad_arguments_are_refused_before_sending(call) -> None:
    with pytest.raises(ValueError):
        scripted(XGS600Driver, [], call)


# --------------------------------------------------------------------------- pty
@pytest.fixture
def xgs():
    with simulated("xgs600") as pair:
        yield pair


def test_xgs600_on_the_simulator(xgs) -> None:
    sim, x = xgs
    assert x.read_pressure("T2") == pytest.approx(760, rel=0.03)
    assert x.read_pressure("UIG1") == pytest.approx(2.3e-9, rel=0.03)
    dump = x.read_all_pressures()
    assert len(dump) == 3 and all(isinstance(p, float) for p in dump)
    assert x.read_pressure_unit() == "Torr"
    assert x.list_all_gauges().startswith("0.0: Hot Filament Gauge\n1.0: Convection Board\n")
    assert x.read_all_user_label() == {"T1": "CNV1", "T2": "CNV2", "I1": "IG1"}
    assert x.set_emission_on("I1", 2) is False and x.filament_lit("I1") == 2  # as PyExpLabSys
    assert x.set_emission_on("I1", 1) is True
    assert x.set_emission_off("UIG1") is False
    assert x.emission_status("T1") is False  # not an ion gauge: ?FF
    x.set_setpoint(1, "ON")
    x.set_setpoint_on(2, "T", 1, 1e-1)
    x.set_setpoint(2, 3)
    assert x.read_setpoint_state()[:3] == [True, True, False]
    assert [x.read_setpoint(n) for n in (1, 2, 3)] == ["ON", "AUTO", "OFF"]
    sim.gauges["T2"].open = True
    assert x.read_all_pressures()[2] == "OPEN"
    assert x.read_pressure_reading("T2") == Reading(None, Status.SENSOR_ERROR)
    assert x.read_pressure("T2") == -1.0
    assert x.read_pressure("I2") == -1.0  # no second ion gauge: ?FF
    with pytest.raises(InstrumentReportedError):
        x.read_pressure_reading("I2")


def test_xgs600_rs485_address() -> None:
    with start_simulator("xgs600", address=0x1A) as sim:
        with XGS600Driver(sim.port, address=0x1A, timeout=TIMEOUT) as x:
            assert isinstance(x.read_pressure("T1"), float)
        with XGS600Driver(sim.port, timeout=TIMEOUT) as x:
            with pytest.raises(InstrumentTimeout):  # another address: no reply
                x.read_pressure("T1")


# --------------------------------------------------------------------------- bad paths, on bytes
FF = b"?FF\r"


@pytest.mark.parametrize(
    ("call", "pairs", "expected"),
    [
        (lambda x: x.read_pressure("I2"), [(b"#0002I2\r", FF)], -1.0),
        (lambda x: x.read_pressure("T1"), [(b"#0002T1\r", b">1.0#0E-02\r")], -1.0),
        (lambda x: x.read_all_pressures(), [(b"#000F\r", FF)], [-2]),
        (lambda x: x.read_all_pressures(), [(b"#000F\r", b">1.000E-02,x,OPEN\r")], [1e-2, -2, "OPEN"]),
        (lambda x: x.read_all_pressures(), [(b"#000F\r", b">\r")] * 9, [-3]),
        (
            lambda x: x.read_all_pressures(),
            [(b"#000F\r", b">\r"), (b"#000F\r", b">2.000E-09\r")],
            [2e-9],
        ),
        (lambda x: x.list_all_gauges(), [(b"#0001\r", FF)], ""),
        (lambda x: x.emission_status("T1"), [(b"#0032T1\r", FF)], False),
        (lambda x: x.emission_status("I1"), [(b"#0032I1\r", b">02\r")], False),
        (lambda x: x.set_smission_off("T1"), [(b"#0030T1\r", FF), (b"#0032T1\r", FF)], False),
        (lambda x: x.read_setpoint(1), [(b"#005F1\r", FF)], None),
        (lambda x: x.read_pressure_unit(), [(b"#0013\r", FF)], "?FF"),
        (lambda x: x.read_software_version(), [(b"#0005\r", FF)], "?FF"),
        (lambda x: x.xgs_comm("99"), [(b"#0099\r", FF)], "?FF"),
        (lambda x: x.xgs_comm("0F"), [(b"#000F\r", b"1.0E-02\r")], "1.0E-02"),  # no >: as it came
        (lambda x: x.set_setpoint(1, "on"), [(b"#005E11\r", FF)], None),
        (lambda x: x.set_setpoint(1, "on"), [(b"#005E11\r", b"")], None),  # not awaited there
        (lambda x: x.set_setpoint_on(1, "T", 1, 0.1), [(b"#0061T11.000E-01\r", FF)], None),
        (lambda x: x.set_setpoint_off(1, "T", 1, 0.2), [(b"#0071T12.000E-01\r", b"")], None),
    ],
)
def test_pyexplabsys_methods_bad_paths(call, pairs, expected) -> None:
    result = scripted(XGS600Driver, pairs, call)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.read_pressure("T1"),
        lambda x: x.read_all_pressures(),
        lambda x: x.list_all_gauges(),
        lambda x: x.emission_status("I1"),
        lambda x: x.read_setpoint(1),
        lambda x: x.xgs_comm("0F"),
    ],
)
def test_a_silent_unit_raises_timeout_error_as_pyexplabsys(call) -> None:
    with start_simulator("xgs600") as sim, XGS600Driver(sim.port, timeout=TIMEOUT) as x:
        sim.powered = False
        with pytest.raises(TimeoutError) as info:
            call(x)
    assert isinstance(info.value, InstrumentTimeout)


@pytest.mark.parametrize(
    ("call", "pairs"),
    [
        (lambda x: x.filament_lit("T1"), [(b"#0034T1\r", FF)]),
        (lambda x: x.read_setpoint_state(), [(b"#0003\r", FF)]),
    ],
)
def test_refusals_raise_value_error_where_pyexplabsys_did(call, pairs) -> None:
    with pytest.raises(ValueError):
        scripted(XGS600Driver, pairs, call)


# --------------------------------------------------------------------------- bad paths, on the simulator
def test_a_missing_gauge_and_an_open_sensor_on_the_simulator(xgs) -> None:
    sim, x = xgs
    del sim.gauges["T2"]  # the gauge unplugged from its board
    assert x.read_pressure("T2") == -1.0 and x.read_pressure("UCNV2") == -1.0
    assert len(x.read_all_pressures()) == 2
    assert "T2" not in x.read_all_user_label()
    sim.gauges["T1"].open = True
    assert x.read_pressure("T1") == -1.0 and x.read_all_pressures()[1] == "OPEN"
    assert x.set_emission_on("T1", 1) is False  # not an ion gauge: refused, then ?FF
    assert x.read_pressure("I1") == pytest.approx(2.3e-9, rel=0.03)
