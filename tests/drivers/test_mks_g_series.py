"""MKS G-series driver on protocol scripts: checksums, NAK codes, every command."""

from __future__ import annotations

import time

import pytest

from PyExpLabSys.drivers.base import (
    ChecksumError,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
)
from PyExpLabSys.drivers.mks_g_series import MksGSeries, checksum, parse_reply, request_frame

from .conftest import fails_then_recovers, scripted, simulated


def ack(data: str) -> bytes:
    """A reply as a real unit sends it: checksum over the whole ``@@@...;``."""
    body = f"@@@000ACK{data};".encode()
    return body + checksum(body)


def test_checksums_from_the_card() -> None:
    assert checksum(b"@254FX?;") == b"F3"
    assert checksum(b"@@@000ACK1.234;") == b"52"
    assert request_frame(254, "FX?") == b"@@@254FX?;F3"


def test_parse_reply() -> None:
    assert parse_reply(b"@@@000ACK1.234;52") == "1.234"
    with pytest.raises(ChecksumError):
        parse_reply(b"@@@000ACK1.234;53")
    with pytest.raises(ChecksumError):
        parse_reply(b"@@@000ACK1.#34;52")
    for garbage in (b"@@000ACK1.234;52", b"@@@000ACK1.234", ack("1")[:-1]):
        with pytest.raises(GarbledReply):
            parse_reply(garbage)
    with pytest.raises(GarbledReply, match="address 001"):  # not to the master
        parse_reply(b"@@@001ACK1;" + checksum(b"@@@001ACK1;"))


@pytest.mark.parametrize(
    ("reply", "code", "meaning"),
    [
        (b"@@@000NAK17;..", "17", "invalid command"),  # checksum deviates: still the code
        (b"@@@000NAK01;00", "01", "checksum error"),
        (b"@@@000NAK25;5C", "25", "flow too large"),
        (b"@@@000NAK42;5C", "42", ""),
    ],
)
def test_nak_is_reported_whatever_its_checksum(reply, code, meaning) -> None:
    with pytest.raises(InstrumentReportedError) as info:
        parse_reply(reply)
    assert (info.value.code, info.value.meaning) == (code, meaning)


@pytest.mark.parametrize(
    ("call", "command", "data", "expected"),
    [
        (lambda d: d.read_flow_reading(), "FX?", "1.234", Reading(1.234)),
        (lambda d: d.read_flow(), "FX?", "1.234", 1.234),
        (lambda d: d.read_setpoint(), "SX?", "10.000", 10.0),
        (lambda d: d.read_setpoint_reading(), "SX?", "10.000", Reading(10.0)),
        (lambda d: d.set_flow(20), "SX!20", "20.000", True),
        (lambda d: d.set_flow(7.25), "SX!7.2", "7.200", True),  # one decimal, as PyExpLabSys sent
        (lambda d: d.read_unit(), "U?", "SCCM", "SCCM"),
        (lambda d: d.read_current_gas_type(), "PG?", "N2", "N2"),
        (lambda d: d.read_serial_number(), "SN?", "017654321", "017654321"),
        (lambda d: d.read_internal_temperature_reading(), "TA?", "24.5", Reading(24.5)),
        (lambda d: d.read_internal_temperature(), "TA?", "24.5", "24.5"),  # text, as PyExpLabSys
        (lambda d: d.read_run_hours(), "RH?", "1234", "1234"),
        (lambda d: d.read_address(), "CA?", "001", 1),
        (lambda d: d.valve_override(True), "VO!PURGE", "PURGE", "PURGE"),
        (lambda d: d.valve_override(False), "VO!NORMAL", "NORMAL", "NORMAL"),
    ],
)
def test_commands(call, command, data, expected) -> None:
    pairs = [(request_frame(254, command), ack(data))]
    result = scripted(MksGSeries, pairs, call)
    assert result == expected and type(result) is type(expected)


