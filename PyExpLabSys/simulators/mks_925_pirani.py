"""Simulator of an MKS 925 MicroPirani: ``PR1?`` answers a drifting pressure.

Set ``reading`` to a text such as ``"LO"`` to make it report that instead of a number.
"""

from __future__ import annotations

import logging
from typing import Any

from .mks_protocol import MksGaugeSimulator, mks_number

LOG = logging.getLogger(__name__)


class Mks925Simulator(MksGaugeSimulator):
    """An MKS 925 at address 253."""

    name = "mks925"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pressure = 7.6e2
        self.reading: str | None = None

    def command(self, command: str) -> str | None:
        if command == "PR1?":
            return self.reading or mks_number(self.drift(self.pressure))
        return None
