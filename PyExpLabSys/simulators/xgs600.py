"""Simulator of an Agilent XGS-600 with a hot-filament ion gauge board and a convection
board (gauges ``I1``, ``T1``, ``T2`` in board order), on RS-232 address 00.

``#00<command><data>\\r`` → ``><data>\\r``; an unknown command, a gauge that is not
there or bad data → ``?FF\\r``; another address → no reply. LF is ignored. Set a
gauge's ``open`` to make it read ``OPEN``. Emission and setpoint states are kept;
an AUTO setpoint is on while its gauge reads below the on-pressure.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

CR = b"\r"
ERROR = b"?FF\r"
_REQUEST = re.compile(rb"#([0-9A-F]{2})([ -~]+)\r")
_SETPOINT_LEVEL = re.compile(r"([67])([1-8])(U[!-~]+?|[TI][1-8])(\d\.\d{3}E[+-]\d{2})")


@dataclass
class Gauge:
    """One sensor: user label, base pressure, open circuit, emission (0 off, 1, 2)."""

    label: str
    pressure: float
    open: bool = False
    emission: int = 0


@dataclass
class Setpoint:
    """A relay: 0 OFF, 1 ON, 3 AUTO, and its gauge and on/off pressures for AUTO."""

    state: int = 0
    gauge: str = "T1"
    on_below: float = 0.0
    off_above: float = 0.0


class XGS600Simulator(PtySimulator):
    """An XGS-600: HFIG in slot 0, convection board in slot 1, four empty slots."""

    name = "xgs600"
    request_terminator = CR
    reading_args: ClassVar[dict[str, tuple[object, ...]]] = {"read_pressure": ("T1",)}

    def __init__(self, *args: Any, address: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = address
        self.boards = ["10", "40", "FE", "FE", "FE", "FE"]
        self.gauges = {
            "I1": Gauge("IG1", 2.3e-9, emission=1),
            "T1": Gauge("CNV1", 1.2e-2),
            "T2": Gauge("CNV2", 7.6e2),
        }
        self.unit = "00"
        self.firmware = "0400,0206,0103"
        self.setpoints = {n: Setpoint() for n in range(1, 9)}

    def nak(self, request: bytes, code: str | None) -> bytes:
        return ERROR

    # ------------------------------------------------------------------ model
    def _gauge(self, gauge_id: str) -> Gauge | None:
        if gauge_id.startswith("U"):
            return next((g for g in self.gauges.values() if g.label == gauge_id[1:]), None)
        return self.gauges.get(gauge_id)

    def _key(self, gauge_id: str) -> str | None:
        gauge = self._gauge(gauge_id)
        return next((k for k, g in self.gauges.items() if g is gauge), None)

    def _pressure(self, gauge: Gauge) -> str:
        return "OPEN" if gauge.open else f"{self.drift(gauge.pressure):.3E}"

    def _relay_on(self, setpoint: Setpoint) -> bool:
        if setpoint.state != 3:
            return setpoint.state == 1
        gauge = self.gauges[setpoint.gauge]
        return not gauge.open and gauge.pressure < setpoint.on_below

    def _relay_bits(self) -> int:
        return sum(1 << (n - 1) for n, s in self.setpoints.items() if self._relay_on(s))

    def handle(self, request: bytes) -> bytes | None:
        match = _REQUEST.fullmatch(request.replace(b"\n", b""))
        if match is None or int(match.group(1), 16) != self.address:
            return None
        data = self.command(match.group(2).decode("ascii"))
        return ERROR if data is None else b">" + data.encode("ascii") + CR

    def command(self, text: str) -> str | None:
        """The data answering ``text`` (command + data); None for ``?FF``."""
        fixed = {
            "01": lambda: "".join(self.boards),
            "03": lambda: f"00{self._relay_bits():02X}",
            "05": lambda: self.firmware,
            "0F": lambda: ",".join(self._pressure(g) for g in self.gauges.values()),
            "13": lambda: self.unit,
        }
        if text in fixed:
            return fixed[text]()
        if text in ("10", "11", "12"):
            self.unit = "0" + text[1]
            return ""
        if text[:1] in "TI" and text in self.gauges:  # read user label
            return self.gauges[text].label
        if text[:1] in "67":
            return self._setpoint_level(text)
        command, argument = text[:2], text[2:]
        if command == "5E" and re.fullmatch(r"[1-8][013]", argument):
            self.setpoints[int(argument[0])].state = int(argument[1])
            return ""
        if command == "5F" and re.fullmatch(r"[1-8]", argument):
            return str(self.setpoints[int(argument)].state)
        gauge = self._gauge(argument)
        if gauge is None:
            return None
        if command == "02":
            return self._pressure(gauge)
        if not (self._key(argument) or "").startswith("I"):
            return None  # the other commands are for ion gauges only
        if command in ("30", "31", "33"):
            gauge.emission = {"30": 0, "31": 1, "33": 2}[command]
            return ""
        if command in ("32", "34"):  # emission status, filament lit
            return f"{gauge.emission:02d}"
        return None

    def _setpoint_level(self, text: str) -> str | None:
        match = _SETPOINT_LEVEL.fullmatch(text)
        key = self._key(match.group(3)) if match else None
        if match is None or key is None:
            return None
        setpoint = self.setpoints[int(match.group(2))]
        setpoint.gauge = key
        if match.group(1) == "6":
            setpoint.on_below = float(match.group(4))
        else:
            setpoint.off_above = float(match.group(4))
        return ""
