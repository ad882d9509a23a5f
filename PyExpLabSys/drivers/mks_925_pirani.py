"""MKS 925 MicroPirani vacuum transducer.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`); address 254 is the broadcast address a single
unit on the line always answers.
"""

from __future__ import annotations

import logging

from .base import command, measurement
from .mks_protocol import MksGauge, parse_pressure_value, unit_command

LOG = logging.getLogger(__name__)


class Mks925(MksGauge):
    """Driver for the MKS 925 MicroPirani."""

    readings = ("read_pressure",)

    read_pressure, read_pressure_reading = measurement(
        "PR1?", parse_pressure_value, "The pressure in the unit's current unit"
    )
    read_serial = command("SN?", doc="Serial number")

    def change_unit(self, unit: str) -> str:
        """Set the pressure unit (``U!TORR``, ``MBAR``, ``PASCAL``, ``MICRON``); returns
        the unit the gauge confirms."""
        return self.query(unit_command(unit))
