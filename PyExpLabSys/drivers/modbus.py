"""Modbus RTU over a serial line: frames, CRC and a driver base for register instruments.

Frame: slave address (1 byte, 1..247) + function code (1 byte) + data + CRC-16 (2 bytes,
low byte first; reflected polynomial 0xA001, initial value 0xFFFF). Frames are separated
by at least 3.5 character times of silence; the driver keeps that gap before each
request and frames each reply by its length, which follows from the request:

* 03 read holding registers: ``aa 03 rrrr nnnn`` → ``aa 03 bb <2·n data bytes>``
* 06 write single register: ``aa 06 rrrr vvvv`` → the request echoed
* 16 (0x10) write multiple registers: ``aa 10 rrrr nnnn bb <data>`` → ``aa 10 rrrr nnnn``

An exception reply is ``aa (function | 0x80) code`` + CRC, 5 bytes in all; it is raised
as :class:`~.base.InstrumentReportedError` with the code as two hex digits. A request
with a bad CRC or for another slave gets no answer (the driver times out).
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
import time
from collections.abc import Sequence
from typing import Any

import serial

from .base import ChecksumError, GarbledReply, InstrumentReportedError, SerialInstrument

LOG = logging.getLogger(__name__)

READ_HOLDING_REGISTERS = 0x03
WRITE_SINGLE_REGISTER = 0x06
WRITE_MULTIPLE_REGISTERS = 0x10
#: Length of an exception reply: address, function | 0x80, code, CRC.
EXCEPTION_LENGTH = 5
#: Standard exception codes.
EXCEPTION_CODES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "slave device failure",
    0x05: "acknowledge",
    0x06: "slave device busy",
    0x08: "memory parity error",
}


# --------------------------------------------------------------------------- CRC
def crc16(data: bytes) -> int:
    """The Modbus CRC-16 of ``data``."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def append_crc(frame: bytes) -> bytes:
    """``frame`` + its CRC, low byte first."""
    return frame + crc16(frame).to_bytes(2, "little")


def strip_crc(frame: bytes) -> bytes:
    """``frame`` without its CRC; :class:`ChecksumError` if the CRC does not match."""
    if len(frame) < 4:
        raise GarbledReply("frame shorter than 4 bytes", frame)
    if crc16(frame[:-2]).to_bytes(2, "little") != frame[-2:]:
        raise ChecksumError("CRC mismatch", frame)
    return frame[:-2]


# --------------------------------------------------------------------------- requests
def check_slave(address: int) -> int:
    """A unit address (1..247; broadcast 0 gets no reply and is not supported)."""
    if isinstance(address, bool) or not isinstance(address, int) or not 1 <= address <= 247:
        raise ValueError(f"Modbus slave address must be 1..247, not {address!r}")
    return address


