"""Shared model of the MKS ``@<address><command>;FF`` gauge controllers (925, 937B).

The unit answers requests to its own address (253 by default) and to the broadcast
address 254, always with its own address: ``@253ACK<data>;FF`` or ``@253NAK<code>;FF``.
Requests to any other address get no answer (no unit there). Unknown commands get
NAK 160. ``U?`` / ``U!<unit>`` (pressure unit; the numbers are not converted) and
``SN?`` (serial number) are common to the models.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

TERMINATOR = b";FF"
_REQUEST = re.compile(rb"@(\d{3})(.*);FF", re.S)
UNITS = ("TORR", "MBAR", "PASCAL", "MICRON")


def mks_number(value: float) -> str:
    """Format like the gauges do: ``1.23E-3``, ``7.60E+2``."""
    if value == 0 or not math.isfinite(value):
        return "0.00E+0"
    mantissa, exponent = f"{value:.2E}".split("E")
    return f"{mantissa}E{int(exponent):+d}"


def addressed_request(pattern: re.Pattern[bytes], request: bytes, address: int) -> re.Match[bytes] | None:
    """Match ``request`` (address in group 1); None when it is malformed or meant for
    another unit than ``address`` (254 is broadcast): such requests get no answer."""
    match = pattern.fullmatch(request)
    if match is None or int(match.group(1)) not in (address, 254):
        return None
    return match


class MksGaugeSimulator(PtySimulator):
    """Framing, addressing and NAK of the MKS gauge controllers."""

    request_terminator = TERMINATOR

    def __init__(self, *args: Any, address: int = 253, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = address
        self.unit = "MBAR"
        self.serial_number = "1234567890"

    def _frame(self, kind: str, data: str) -> bytes:
        return f"@{self.address:03d}{kind}{data}".encode("ascii") + TERMINATOR

    def nak(self, request: bytes, code: str | None) -> bytes:
        return self._frame("NAK", code or "160")

    def handle(self, request: bytes) -> bytes | None:
        match = addressed_request(_REQUEST, request, self.address)
        if match is None:
            return None
        data = self.command(match.group(2).decode("ascii", "replace"))
        return self.nak(request, None) if data is None else self._frame("ACK", data)

    def command(self, command: str) -> str | None:
        """The data answering ``command``; None for an unknown command (NAK 160).
        Models override it and fall back on this for the common commands."""
        if command == "U?":
            return self.unit
        if command.startswith("U!") and command[2:] in UNITS:
            self.unit = command[2:]
            return self.unit
        if command == "SN?":
            return self.serial_number
        return None
