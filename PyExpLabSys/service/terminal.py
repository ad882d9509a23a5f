"""The live status table on a terminal: redrawn in place on a TTY, plain lines otherwise.

On a terminal, each new table moves the cursor back over the previous one and
overwrites it (lines clipped to the terminal's width so the count stays right), and
log records are written above the table, which is then drawn again below them. When
the output is a file or a pipe, each table is written out as plain lines, with no
escape sequences.
"""

from __future__ import annotations

import logging
import shutil
import threading
from typing import TextIO

LOG = logging.getLogger(__name__)

__all__ = ["LiveTable"]

UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # to the start of the line n lines up, clear below


class LiveTable:
    """Shows successive versions of a text table on ``stream``."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._lines: list[str] = []  # what is on screen now (TTY only)
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        """Replace the table (on a TTY) or write it out (otherwise)."""
        with self._lock:
            if not self.tty:
                self.stream.write(text if text.endswith("\n") else text + "\n")
            else:
                width = shutil.get_terminal_size((120, 24)).columns
                lines = [line[: max(1, width - 1)] for line in text.rstrip("\n").split("\n")]
                self.stream.write(self._erase() + "".join(f"{line}\n" for line in lines))
                self._lines = lines
            self.stream.flush()

    def write_above(self, text: str) -> None:
        """Write ``text`` (a log line) above the table and draw the table again."""
        with self._lock:
            if not self.tty:
                self.stream.write(text + "\n")
            else:
                self.stream.write(self._erase() + text + "\n" + "".join(f"{line}\n" for line in self._lines))
            self.stream.flush()

    def _erase(self) -> str:
        return UP_AND_CLEAR.format(n=len(self._lines)) if self._lines else ""

    def log_handler(self, formatter: logging.Formatter | None = None) -> logging.Handler:
        """A logging handler that writes its records above the table."""
        return _AboveTable(self, formatter)


class _AboveTable(logging.Handler):
    def __init__(self, table: LiveTable, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.table = table
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.table.write_above(self.format(record))
        except Exception:  # pragma: no cover - as logging.StreamHandler does
            self.handleError(record)
