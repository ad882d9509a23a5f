"""The ``@<address><command>;FF`` protocol of MKS gauge controllers (925, 937B ...).

Request: ``@`` + 3-digit address + command + ``;FF``. Address 254 is the broadcast
address any unit answers (units default to 253). Reply: ``@`` + the unit's own address
+ ``ACK`` + data + ``;FF``, or ``NAK`` + error code. No checksum. The reply parsing in
:func:`parse_ack` is shared with the G-series mass-flow controllers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    Status,
    decode_ascii,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

BROADCAST = 254
TERMINATOR = b";FF"
#: Pressure units the gauge controllers take in ``U!<unit>``.
UNITS = ("TORR", "MBAR", "PASCAL", "MICRON")
#: Error codes of the gauge controllers (others: see the manual).
NAK_CODES = {
    "152": "not an ion gauge",
    "160": "command error",
}

_BODY = re.compile(r"(\d{3})(ACK|NAK)(.*)", re.S)


def format_address(address: int) -> str:
    """The 3-digit address field."""
    if not isinstance(address, int) or not 0 <= address <= 999:
        raise ValueError(f"address must be 0..999, not {address!r}")
    return f"{address:03d}"


def parse_ack(body: str, reply: bytes, expect_address: int | None, meanings: dict[str, str]) -> str:
    """Split ``<addr>ACK<data>`` and return the data.

    ``<addr>NAK<code>`` raises :class:`InstrumentReportedError` with the unit's code;
    a reply from another address than ``expect_address`` is garbled (None: any).
    """
    match = _BODY.fullmatch(body)
    if match is None:
        raise GarbledReply("expected <address>ACK|NAK", reply)
    address, kind, data = match.groups()
    if kind == "NAK":
        raise InstrumentReportedError(data, meanings.get(data, ""), reply)
    if expect_address is not None and int(address) != expect_address:
        raise GarbledReply(f"reply from address {address}, expected {expect_address}", reply)
    return data


def unit_command(unit: str) -> str:
    """``U!<UNIT>`` for ``unit`` in any case; ``ValueError`` for an unknown unit."""
    if not isinstance(unit, str) or unit.upper() not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    return f"U!{unit.upper()}"


def request_frame(address: int, command: str) -> bytes:
    """``@aaa<command>;FF``."""
    return f"@{format_address(address)}{command}".encode("ascii") + TERMINATOR


def parse_reply(reply: bytes, address: int = BROADCAST) -> str:
    """Data of a ``@aaaACK<data>;FF`` reply to a request sent to ``address``."""
    text = decode_ascii(strip_terminator(reply, TERMINATOR))
    if not text.startswith("@"):
        raise GarbledReply("reply does not start with @", reply)
    return parse_ack(text[1:], reply, None if address == BROADCAST else address, NAK_CODES)


def parse_pressure_value(data: str) -> Reading:
    """One pressure field: a number, ``LO`` (below range), ``<x``, ``>x`` / ``>``
    (over range), ``OFF`` (sensor off) or ``WAIT`` (gauge not ready)."""
    data = data.strip()
    if data == "LO":
        return Reading(None, Status.UNDERRANGE)
    if data == "OFF":
        return Reading(None, Status.SENSOR_OFF)
    if data == "WAIT":
        return Reading(None, Status.WAIT)
    if data[:1] in ("<", ">"):
        status = Status.UNDERRANGE if data[0] == "<" else Status.OVERRANGE
        rest = data[1:].strip()
        return Reading(parse_float(rest) if rest else None, status)
    return Reading(parse_float(data), Status.OK)


class MksGauge(SerialInstrument):
    """Common part of the MKS gauge controller drivers (9600 8N1, ``;FF`` frames)."""

    reply_terminator = TERMINATOR

    def __init__(self, port: str | serial.SerialBase, address: int = BROADCAST, **settings: Any) -> None:
        format_address(address)
        self.address = address
        super().__init__(port, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send ``@aaa<command>;FF`` and return the data of the ACK reply."""
        self.send(request_frame(self.address, command))
        return parse_reply(self.receive(), self.address)
