"""The drain loop: moves batches from the point buffer into the database.

One thread runs :meth:`Drain.run`. It peeks a batch (the points stay queued), writes it
through the backend, and acknowledges it only when the backend says it is committed.
On a broken connection it reconnects with back-off; when the outcome of a batch is
unknown (the connection broke after the COMMIT was sent) it asks the backend, on the
new connection, how much of the batch is already stored before sending anything again.

Every point has a stream position (``seq``), given by the buffer: the number of points
acknowledged before it, or its number in the durable spool. A batch is named by the
position of its first point, which is what lets a backend recognise a resend of the same
points.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..backends.base import (
    Backend,
    BackendError,
    BatchRejected,
    Contended,
    MayHeal,
    OutcomeUnknown,
    PipelinedBackend,
    PreparingBackend,
)
from .buffer import PointBuffer
from .deadletter import DeadLetterStore
from .policies import BatchPolicy, RetryPolicy

LOG = logging.getLogger(__name__)

__all__ = ["Drain"]

#: How many recent batches the commit latency figures are taken over.
LATENCY_WINDOW = 1000
#: While a batch is held back (or the queue is empty), the drain looks this often
#: whether it has filled up or a flush asks for it.
LOOK_EVERY = 0.05
#: With pipelining, the first batch of a backlog (more than a full batch waiting, none
#: prepared) is this fraction of a full one: it is prepared while the server waits, so
#: a short one gets the server going sooner. Each batch prepared ahead is then at most
#: RAMP times the one in flight (preparing a row costs a third or less of what the
#: server spends on it), up to a full batch.
FIRST_OF_BACKLOG = 1 / 16
RAMP = 4
#: With pipelining, each step looks at this many full batches: the one to send and the
#: one to prepare while the server works on it.
LOOKAHEAD = 2


#: The first look during a hold comes this soon: how fast is the queue growing?
FIRST_LOOK = 0.005


def next_look(last: tuple[float, int] | None, now: float, waiting: int, full: int) -> float:
    """Seconds until the drain looks again while it holds a batch back: when a full
    batch (``full`` points) will wait at the rate the queue grew since the ``last`` look
    ``(time, points waiting)``, and at the latest after :data:`LOOK_EVERY`; soon after
    the first look, to learn that rate. A burst is then sent as soon as a batch fills,
    and a slow stream is looked at no more often than before."""
    if last is None:
        return FIRST_LOOK
    grown, spent = waiting - last[1], now - last[0]
    if grown <= 0 or spent <= 0:
        return LOOK_EVERY
    return min(LOOK_EVERY, max(0.001, (full - waiting) * spent / grown))


class Drain:
    """Delivers the buffer's points through ``backend``; owned by one thread."""

    def __init__(
        self,
        backend: Backend,
        buffer: PointBuffer,
        batch: BatchPolicy = BatchPolicy(),
        retry: RetryPolicy = RetryPolicy(),
        wake: threading.Event | None = None,
        dead_letters: DeadLetterStore | None = None,
        type_names: Mapping[int, str] | None = None,
        rung_on_append: bool = False,
    ) -> None:
        self.backend = backend
        self.dead_letters = dead_letters or DeadLetterStore()
        # The logger's own mapping, which grows when it adds codenames; read only here.
        self.type_names: Mapping[int, str] = type_names if type_names is not None else {}
        self.limit = batch.max_points  # smaller while a rejected batch is being split
        self.suspect_end = 0  # stream position up to which points are under suspicion
        self.buffer = buffer
        self.batch = batch
        self.retry = retry
        self.wake = wake or threading.Event()  # set to cut a wait short (stop)
        self._unknown: tuple[int, int] | None = None  # (first_seq, n) of an unsettled batch
        self.failures = 0
        # Counters for status(); written by the drain thread only.
        self.committed = 0
        self.batches = 0
        self.reconnects = 0
        self.timeouts = 0
        self.reconciled_batches = 0
        self.last_commit_time: float | None = None
        self.current_backoff = 0.0
        self.last_error: str | None = None
        self._deadline: float | None = None  # monotonic; see finish_by()
        # Pipelining: a backend that can prepare a batch (render its statement) gets the
        # next batch prepared by a helper thread while the current one is in flight.
        self._pipeline = backend.capabilities.prepare
        self._preparer = ThreadPoolExecutor(1, "drain-prepare") if self._pipeline else None
        self._ahead: tuple[list, Future] | None = None
        # Pipelining of another kind: a backend that takes several batches in flight
        # (the points socket's client) gets them sent ahead, acknowledged in order.
        self._depth = backend.capabilities.pipeline
        self._sent = 0  # stream position after the last point sent (pipelined)
        self._was_connected = backend.connected
        self._logged_outage = False
        self._calls: deque[tuple[Callable[[], Any], Future]] = deque()
        # The stream position every point before which is settled (committed, or set
        # aside as rejected), and the condition flush() waits on for it to move.
        self._settled = buffer.head_seq()
        self._settled_moved = threading.Condition()
        # Per batch: seconds from its oldest point's time stamp to its commit.
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        # Batches are held back to grow (see _hold) where commits are costly; points
        # before this stream position are sent without waiting (a flush asked).
        self._holds = backend.capabilities.costly_commits
        self._hurry_until = 0
        # Size of the last batch while batches follow each other (0 after a pause): a
        # backlog starts short only after a pause.
        self._streak = 0
        #: True while the drain waits because there was nothing to send, if producers
        #: ring (``rung_on_append``: the logger's enqueue sets ``wake`` when it sees this,
        #: so a burst after a quiet spell does not wait for the next look; a spool wakes
        #: the drain itself once points are on disk, so it is not rung).
        self.idle = False
        self._rung = rung_on_append
        # (monotonic time, points waiting) at the previous look during a hold.
        self._last_look: tuple[float, int] | None = None

    # -- the loop -------------------------------------------------------------------------

    def run(self, keep_going: Callable[[], bool]) -> None:
        """Deliver until ``keep_going()`` is false and the buffer is empty, or until the
        deadline of :meth:`finish_by` has passed."""
        while True:
            self._run_calls()
            if self._deadline is not None and time.monotonic() >= self._deadline:
                return
            hold = self._hold() if self._holds and keep_going() and self._deadline is None else 0.0
            if hold > 0:
                self._streak = 0
                now, waiting = time.monotonic(), len(self.buffer)
                self.sleep(min(hold, next_look(self._last_look, now, waiting, self.limit)))
                self._last_look = (now, waiting)
                continue
            self._last_look = None
            if not self.step():  # nothing to send (a spool may still be writing some)
                self._streak = 0
                if not keep_going() and not len(self.buffer):
                    return
                self.idle = self._rung
                self.sleep(min(self.batch.flush_interval, LOOK_EVERY))
                self.idle = False

    def _hold(self) -> float:
        """Seconds to keep the next batch back, so that it grows: until its oldest point
        is ``flush_interval`` old (the latency budget), unless a full batch waits, a
        flush asked for these points, or a failed batch is being retried."""
        if self.failures or self._unknown is not None or self.buffer.head_seq() < self._hurry_until:
            return 0.0
        if len(self.buffer) >= self.limit:
            return 0.0
        oldest = self.buffer.oldest()
        if oldest is None:
            return 0.0
        budget = self.batch.flush_interval
        return min(budget, oldest[1] + budget - time.time())

    def finish_by(self, deadline: float) -> None:
        """Give up delivering at ``deadline`` (monotonic): waits end there too (any
        thread; the logger's stop)."""
        self._deadline = deadline
        self.wake.set()

    def unknown_outcome_points(self) -> int:
        """How many points are in a batch whose outcome is not yet known."""
        unknown = self._unknown
        return unknown[1] if unknown else 0

    def call(self, function: Callable[[], Any]) -> Future:
        """Run ``function`` in the drain thread between two batches (any thread): it
        owns the backend's connection. Its result or error arrives in the Future."""
        future: Future = Future()
        self._calls.append((function, future))
        self.wake.set()
        return future

    def _run_calls(self) -> None:
        while self._calls:
            function, future = self._calls.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function())
                except BaseException as error:  # handed to the caller
                    future.set_exception(error)

    def close(self) -> None:
        """Release the preparing thread (the drain is done); pending calls fail."""
        while self._calls:
            self._calls.popleft()[1].cancel()
        if self._preparer is not None:
            self._preparer.shutdown(wait=False, cancel_futures=True)
        self._ahead = None

    def sleep(self, seconds: float) -> None:
        """Wait, but not past the deadline, and wake early when ``wake`` is set."""
        if self._deadline is not None:
            seconds = min(seconds, max(0.0, self._deadline - time.monotonic()))
        if self.wake.wait(seconds):
            self.wake.clear()

    def step(self) -> bool:
        """One attempt to make progress; False when there was nothing to deliver."""
        if self._depth:
            return self._step_in_flight()
        points = self.buffer.peek(self.limit * (LOOKAHEAD if self._pipeline else 1))
        if not points:
            return False
        batch, prepared, following = self._next_batch(points)
        try:
            if not self.backend.connected:
                self._connect()
            if self._unknown is not None:
                self._reconcile(points)
                return True
            if self._pipeline:
                preparing: PreparingBackend = self.backend  # type: ignore[assignment]  # declared by capabilities.prepare
                preparing.insert_batch(
                    self.buffer.head_seq(),
                    batch,
                    prepared,
                    lambda: self._prepare_ahead(len(batch), following),
                )
            else:
                self.backend.insert_batch(self.buffer.head_seq(), batch)
        except OutcomeUnknown as error:
            self._unknown = (self.buffer.head_seq(), len(batch))
            self._failed(error)
        except BatchRejected as error:
            self._rejected(batch, error)
        except BackendError as error:  # ConnectionFailed, MayHeal, Contended
            self._failed(error)
        else:
            self._acknowledge(len(batch), batch[0][1])
        return True

    def _step_in_flight(self) -> bool:
        """One step with a backend that takes ``pipeline`` batches in flight: send what
        is not sent yet (up to that many batches ahead of the acknowledgements), then
        acknowledge what the other side holds. After a new connection everything not
        acknowledged is sent again; the other side drops what it holds already."""
        backend: PipelinedBackend = self.backend  # type: ignore[assignment]  # declared by capabilities.pipeline
        points = self.buffer.peek(self.limit * self._depth)
        if not points:
            return False
        head = self.buffer.head_seq()
        try:
            if not self.backend.connected:
                self._connect()
                self._sent = head
                held = backend.acknowledged(0.0)  # what the other side holds already
                if held > head:
                    self._acknowledge(min(held - head, len(points)), points[0][1])
                    return True
            sent = max(self._sent, head)
            while sent - head < len(points):
                batch = points[sent - head : sent - head + self.limit]
                backend.send_batch(sent, batch)
                sent += len(batch)
                self._sent = sent
            held = backend.acknowledged(self.batch.flush_interval)
        except BackendError as error:
            self._failed(error)
            return True
        if held > head:
            self._acknowledge(min(held - head, len(points)), points[0][1])
        return True

    def _next_batch(self, points: list) -> tuple[list, object, list]:
        """The batch to send now, with its prepared statement when the backend has one,
        and the points of the following batch, which :meth:`_prepare_ahead` prepares in
        the background once this one is sent, while the server works on it."""
        if not self._pipeline:
            return points, None, []
        ahead, self._ahead = self._ahead, None
        if (
            ahead is not None
            and len(points) >= len(ahead[0])
            and points[0] is ahead[0][0]
            and points[len(ahead[0]) - 1] is ahead[0][-1]
        ):
            batch, prepared = ahead[0], ahead[1].result()
        else:  # first batch, or the queue changed (failure, split): prepare it now
            size = self.limit
            if self._streak:  # batches go on (nothing prepared ahead: the backend did not
                size = min(self.limit, RAMP * self._streak)  # say when one was sent): grow on
            elif len(points) > self.limit == self.batch.max_points:  # a backlog (no split)
                size = max(1, int(self.limit * FIRST_OF_BACKLOG))
            batch = points[:size]
            prepared = self.backend.prepare(batch)
        self._streak = len(batch)
        following = min(self.limit, RAMP * len(batch))
        return batch, prepared, points[len(batch) : len(batch) + following]

    def _prepare_ahead(self, sent: int, following: list) -> None:
        """Start preparing ``following`` in the background (the backend calls this when
        the current batch of ``sent`` points has been sent: see
        :class:`~..backends.base.PreparingBackend`), and take the points of the next
        step from the producers meanwhile."""
        if following and self._unknown is None and self._preparer is not None:
            try:
                self._ahead = (following, self._preparer.submit(self.backend.prepare, following))
            except RuntimeError:  # the preparing thread is shut down (the drain closed)
                self._ahead = None
        # what the next step peeks, moved along while the server works on this batch
        self.buffer.prefetch(sent + self.limit * LOOKAHEAD)

    # -- pieces ---------------------------------------------------------------------------

    def _connect(self) -> None:
        self.backend.connect()
        if self._was_connected or self.failures:
            self.reconnects += 1
            LOG.info("reconnected to %s after %d failed attempt(s)", self.backend.describe(), self.failures)
        self._was_connected = True

    def _reconcile(self, points: list) -> None:
        assert self._unknown is not None  # step() calls this only then
        first_seq, count = self._unknown
        stored = self.backend.reconcile(first_seq, points[:count])
        if stored > len(points):  # a batch of an earlier run, larger than this peek
            stored = min(stored, len(self.buffer.peek(stored)))
        self._unknown = None
        self.reconciled_batches += 1
        LOG.warning(
            "batch at %d had an unknown outcome: %d of %d points were committed, %s",
            first_seq,
            stored,
            count,
            "nothing to resend" if stored == count else "resending the rest",
        )
        if stored:
            self._acknowledge(stored, points[0][1])

    @property
    def dead_lettered(self) -> int:
        return self.dead_letters.count

    def _rejected(self, points: list, error: BatchRejected) -> None:
        """Split a rejected batch until the offending point stands alone, then set it
        aside in the dead-letter store; the healthy points keep flowing."""
        reason = str(error) or type(error).__name__
        self.last_error = reason
        if error.stored:  # a non-transactional table kept the rows before the bad one
            self._acknowledge(error.stored, points[0][1])
            points = points[error.stored :]
        if len(points) == 1:
            type_id, unixtime, value = points[0]
            codename = self.type_names.get(type_id, str(type_id))
            self.dead_letters.add(codename, unixtime, value, reason)
            self.buffer.ack(1, self.backend.checkpoint())
            self._moved()
            return
        self.suspect_end = max(self.suspect_end, self.buffer.head_seq() + len(points))
        self.limit = max(1, len(points) // 2)
        LOG.warning(
            "batch of %d point(s) rejected (%s): splitting it to isolate the cause", len(points), reason
        )

    def end_position(self) -> int:
        """The stream position after the newest queued point (in the drain thread,
        where no acknowledgement can race with the count); a flush waits for it, so
        the points before it are sent without waiting for their latency budget."""
        position = self.buffer.head_seq() + len(self.buffer)
        self._hurry_until = max(self._hurry_until, position)
        return position

    def wait_settled(self, position: int, timeout: float | None) -> bool:
        """Wait (any thread) until every point before stream ``position`` is committed
        or set aside as rejected; False after ``timeout`` seconds (None: no limit)."""
        with self._settled_moved:
            return self._settled_moved.wait_for(lambda: self._settled >= position, timeout)

    def _moved(self) -> None:
        with self._settled_moved:
            self._settled = self.buffer.head_seq()
            self._settled_moved.notify_all()

    def commit_latency(self) -> tuple[float, float, float] | None:
        """(median, 99th percentile, maximum) seconds from the time stamp of each recent
        batch's oldest point to its commit; None before the first commit."""
        recent = sorted(self._latencies)  # one C-level copy under the GIL: appends wait
        if not recent:
            return None
        return (recent[len(recent) // 2], recent[min(len(recent) - 1, int(len(recent) * 0.99))], recent[-1])

    def _acknowledge(self, count: int, oldest_time: float) -> None:
        if self.backend.time_stamped:  # a data set's points carry x values, not times
            self._latencies.append(max(0.0, time.time() - oldest_time))
        self.buffer.ack(count, self.backend.checkpoint())
        self._moved()
        self.backend.keep_ledger_from(self.buffer.durable_seq())
        if self.buffer.head_seq() >= self.suspect_end:
            self.limit = self.batch.max_points
        self.committed += count
        self.batches += 1
        self.last_commit_time = time.time()
        if self.failures:
            LOG.info("delivering again after %d failure(s)", self.failures)
        self.failures = 0
        self.current_backoff = 0.0
        self._logged_outage = False

    def _failed(self, error: BackendError) -> None:
        self.failures += 1
        self.last_error = str(error) if str(error) else type(error).__name__
        if error.timed_out:
            self.timeouts += 1
        delay = self.retry.delay(self.failures)
        self.current_backoff = delay
        level = logging.WARNING if not self._logged_outage else logging.DEBUG
        if isinstance(error, MayHeal):
            level = logging.ERROR if not self._logged_outage else logging.DEBUG
        LOG.log(
            level,
            "%s (%s) on %s; %d point(s) queued; retrying in %.2f s",
            type(error).__name__,
            self.last_error,
            self.backend.describe(),
            len(self.buffer),
            delay,
        )
        self._logged_outage = True
        if not isinstance(error, (MayHeal, BatchRejected, Contended)):
            self.backend.close()
        self.sleep(delay)
