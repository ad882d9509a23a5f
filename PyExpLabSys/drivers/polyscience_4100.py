"""PolyScience 4100-series recirculating chillers.

Port: 9600 baud, 8N1. Commands end in CR; every response ends in a single CR (no LF).
Reads (``RT``, ``RW``, ``RS`` ...) answer a value; writes (``SS020``, ``SO1``) answer
``!``. A command the unit does not understand gets ``?``, raised as
:class:`~PyExpLabSys.drivers.base.InstrumentReportedError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    decode_ascii,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

T = TypeVar("T")

CR = b"\r"
STATUS = {"1": "running", "0": "standby"}
UNITS = {"C", "F"}


def parse_reply(reply: bytes) -> str:
    """The text of a reply; ``?`` raises :class:`InstrumentReportedError`."""
    text = decode_ascii(strip_terminator(reply, CR))
    if text == "?":
        raise InstrumentReportedError("?", "command not understood", reply)
    if not text:
        raise GarbledReply("empty reply", reply)
    return text


def parse_acknowledgement(reply: bytes) -> None:
    """Accept the ``!`` that confirms a write."""
    if parse_reply(reply) != "!":
        raise GarbledReply("expected !", reply)


def parse_status(reply: bytes) -> str:
    """``1`` → ``running``, ``0`` → ``standby`` (reply to ``RW``)."""
    try:
        return STATUS[parse_reply(reply)]
    except KeyError:
        raise GarbledReply("unknown status", reply) from None


def parse_unit(reply: bytes) -> str:
    """``C`` or ``F`` (reply to ``RU``)."""
    text = parse_reply(reply)
    if text not in UNITS:
        raise GarbledReply("unknown unit", reply)
    return text


def parse_number(reply: bytes) -> float:
    """A numeric reply such as ``+023.4``."""
    return parse_float(parse_reply(reply), reply)


def parse_reading(reply: bytes) -> Reading:
    """A measured value (the chiller reports no status with it)."""
    return Reading(parse_number(reply))


def parse_pressure(reply: bytes) -> Reading:
    """Pump pressure in kPa (the unit sends 0.01 kPa)."""
    return Reading(parse_number(reply) / 100.0)


def format_setpoint(value: float) -> str:
    """``20`` → ``020``, ``20.5`` → ``020.5`` (the ``SS`` argument)."""
    if float(value).is_integer():
        return f"{value:03.0f}"
    return f"{value:05.1f}"


class Polyscience4100(SerialInstrument):
    """Driver for PolyScience 4100-series chillers."""

    baudrate = 9600
    bytesize = serial.EIGHTBITS
    parity = serial.PARITY_NONE
    stopbits = serial.STOPBITS_ONE
    reply_terminator = CR

    def query(self, command: str, parse: Callable[[bytes], T]) -> T:
        """Send ``command`` + CR and parse the CR-terminated reply."""
        return self.exchange(command.encode("ascii") + CR, parse)

    def read_temperature(self) -> Reading:
        """Bath temperature (``RT``)."""
        return self.query("RT", parse_reading)

    def read_status(self) -> str:
        """``running`` or ``standby`` (``RW``)."""
        return self.query("RW", parse_status)

    def read_setpoint(self) -> float:
        """Temperature set point (``RS``)."""
        return self.query("RS", parse_number)

    def read_unit(self) -> str:
        """Temperature unit, ``C`` or ``F`` (``RU``)."""
        return self.query("RU", parse_unit)

    def read_pressure(self) -> Reading:
        """Pump pressure in kPa (``RK``)."""
        return self.query("RK", parse_pressure)

    def read_flow_rate(self) -> Reading:
        """Flow in L/min (``RL``)."""
        return self.query("RL", parse_reading)

    def read_ambient_temperature(self) -> Reading:
        """Ambient temperature (``RA``)."""
        return self.query("RA", parse_reading)

    def set_setpoint(self, value: float) -> None:
        """Set the temperature set point (``SSxxx``)."""
        self.query("SS" + format_setpoint(value), parse_acknowledgement)

    def turn_unit_on(self, on: bool) -> None:
        """Start (``SO1``) or stop (``SO0``) the chiller."""
        self.query("SO1" if on else "SO0", parse_acknowledgement)
