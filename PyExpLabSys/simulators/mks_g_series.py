"""Simulator of an MKS G-series mass-flow controller (GE50A ...).

``@@@aaa<command>;CS`` with the checksum over ``@aaa<command>;`` (as real units
accept) → ``@@@000ACK<data>;CS`` with the checksum over the whole ``@@@...;``. NAK
replies carry a checksum over ``@000NAK<code>;`` only, deviating as on real units.
A request with a wrong checksum gets NAK 01, an unknown command NAK 17.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .mks_protocol import addressed_request
from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

_REQUEST = re.compile(rb"@@@(\d{3})(.*);([0-9A-F]{2})", re.S)


def checksum(data: bytes) -> bytes:
    """Sum of the character codes modulo 256, two uppercase hex digits."""
    return f"{sum(data) % 256:02X}".encode("ascii")


class MksGSeriesSimulator(PtySimulator):
    """A G-series MFC with a 100 SCCM full scale, flow following the set point."""

    name = "mksg"
    has_checksum = True

    def __init__(self, *args: Any, address: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = address
        self.full_scale = 100.0
        self.setpoint = 10.0
        self.valve = "NORMAL"
        self.unit = "SCCM"
        self.gas = "N2"
        self.serial_number = "017654321"
        self.run_hours = 1234

    def split_requests(self, buf: bytearray) -> list[bytes]:
        """A request ends two bytes (the checksum) after its ``;``."""
        requests = []
        while (pos := buf.find(b";")) >= 0 and len(buf) >= pos + 3:
            requests.append(bytes(buf[: pos + 3]))
            del buf[: pos + 3]
        return requests

    def _reply(self, kind: str, data: str) -> bytes:
        body = f"@@@000{kind}{data};".encode("ascii")
        if kind == "NAK":
            return body + checksum(body[2:])
        return body + checksum(body)

    def nak(self, request: bytes, code: str | None) -> bytes:
        return self._reply("NAK", code or "17")

    def bad_checksum(self, reply: bytes) -> bytes:
        wrong = f"{(int(reply[-2:], 16) + 1) % 256:02X}".encode("ascii")
        return reply[:-2] + wrong

    def handle(self, request: bytes) -> bytes | None:
        match = addressed_request(_REQUEST, request, self.address)
        if match is None:
            return None
        if checksum(request[2:-2]) != match.group(3):
            return self.nak(request, "01")
        data = self.command(match.group(2).decode("ascii", "replace"))
        if isinstance(data, int):
            return self.nak(request, f"{data:02d}")
        return self._reply("ACK", data)

    def command(self, command: str) -> str | int:
        """The data answering ``command``, or a NAK code (int)."""
        if command.startswith("SX!"):
            return self._set_flow(command[3:])
        if command.startswith("CA!"):
            if not (command[3:].isdigit() and len(command) == 6):
                return 12
            self.address = int(command[3:])
            return f"{self.address:03d}"
        if command in ("VO!PURGE", "VO!NORMAL"):
            self.valve = command[3:]
            return self.valve
        reads = {
            "FX?": self._flow,
            "SX?": lambda: f"{self.setpoint:.3f}",
            "FS?": lambda: f"{self.full_scale:.3f}",
            "U?": lambda: self.unit,
            "PG?": lambda: self.gas,
            "SN?": lambda: self.serial_number,
            "TA?": lambda: f"{self.drift(24.5, 0.01):.1f}",
            "RH?": lambda: str(self.run_hours),
            "CA?": lambda: f"{self.address:03d}",
        }
        read = reads.get(command)
        return read() if read else 17

    def _flow(self) -> str:
        target = self.full_scale if self.valve == "PURGE" else self.setpoint
        return f"{self.drift(target, 0.001):.3f}"

    def _set_flow(self, text: str) -> str | int:
        try:
            value = float(text)
        except ValueError:
            return 12
        if not 0 <= value <= self.full_scale:
            return 25
        self.setpoint = value
        return f"{value:.3f}"
