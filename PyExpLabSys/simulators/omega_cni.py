"""Simulator of an Omega iSeries controller (CNi32 ...).

``*[aa]<command>\\r`` → ``[<command>]<data>\\r`` (the command is echoed while ``echo``
is on). With ``address`` set it models an RS-485 unit and ignores requests without or
with another address. Unknown commands get no answer (the protocol has no error frame),
so the ``nak`` fault means silence too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

_REQUEST = re.compile(rb"\*(\d{2})?([A-Z]\d{2})\r")


class ISeriesSimulator(PtySimulator):
    """An iSeries process controller reading a drifting temperature."""

    name = "omega"
    request_terminator = b"\r"

    def __init__(self, *args: Any, echo: bool = True, address: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echo = echo
        self.address = address
        self.temperature = 75.4
        self.identification = "000C32"
        self.reading_configuration = "2003E8"
        self.resets = 0

    def handle(self, request: bytes) -> bytes | None:
        match = _REQUEST.fullmatch(request)
        if match is None:
            return None
        address, command = match.group(1), match.group(2).decode("ascii")
        if self.address is None and address is not None:
            return None
        if self.address is not None and (address is None or int(address) != self.address):
            return None
        data = self.command(command)
        if data is None:
            return None
        return ((command if self.echo else "") + data).encode("ascii") + b"\r"

    def command(self, command: str) -> str | None:
        """The data answering ``command`` (None: no answer)."""
        if command == "X01":
            return f"{self.drift(self.temperature, 0.005):05.1f}"
        if command == "R26":
            return self.identification
        if command == "R01":
            return self.reading_configuration
        if command == "Z02":
            self.resets += 1
        return None
