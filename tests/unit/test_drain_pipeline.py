"""The drain's pipelining with a backend that prepares batches (as the SQL backends do):
the next batch is prepared only once the current one is sent, a backlog starts with a
short batch and grows, and every point is stored once, in order."""

from __future__ import annotations

import itertools
import threading

from PyExpLabSys.backends.base import Capabilities
from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.datalog.buffer import RamBuffer
from PyExpLabSys.datalog.drain import FIRST_OF_BACKLOG, LOOKAHEAD, RAMP, Drain
from PyExpLabSys.datalog.policies import BatchPolicy

FULL = 160


class PreparingMemory(MemoryBackend):
    """The memory backend declaring ``prepare``: it records what is prepared and sent,
    and calls ``on_sent`` between sending and committing, as a SQL backend does."""

    capabilities = Capabilities(prepare=True, reconcile="ledger")

    def __init__(self, database: MemoryDatabase) -> None:
        super().__init__(database)
        self.events: list[tuple[str, float, int]] = []  # (what, first point's value, size)
        self.lock = threading.Lock()  # prepare runs in the drain's helper thread

    def prepare(self, points):
        with self.lock:
            self.events.append(("prepare", points[0][2], len(points)))
        return ("prepared", points[0], len(points))

    def insert_batch(self, first_seq, points, prepared=None, on_sent=None):
        assert prepared == ("prepared", points[0], len(points))  # prepared for exactly these
        with self.lock:
            self.events.append(("sent", points[0][2], len(points)))
        if on_sent is not None:
            on_sent()
        super().insert_batch(first_seq, points, prepared)


def drain_all(backend: PreparingMemory, count: int, buffer: RamBuffer | None = None) -> None:
    """Queue ``count`` points in ``buffer`` (a new one by default), drain them all into
    ``backend`` and check that every point is stored once, in order."""
    backend.connect()
    buffer = RamBuffer() if buffer is None else buffer
    for index in range(count):
        buffer.append((1, 1700000000.0 + index, float(index)))
    drain = Drain(backend, buffer, BatchPolicy(max_points=FULL))
    try:
        drain.run(keep_going=lambda: False)  # until the buffer is empty
    finally:
        drain.close()
    assert backend.database.values("a") == [float(index) for index in range(count)]


def drain_backlog(backend: PreparingMemory, count: int = 3000) -> list[int]:
    """Drain a backlog of ``count`` points into ``backend``; the batch sizes sent, after
    checking that the backlog started short and grew to full batches."""
    drain_all(backend, count)
    sizes = [size for what, _, size in backend.events if what == "sent"]
    assert sum(sizes) == count
    first = int(FULL * FIRST_OF_BACKLOG)
    assert sizes[:3] == [first, first * RAMP, min(FULL, first * RAMP * RAMP)]
    assert set(sizes[3:-1]) == {FULL}
    return sizes


def test_a_backlog_is_sent_once_in_order_growing_and_prepared_after_each_send():
    backend = PreparingMemory(MemoryDatabase(["a"]))
    drain_backlog(backend)
    sent = [(first, size) for what, first, size in backend.events if what == "sent"]
    # each batch after the first was prepared after the batch before it was sent
    for before, batch in itertools.pairwise(sent):
        assert backend.events.index(("prepare", *batch)) > backend.events.index(("sent", *before))


def test_batches_smaller_than_a_full_one_are_sent_whole():
    backend = PreparingMemory(MemoryDatabase(["a"]))
    drain_all(backend, FULL - 1)
    assert [size for what, _, size in backend.events if what == "sent"] == [FULL - 1]


class SilentPreparingMemory(PreparingMemory):
    """A backend that never says when a batch is sent (as PyMySQL would if the method
    the MySQL backend hooks were renamed): nothing is prepared ahead."""

    def insert_batch(self, first_seq, points, prepared=None, on_sent=None):
        super().insert_batch(first_seq, points, prepared)


def test_without_word_of_sending_a_backlog_still_grows_to_full_batches():
    drain_backlog(SilentPreparingMemory(MemoryDatabase(["a"])))


def test_prefetch_readies_points_without_changing_what_peek_returns():
    buffer = RamBuffer()
    points = [(1, 1700000000.0 + index, float(index)) for index in range(12)]
    for point in points[:10]:
        buffer.append(point)
    buffer.prefetch(4)
    assert buffer.peek(4) == points[:4]
    buffer.prefetch(100)
    assert buffer.peek(100) == points[:10]
    for point in points[10:]:
        buffer.append(point)
    assert buffer.peek(100) == points and len(buffer) == 12
    buffer.ack(3)
    assert buffer.peek(2) == points[3:5] and buffer.head_seq() == 3


class WatchedPreparingMemory(PreparingMemory):
    """Records, once each batch is sent, how many points the producers' queue of
    ``buffer`` still holds beyond those the drain has taken."""

    buffer: RamBuffer

    def insert_batch(self, first_seq, points, prepared=None, on_sent=None):
        def sent() -> None:
            if on_sent is not None:
                on_sent()
            self.waiting_after_send.append(len(self.buffer._incoming))

        super().insert_batch(first_seq, points, prepared, sent)


def test_the_next_points_are_taken_while_the_server_works_on_a_batch():
    backend = WatchedPreparingMemory(MemoryDatabase(["a"]))
    backend.waiting_after_send = []
    backend.buffer = RamBuffer()
    drain_all(backend, 10 * FULL, backend.buffer)
    # once a batch is sent, the points the next step peeks (LOOKAHEAD full batches)
    # have been taken from the producers while the server works on it
    sizes = [size for what, _, size in backend.events if what == "sent"]
    ends = list(itertools.accumulate(sizes))
    taken = [10 * FULL - waiting for waiting in backend.waiting_after_send]
    assert taken == [min(10 * FULL, end + LOOKAHEAD * FULL) for end in ends]
