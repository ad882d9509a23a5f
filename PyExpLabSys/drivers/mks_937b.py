"""MKS 937B multi-sensor vacuum gauge controller.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`). Six channels; readings may be ``LO``, ``>``,
``OFF`` or ``WAIT`` instead of a number: the ``*_reading`` twins return that as the
reading's status, the float methods raise :class:`~PyExpLabSys.drivers.base.NoValue`.
"""

from __future__ import annotations

import logging
import re

from .base import GarbledReply, Reading, checked, command, plain
from .mks_protocol import MksGauge, parse_pressure_value, unit_command

LOG = logging.getLogger(__name__)

CHANNELS = range(1, 7)


def parse_all_pressures(data: str) -> list[Reading]:
    """Split the ``PRZ?`` data (space-separated fields) into readings."""
    fields = data.split()
    if not fields:
        raise GarbledReply("no pressures in reply", data)
    return [parse_pressure_value(field) for field in fields]


def parse_sensor_types(data: str) -> list[str]:
    """Split the ``MT?`` data into one sensor type per slot."""
    types = [field for field in re.split(r"[\s,]+", data) if field]
    if not types or not all(t.isalnum() for t in types):
        raise GarbledReply("bad sensor types", data)
    return types


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

    read_pressure_gauge = plain(read_pressure_gauge_reading)

    read_all_pressures = command(
        "PRZ?", checked(parse_all_pressures), "All channels' pressures as the unit sends them"
    )
    read_all_pressures_reading = command(
        "PRZ?", parse_all_pressures, "All channels' pressures with their status"
    )
    read_sensor_types = command(
        "MT?", checked(parse_sensor_types), "Sensor type per module slot, as the unit sends them"
    )

    def pressure_unit(self, unit: str | None = None) -> str:
        """Read the pressure unit (``U?``), or set it first (``U!MBAR``) if given."""
        return self.query("U?" if unit is None else unit_command(unit))
