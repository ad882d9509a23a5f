"""Plain numbers from status-rich readings, for the upstream-compatible methods.

Upstream-named methods return a plain ``float`` as PyExpLabSys's drivers did; where the
instrument gave no number (sensor open, not ready, ...) they raise :class:`NoValue`,
which carries the :class:`~.base.Reading` and its status, instead of returning -1.
"""

from __future__ import annotations

import logging

from .base import InstrumentError, Reading, Status

LOG = logging.getLogger(__name__)


class NoValue(InstrumentError):
    """The instrument answered, but with a status instead of a number."""

    def __init__(self, reading: Reading, what: str = "reading") -> None:
        super().__init__(f"{what}: no value, instrument status {reading.status.value!r}")
        self.reading = reading
        self.status: Status = reading.status


def plain_value(reading: Reading, what: str = "reading") -> float:
    """``reading.value`` as a float; :class:`NoValue` when there is none."""
    if reading.value is None:
        raise NoValue(reading, what)
    return float(reading.value)
