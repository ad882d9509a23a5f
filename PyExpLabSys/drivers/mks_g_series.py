"""MKS G-series digital mass-flow controllers (GE50A and relatives).

Port: 9600 baud, 8N1. Request: ``@@@`` + 3-digit address + command + ``;`` + checksum;
reply: ``@@@000`` (the master's address) + ``ACK`` + data + ``;`` + checksum, or ``NAK``
+ code. The checksum is the sum of the character codes modulo 256 as two uppercase hex
digits. Real units accept requests whose checksum covers one ``@`` + address + command
+ ``;``; replies carry a checksum over the whole ``@@@...;``. NAK replies are reported by
their code even when their checksum is off (it deviates on real units).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from .base import (
    ChecksumError,
    GarbledReply,
    Reading,
    SerialInstrument,
    decode_ascii,
    parse_float,
)
from .mks_protocol import BROADCAST, format_address, parse_ack

LOG = logging.getLogger(__name__)

T = TypeVar("T")

MASTER_ADDRESS = 0
NAK_CODES = {
    "01": "checksum error",
    "10": "syntax error",
    "11": "data length error",
    "12": "invalid data",
    "13": "invalid operating mode",
    "14": "invalid action",
    "15": "invalid gas",
    "16": "invalid control mode",
    "17": "invalid command",
    "24": "calibration error",
    "25": "flow too large",
    "27": "too many gases in gas table",
    "28": "flow cal error; valve not open",
    "98": "internal device error",
    "99": "internal device error",
}


def checksum(data: bytes) -> bytes:
    """Sum of the character codes modulo 256 as two uppercase hex digits."""
    return f"{sum(data) % 256:02X}".encode("ascii")


def request_frame(address: int, command: str) -> bytes:
    """``@@@aaa<command>;CS`` with the checksum over ``@aaa<command>;``."""
    body = f"@{format_address(address)}{command};".encode("ascii")
    return b"@@" + body + checksum(body)


def parse_reply(reply: bytes) -> str:
    """The data of ``@@@000ACK<data>;CS``; verifies the checksum, raises on NAK."""
    if not reply.startswith(b"@@@") or len(reply) < 6 or reply[-3:-2] != b";":
        raise GarbledReply("expected @@@...;CS", reply)
    body, received = reply[:-2], reply[-2:]
    text = decode_ascii(body[3:-1])
    if text[3:6] != "NAK" and checksum(body) != received:
        raise ChecksumError(f"checksum {received!r}, computed {checksum(body)!r}", reply)
    return parse_ack(text, reply, MASTER_ADDRESS, NAK_CODES)


def format_flow(value: float) -> str:
    """The ``SX!`` argument."""
    return f"{value:.3f}"


class MksGSeries(SerialInstrument):
    """Driver for MKS G-series mass-flow controllers; ``addr`` defaults to ``address``."""

    baudrate = 9600
    bytesize = serial.EIGHTBITS
    parity = serial.PARITY_NONE
    stopbits = serial.STOPBITS_ONE
    reply_terminator = b";"
    reply_trailer = 2  # the checksum follows the ';'

    def __init__(self, port: str | serial.SerialBase, address: int = BROADCAST,
                 **settings: Any) -> None:
        format_address(address)
        self.address = address
        super().__init__(port, **settings)

    def query(self, command: str, addr: int | None = None,
              parse_data: Callable[[str, bytes], T] | None = None) -> Any:
        """Send ``command`` to ``addr`` and return the (parsed) data of the reply."""
        frame = request_frame(self.address if addr is None else addr, command)

        def parse(reply: bytes) -> Any:
            data = parse_reply(reply)
            return parse_data(data, reply) if parse_data else data

        return self.exchange(frame, parse)

    def read_flow(self, addr: int | None = None) -> Reading:
        """Actual flow (``FX?``) in the unit's flow unit."""
        return self.query("FX?", addr, _reading)

    def read_setpoint(self, addr: int | None = None) -> float:
        """Flow set point (``SX?``)."""
        return self.query("SX?", addr, parse_float)

    def set_flow(self, value: float, addr: int | None = None) -> float:
        """Set the flow set point (``SX!value``); returns the value the unit confirms."""
        return self.query("SX!" + format_flow(value), addr, parse_float)

    def read_full_scale_range(self, addr: int | None = None) -> float:
        """Full-scale flow (``FS?``)."""
        return self.query("FS?", addr, parse_float)

    def read_unit(self, addr: int | None = None) -> str:
        """Flow unit (``U?``), e.g. ``SCCM``."""
        return self.query("U?", addr)

    def read_current_gas_type(self, addr: int | None = None) -> str:
        """Gas in use (``PG?``)."""
        return self.query("PG?", addr)

    def read_serial_number(self, addr: int | None = None) -> str:
        """Serial number (``SN?``)."""
        return self.query("SN?", addr)

    def read_internal_temperature(self, addr: int | None = None) -> Reading:
        """Internal temperature in °C (``TA?``)."""
        return self.query("TA?", addr, _reading)

    def read_run_hours(self, addr: int | None = None) -> float:
        """Operating hours (``RH?``)."""
        return self.query("RH?", addr, parse_float)

    def read_address(self, addr: int | None = None) -> int:
        """The unit's address (``CA?``)."""
        return self.query("CA?", addr, _int)

    def set_address(self, new_address: int, addr: int | None = None) -> int:
        """Give the unit a new address (``CA!``); later calls use it by default."""
        confirmed = self.query("CA!" + format_address(new_address), addr, _int)
        if addr is None or addr == self.address:
            self.address = confirmed
        return confirmed

    def purge(self, on: bool = True, addr: int | None = None) -> str:
        """Open the valve fully (``VO!PURGE``) or return to control (``VO!NORMAL``)."""
        return self.query("VO!PURGE" if on else "VO!NORMAL", addr)


def _reading(text: str, reply: bytes) -> Reading:
    return Reading(parse_float(text, reply))


def _int(text: str, reply: bytes) -> int:
    if not text.isdigit():
        raise GarbledReply("not an integer", reply)
    return int(text)