def test_full_scale_range_is_value_and_unit_as_text() -> None:
    pairs = [(request_frame(254, "U?"), ack("SCCM")), (request_frame(254, "FS?"), ack("100.000"))]
    assert scripted(MksGSeries, pairs, lambda d: d.read_full_scale_range()) == "100.000SCCM"


def test_purge_opens_the_valve_for_t_seconds_then_returns_to_control() -> None:
    pairs = [(request_frame(7, "VO!PURGE"), ack("PURGE")), (request_frame(7, "VO!NORMAL"), ack("NORMAL"))]
    assert scripted(MksGSeries, pairs, lambda d: d.purge(0, addr=7)) is None


def test_device_address_as_pyexplabsys_did() -> None:
    pairs = [(request_frame(254, "CA?"), ack("001")), (request_frame(1, "CA!007"), ack("007"))]

    def call(mfc: MksGSeries) -> list:
        return [mfc.read_device_address(), mfc.set_device_address(1, 7)]

    assert scripted(MksGSeries, pairs, call) == ["001", None]
    with pytest.raises(ValueError, match=r"new address must be 1..253"):
        scripted(MksGSeries, [], lambda d: d.set_device_address(1, 254))


def test_addressed_commands_check_their_arguments() -> None:
    with pytest.raises(TypeError):
        scripted(MksGSeries, [], lambda d: d.read_flow(adr=3))
    with pytest.raises(ValueError, match=r"address must be 0..999"):
        scripted(MksGSeries, [], lambda d: d.read_flow(1000))


def test_addr_argument_and_set_address() -> None:
    pairs = [
        (request_frame(3, "FX?"), ack("0.500")),
        (request_frame(254, "CA!005"), ack("005")),
        (request_frame(5, "FX?"), ack("0.600")),
    ]

    def call(mfc: MksGSeries) -> list:
        return [mfc.read_flow_reading(addr=3).value, mfc.set_address(5), mfc.read_flow()]

    assert scripted(MksGSeries, pairs, call) == [0.5, 5, 0.6]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"@@@000ACK1.234;53", ChecksumError),
        (b"@@@000NAK17;00", InstrumentReportedError),
        (b"", InstrumentTimeout),
        (b"@@@000ACK1.234;5", InstrumentTimeout),
        (ack("x.yz"), GarbledReply),
    ],
)
def test_errors_then_recovers(reply, error) -> None:
    frame = request_frame(254, "FX?")
    pairs = [(frame, reply), (frame, ack("1.000"))]
    result = fails_then_recovers(MksGSeries, pairs, lambda d: d.read_flow_reading(), error)
    assert result == Reading(1.0)


# --------------------------------------------------------------------------- bad paths, on bytes
FX = request_frame(254, "FX?")
NAK17 = b"@@@000NAK17;00"


def nak(code: str) -> bytes:
    body = f"@@@000NAK{code};".encode()
    return body + checksum(body[2:])


def test_pyexplabsys_checksum_method() -> None:
    mfc = MksGSeries("loop://")
    assert (mfc.checksum("254FX?;"), mfc.checksum("@@@000ACK1.234;", reply=True)) == ("F3", "52")
    assert request_frame(7, "SN?").endswith(mfc.checksum("007SN?;").encode())  # what is sent
    assert ack("N2").endswith(mfc.checksum("@@@000ACKN2;", reply=True).encode())  # what comes back
    mfc.close()


@pytest.mark.parametrize(
    ("call", "command", "reply", "expected"),
    [
        (lambda d: d.comm("FX?"), "FX?", ack("1.234"), "1.234"),
        (lambda d: d.comm("XX?"), "XX?", NAK17, ""),
        (lambda d: d.comm("FX?"), "FX?", b"@@@000ACK1.234;53", ""),  # checksum
        (lambda d: d.comm("FX?"), "FX?", b"", ""),
        (lambda d: d.read_serial_number(), "SN?", b"", ""),
        (lambda d: d.read_serial_number(), "SN?", NAK17, ""),
        (lambda d: d.read_current_gas_type(), "PG?", b"", ""),
        (lambda d: d.read_run_hours(), "RH?", ack("x"), "x"),  # text as sent
        (lambda d: d.read_internal_temperature(), "TA?", b"", ""),
        (lambda d: d.read_device_address(), "CA?", b"", ""),
        (lambda d: d.set_flow(150), "SX!150", nak("25"), True),  # above full scale
        (lambda d: d.set_flow(5.0), "SX!5.0", b"", True),
    ],
)
def test_pyexplabsys_methods_bad_paths(call, command, reply, expected) -> None:
    result = scripted(MksGSeries, [(request_frame(254, command), reply)], call)
    assert result == expected and type(result) is type(expected)


