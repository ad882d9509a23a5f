"""MKS 925 MicroPirani vacuum transducer.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`); address 254 is the broadcast address a single
unit on the line always answers.
"""

from __future__ import annotations

import logging

from .base import Reading
from .mks_protocol import MksGauge

LOG = logging.getLogger(__name__)


class Mks925(MksGauge):
    """Driver for the MKS 925 MicroPirani."""

    def read_pressure(self) -> Reading:
        """The pressure (``PR1?``) in the unit's current unit, with its status."""
        return self.query_reading("PR1?")
