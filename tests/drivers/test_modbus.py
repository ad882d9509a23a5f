"""Modbus RTU foundation and the Omega CN7800: frames and CRC on bytes, protocol
scripts, and the driver (and an independent Modbus implementation) against the
simulator over a real pty (the common faults: test_pty_integration)."""

from __future__ import annotations

import time

import pytest

from PyExpLabSys.drivers.base import (
    ChecksumError,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    Status,
)
from PyExpLabSys.drivers.modbus import (
    ModbusInstrument,
    append_crc,
    crc16,
    decode_register,
    encode_register,
    parse_words,
    read_registers_pdu,
    reply_data,
    reply_end,
    reply_length,
    request_frame,
    strip_crc,
    write_register_pdu,
    write_registers_pdu,
)
from PyExpLabSys.drivers.omega_cn7800 import CN7800, parse_temperature, parse_upstream_temperature, port_path
from PyExpLabSys.simulators.omega_cn7800 import CN7800Simulator

from .conftest import fails_then_recovers, scripted, simulated

H = bytes.fromhex
READ_PV = H("01 03 10 00 00 01 80 CA")
READ_SV = H("01 03 10 01 00 01 D1 0A")


# --------------------------------------------------------------------------- bytes
def test_crc_known_vectors() -> None:
    assert crc16(b"123456789") == 0x4B37  # the CRC-16/MODBUS check value
    assert request_frame(1, read_registers_pdu(0, 10)) == H("01 03 00 00 00 0A C5 CD")
    assert request_frame(1, write_register_pdu(1, 3)) == H("01 06 00 01 00 03 98 0B")
    assert append_crc(H("01 03 02 00 FA")) == H("01 03 02 00 FA 38 07")


def test_requests() -> None:
    assert read_registers_pdu(0x1000, 1) == "03 1000 0001"
    assert request_frame(1, "03 1000 0001") == request_frame(1, "0310000001") == READ_PV
    assert request_frame(1, write_register_pdu(0x1001, 425)) == H("01 06 10 01 01 A9 1D 24")
    assert request_frame(1, write_registers_pdu(0x1001, [300])) == H("01 10 10 01 00 01 02 01 2C B6 0D")
    assert reply_length(READ_PV) == 7
    assert reply_length(request_frame(1, read_registers_pdu(0, 8))) == 21
    assert reply_length(request_frame(1, write_register_pdu(1, 3))) == 8


