"""Simulator of an MKS 925 MicroPirani: ``PR1?`` answers a drifting pressure.

Set ``reading`` to a text such as ``"LO"`` or ``"OFF"`` to make it report that instead
of a number. ``SN?``, ``U?`` and ``U!<unit>`` (see :mod:`.mks_protocol`) and ``BR!<baud>``
(answers the rate; a pty has no baud rate to change) are answered too.
"""

from __future__ import annotations

import logging
from typing import Any

from .mks_protocol import MksGaugeSimulator, mks_number

LOG = logging.getLogger(__name__)

BAUD_RATES = ("4800", "9600", "19200", "38400", "57600", "115200", "230400")


class Mks925Simulator(MksGaugeSimulator):
    """An MKS 925 at address 253."""

    name = "mks925"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pressure = 7.6e2
        self.reading: str | None = None
        self.baud_rate = "9600"

    def command(self, command: str) -> str | None:
        if command == "PR1?":
            return self.reading or mks_number(self.drift(self.pressure))
        if command.startswith("BR!") and command[3:] in BAUD_RATES:
            self.baud_rate = command[3:]
            return self.baud_rate
        return super().command(command)
