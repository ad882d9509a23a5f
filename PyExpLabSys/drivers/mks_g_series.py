"""MKS G-series digital mass-flow controllers (GE50A and relatives).

Port: 9600 baud, 8N1. Request: ``@@@`` + 3-digit address + command + ``;`` + checksum;
reply: ``@@@000`` (the master's address) + ``ACK`` + data + ``;`` + checksum, or ``NAK``
+ code. The checksum is the sum of the character codes modulo 256 as two uppercase hex
digits. Real units accept requests whose checksum covers one ``@`` + address + command
+ ``;``; replies carry a checksum over the whole ``@@@...;``. NAK replies are reported by
their code even when their checksum is off (it deviates on real units).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import serial

from .base import (
    ChecksumError,
    GarbledReply,
    Reading,
    SerialInstrument,
    checked,
    command,
    decode_ascii,
    measurement,
    parse_float,
)
from .mks_protocol import BROADCAST, format_address, parse_ack

LOG = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- pure functions
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


def parse_reading(data: str) -> Reading:
    """A measured value (the controller sends no status with it)."""
    return Reading(parse_float(data))


def parse_int(data: str) -> int:
    """A whole number such as an address (``005``)."""
    if not data.isdigit():
        raise GarbledReply("not an integer", data)
    return int(data)


#: The factory for this driver's commands: they take PyExpLabSys's ``addr`` argument.
_command = functools.partial(command, address="addr")


# --------------------------------------------------------------------------- the driver
class MksGSeries(SerialInstrument):
    """Driver for MKS G-series mass-flow controllers (9600 8N1, checksummed frames).

    Every command takes PyExpLabSys's optional ``addr`` (default: ``address``, the
    broadcast address 254 unless given).
    """

    reply_terminator = b";"
    reply_trailer = 2  # the checksum follows the ';'
    addressable = True
    readings = ("read_flow", "read_setpoint", "read_internal_temperature")

    def __init__(self, port: str | serial.SerialBase, address: int = BROADCAST, **settings: Any) -> None:
        format_address(address)
        self.address = address
        super().__init__(port, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send the checksummed request to ``address`` (None: the driver's) and return
        the data of the master-addressed ACK reply."""
        self.send(request_frame(self.address if address is None else address, command))
        return parse_reply(self.receive())

    read_flow, read_flow_reading = measurement(
        "FX?", parse_reading, "Actual flow in the unit's flow unit", address="addr"
    )
    read_setpoint, read_setpoint_reading = measurement("SX?", parse_reading, "Flow set point", address="addr")
    read_internal_temperature, read_internal_temperature_reading = measurement(
        "TA?", parse_reading, "Internal temperature in °C", address="addr"
    )
    read_unit = _command("U?", doc="Flow unit, e.g. ``SCCM``")
    read_current_gas_type = _command("PG?", doc="Gas in use")
    read_serial_number = _command("SN?", doc="Serial number")
    read_run_hours = _command("RH?", checked(parse_float), "Operating hours, as text")
    read_address = _command("CA?", parse_int, "The unit's address")

    def read_full_scale_range(self, addr: int | None = None) -> str:
        """Full-scale flow followed by the flow unit, e.g. ``100.0SCCM`` (``FS?``,
        ``U?``), as PyExpLabSys returns it."""
        value = self.query("FS?", checked(parse_float), addr)
        return value + self.query("U?", address=addr)

    def set_flow(self, value: float, addr: int | None = None) -> bool:
        """Set the flow set point (``SX!value``); True once the unit confirms."""
        self.query("SX!" + format_flow(value), parse_float, addr)
        return True

    def set_address(self, new_address: int, addr: int | None = None) -> int:
        """Give the unit a new address (``CA!``); later calls use it by default."""
        confirmed = self.query("CA!" + format_address(new_address), parse_int, addr)
        if addr is None or addr == self.address:
            self.address = confirmed
        return confirmed

    def read_device_address(self, address: int = BROADCAST) -> str:
        """The address of the unit at ``address`` as it sends it (``CA?``), PyExpLabSys's
        form of :meth:`read_address`."""
        return self.query("CA?", checked(parse_int), address)

    def set_device_address(self, old_addr: int, new_addr: int) -> None:
        """Move the unit at ``old_addr`` to ``new_addr`` (1..253; ``CA!``), PyExpLabSys's
        form of :meth:`set_address`."""
        if not isinstance(new_addr, int) or not 0 < new_addr < BROADCAST:
            raise ValueError(f"new address must be 1..253, not {new_addr!r}")
        self.set_address(new_addr, old_addr)

    def valve_override(self, purge: bool, addr: int | None = None) -> str:
        """Open the valve fully (``VO!PURGE``) or return to control (``VO!NORMAL``)."""
        return self.query("VO!PURGE" if purge else "VO!NORMAL", address=addr)

    def purge(self, t: float = 1, addr: int | None = None) -> None:
        """Purge for ``t`` seconds: open the valve fully, then return to control (also
        when interrupted), as PyExpLabSys's ``purge`` did."""
        self.valve_override(True, addr)
        try:
            time.sleep(abs(t))  # the purge's duration, not a wait for an event
        finally:
            self.valve_override(False, addr)