@pytest.mark.parametrize(
    "build",
    [
        lambda: request_frame(0, "03 0000 0001"),
        lambda: request_frame(248, "03 0000 0001"),
        lambda: request_frame(1, "03 0000 01"),
        lambda: request_frame(1, "04 0000 0001"),
        lambda: request_frame(1, "10 0000 0001 02 00"),
        lambda: request_frame(1, "0x03"),
        lambda: request_frame(1, ""),
        lambda: read_registers_pdu(0, 0),
        lambda: read_registers_pdu(0, 126),
        lambda: read_registers_pdu(0x10000, 1),
        lambda: write_register_pdu(0, 0x10000),
        lambda: write_register_pdu(0, -1),
        lambda: write_registers_pdu(0, []),
    ],
)
def test_bad_requests_are_refused_at_the_call(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_strip_crc() -> None:
    assert strip_crc(H("01 03 02 00 FA 38 07")) == H("01 03 02 00 FA")
    with pytest.raises(ChecksumError):
        strip_crc(H("01 03 02 00 FB 38 07"))
    with pytest.raises(GarbledReply):
        strip_crc(H("01 03 02"))


def test_reply_end_frames_normal_and_exception_replies() -> None:
    assert reply_end(b"", 7) is None
    assert reply_end(H("01 03 02 00"), 7) is None
    assert reply_end(H("01 03 02 00 FA 38 07"), 7) == 7
    assert reply_end(H("01 03 02 00 FA 38 07 01"), 7) == 7
    assert reply_end(H("01 83 02 C0"), 7) is None
    assert reply_end(H("01 83 02 C0 F1"), 7) == 5


def test_reply_data() -> None:
    assert reply_data(H("01 03 02 00 FA 38 07"), READ_PV) == H("00 FA")
    with pytest.raises(InstrumentReportedError) as info:
        reply_data(H("01 83 02 C0 F1"), READ_PV)
    assert (info.value.code, info.value.meaning) == ("02", "illegal data address")
    with pytest.raises(GarbledReply, match="slave 2"):
        reply_data(append_crc(H("02 03 02 00 FA")), READ_PV)
    with pytest.raises(GarbledReply, match="function 4"):
        reply_data(append_crc(H("01 04 02 00 FA")), READ_PV)
    with pytest.raises(GarbledReply, match="data bytes"):
        reply_data(append_crc(H("01 03 04 00 FA 00 00")), READ_PV)
    request = request_frame(1, write_register_pdu(0x1001, 425))
    assert reply_data(request, request) == H("10 01 01 A9")
    with pytest.raises(GarbledReply, match="not confirmed"):
        reply_data(request_frame(1, write_register_pdu(0x1001, 424)), request)


def test_parse_words() -> None:
    assert parse_words("00FA") == [250]
    assert parse_words("00FA 8003") == [250, 0x8003]
    for garbage in ("", "0FA", "00FG"):
        with pytest.raises(GarbledReply):
            parse_words(garbage)


@pytest.mark.parametrize(
    ("word", "decimals", "signed", "value"),
    [
        (250, 1, True, 25.0),
        (0xFF38, 1, True, -20.0),
        (0xFF38, 1, False, 6533.6),
        (0xFF38, 0, True, -200),
        (7, 0, False, 7),
    ],
)
def test_register_values(word, decimals, signed, value) -> None:
    assert decode_register(word, decimals, signed) == value
    assert encode_register(value, decimals, signed) == word


@pytest.mark.parametrize(
    ("value", "decimals", "signed"),
    [
        (-0.1, 1, False),
        (3276.8, 1, True),
        (6553.6, 1, False),
        (float("nan"), 1, True),
    ],
)
def test_encode_register_refuses_what_does_not_fit(value, decimals, signed) -> None:
    with pytest.raises(ValueError):
        encode_register(value, decimals, signed)


@pytest.mark.parametrize(
    ("data", "reading"),
    [
        ("00FA", Reading(25.0)),
        ("FF38", Reading(-20.0)),
        ("8002", Reading(None, Status.WAIT)),
        ("8003", Reading(None, Status.NO_SENSOR)),
        ("8004", Reading(None, Status.SENSOR_ERROR)),
    ],
)
def test_cn7800_parse_temperature(data, reading) -> None:
    assert parse_temperature(data) == reading
    with pytest.raises(GarbledReply):
        parse_temperature(data + " 0000")


def test_cn7800_port_path() -> None:
    name = "usb-FTDI_USB-RS485_Cable_FT1F9WC2-if00-port0"
    assert port_path(name) == "/dev/serial/by-id/" + name
    for port in ("/dev/ttyUSB0", "socket://localhost:7000", "loop://"):
        assert port_path(port) == port


# --------------------------------------------------------------------------- scripts
def test_cn7800_readings_on_a_script() -> None:
    pairs = [(READ_PV, H("01 03 02 00 FA 38 07")), (READ_SV, append_crc(H("01 03 02 FF 38")))]

    def both(cn: CN7800) -> tuple[float, float]:
        return cn.read_temperature(), cn.read_setpoint()

    temperature, setpoint = scripted(CN7800, pairs, both)
    assert (temperature, setpoint) == (25, 6533.6)  # PyExpLabSys's: int when whole, unsigned
    assert type(temperature) is int and type(setpoint) is float


def test_cn7800_status_instead_of_a_temperature() -> None:
    """PyExpLabSys read the status word as a number; the twin gives the status."""
    pairs = [(READ_PV, append_crc(H("01 03 02 80 03")))] * 2

    def read_both(cn: CN7800) -> tuple:
        return cn.read_temperature(), cn.temperature, cn.read_temperature_reading()

    assert scripted(CN7800, pairs, read_both) == (3277.1, 3277.1, Reading(None, Status.NO_SENSOR))


@pytest.mark.parametrize(
    ("word", "value"), [("00FA", 25), ("00FD", 25.3), ("0000", 0), ("FF38", 6533.6), ("8002", 3277)]
)
def test_cn7800_upstream_values(word, value) -> None:
    result = parse_upstream_temperature(word)
    assert result == value and type(result) is type(value)


def test_cn7800_temperature_attribute_follows_read_temperature() -> None:
    def reads(cn: CN7800) -> list:
        before = cn.temperature
        cn.read_temperature()
        return [before, cn.temperature, cn.read_setpoint(), cn.temperature]

    pairs = [(READ_PV, H("01 03 02 00 FA 38 07")), (READ_SV, append_crc(H("01 03 02 01 2C")))]
    assert scripted(CN7800, pairs, reads) == [-999, 25, 30, 25]


@pytest.mark.parametrize(
    ("reply", "errors"),
    [
        (b"", (InstrumentTimeout, OSError)),  # minimalmodbus: NoResponseError, an IOError
        (append_crc(H("01 83 02")), (InstrumentReportedError, OSError)),  # IllegalRequestError
        (H("01 03 02 00 FB 38 07"), (ChecksumError, OSError)),  # InvalidResponseError
    ],
)
def test_cn7800_raises_ioerror_where_pyexplabsys_did(reply, errors) -> None:
    with pytest.raises(errors):
        scripted(CN7800, [(READ_PV, reply)], lambda cn: cn.read_temperature())


def test_cn7800_write_setpoint_uses_function_06() -> None:
    request = H("01 06 10 01 01 A9 1D 24")
    assert scripted(CN7800, [(request, request)], lambda cn: cn.write_setpoint(42.5)) is None
    refused = append_crc(H("01 86 03"))
    with pytest.raises(InstrumentReportedError) as info:
        scripted(CN7800, [(request, refused)], lambda cn: cn.write_setpoint(42.5))
    assert info.value.code == "03"


@pytest.mark.parametrize("value", [4000.0, -3300, float("inf"), "25", None, True])
def test_cn7800_bad_setpoint_is_refused_before_sending(value) -> None:
    with pytest.raises((ValueError, TypeError)):
        scripted(CN7800, [], lambda cn: cn.write_setpoint(value))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"", InstrumentTimeout),
        (H("01 03 02 00"), InstrumentTimeout),
        (H("01 03 02 00 FB 38 07"), ChecksumError),
        (append_crc(H("02 03 02 00 FA")), GarbledReply),
        (append_crc(H("01 83 04")), InstrumentReportedError),
    ],
)
def test_cn7800_errors_then_recovers(reply, error) -> None:
    pairs = [(READ_PV, reply), (READ_PV, H("01 03 02 00 FA 38 07"))]
    result = fails_then_recovers(CN7800, pairs, lambda cn: cn.read_temperature(), error)
    assert result == 25


