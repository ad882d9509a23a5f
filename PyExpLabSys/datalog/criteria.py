"""Logging criteria: which readings of a slowly changing signal become points.

Lab loggers poll an instrument often but store a reading only when it says something
new, as PyExpLabSys's ``ValueLogger`` did:

* the first reading is always logged;
* a reading is logged when it moved by more than a threshold since the last *logged*
  value: an absolute amount (:class:`LinearCriterion`, PyExpLabSys's ``'lin'``) or a
  fraction of that value (:class:`RelativeCriterion`, ``'log'``, right for pressures
  that span decades);
* a reading is logged when ``max_interval`` seconds have passed since the last logged
  point (a heartbeat, so a flat signal still shows up in the plots);
* :class:`EveryReading` logs every reading.

The objects are pure: they keep the last logged value and time, take the time as an
argument (``time.time()`` when omitted) and do no I/O, so they are trivially tested and
usable from any instrument script::

    criterion = RelativeCriterion(0.05, max_interval=600)
    if criterion.check(pressure):
        logger.enqueue_point_now("mysetup_pressure", pressure)
"""

from __future__ import annotations

import math
import time

__all__ = [
    "CRITERION_KINDS",
    "EveryReading",
    "LinearCriterion",
    "LoggingCriterion",
    "RelativeCriterion",
    "make_criterion",
]


class LoggingCriterion:
    """Base: first reading, heartbeat and ``low_compare``; subclasses say what "moved" is.

    ``max_interval`` (seconds, None for no heartbeat) forces a point when that long has
    passed since the last logged one. Readings below ``low_compare`` never trigger on a
    change (only the first reading and the heartbeat log them), as in PyExpLabSys.
    """

    kind = "base"

    def __init__(
        self, threshold: float = 0.0, max_interval: float | None = 600.0, low_compare: float | None = None
    ) -> None:
        if not (isinstance(threshold, (int, float)) and threshold >= 0 and math.isfinite(threshold)):
            raise ValueError(f"threshold must be a finite number >= 0, not {threshold!r}")
        if max_interval is not None and not max_interval > 0:
            raise ValueError(f"max_interval must be > 0 (or None), not {max_interval!r}")
        self.threshold = float(threshold)
        self.max_interval = None if max_interval is None else float(max_interval)
        self.low_compare = low_compare
        self.last_value: float | None = None
        self.last_time: float | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(threshold={self.threshold!r}, "
            f"max_interval={self.max_interval!r}, low_compare={self.low_compare!r})"
        )

    def reset(self) -> None:
        """Forget the last logged point: the next reading is logged."""
        self.last_value = None
        self.last_time = None

    def should_log(self, value: float | None, now: float | None = None) -> bool:
        """Whether ``value`` read at ``now`` should be logged; changes nothing."""
        if value is None:
            return False
        if self.last_time is None:
            return True
        now = time.time() if now is None else now
        if self.max_interval is not None and now - self.last_time >= self.max_interval:
            return True
        if self.low_compare is not None and value < self.low_compare:
            return False
        last = self.last_value
        assert last is not None
        if math.isnan(value) or math.isnan(last):
            return math.isnan(value) != math.isnan(last)  # appeared or vanished
        return self.moved(last, value)

    def logged(self, value: float, now: float | None = None) -> None:
        """Record that ``value`` was logged at ``now`` (the reference for what follows)."""
        self.last_value = value
        self.last_time = time.time() if now is None else now

    def check(self, value: float | None, now: float | None = None) -> bool:
        """:meth:`should_log`, and when it says yes, :meth:`logged`: the one-call form."""
        now = time.time() if now is None else now
        if self.should_log(value, now):
            assert value is not None
            self.logged(value, now)
            return True
        return False

    def moved(self, last: float, value: float) -> bool:
        """Whether ``value`` differs enough from ``last`` (both finite or infinite)."""
        raise NotImplementedError


class LinearCriterion(LoggingCriterion):
    """Log when ``|value - last| > threshold`` (PyExpLabSys ``comp_type='lin'``)."""

    kind = "linear"

    def moved(self, last: float, value: float) -> bool:
        if last == value:  # also equal infinities, whose difference is nan
            return False
        return not abs(value - last) <= self.threshold


class RelativeCriterion(LoggingCriterion):
    """Log when ``|value - last| > threshold * |last|`` (PyExpLabSys ``'log'``).

    From a last value of exactly 0 any change is infinitely large and is logged.
    """

    kind = "relative"

    def moved(self, last: float, value: float) -> bool:
        if last == value:
            return False
        if last == 0 or math.isinf(last):
            return True
        return not abs(value - last) <= self.threshold * abs(last)


class EveryReading(LoggingCriterion):
    """Log every reading (for signals that are already slow, or for debugging)."""

    kind = "always"

    def __init__(
        self, threshold: float = 0.0, max_interval: float | None = None, low_compare: float | None = None
    ) -> None:
        super().__init__(threshold, max_interval, low_compare)

    def should_log(self, value: float | None, now: float | None = None) -> bool:
        return value is not None

    def moved(self, last: float, value: float) -> bool:  # pragma: no cover - not consulted
        return True


#: Names accepted by :func:`make_criterion` (and the service configuration), with
#: PyExpLabSys's ``lin`` and ``log`` as aliases.
CRITERION_KINDS: dict[str, type[LoggingCriterion]] = {
    "linear": LinearCriterion,
    "lin": LinearCriterion,
    "relative": RelativeCriterion,
    "log": RelativeCriterion,
    "always": EveryReading,
}


def make_criterion(
    kind: str, threshold: float = 0.0, max_interval: float | None = 600.0, low_compare: float | None = None
) -> LoggingCriterion:
    """A fresh criterion by name: ``linear``/``lin``, ``relative``/``log`` or ``always``."""
    try:
        cls = CRITERION_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown criterion {kind!r}; choose from {', '.join(CRITERION_KINDS)}") from None
    return cls(threshold, max_interval, low_compare)
