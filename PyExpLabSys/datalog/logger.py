"""The data logger: validates points, queues them, and drains them into a database.

:class:`DataLogger` is the core that the compatible ``ContinuousLogger`` façade and the
service build on. It is a thread: ``start()`` begins draining, ``stop(timeout)`` delivers
what is queued within the time-out and reports whatever it could not deliver.

The enqueue methods never touch the network and never wait for the database: a known
codename with a finite float value costs one dictionary look-up, two comparisons and a
``deque.append``. Everything else goes through :class:`~.points.PointValidator`, which
raises a clear error at the call and leaves the queue untouched.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

from ..backends.base import Backend, BackendError, CodenameError, ConnectionFailed, SetupRejected
from .buffer import PointBuffer, RamBuffer
from .deadletter import DeadLetterStore
from .drain import Drain
from .intake import Intake
from .points import PointValidator, UnknownCodenameError
from .policies import BatchPolicy, NonFinitePolicy, RetryPolicy, SpoolPolicy, Timeouts
from .spool import Spool, SpoolBuffer, SpoolError
from .status import LoggerStatus, StopReport

LOG = logging.getLogger(__name__)

__all__ = ["CodenameLookupError", "DataLogger", "LoggerStoppedError", "StartupException"]

_now = time.time
_T = TypeVar("_T")
#: Translates codenames with the backend; run by a _Runner where the backend may be used.
_Lookup = Callable[[list[str]], dict[str, int]]
_Runner = Callable[[_Lookup, list[str], float], dict[str, int]]


def _here(lookup: _Lookup, codenames: list[str], timeout: float) -> dict[str, int]:
    """Run the look-up in this thread (the constructor's: the drain is not running yet)."""
    return lookup(codenames)


def _codename_list(codenames: Iterable[str]) -> list[str]:
    """``codenames`` as a list; TypeError for a single string (which ``list()`` would
    split into one codename per character) or anything that is not strings."""
    if isinstance(codenames, (str, bytes)):
        raise TypeError(
            f"codenames must be a list of codenames, not the single string {codenames!r:.80} "
            f"(for one codename write [{codenames!r:.80}])"
        )
    wanted = list(codenames)
    if not all(isinstance(c, str) for c in wanted):
        raise TypeError("codenames must be an iterable of strings")
    return wanted


class StartupException(Exception):
    """The logger could not start: the database is unreachable or a codename is wrong."""


class CodenameLookupError(StartupException, ValueError):
    """A codename has no row, or more than one, in the descriptions table."""


class LoggerStoppedError(RuntimeError):
    """A point was enqueued after ``stop()``; it was not queued."""


class DataLogger(threading.Thread):
    """Logs (codename, time, value) points into a database through ``backend``.

    The constructor connects (retrying for ``timeouts.startup`` seconds) and translates
    the codenames once; it raises :class:`StartupException` if either fails. ``settle``
    is what "committed" takes beyond the backend's acknowledgements, called by
    :meth:`flush` with its time-out (the points socket's client asks the service to
    commit what it holds); None: nothing more.
    """

    def __init__(
        self,
        backend: Backend,
        codenames: Iterable[str],
        *,
        batch: BatchPolicy = BatchPolicy(),
        retry: RetryPolicy = RetryPolicy(),
        timeouts: Timeouts = Timeouts(),
        nonfinite: NonFinitePolicy | str = NonFinitePolicy.NULL,
        stop_timeout: float = 30.0,
        dead_letter_path: str | Path | None = None,
        spool_path: str | Path | None = None,
        spool: SpoolPolicy = SpoolPolicy(),
        name: str | None = None,
        settle: Callable[[float | None], bool] | None = None,
    ) -> None:
        super().__init__(name=name or "DataLogger", daemon=True)
        codenames = _codename_list(codenames)
        self.backend = backend
        self.retry = retry
        self.timeouts = timeouts
        self.stop_timeout = stop_timeout
        self._settle = settle
        self._spool: Spool | None = None
        if spool_path is not None:
            try:
                self._spool = Spool(spool_path, spool)
            except SpoolError as error:
                raise StartupException(str(error)) from None
            backend.resume(self._spool.logger_id, self._spool.checkpoint)
            # Kept before the backend is used: it may hold an identity the other side
            # remembers from now on (the points socket client's secret). Added to what
            # was saved, which stays until the first group commit (a watermark the
            # backend knows only once connected must not be lost to a kill before it).
            self._spool.keep_checkpoint({**self._spool.checkpoint, **backend.checkpoint()})
        try:
            self._codename_translation = self._look_up(codenames, _here, timeouts.startup)
        except StartupException:
            backend.close()
            if self._spool is not None:
                self._spool.close()
            raise
        self._validator = PointValidator(
            self._codename_translation, NonFinitePolicy(nonfinite), backend.time_range
        )
        self._type_names = {v: k for k, v in self._codename_translation.items()}
        self._wake = threading.Event()
        self._spool_buffer = (
            None if self._spool is None else SpoolBuffer(self._spool, backend.checkpoint(), self._wake.set)
        )
        self._buffer: PointBuffer = RamBuffer() if self._spool_buffer is None else self._spool_buffer
        self._append = self._buffer.append
        self.dead_letters = DeadLetterStore(dead_letter_path)
        # Without a spool, the first point after a quiet spell wakes the drain (with one,
        # the spool's group commit does, once the point is on disk).
        self._drain = Drain(
            backend,
            self._buffer,
            batch,
            retry,
            self._wake,
            self.dead_letters,
            self._type_names,
            rung_on_append=self._spool_buffer is None,
        )
        self._stopping = False
        self._accepting = True
        self._report: StopReport | None = None
        self._stop_lock = threading.Lock()
        self._codenames_lock = threading.Lock()
        self._time_low, self._time_high = backend.time_range

    # -- codenames ------------------------------------------------------------------------

    def add_codenames(self, codenames: Iterable[str], timeout: float | None = None) -> dict[str, int]:
        """Log these codenames too, from now on; their type ids.

        Safe from any thread, before or after ``start()``: the look-up runs in the drain
        thread (which owns the database connection) between two batches, and the
        enqueue path is unchanged (it reads the same dictionary). Retries for
        ``timeout`` seconds (default ``timeouts.startup``) while the database cannot be
        reached; raises :class:`CodenameLookupError` for a codename without exactly one
        row, :class:`StartupException` when the database stays unreachable.
        """
        wanted = _codename_list(codenames)
        timeout = self.timeouts.startup if timeout is None else timeout
        with self._codenames_lock:
            new = [c for c in dict.fromkeys(wanted) if c not in self._codename_translation]
            if new:
                mapping = self._look_up(new, self._run_with_backend, timeout)
                self._validator.add(mapping)
                self._type_names.update({v: k for k, v in mapping.items()})
                self._codename_translation.update(mapping)  # last: now the fast path sees them
                LOG.info("logging %s too", ", ".join(new))
        return {c: self._codename_translation[c] for c in wanted}

    def bind_codenames(self, mapping: Mapping[str, int]) -> None:
        """From now on, log these codenames under these ids, replacing an earlier id of
        the same codename (a data-set saver starts a new measurement under a codename it
        used before); points queued before keep the id they were queued with."""
        with self._codenames_lock:
            self._validator.add(mapping)
            self._type_names.update({v: k for k, v in mapping.items()})
            self._codename_translation.update(mapping)  # last: the fast path sees them now

    def _run_with_backend(self, lookup: _Lookup, codenames: list[str], timeout: float) -> dict[str, int]:
        """Run ``lookup(codenames)`` where the backend may be used."""
        return self._in_backend_thread(lambda: lookup(codenames), timeout)

    def _in_backend_thread(self, function: Callable[[], _T], timeout: float) -> _T:
        """Run ``function()`` where the backend may be used: in the drain thread once
        it runs, else here (before ``start()``)."""
        with self._stop_lock:
            if self._report is not None:
                raise LoggerStoppedError("the logger is stopped: the database is no longer used")
            if self.ident is None:  # not started: nobody else uses the backend
                return function()
            future = self._drain.call(function)
        try:
            result: _T = future.result(timeout)
            return result
        except FutureTimeout:
            future.cancel()
            raise
        except CancelledError:  # the drain ended first
            raise LoggerStoppedError("the logger stopped: the database is no longer used") from None

    def with_backend(self, function: Callable[[Backend], _T], timeout: float | None = None) -> _T:
        """``function(backend)``, run where the backend may be used (the drain thread,
        between two batches, once the logger runs), connected first: for statements
        beside the points (a data-set saver's measurements row).

        While the database cannot be reached (nothing was sent) it retries with the
        retry policy's back-off for ``timeout`` seconds (default ``timeouts.startup``),
        then raises the ConnectionFailed; any other backend error is raised at once.
        """
        timeout = self.timeouts.startup if timeout is None else timeout
        deadline = time.monotonic() + timeout
        backend = self.backend

        def call() -> _T:
            if not backend.connected:
                backend.connect()
            return function(backend)

        attempt = 0
        while True:
            attempt += 1
            try:
                return self._in_backend_thread(call, max(0.0, deadline - time.monotonic()))
            except (ConnectionFailed, FutureTimeout) as error:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if isinstance(error, ConnectionFailed):
                        raise
                    raise ConnectionFailed(
                        f"{backend.describe()} was busy or unreachable for {timeout:.0f} s", timed_out=True
                    ) from None
                LOG.warning("%s: attempt %d failed (%s); retrying", backend.describe(), attempt, error)
                time.sleep(min(self.retry.delay(attempt), remaining))

    def _resolve(self, codenames: list[str]) -> dict[str, int]:
        """Connect if needed and translate ``codenames`` (in the thread owning the backend)."""
        if not self.backend.connected and not self.backend.capabilities.resolves_offline:
            self.backend.connect()
        try:
            return self.backend.resolve_codenames(codenames)
        except CodenameError:
            raise
        except BackendError:
            self.backend.close()
            raise

    def _look_up(self, codenames: list[str], run: _Runner, timeout: float) -> dict[str, int]:
        """Translate ``codenames`` through ``run``, retrying with back-off for ``timeout``
        seconds; the spool's remembered ids when the database stays unreachable."""
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                mapping = run(self._resolve, codenames, max(0.0, deadline - time.monotonic()))
                if self._spool is not None:
                    self._spool.remember_codenames(mapping)
                return mapping
            except CodenameError as error:
                raise CodenameLookupError(f"{self.backend.describe()}: {error}") from None
            except SetupRejected as error:  # waiting would not help
                raise StartupException(f"{self.backend.describe()}: {error}") from None
            except (BackendError, FutureTimeout) as error:
                remaining = deadline - time.monotonic()
                cached = self._spool.codenames(codenames) if self._spool is not None else None
                if remaining <= 0 and cached is not None:
                    LOG.warning(
                        "cannot reach %s (%s): starting on the spool with the codenames of "
                        "an earlier run; points wait there until the database is back",
                        self.backend.describe(),
                        error,
                    )
                    return cached
                if remaining <= 0:
                    raise StartupException(
                        f"cannot reach {self.backend.describe()} after {attempt} attempt(s) "
                        f"in {timeout:.0f} s: {error}"
                    ) from None
                LOG.warning("start-up attempt %d failed: %s", attempt, error)
                time.sleep(min(self.retry.delay(attempt), remaining))

    # -- enqueue (any thread) ---------------------------------------------------------------

    def enqueue_point_now(self, codename: str, value: float) -> float:
        """Queue ``value`` for ``codename`` at the current time; returns that unix time."""
        now = _now()
        type_id = self._codename_translation.get(codename)
        if (
            type_id is not None
            and type(value) is float
            and value - value == 0.0  # finite: inf - inf and nan - nan are nan
            and self._accepting
        ):
            self._append((type_id, now, value))
            if self._drain.idle:
                self._wake.set()
        else:
            self._enqueue_checked(codename, now, value)
        return now

    def enqueue_point(self, codename: str, point: tuple[float, float]) -> None:
        """Queue ``point``, a ``(unixtime, value)`` pair, for ``codename``."""
        if type(point) is tuple and len(point) == 2:
            unixtime, value = point
            type_id = self._codename_translation.get(codename)
            if (
                type_id is not None
                and type(value) is float
                and value - value == 0.0
                and type(unixtime) is float
                and self._time_low <= unixtime <= self._time_high
                and self._accepting
            ):
                self._append((type_id, unixtime, value))
                if self._drain.idle:
                    self._wake.set()
                return
        else:
            unixtime, value = PointValidator.unpack(point)
        self._enqueue_checked(codename, unixtime, value)

    def enqueue_points(self, codename: str, points: Iterable[Any]) -> int:
        """Queue many ``(unixtime, value)`` points of one codename, all or none: each is
        checked first, and a bad one raises (naming its index) with none of them queued.
        Returns how many were queued (the non-finite policy may drop some)."""
        if not self._accepting:
            raise LoggerStoppedError("the logger is stopped: the points were not queued")
        check, unpack = self._validator.check, PointValidator.unpack
        checked = []
        for index, point in enumerate(points):
            try:
                checked.append(check(codename, *unpack(point)))
            except UnknownCodenameError:
                raise
            except (TypeError, ValueError) as error:
                raise type(error)(f"point {index}: {error}") from None
        kept = [point for point in checked if point is not None]
        for point in kept:
            self._append(point)
        if self._drain.idle:
            self._wake.set()
        return len(kept)

    def _enqueue_checked(self, codename: Any, unixtime: Any, value: Any) -> None:
        if not self._accepting:
            raise LoggerStoppedError("the logger is stopped: the point was not queued")
        point = self._validator.check(codename, unixtime, value)
        if point is not None:
            self._append(point)
            if self._drain.idle:
                self._wake.set()

    # -- the thread -----------------------------------------------------------------------

    def start(self) -> None:
        """Start draining the queue into the database."""
        super().start()
        atexit.register(self._stop_at_exit)

    def run(self) -> None:
        LOG.info("logging to %s", self.backend.describe())
        try:
            self._drain.run(lambda: not self._stopping)
        except Exception:  # a bug: say so loudly, the points are still queued
            LOG.exception("the drain loop failed; %d point(s) stay queued", len(self._buffer))
        finally:
            self._drain.close()
            self.backend.close()

    def queued(self) -> int:
        """How many points are queued: enqueued and not yet committed (or set aside)."""
        return len(self._buffer)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every point enqueued before this call is committed (or set aside
        as rejected, see ``dead_letters``); False when ``timeout`` seconds (None: no
        limit) pass first, e.g. while the database is unreachable.

        Costs the enqueue path nothing: the drain thread counts the queue once, between
        two batches, and flush then waits for its acknowledgements to pass that count.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        with self._stop_lock:
            if self._report is not None:  # stopped: what stop() delivered is all there is
                return self._report.delivered_all
            if self.ident is None:  # not started: nothing is delivered before start()
                return len(self._buffer) == 0
            future = self._drain.call(self._drain.end_position)
        try:
            position = future.result(remaining())
        except FutureTimeout:
            future.cancel()
            return False
        except CancelledError:  # the logger stopped meanwhile
            return self._report is not None and self._report.delivered_all
        if not self._drain.wait_settled(position, remaining()):
            return False
        settle = self._settle
        if settle is None:
            return True
        settled = self._drain.call(lambda: settle(remaining()))
        try:
            return bool(settled.result(remaining()))
        except (FutureTimeout, CancelledError):
            settled.cancel()
            return False

    # -- points of other streams (the points socket's clients) -------------------------

    def intake(self) -> Intake:
        """Where points of other streams are taken in exactly once (see
        :mod:`.intake`); the logger needs a spool for it."""
        if self._spool_buffer is None:
            raise ValueError("an intake of other streams needs a spool (spool_path=...)")
        return Intake(self._spool_buffer, self._validator, self.dead_letters, lambda: self._accepting)

    def wait_for_queue_to_empty(self) -> None:
        """PyExpLabSys's name: block until everything enqueued so far is committed."""
        self.flush()

    def stop(self, timeout: float | None = None) -> StopReport:
        """Deliver what is queued within ``timeout`` seconds, stop, and report.

        Points that could not be delivered are counted in the report and logged; they
        are never dropped silently. Calling ``stop`` again returns the same report.
        """
        with self._stop_lock:
            if self._report is not None:
                return self._report
            timeout = self.stop_timeout if timeout is None else timeout
            self._accepting = False
            self._stopping = True
            self._drain.finish_by(time.monotonic() + timeout)
            if self.is_alive():
                self.join(timeout)
                if self.is_alive():  # stuck in a statement: cut it short
                    self.backend.interrupt()
                    self.join(self.timeouts.connect)
            else:
                self.backend.close()
            spooled = self._buffer.close()
            self._report = self._make_report(spooled)
            atexit.unregister(self._stop_at_exit)
            return self._report

    def _make_report(self, spooled: int) -> StopReport:
        unknown = self._drain.unknown_outcome_points()
        if spooled and self._spool is not None:
            reason = self._drain.last_error or "stop time-out reached"
            LOG.warning(
                "stopped with %d point(s) not yet delivered, kept in the spool %s for the next start (%s)",
                spooled,
                self._spool.path,
                reason,
            )
            return StopReport(False, 0, unknown, {}, reason, spooled=spooled)
        left = self._buffer.snapshot()
        if not left:
            LOG.info("stopped; all %d point(s) delivered", self._drain.committed)
            return StopReport(True, 0)
        per_codename = dict(Counter(self._type_names.get(p[0], str(p[0])) for p in left))
        reason = self._drain.last_error or "stop time-out reached"
        LOG.error(
            "stopped with %d point(s) NOT delivered (%d with unknown outcome) to %s: %s; per codename: %s",
            len(left),
            unknown,
            self.backend.describe(),
            reason,
            per_codename,
        )
        return StopReport(False, len(left), unknown, per_codename, reason)

    def _stop_at_exit(self) -> None:
        if self._report is None:
            LOG.info("interpreter exits: stopping the logger")
            self.stop()

    # -- status ---------------------------------------------------------------------------

    def status(self) -> LoggerStatus:
        """A snapshot of the queue, the counters and the connection."""
        drain = self._drain
        oldest = self._buffer.oldest()
        latency = drain.commit_latency() or (None, None, None)
        return LoggerStatus(
            running=self.is_alive(),
            connected=self.backend.connected,
            backend=self.backend.describe(),
            queued=len(self._buffer),
            committed=drain.committed,
            batches=drain.batches,
            reconnects=drain.reconnects,
            timeouts=drain.timeouts,
            reconciled_batches=drain.reconciled_batches,
            dead_lettered=drain.dead_lettered,
            last_commit_time=drain.last_commit_time,
            oldest_queued_age=(
                None if oldest is None or not self.backend.time_stamped else max(0.0, _now() - oldest[1])
            ),
            nonfinite_seen=self._validator.nonfinite_seen,
            nonfinite_dropped=self._validator.nonfinite_dropped,
            current_backoff=drain.current_backoff,
            last_error=drain.last_error,
            node=self.backend.current_node(),
            commit_latency_p50=latency[0],
            commit_latency_p99=latency[1],
            commit_latency_max=latency[2],
            **self._buffer.stats(),
        )