def test_requests_keep_the_inter_frame_silence() -> None:
    pairs = [(READ_PV, H("01 03 02 00 FA 38 07"))] * 2

    def two_reads(cn: CN7800) -> float:
        cn.read_temperature()
        start = time.monotonic()
        cn.read_temperature()
        return time.monotonic() - start

    assert scripted(CN7800, pairs, two_reads) >= 3.5 * 11 / 9600


def test_query_another_slave_on_the_bus() -> None:
    request = request_frame(7, read_registers_pdu(0x1000, 1))
    pairs = [(request, append_crc(H("07 03 02 01 2C")))]
    assert scripted(
        CN7800, pairs, lambda cn: cn.query("03 1000 0001", parse_temperature, address=7)
    ) == Reading(30.0)
    with pytest.raises(ValueError):
        scripted(CN7800, [], lambda cn: cn.query("03 1000 0001", address=0))


def test_modbus_instrument_address_is_checked() -> None:
    with pytest.raises(ValueError):
        ModbusInstrument("loop://", address=0)


# --------------------------------------------------------------------------- pty
@pytest.fixture
def cn7800():
    with simulated("cn7800") as pair:
        yield pair


def test_cn7800_on_the_simulator(cn7800) -> None:
    sim, cn = cn7800
    assert cn.read_temperature() == pytest.approx(25.0, abs=0.2)
    cn.write_setpoint(-12.3)
    assert cn.read_setpoint_reading().value == -12.3
    assert cn.read_setpoint() == 6541.3  # PyExpLabSys read it unsigned
    assert cn.read_temperature_reading().value == pytest.approx(-12.3, abs=0.1)
    with pytest.raises(InstrumentReportedError) as info:
        cn.write_setpoint(1400)  # above the unit's range
    assert info.value.code == "03"
    assert cn.read_setpoint_reading().value == -12.3
    assert cn.read_registers(0x1001, 4) == [(-123) & 0xFFFF, 13000, (-2000) & 0xFFFF, 0]
    cn.write_registers(0x1001, [300])
    assert cn.read_setpoint() == 30 and type(cn.read_setpoint()) is int
    sim.pv_status = 0x8003
    assert cn.read_temperature() == 3277.1 and cn.temperature == 3277.1
    assert cn.read_temperature_reading().status is Status.NO_SENSOR
    sim.inject("silent")
    with pytest.raises(OSError):  # an IOError, as minimalmodbus's NoResponseError
        cn.read_temperature()


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda cn: cn.read_registers(0x1000, 9), "03"),  # more than the unit's 8
        (lambda cn: cn.read_registers(0x2000, 1), "02"),
        (lambda cn: cn.write_register(0x1000, 5), "02"),  # the process value is read-only
    ],
)
def test_cn7800_simulator_exceptions(cn7800, call, code) -> None:
    _, cn = cn7800
    with pytest.raises(InstrumentReportedError) as info:
        call(cn)
    assert info.value.code == code
    assert cn.read_temperature_reading().ok


