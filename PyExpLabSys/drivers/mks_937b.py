"""MKS 937B multi-sensor vacuum gauge controller.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`). Six channels; readings may be ``LO``, ``>``,
``OFF`` or ``WAIT`` instead of a number: the ``*_reading`` twins return that as the
reading's status.

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`):

* ``read_pressure_gauge``: ``LO``: ``0.0``; ``OFF``, ``WAIT``, ``>``, ``>x``: ``-1.0``;
  ``<x``: :class:`~.base.NoValue`; silent: :class:`~.base.EmptyReply`; NAK or garbled:
  ``InstrumentReportedError`` / ``GarbledReply`` (all ``ValueError``, as
  ``float(text)`` raised there).
* ``read_all_pressures``, ``read_sensor_types``, ``pressure_unit``: the text as sent;
  ``''`` when silent; the whole reply when refused.
* ``comm``: the data after ``ACK``; ``''`` when silent; the whole reply otherwise.

"The reply" is the whole reply as text (``@253NAK160;FF``). A vanished port raises
``PortGone`` (an ``OSError``). ``read_pressure`` (this project's name) and the twins
``read_pressure_reading``, ``read_pressure_gauge_reading``, ``read_all_pressures_reading``
are strict.
"""

from __future__ import annotations

import logging

from .base import GarbledReply, NoValue, Reading, Status, command, plain
from .mks_protocol import MksGauge, parse_pressure_value, unit_command
from .upstream import silence_is_value_error

LOG = logging.getLogger(__name__)

CHANNELS = range(1, 7)


def parse_all_pressures(data: str) -> list[Reading]:
    """Split the ``PRZ?`` data (space-separated fields) into readings."""
    fields = data.split()
    if not fields:
        raise GarbledReply("no pressures in reply", data)
    return [parse_pressure_value(field) for field in fields]


class Mks937b(MksGauge):
    """Driver for the MKS 937B gauge controller."""

    readings = ("read_pressure", "read_pressure_gauge")

    def read_pressure_reading(self, channel: int = 1) -> Reading:
        """Pressure of ``channel`` (1-6, ``PRn?``) with its status."""
        if channel not in CHANNELS:
            raise ValueError(f"channel must be 1..6, not {channel!r}")
        return self.query(f"PR{channel}?", parse_pressure_value)

    read_pressure = plain(read_pressure_reading)

    def read_pressure_gauge_reading(self, gauge_number: int) -> Reading:
        """:meth:`read_pressure_reading` under PyExpLabSys's name and argument."""
        return self.read_pressure_reading(gauge_number)

    def read_pressure_gauge(self, gauge_number: int) -> float:
        """Pressure of channel ``gauge_number`` as PyExpLabSys gave it: ``0.0`` for
        ``LO``, ``-1.0`` for ``OFF``, ``WAIT`` and over range (``>``); ``ValueError`` when
        the unit is silent, refuses or sends what is not a pressure."""
        with silence_is_value_error():
            reading = self.read_pressure_reading(gauge_number)
        if reading.status is Status.OK and reading.value is not None:
            return reading.value
        if reading.status is Status.UNDERRANGE and reading.value is None:
            return 0.0
        if reading.status in (Status.SENSOR_OFF, Status.WAIT, Status.OVERRANGE):
            return -1.0
        raise NoValue(reading)  # "<1.00E-4": float() of it failed there too

    read_all_pressures_reading = command(
        "PRZ?", parse_all_pressures, "All channels' pressures with their status"
    )

    def comm(self, command: str) -> str:
        """Send ``command``; the data after ``ACK`` as text, as PyExpLabSys returned it
        (an error reply whole, ``''`` from a silent unit)."""
        reply = self.reply_text(command)
        ack = reply.find("ACK")
        return reply[ack + 3 : -3] if ack > 0 else reply

    def read_all_pressures(self) -> str:
        """All channels' pressures as the unit sends them (``PRZ?``), e.g.
        ``'2.50E-7 LO OFF'``."""
        return self.comm("PRZ?")

    def read_sensor_types(self) -> str:
        """Sensor type per module slot as the unit sends them (``MT?``)."""
        return self.comm("MT?")

    def pressure_unit(self, unit: str | None = None) -> str:
        """Set the pressure unit first if given (``U!MBAR``), then read it (``U?``)."""
        if unit is not None:
            self.comm(unit_command(unit))
        return self.comm("U?")