def test_set_flow_above_full_scale_is_true_and_logged(caplog) -> None:
    pairs = [(request_frame(254, "SX!150"), nak("25"))]
    with caplog.at_level("WARNING", logger="PyExpLabSys.drivers.mks_g_series"):
        assert scripted(MksGSeries, pairs, lambda d: d.set_flow(150)) is True
    assert "flow too large" in caplog.text and "not confirmed" in caplog.text


def test_a_silent_address_is_given_up_after_a_tenth_of_a_second() -> None:
    start = time.monotonic()
    assert (
        scripted(MksGSeries, [(request_frame(3, "SN?"), b"")], lambda d: d.read_serial_number(3), timeout=5)
        == ""
    )
    assert time.monotonic() - start < 0.6


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([(FX, b"")], -1),
        ([(FX, NAK17)] * 49, -1),
        ([(FX, b"@@@000ACK1.234;53"), (FX, ack("1.234"))], 1.234),
    ],
)
def test_read_flow_bad_paths(pairs, expected) -> None:
    result = scripted(MksGSeries, pairs, lambda d: d.read_flow())
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("reply", "errors"),
    [
        (b"", (ValueError, TimeoutError, OSError)),  # float('') raised there
        (NAK17, (ValueError, OSError)),
        (b"@@@000ACK1.234;53", (ValueError, OSError)),
    ],
)
def test_read_setpoint_raises_value_error_where_pyexplabsys_did(reply, errors) -> None:
    with pytest.raises(errors):
        scripted(MksGSeries, [(request_frame(254, "SX?"), reply)], lambda d: d.read_setpoint())


def test_full_scale_range_with_a_silent_part() -> None:
    pairs = [(request_frame(2, "U?"), b""), (request_frame(2, "FS?"), ack("100.000"))]
    assert scripted(MksGSeries, pairs, lambda d: d.read_full_scale_range(2)) == "100.000"


def test_default_port_is_pyexplabsys_default() -> None:
    import inspect

    assert inspect.signature(MksGSeries).parameters["port"].default == "/dev/ttyUSB0"


# --------------------------------------------------------------------------- bad paths, on the simulator
def test_address_scan_over_empty_addresses_on_the_simulator() -> None:
    """Two of PyExpLabSys's scripts scan addresses 1-7 at start-up."""
    with simulated("mksg") as (_sim, mfc):
        start = time.monotonic()
        found = {addr: mfc.read_serial_number(addr) for addr in range(1, 8)}
        elapsed = time.monotonic() - start
    assert found == {1: "017654321", **dict.fromkeys(range(2, 8), "")}
    assert elapsed < 2.0


def test_refusals_on_the_simulator() -> None:
    with simulated("mksg") as (sim, mfc):
        assert mfc.set_flow(150) is True and sim.setpoint == 10.0  # NAK 25, kept
        assert mfc.set_flow(7.25) is True and sim.setpoint == 7.2
        assert float(mfc.read_internal_temperature()) == pytest.approx(24.5, abs=0.5)
        sim.inject("nak", times=None)
        assert (mfc.read_flow(), mfc.read_serial_number(), mfc.read_full_scale_range()) == (-1, "", "")
        with pytest.raises(ValueError):
            mfc.read_setpoint()
        sim.clear_faults()
        sim.inject("silent")
        assert mfc.read_flow() == -1
        mfc.purge(0)
        assert sim.valve == "NORMAL" and mfc.read_full_scale_range() == "100.000SCCM"
