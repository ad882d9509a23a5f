"""Windowed aggregation: one mean, min, max … per tumbling window instead of every reading.

A fast signal (a gauge read at 20 Hz) is often stored as a few numbers per window. The
windows are *tumbling* (back to back, never overlapping) and either

* **time windows** of ``window`` seconds aligned to the wall clock: a 10 s window starts
  at a multiple of 10 s of unix time (…:00, …:10, …), so windows of different channels,
  scripts and PCs line up; or
* **count windows** of ``count`` readings.

**The time stamp of a window is its middle**: ``start + window / 2`` for time windows
(the window ``[1700000000, 1700000010)`` is stored at ``1700000005``), and the middle
between the first and the last reading's time for count windows. A mean is the best
estimate of the signal at the middle of the span it averages, so plotted there it lies
on the raw trace; stamped at the end it would lag the signal by half a window.

Functions (:data:`FUNCTIONS`): ``mean``, ``min``, ``max``, ``last`` (the newest reading),
``count`` (how many readings the window holds) and ``std``, the *sample* standard
deviation (divided by n - 1): it estimates the noise of the signal from the window's
readings, which is what a lab user asks of it. It needs two readings; a window of one
reading yields no ``std``, rather than a made-up 0.

Readings without a value (``None``: the instrument reported a non-OK status) and
non-finite values are left out of the window and counted in ``left_out``. An empty
window yields nothing, so a pause longer than a window yields nothing for the windows it
spans (no made-up points), and the first reading after the pause opens the window its
time falls in. A time window is closed by the first reading (or :meth:`poll`) past its
end; :meth:`flush` yields the open window as it is (a script that ends).

The clock is injectable (``clock=``; tests drive a fake one) and every call takes an
explicit time too. Logging criteria (:mod:`.criteria`) apply to what a window yields,
not to the readings. Not thread-safe: one aggregator per stream of readings::

    aggregator = WindowAggregator(AggregationPolicy(("mean", "min", "max"), window=10.0))
    window = aggregator.add(read_pressure())
    if window is not None:
        for function, value in window.values.items():
            logger.enqueue_point(f"mysetup_pressure_{function}", (window.time, value))
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)

__all__ = ["FUNCTIONS", "AggregationPolicy", "Window", "WindowAggregator"]

#: The functions a window can yield, in the order they are documented.
FUNCTIONS = ("mean", "min", "max", "last", "count", "std")


@dataclass(frozen=True)
class AggregationPolicy:
    """What a window is and what it yields: ``functions`` over either ``window`` seconds
    (aligned to multiples of ``window`` of unix time) or ``count`` readings.

    Exactly one of ``window`` and ``count`` is given; a ``ValueError`` names what is
    wrong (unknown or repeated function, both or neither size, a size not > 0).
    """

    functions: tuple[str, ...] = ("mean",)
    window: float | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        functions = self.functions
        if isinstance(functions, str) or not isinstance(functions, Iterable):
            raise ValueError(f"functions must be a list of names, not {functions!r}")
        functions = tuple(functions)
        object.__setattr__(self, "functions", functions)
        if not functions:
            raise ValueError(f"functions: give at least one of {', '.join(FUNCTIONS)}")
        for name in functions:
            if name not in FUNCTIONS:
                raise ValueError(f"unknown function {name!r}; choose from {', '.join(FUNCTIONS)}")
        repeated = sorted({name for name in functions if functions.count(name) > 1})
        if repeated:
            raise ValueError(f"function {repeated[0]!r} is given more than once")
        if (self.window is None) == (self.count is None):
            raise ValueError("give either window (seconds) or count (readings), exactly one of them")
        if self.window is not None:
            if isinstance(self.window, bool) or not isinstance(self.window, (int, float)):
                raise ValueError(f"window must be a number of seconds, not {self.window!r}")
            if not (math.isfinite(self.window) and self.window > 0):
                raise ValueError(f"window must be > 0 seconds, not {self.window!r}")
            object.__setattr__(self, "window", float(self.window))
        if self.count is not None and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1
        ):
            raise ValueError(f"count must be a whole number of readings > 0, not {self.count!r}")

    def describe(self) -> str:
        """``"mean, min, max of 10 s windows"`` (for descriptions and logs)."""
        size = f"{self.window:g} s" if self.window is not None else f"{self.count} readings"
        return f"{', '.join(self.functions)} of {size} windows"


@dataclass(frozen=True)
class Window:
    """What one closed window yields.

    ``time`` is its time stamp (the middle, see the module); ``start`` and ``end`` its
    bounds (time windows: the aligned bounds, end exclusive; count windows: the first
    and last reading's time); ``readings`` how many readings it holds; ``values`` the
    policy's functions by name, in the policy's order (``std`` is absent with one reading).
    """

    time: float
    start: float
    end: float
    readings: int
    values: Mapping[str, float] = field(default_factory=dict)


class _Accumulator:
    """Running statistics of one window (Welford's mean and variance: O(1) memory,
    numerically stable for values far from zero, such as 1e-9 mbar or 300 K)."""

    def __init__(self, first_time: float) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.last = math.nan
        self.first_time = first_time
        self.last_time = first_time

    def add(self, value: float, at: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.last = value
        self.last_time = at

    def values(self, functions: tuple[str, ...]) -> dict[str, float]:
        every = {
            "mean": self.mean,
            "min": self.low,
            "max": self.high,
            "last": self.last,
            "count": float(self.n),
        }
        if self.n >= 2:
            every["std"] = math.sqrt(max(self.m2, 0.0) / (self.n - 1))
        return {name: every[name] for name in functions if name in every}


class WindowAggregator:
    """Feeds readings into tumbling windows and returns each window when it closes.

    ``add(value, at)`` returns the :class:`Window` that the reading closed, else None;
    ``poll(now)`` closes a time window whose end has passed without a reading after it.
    ``clock`` (default ``time.time``) gives the time when a call omits it.
    """

    def __init__(self, policy: AggregationPolicy, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(policy, AggregationPolicy):
            raise TypeError(f"policy must be an AggregationPolicy, not {type(policy).__name__}")
        self.policy = policy
        self._clock = clock
        self._open: _Accumulator | None = None
        self._index = 0  # the open time window: [index * window, (index + 1) * window)
        #: Readings left out: no value (a non-OK status) or not finite.
        self.left_out = 0
        #: Windows yielded so far.
        self.windows = 0

    def __repr__(self) -> str:
        return f"WindowAggregator({self.policy!r}, pending={self.pending})"

    @property
    def pending(self) -> int:
        """Readings in the open window (not yet yielded)."""
        return 0 if self._open is None else self._open.n

    def add(self, value: float | None, at: float | None = None) -> Window | None:
        """Add a reading taken at ``at`` (unix time; the clock when omitted); returns the
        window it closed, if any. ``None`` or a non-finite value is left out, but its time
        still closes a time window that has ended."""
        at = self._time(at)
        valid = value is not None and not isinstance(value, bool) and isinstance(value, (int, float))
        if value is not None and not valid:
            raise TypeError(f"value must be a number or None, not {value!r}")
        if value is None or not math.isfinite(value):
            self.left_out += 1
            return self.poll(at)
        window = self.policy.window
        if window is None:
            return self._add_counted(float(value), at)
        index = math.floor(at / window)
        closed = None
        if self._open is not None and index != self._index:
            if index < self._index:
                LOG.warning(
                    "the clock went back from window %s to %s: closing the open window early",
                    self._index * window,
                    index * window,
                )
            closed = self._close()
        if self._open is None:
            self._open = _Accumulator(at)
            self._index = index
        self._open.add(float(value), at)
        return closed

    def poll(self, now: float | None = None) -> Window | None:
        """Close the open time window if ``now`` (the clock when omitted) is past its end
        and return it; count windows close only on their last reading."""
        now = self._time(now)
        window = self.policy.window
        if self._open is None or window is None or now < (self._index + 1) * window:
            return None
        return self._close()

    def flush(self) -> Window | None:
        """The open window as it is (fewer readings than a full one), or None if empty."""
        return None if self._open is None else self._close()

    def _add_counted(self, value: float, at: float) -> Window | None:
        if self._open is None:
            self._open = _Accumulator(at)
        self._open.add(value, at)
        return self._close() if self._open.n >= (self.policy.count or 1) else None

    def _close(self) -> Window:
        acc = self._open
        assert acc is not None
        self._open = None
        self.windows += 1
        window = self.policy.window
        if window is not None:
            start, end = self._index * window, (self._index + 1) * window
            stamp = (self._index + 0.5) * window
        else:
            start, end = acc.first_time, acc.last_time
            stamp = (start + end) / 2
        return Window(stamp, start, end, acc.n, acc.values(self.policy.functions))

    def _time(self, at: float | None) -> float:
        if at is None:
            return self._clock()
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
            raise ValueError(f"time must be a finite unix time, not {at!r}")
        return float(at)
