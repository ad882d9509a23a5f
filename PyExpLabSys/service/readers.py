"""Readers: one thread per instrument polls its channels at their intervals.

Each channel calls the status-rich twin (``<read>_reading``) of its configured reading,
so an instrument's status (sensor off, over range ...) is counted, never logged as a
value. A reading passes the channel's logging criterion before it becomes a point (handed to
``sink(codename, value)``, normally ``DataLogger.enqueue_point_now``). A driver error
(time-out, garbled or checksum-failed reply, an error reported by the instrument, a
port that vanished) is logged, counted and survived: the port is closed and reopened
with back-off (:class:`~..datalog.policies.RetryPolicy`) when it is gone, or after
``reopen_after`` consecutive errors ending in a time-out (a wedged adapter). A garbled
reply needs no reopen: the driver drains and resynchronises the line before the next
exchange. The reader never dies because an instrument did.

A channel with ``aggregate`` feeds its readings (non-OK ones left out) into a
:class:`~..datalog.aggregation.WindowAggregator`; each window it yields becomes one
point per function, stamped with the window's time (its middle), each passing its own
copy of the channel's criterion, handed to ``point_sink(codename, (time, value))``
(normally ``DataLogger.enqueue_point``). A time window is closed by the first reading
after its end, or by the reader's loop once the wall clock passed it (also while the
instrument is failing). The window open when the reader stops is not stored: it holds
part of a window only.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..datalog.aggregation import Window, WindowAggregator
from ..datalog.criteria import LoggingCriterion
from ..datalog.policies import RetryPolicy
from ..drivers.base import (
    InstrumentError,
    InstrumentTimeout,
    PortGone,
    Reading,
    SerialInstrument,
    reading_name,
)
from .config import ChannelConfig, InstrumentConfig
from .instruments import open_instrument

LOG = logging.getLogger(__name__)

__all__ = ["ChannelState", "InstrumentReader", "ReaderPolicy"]

Sink = Callable[[str, float], object]
PointSink = Callable[[str, tuple[float, float]], object]


@dataclass(frozen=True)
class ReaderPolicy:
    """How a reader treats a failing instrument.

    ``retry`` paces the attempts to reopen a port (the first comes fast, then
    exponential back-off with jitter up to ``retry.max_delay``); ``reopen_after``
    consecutive errors ending in a time-out also close and reopen it (a wedged adapter).
    """

    retry: RetryPolicy = RetryPolicy(first_delay=0.05, base_delay=0.25, max_delay=10.0)
    reopen_after: int = 3

    def __post_init__(self) -> None:
        if self.reopen_after < 1:
            raise ValueError("ReaderPolicy.reopen_after must be >= 1")


@dataclass
class ChannelState:
    """Counters and the last reading of one channel (read by the status thread)."""

    config: ChannelConfig
    criterion: Any
    next_due: float = 0.0
    reads: int = 0
    points: int = 0
    errors: int = 0
    not_ok: int = 0
    last_value: float | None = None
    last_read_time: float | None = None
    last_valid_time: float | None = None  # of last_value (a read may give no value)
    last_point_time: float | None = None
    aggregator: WindowAggregator | None = None
    #: Per aggregate codename: its criterion, and its last yielded value.
    window_criteria: dict[str, LoggingCriterion] = field(default_factory=dict)
    window_values: dict[str, float] = field(default_factory=dict)
    last_window_time: float | None = None

    def snapshot(self) -> dict[str, Any]:
        snap = {
            "codename": self.config.codename,
            "reads": self.reads,
            "points": self.points,
            "errors": self.errors,
            "not_ok": self.not_ok,
            "last_value": self.last_value,
            "last_read_time": self.last_read_time,
            "last_valid_time": self.last_valid_time,
            "last_point_time": self.last_point_time,
        }
        if self.aggregator is not None:
            snap["aggregate"] = {
                "windows": self.aggregator.windows,
                "pending": self.aggregator.pending,
                "left_out": self.aggregator.left_out,
                "last_window_time": self.last_window_time,
                "values": dict(self.window_values),
            }
        return snap


@dataclass
class _Health:
    connected: bool = False
    errors: Counter[str] = field(default_factory=Counter)
    reopens: int = 0
    streak: int = 0
    last_error: str | None = None


class InstrumentReader(threading.Thread):
    """Polls the channels of one instrument and feeds logged readings to ``sink``."""

    def __init__(
        self,
        config: InstrumentConfig,
        sink: Sink,
        policy: ReaderPolicy = ReaderPolicy(),
        opener: Callable[[], SerialInstrument] | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        point_sink: PointSink | None = None,
        wall_clock: Callable[[], float] = time.time,
        on_value: PointSink | None = None,
    ) -> None:
        """``sink(codename, value)`` takes the readings of plain channels at the time of
        the call; ``point_sink(codename, (time, value))`` the windows of aggregated ones
        (required when there are any). ``on_value(codename, (time, value))`` sees every
        valid value before the criterion (a reading, or a window's result): the service's
        UDP sockets serve them. ``clock`` paces the polling, ``wall_clock`` stamps the
        readings (both injectable for tests)."""
        super().__init__(name=f"reader-{config.name}", daemon=True)
        self.config = config
        self.sink = sink
        self.policy = policy
        self._open = opener or functools.partial(open_instrument, config)
        self._clock = clock
        self._wall_clock = wall_clock
        self.point_sink = point_sink
        self.on_value = on_value
        self._stop_event = threading.Event()
        self.driver: SerialInstrument | None = None
        self.channels = [_channel_state(ch, wall_clock) for ch in config.channels]
        self._aggregated = [c for c in self.channels if c.aggregator is not None]
        if self._aggregated and point_sink is None:
            names = ", ".join(c.config.codename for c in self._aggregated)
            raise ValueError(f"{config.name}: channel(s) {names} aggregate: give point_sink=")
        self._health = _Health()
        self._open_failures = 0

    # -- control ----------------------------------------------------------------------
    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to finish; wait up to ``timeout`` (a read in progress ends
        within the driver's own time-out)."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> None:
        LOG.info("%s: reading %s on %s", self.config.name, self.config.driver, self.config.port)
        try:
            while not self._stop_event.is_set():
                try:
                    self._step()
                except Exception:  # a bug in a driver or here: log, pause, carry on
                    LOG.exception("%s: unexpected error in the reader", self.config.name)
                    self._stop_event.wait(1.0)
        finally:
            self._close()
            for channel in self._aggregated:
                assert channel.aggregator is not None
                if channel.aggregator.pending:
                    LOG.info(
                        "%s: %s: the open window (%d readings) is not stored at stop",
                        self.config.name,
                        channel.config.codename,
                        channel.aggregator.pending,
                    )

    def _step(self) -> None:
        if self._aggregated:
            now = self._wall_clock()
            for state in self._aggregated:
                assert state.aggregator is not None
                self._emit(state, state.aggregator.poll(now))
        if self.driver is None and not self._try_open():
            return
        channel = min(self.channels, key=lambda c: c.next_due)
        delay = channel.next_due - self._clock()
        if delay > 0 and self._stop_event.wait(delay):
            return
        now = self._clock()
        # Stay on the grid of the interval; after a long stall skip missed slots.
        channel.next_due = max(channel.next_due + channel.config.interval, now)
        self._read(channel)

    def _try_open(self) -> bool:
        """Open the port; after a failure wait per the retry policy. True when open."""
        try:
            self.driver = self._open()
        except InstrumentError as error:
            self._open_failures += 1
            self._failed(error, opening=True)
            self._stop_event.wait(self.policy.retry.delay(self._open_failures))
            return False
        if self._open_failures or self._health.reopens:
            LOG.info("%s: port %s open again", self.config.name, self.config.port)
        self._open_failures = 0
        self._health.connected = True
        now = self._clock()
        for channel in self.channels:
            channel.next_due = min(channel.next_due, now)
        return True

    def _read(self, channel: ChannelState) -> None:
        assert self.driver is not None
        config = channel.config
        try:
            # The status-rich twin of the configured reading (x → x_reading).
            result = getattr(self.driver, reading_name(config.read))(*config.args)
        except InstrumentError as error:
            channel.errors += 1
            self._failed(error)
            if isinstance(error, PortGone) or (
                isinstance(error, InstrumentTimeout) and self._health.streak >= self.policy.reopen_after
            ):
                self._reopen_later()
            return
        channel.reads += 1
        channel.last_read_time = read_time = self._wall_clock()
        if self._health.streak:
            LOG.info("%s: reading again after %d error(s)", self.config.name, self._health.streak)
            self._health.streak = 0
        value = _value(result)
        if value is None:
            channel.not_ok += 1
            LOG.debug("%s: %s gave no value: %r", self.config.name, config.codename, result)
        else:
            channel.last_value = value
            channel.last_valid_time = read_time
        if channel.aggregator is not None:
            self._emit(channel, channel.aggregator.add(value, read_time))
            return
        if value is not None and self.on_value is not None:
            self.on_value(config.codename, (read_time, value))
        if value is not None and channel.criterion.check(value, read_time):
            self.sink(config.codename, value)
            channel.points += 1
            channel.last_point_time = channel.last_read_time

    def _emit(self, channel: ChannelState, window: Window | None) -> None:
        """Hand a closed window to ``point_sink``: one point per function, stamped with
        the window's time, where that codename's criterion lets it through."""
        if window is None:
            return
        assert self.point_sink is not None
        channel.last_window_time = window.time
        for function, codename in channel.config.outputs:
            value = window.values.get(function)
            if value is None:  # std of a window of one reading
                continue
            channel.window_values[codename] = value
            if self.on_value is not None:
                self.on_value(codename, (window.time, value))
            if channel.window_criteria[codename].check(value, window.time):
                self.point_sink(codename, (window.time, value))
                channel.points += 1
                channel.last_point_time = window.time

    def _failed(self, error: InstrumentError, opening: bool = False) -> None:
        health = self._health
        health.errors[type(error).__name__] += 1
        health.streak += 1
        health.last_error = f"{type(error).__name__}: {error}"
        what = "cannot open port" if opening else "read failed"
        level = logging.WARNING if health.streak == 1 else logging.DEBUG
        LOG.log(level, "%s: %s (%d in a row): %s", self.config.name, what, health.streak, health.last_error)

    def _reopen_later(self) -> None:
        self._close()
        self._health.reopens += 1
        self._open_failures = max(self._open_failures, 1)
        self._stop_event.wait(self.policy.retry.delay(self._open_failures))

    def _close(self) -> None:
        driver, self.driver = self.driver, None
        self._health.connected = False
        if driver is not None:
            try:
                driver.close()
            except Exception:  # closing a vanished port may fail in odd ways
                LOG.debug("%s: error while closing", self.config.name, exc_info=True)

    # -- status -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Counters of this reader and its channels, JSON-ready."""
        health = self._health
        return {
            "name": self.config.name,
            "driver": self.config.driver,
            "port": self.config.port,
            "alive": self.is_alive(),
            "connected": health.connected,
            "errors": dict(health.errors),
            "reopens": health.reopens,
            "error_streak": health.streak,
            "last_error": health.last_error,
            "channels": [channel.snapshot() for channel in self.channels],
        }


def _channel_state(config: ChannelConfig, wall_clock: Callable[[], float]) -> ChannelState:
    """A channel's state; an aggregated one gets its aggregator and a criterion per codename."""
    state = ChannelState(config, config.make_criterion())
    if config.aggregation is not None:
        state.aggregator = WindowAggregator(config.aggregation, wall_clock)
        state.window_criteria = {codename: config.make_criterion() for _, codename in config.outputs}
    return state


def _value(result: Any) -> float | None:
    """The number in a driver's result: a :class:`Reading` with an OK status, or a
    plain number; None when there is none (sensor off, over-range …)."""
    if isinstance(result, Reading):
        return result.value if result.ok and result.value is not None else None
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    return None