def test_cn7800_bad_checksum_then_recovers(cn7800) -> None:
    sim, cn = cn7800
    fault = sim.inject("checksum")
    with pytest.raises(ChecksumError):
        cn.read_temperature()
    assert fault.done.wait(2)  # set just after the reply is written
    assert isinstance(cn.read_temperature(), int | float)


def test_bad_crc_gets_no_reply(cn7800) -> None:
    _, cn = cn7800
    with cn.transaction():
        cn.send(READ_PV[:-1] + bytes([READ_PV[-1] ^ 1]))
        with pytest.raises(InstrumentTimeout):
            cn.receive(frame=lambda buf: reply_end(buf, 7))
    assert cn.read_temperature_reading().ok


def test_another_slave_gets_no_reply() -> None:
    with simulated("cn7800", address=2) as (sim, cn):
        with pytest.raises(InstrumentTimeout):
            cn.read_temperature()
        assert sim.read_register(0x1001) == 250  # the unit is there


def test_simulator_drops_an_unfinished_frame_after_silence() -> None:
    sim = CN7800Simulator()
    buf = bytearray(READ_PV[:3])
    assert sim.split_requests(buf) == []
    buf += READ_PV  # arrives within the silence: still one (bad) frame
    assert sim.split_requests(buf) == [READ_PV[:3] + READ_PV[:5], READ_PV[5:]]
    buf.clear()
    buf += READ_PV[:3]
    assert sim.split_requests(buf) == []
    sim._last_data -= 1.0  # a second of silence on the line
    buf += READ_PV
    assert sim.split_requests(buf) == [READ_PV]
    assert buf == bytearray()


def test_an_independent_modbus_master_agrees_with_the_simulator(cn7800) -> None:
    """minimalmodbus (PyExpLabSys's library) reads and writes the simulator."""
    import minimalmodbus

    sim, cn = cn7800
    # A Linux pty drops PARENB and refuses (EINVAL) to set it again on a second open, so
    # the second opener of the pty asks for no parity; there are no parity bits on a pty.
    master = minimalmodbus.Instrument(sim.port, 1)
    master.serial.timeout = 1.0
    try:
        assert master.read_register(0x1000, 1, signed=True) == pytest.approx(25.0, abs=0.2)
        master.write_register(0x1001, 31.4, 1, signed=True)  # function 16
        assert cn.read_setpoint() == 31.4
        cn.write_setpoint(-5.5)
        assert master.read_register(0x1001, 1, signed=True) == -5.5
        with pytest.raises(minimalmodbus.IllegalRequestError):
            master.read_register(0x2000)
    finally:
        master.serial.close()


@pytest.mark.parametrize("setpoint", [25.0, 25.3, -20.0, 0.0])
def test_cn7800_values_are_what_pyexplabsys_minimalmodbus_call_gives(cn7800, setpoint) -> None:
    """PyExpLabSys's driver called ``read_register(register, 1)`` (unsigned): our
    PyExpLabSys-named methods give the same value of the same type, status words too."""
    import minimalmodbus

    sim, cn = cn7800
    master = minimalmodbus.Instrument(sim.port, 1)  # no parity: see the test above
    master.serial.timeout = 1.0
    try:
        cn.write_setpoint(setpoint)
        theirs, ours = master.read_register(0x1001, 1), cn.read_setpoint()
        assert ours == theirs and type(ours) is type(theirs)
        sim.pv_status = 0x8003
        theirs, ours = master.read_register(0x1000, 1), cn.read_temperature()
        assert ours == theirs == cn.temperature and type(ours) is type(theirs)
    finally:
        master.serial.close()
