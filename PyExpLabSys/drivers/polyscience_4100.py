"""PolyScience 4100-series recirculating chillers.

Port: 9600 baud, 8N1. Commands end in CR; every response ends in a single CR (no LF).
Reads (``RT``, ``RW``, ``RS`` ...) answer a value; writes (``SS020``, ``SO1``) answer
``!``. A command the unit does not understand gets ``?``, raised as
:class:`~PyExpLabSys.drivers.base.InstrumentReportedError` by the strict methods.

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`):

* ``read_temperature``, ``read_pressure``, ``read_flow_rate``,
  ``read_ambient_temperature``: ``nan`` when the chiller is off (``RW`` is ``0``),
  refuses (``?``), is silent or garbles.
* ``read_setpoint``: ``nan`` when refused, silent or garbled.
* ``read_status``: ``'On'``, ``'Off'``, else ``'error'``.
* ``read_unit``, ``turn_unit_on``, ``comm``: the answer as text, ``'?'`` when refused,
  ``''`` when silent.
* ``set_setpoint``: ``False`` when refused or silent.

The four measurements ask ``RW`` first and read only a running chiller, as PyExpLabSys
did (a stopped chiller's bath drifts to the room's temperature). ``set_setpoint``
clamps to ``min_setpoint`` .. ``max_setpoint`` (10 .. 30 °C) and rounds to whole degrees.
A vanished port raises ``PortGone`` (an ``OSError``). The ``*_reading`` twins are strict
and do not ask ``RW``: the service logs the bath's temperature whether the chiller runs
or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    command,
    decode_ascii,
    parse_float,
    strip_terminator,
    value_of,
)
from .upstream import or_sentinel

LOG = logging.getLogger(__name__)

CR = b"\r"
#: ``RW`` answer → what PyExpLabSys's ``read_status`` returns.
STATUS = {"1": "On", "0": "Off"}
ACKNOWLEDGED = "!"
NAN = float("nan")


# --------------------------------------------------------------------------- pure functions
def parse_reply(reply: bytes) -> str:
    """The text of a reply; ``?`` raises :class:`InstrumentReportedError`."""
    data = decode_ascii(strip_terminator(reply, CR))
    if data == "?":
        raise InstrumentReportedError("?", "command not understood", reply)
    if not data:
        raise GarbledReply("empty reply", reply)
    return data


def parse_reading(data: str) -> Reading:
    """A measured value such as ``+023.4`` (the chiller reports no status with it)."""
    return Reading(parse_float(data))


def parse_pressure(data: str) -> Reading:
    """Pump pressure in kPa (the unit sends 0.01 kPa)."""
    return Reading(parse_float(data) / 100.0)


def format_setpoint(value: float) -> str:
    """The ``SS`` argument: whole degrees, three digits (``20`` → ``020``; ``20.5`` →
    ``020`` and ``21.5`` → ``022``: halves to even, as PyExpLabSys formatted them)."""
    return f"{value:03.0f}"


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

    def __init__(self, port: str | serial.SerialBase = "/dev/ttyUSB0", **settings: Any) -> None:
        super().__init__(port, **settings)
        #: ``set_setpoint`` clamps to these (°C), as PyExpLabSys's driver did.
        self.min_setpoint = 10
        self.max_setpoint = 30

    def converse(self, command: str, address: int | None) -> str:
        """Send ``command`` + CR and return the text of the CR-terminated reply."""
        self.send(command.encode("ascii") + CR)
        return parse_reply(self.receive())

    read_temperature_reading = command("RT", parse_reading, "Bath temperature, as a reading")
    read_pressure_reading = command("RK", parse_pressure, "Pump pressure in kPa, as a reading")
    read_flow_rate_reading = command("RL", parse_reading, "Flow in L/min, as a reading")
    read_ambient_temperature_reading = command("RA", parse_reading, "Ambient temperature, as a reading")
    read_setpoint_reading = command("RS", parse_reading, "Temperature set point, as a reading")

    # ------------------------------------------------------------------ PyExpLabSys's methods
    def comm(self, command: str) -> str:
        """Send ``command`` and return the reply without its CR, as PyExpLabSys did:
        ``'?'`` when refused, ``''`` from a silent chiller."""
        return self.reply_text(command)[:-1]

    def _number(self, read: Callable[[], Reading], what: str) -> float:
        return or_sentinel(lambda: value_of(read()), NAN, f"{self.port_name} {what}")

    def _while_running(self, read: Callable[[], Reading], what: str) -> float:
        """``read``'s number if the chiller runs (``RW`` is ``1``), else ``nan``."""
        if self.comm("RW") != "1":
            LOG.info("%s: chiller not running; %s is nan", self.port_name, what)
            return NAN
        return self._number(read, what)

    def read_temperature(self) -> float:
        """Bath temperature (``RT``); ``nan`` when the chiller is off or gives none."""
        return self._while_running(self.read_temperature_reading, "RT")

    def read_pressure(self) -> float:
        """Pump pressure in kPa (``RK``); ``nan`` when the chiller is off or gives none."""
        return self._while_running(self.read_pressure_reading, "RK")

    def read_flow_rate(self) -> float:
        """Flow in L/min (``RL``); ``nan`` when the chiller is off or gives none."""
        return self._while_running(self.read_flow_rate_reading, "RL")

    def read_ambient_temperature(self) -> float:
        """Ambient temperature (``RA``); ``nan`` when the chiller is off or gives none."""
        return self._while_running(self.read_ambient_temperature_reading, "RA")

    def read_setpoint(self) -> float:
        """Temperature set point (``RS``); ``nan`` when the chiller gives none."""
        return self._number(self.read_setpoint_reading, "RS")

    def read_status(self) -> str:
        """``'On'`` (running), ``'Off'`` (standby) or ``'error'`` (any other answer, or
        none) from ``RW``."""
        return STATUS.get(self.comm("RW"), "error")

    def read_unit(self) -> str:
        """Temperature unit, ``'C'`` or ``'F'`` (``RU``), as the chiller answers."""
        return self.comm("RU")

    def set_setpoint(self, value: float) -> bool:
        """Set the temperature set point, clamped to ``min_setpoint`` ..
        ``max_setpoint`` and rounded to whole degrees (``SS020``); True once the unit
        confirms with ``!``, False when it refuses or is silent."""
        clamped = min(max(value, self.min_setpoint), self.max_setpoint)
        if clamped != value:
            LOG.warning("%s: set point %r clamped to %r", self.port_name, value, clamped)
        return self.comm("SS" + format_setpoint(clamped)) == ACKNOWLEDGED

    def turn_unit_on(self, turn_on: bool) -> str:
        """Start (``SO1``) or stop (``SO0``) the chiller; returns its answer (``'!'``)."""
        return self.comm("SO1" if turn_on else "SO0")
