"""Simulator of a PolyScience 4100-series chiller.

Commands end in CR, every response ends in a single CR (no LF). Reads answer a value,
writes (``SSxxx``, ``SO1``/``SO0``) answer ``!``, anything else ``?`` (also the reply
of the ``nak`` fault). Running, the bath sits near the set point; in standby it drifts
near the ambient temperature.
"""

from __future__ import annotations

import logging
from typing import Any

from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)


class Polyscience4100Simulator(PtySimulator):
    """A 4100 chiller, running, set point 20 °C."""

    name = "polyscience"
    request_terminator = b"\r"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setpoint = 20.0
        self.running = True
        self.unit = "C"
        self.ambient = 22.1
        self.pressure = 12  # 0.01 kPa
        self.flow = 2.5

    def nak(self, request: bytes, code: str | None) -> bytes:
        return b"?\r"

    def handle(self, request: bytes) -> bytes | None:
        return self.command(request[:-1].decode("ascii", "replace")).encode("ascii") + b"\r"

    def temperature(self) -> float:
        """Bath temperature now."""
        return self.drift(self.setpoint if self.running else self.ambient, 0.01)

    def command(self, command: str) -> str:
        """The reply text to ``command``."""
        reads = {
            "RT": lambda: f"{self.temperature():+06.1f}",
            "RW": lambda: "1" if self.running else "0",
            "RS": lambda: f"{self.setpoint:+06.1f}",
            "RU": lambda: self.unit,
            "RK": lambda: f"{self.pressure:03d}",
            "RL": lambda: f"{self.flow:04.1f}",
            "RA": lambda: f"{self.ambient:+06.1f}",
        }
        if command in reads:
            return reads[command]()
        if command in ("SO1", "SO0"):
            self.running = command == "SO1"
            return "!"
        if command.startswith("SS"):
            try:
                self.setpoint = float(command[2:])
            except ValueError:
                return "?"
            return "!"
        return "?"
