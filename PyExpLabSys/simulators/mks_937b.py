"""Simulator of an MKS 937B with six channels.

Channels 1 and 2 read drifting pressures; 3-6 show the non-numeric readings real units
give: ``LO``, ``OFF``, ``WAIT`` and ``>``. Change ``channels`` to model other states.
``U?``, ``U!<unit>`` and ``SN?``: see :mod:`.mks_protocol`.
"""

from __future__ import annotations

import logging
from typing import Any

from .mks_protocol import MksGaugeSimulator, mks_number

LOG = logging.getLogger(__name__)


class Mks937bSimulator(MksGaugeSimulator):
    """An MKS 937B at address 253: cold cathode, Pirani and capacitance slots."""

    name = "mks937b"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Per channel: a base pressure (drifts) or a fixed text.
        self.channels: list[float | str] = [2.5e-7, 1.0e-3, "LO", "OFF", "WAIT", ">"]
        self.sensor_types = ["CC", "PR", "CP"]

    def _reading(self, channel: int) -> str:
        value = self.channels[channel]
        return value if isinstance(value, str) else mks_number(self.drift(value))

    def command(self, command: str) -> str | None:
        if command == "PRZ?":
            return " ".join(self._reading(i) for i in range(len(self.channels)))
        if len(command) == 4 and command.startswith("PR") and command.endswith("?"):
            channel = command[2]
            if channel.isdigit() and 1 <= int(channel) <= len(self.channels):
                return self._reading(int(channel) - 1)
            return None
        if command == "MT?":
            return " ".join(self.sensor_types)
        return super().command(command)
