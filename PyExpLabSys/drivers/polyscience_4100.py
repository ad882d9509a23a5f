"""PolyScience 4100-series recirculating chillers.

Port: 9600 baud, 8N1. Commands end in CR; every response ends in a single CR (no LF).
Reads (``RT``, ``RW``, ``RS`` ...) answer a value; writes (``SS020``, ``SO1``) answer
``!``. A command the unit does not understand gets ``?``, raised as
:class:`~PyExpLabSys.drivers.base.InstrumentReportedError`.
"""

from __future__ import annotations

import logging

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    command,
    decode_ascii,
    measurement,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

CR = b"\r"
#: ``RW`` answer → what PyExpLabSys's ``read_status`` returns.
STATUS = {"1": "On", "0": "Off"}
UNITS = {"C", "F"}
ACKNOWLEDGED = "!"


# --------------------------------------------------------------------------- pure functions
def parse_reply(reply: bytes) -> str:
    """The text of a reply; ``?`` raises :class:`InstrumentReportedError`."""
    data = decode_ascii(strip_terminator(reply, CR))
    if data == "?":
        raise InstrumentReportedError("?", "command not understood", reply)
    if not data:
        raise GarbledReply("empty reply", reply)
    return data


def parse_acknowledgement(data: str) -> str:
    """Accept the ``!`` that confirms a write (and return it, as PyExpLabSys did)."""
    if data != ACKNOWLEDGED:
        raise GarbledReply("expected !", data)
    return data


def parse_status(data: str) -> str:
    """``1`` → ``On``, ``0`` → ``Off`` (reply to ``RW``)."""
    try:
        return STATUS[data]
    except KeyError:
        raise GarbledReply("unknown status", data) from None


def parse_unit(data: str) -> str:
    """``C`` or ``F`` (reply to ``RU``)."""
    if data not in UNITS:
        raise GarbledReply("unknown unit", data)
    return data


def parse_reading(data: str) -> Reading:
    """A measured value such as ``+023.4`` (the chiller reports no status with it)."""
    return Reading(parse_float(data))


def parse_pressure(data: str) -> Reading:
    """Pump pressure in kPa (the unit sends 0.01 kPa)."""
    return Reading(parse_float(data) / 100.0)


def format_setpoint(value: float) -> str:
    """``20`` → ``020``, ``20.5`` → ``020.5`` (the ``SS`` argument)."""
    if float(value).is_integer():
        return f"{value:03.0f}"
    return f"{value:05.1f}"


# --------------------------------------------------------------------------- the driver
class Polyscience4100(SerialInstrument):
    """Driver for PolyScience 4100-series chillers (9600 8N1, CR-terminated)."""

    reply_terminator = CR
    readings = (
        "read_temperature",
        "read_pressure",
        "read_flow_rate",
        "read_ambient_temperature",
        "read_setpoint",
    )

    def converse(self, command: str, address: int | None) -> str:
        """Send ``command`` + CR and return the text of the CR-terminated reply."""
        self.send(command.encode("ascii") + CR)
        return parse_reply(self.receive())

    read_temperature, read_temperature_reading = measurement("RT", parse_reading, "Bath temperature")
    read_pressure, read_pressure_reading = measurement("RK", parse_pressure, "Pump pressure in kPa")
    read_flow_rate, read_flow_rate_reading = measurement("RL", parse_reading, "Flow in L/min")
    read_ambient_temperature, read_ambient_temperature_reading = measurement(
        "RA", parse_reading, "Ambient temperature"
    )
    read_setpoint, read_setpoint_reading = measurement("RS", parse_reading, "Temperature set point")
    read_status = command("RW", parse_status, "``On`` (running) or ``Off`` (standby)")
    read_unit = command("RU", parse_unit, "Temperature unit, ``C`` or ``F``")

    def set_setpoint(self, value: float) -> bool:
        """Set the temperature set point (``SSxxx``); True once the unit confirms."""
        self.query("SS" + format_setpoint(value), parse_acknowledgement)
        return True

    def turn_unit_on(self, turn_on: bool) -> str:
        """Start (``SO1``) or stop (``SO0``) the chiller; returns the unit's ``!``."""
        return self.query("SO1" if turn_on else "SO0", parse_acknowledgement)
