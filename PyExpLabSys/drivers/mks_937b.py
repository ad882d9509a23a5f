"""MKS 937B multi-sensor vacuum gauge controller.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`). Six channels; readings may be ``LO``, ``>``,
``OFF`` or ``WAIT`` instead of a number, which is returned as the reading's status.
"""

from __future__ import annotations

import logging
import re

from .base import GarbledReply, Reading
from .mks_protocol import MksGauge, parse_pressure_value

LOG = logging.getLogger(__name__)

CHANNELS = range(1, 7)
UNITS = ("TORR", "MBAR", "PASCAL", "MICRON")


def parse_all_pressures(data: str, reply: bytes = b"") -> list[Reading]:
    """Split the ``PRZ?`` data (space-separated fields) into readings."""
    fields = data.split()
    if not fields:
        raise GarbledReply("no pressures in reply", reply)
    return [parse_pressure_value(field, reply) for field in fields]


def parse_sensor_types(data: str, reply: bytes = b"") -> list[str]:
    """Split the ``MT?`` data into one sensor type per slot."""
    types = [field for field in re.split(r"[\s,]+", data) if field]
    if not types or not all(t.isalnum() for t in types):
        raise GarbledReply("bad sensor types", reply)
    return types


class Mks937b(MksGauge):
    """Driver for the MKS 937B gauge controller."""

    def read_pressure(self, channel: int = 1) -> Reading:
        """Pressure of ``channel`` (1-6, ``PRn?``) with its status."""
        if channel not in CHANNELS:
            raise ValueError(f"channel must be 1..6, not {channel}")
        return self.query_reading(f"PR{channel}?")

    def read_pressure_gauge(self, gauge_number: int) -> Reading:
        """Alias of :meth:`read_pressure` (name of the original driver)."""
        return self.read_pressure(gauge_number)

    def read_all_pressures(self) -> list[Reading]:
        """Pressures of all channels in one exchange (``PRZ?``)."""
        return self.query("PRZ?", parse_all_pressures)

    def read_sensor_types(self) -> list[str]:
        """Sensor type per module slot (``MT?``)."""
        return self.query("MT?", parse_sensor_types)

    def pressure_unit(self, unit: str | None = None) -> str:
        """Read the pressure unit (``U?``), or set it first (``U!MBAR``) if given."""
        if unit is None:
            return self.command("U?")
        unit = unit.upper()
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}")
        return self.command(f"U!{unit}")