def _check_word(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError(f"{what} must be an integer 0..65535, not {value!r}")
    return value


def read_registers_pdu(register: int, count: int) -> str:
    """Function 03 for ``count`` (1..125) registers from ``register``, in hex."""
    _check_word(register, "register")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 125:
        raise ValueError(f"register count must be 1..125, not {count!r}")
    return f"03 {register:04X} {count:04X}"


def write_register_pdu(register: int, value: int) -> str:
    """Function 06: one register, in hex."""
    return f"06 {_check_word(register, 'register'):04X} {_check_word(value, 'register value'):04X}"


def write_registers_pdu(register: int, values: Sequence[int]) -> str:
    """Function 16: 1..123 consecutive registers from ``register``, in hex."""
    _check_word(register, "register")
    if not 1 <= len(values) <= 123:
        raise ValueError(f"1..123 registers per write, not {len(values)}")
    words = " ".join(f"{_check_word(v, 'register value'):04X}" for v in values)
    return f"10 {register:04X} {len(values):04X} {2 * len(values):02X} {words}"


def request_frame(slave: int, pdu: str) -> bytes:
    """The RTU frame: ``slave`` + the PDU (function code and data, in hex as the manuals
    print it, spaces ignored) + CRC. Only functions 03, 06 and 16 are framed."""
    check_slave(slave)
    try:
        body = bytes.fromhex(pdu)
    except ValueError:
        raise ValueError(f"PDU must be hex bytes, not {pdu!r}") from None
    function = body[0] if body else None
    if function in (READ_HOLDING_REGISTERS, WRITE_SINGLE_REGISTER):
        well_formed = len(body) == 5
    elif function == WRITE_MULTIPLE_REGISTERS:
        well_formed = len(body) >= 6 and len(body) == 6 + body[5]
    else:
        well_formed = False
    if not well_formed:
        raise ValueError(f"not a well-formed function 03, 06 or 16 request: {pdu!r}")
    return append_crc(bytes([slave]) + body)


# --------------------------------------------------------------------------- replies
def reply_length(request: bytes) -> int:
    """Length of the normal reply to ``request`` (a frame)."""
    if request[1] == READ_HOLDING_REGISTERS:
        return 5 + 2 * int.from_bytes(request[4:6], "big")
    return 8  # functions 06 and 16


def reply_end(buf: bytes | bytearray, expected: int) -> int | None:
    """Length of the complete reply at the start of ``buf`` (None: incomplete).

    ``expected`` is the normal reply's length; an exception reply (function code with
    the high bit set) is 5 bytes.
    """
    if len(buf) >= 2 and buf[1] & 0x80:
        return EXCEPTION_LENGTH if len(buf) >= EXCEPTION_LENGTH else None
    return expected if len(buf) >= expected else None


def reply_data(reply: bytes, request: bytes) -> bytes:
    """The data of ``reply`` to ``request`` (both frames): the register words for
    function 03, the confirmed register and value/count for 06 and 16.

    Checks the CRC, the slave address, the function code and the length or echo; an
    exception reply raises :class:`InstrumentReportedError` (code as 2 hex digits).
    """
    body = strip_crc(reply)
    if body[0] != request[0]:
        raise GarbledReply(f"reply from slave {body[0]}, expected {request[0]}", reply)
    if body[1] == request[1] | 0x80 and len(body) == 3:
        code = body[2]
        raise InstrumentReportedError(f"{code:02X}", EXCEPTION_CODES.get(code, ""), reply)
    if body[1] != request[1]:
        raise GarbledReply(f"reply to function {body[1]}, expected {request[1]}", reply)
    data = body[2:]
    if request[1] == READ_HOLDING_REGISTERS:
        size = 2 * int.from_bytes(request[4:6], "big")
        if len(data) != 1 + size or data[0] != size:
            raise GarbledReply(f"expected {size} data bytes", reply)
        return data[1:]
    if data != request[2:6]:
        raise GarbledReply("write not confirmed as requested", reply)
    return data


def parse_words(data: str) -> list[int]:
    """Register words from the reply data in hex (``00FA 0102``)."""
    digits = data.replace(" ", "")
    if not digits or len(digits) % 4:
        raise GarbledReply("expected whole 16-bit words", data)
    try:
        return [int(digits[i : i + 4], 16) for i in range(0, len(digits), 4)]
    except ValueError:
        raise GarbledReply("expected hex words", data) from None


# --------------------------------------------------------------------------- values
def decode_register(word: int, decimals: int = 0, signed: bool = False) -> float | int:
    """A register's value: two's complement if ``signed``, divided by 10**decimals."""
    value = word - 0x10000 if signed and word & 0x8000 else word
    return value / 10**decimals if decimals else value


def encode_register(value: float, decimals: int = 0, signed: bool = False) -> int:
    """The register word for ``value`` (rounded to ``decimals``); ValueError if it does
    not fit in 16 bits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"register value must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"register value must be finite, not {value!r}")
    scaled = round(value * 10**decimals)
    low, high = (-0x8000, 0x7FFF) if signed else (0, 0xFFFF)
    if not low <= scaled <= high:
        raise ValueError(
            f"{value!r} does not fit a {'signed ' if signed else ''}16-bit "
            f"register with {decimals} decimal(s)"
        )
    return scaled & 0xFFFF


# --------------------------------------------------------------------------- driver base
class ModbusInstrument(SerialInstrument):
    """Base of drivers for Modbus RTU slaves (one unit address per driver).

    A command is the request PDU in hex as the manuals print it, function code first
    (``03 1000 0001``: read one register from 0x1000); the reply's data comes back in
    hex (the register words for function 03). So ``query``, ``command`` and
    ``measurement`` work here as for the text protocols.
    """

    reply_terminator = None
    max_reply = 256
    #: ``query(..., address=n)`` talks to slave n on the same RS-485 bus.
    addressable = True

    def __init__(self, port: str | serial.SerialBase, address: int = 1, **settings: Any) -> None:
        self.address = check_slave(address)
        self._quiet_since = 0.0
        super().__init__(port, **settings)

    @property
    def frame_gap(self) -> float:
        """Silence required between frames: 3.5 characters (11 bits), at least 1.75 ms."""
        return max(3.5 * 11 / self.settings["baudrate"], 0.00175)

    def converse(self, command: str, address: int | None) -> str:
        """Send PDU ``command`` to slave ``address`` (None: the driver's) after the
        inter-frame gap; the reply's data in hex."""
        request = request_frame(self.address if address is None else address, command)
        gap = self._quiet_since + self.frame_gap - time.monotonic()
        if gap > 0:
            time.sleep(gap)  # the protocol's silent interval, not a wait for data
        self.send(request)
        try:
            reply = self.receive(frame=functools.partial(reply_end, expected=reply_length(request)))
        finally:
            self._quiet_since = time.monotonic()
        return reply_data(reply, request).hex(" ", 2).upper()

    def read_registers(self, register: int, count: int = 1) -> list[int]:
        """Raw values of ``count`` holding registers from ``register`` (function 03)."""
        return self.query(read_registers_pdu(register, count), parse_words)

    def read_register(self, register: int, decimals: int = 0, signed: bool = False) -> float | int:
        """One holding register, scaled by ``decimals`` (an int when 0)."""
        return decode_register(self.read_registers(register, 1)[0], decimals, signed)

    def write_register(self, register: int, value: float, decimals: int = 0, signed: bool = False) -> None:
        """Write one register (function 06), scaled by ``decimals``."""
        self.query(write_register_pdu(register, encode_register(value, decimals, signed)))

    def write_registers(self, register: int, values: Sequence[int]) -> None:
        """Write raw values to consecutive registers (function 16)."""
        self.query(write_registers_pdu(register, list(values)))
