"""An in-memory database with fault injection: the mock for fast tests.

:class:`MemoryDatabase` plays the server (it outlives connections, like a real one) and
:class:`MemoryBackend` the client. The database keeps a ledger of committed batches,
like the MySQL backend does on InnoDB, so reconciliation after a lost COMMIT answer is
exercised by fast tests as well. Faults are switched on and off by the test:
``unreachable``, ``hang()``/``unhang()``, ``lose_next_commit_answer()``, ``reject``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from .base import (
    Backend,
    BatchRejected,
    ConnectionFailed,
    OutcomeUnknown,
    Point,
    map_codenames,
)

LOG = logging.getLogger(__name__)

__all__ = ["MemoryDatabase", "MemoryBackend"]


class MemoryDatabase:
    """Rows, codenames, a batch ledger and switchable faults, shared by connections."""

    def __init__(self, codenames: Iterable[str] = ()) -> None:
        self.lock = threading.Lock()
        self.codenames: dict[str, int] = {}
        self.rows: list[tuple[int, int, float, float | None]] = []  # (id, type, time, value)
        self.ledger: dict[tuple[str, int], int] = {}
        self._ids = itertools.count(1)
        self.unreachable = False
        self.reject: Callable[[Point], str | None] | None = None  # reason, or None to accept
        self._lose_answers = 0
        self._running = threading.Event()
        self._running.set()
        self.commits = 0
        for codename in codenames:
            self.add_codename(codename)

    def add_codename(self, codename: str) -> int:
        """Register a codename (as a row in dateplots_descriptions) and return its id."""
        with self.lock:
            return self.codenames.setdefault(codename, len(self.codenames) + 1)

    def hang(self) -> None:
        """Make every statement block (as a SIGSTOPped server) until ``unhang()``."""
        self._running.clear()

    def unhang(self) -> None:
        self._running.set()

    def lose_next_commit_answer(self, count: int = 1) -> None:
        """Commit the next ``count`` batches but report the outcome as unknown."""
        with self.lock:
            self._lose_answers += count

    def points(self) -> list[tuple[str, float, float | None]]:
        """Every stored row as (codename, time, value), in insertion order."""
        names = {type_id: name for name, type_id in self.codenames.items()}
        with self.lock:
            return [(names.get(t, str(t)), time, value) for _, t, time, value in self.rows]

    def values(self, codename: str) -> list[float | None]:
        """The stored values of one codename, in insertion order."""
        return [value for name, _, value in self.points() if name == codename]

    # -- used by MemoryBackend ----------------------------------------------------------

    def _wait_running(self, timeout: float) -> None:
        if not self._running.wait(timeout):
            raise ConnectionFailed(
                f"statement timed out after {timeout:.1f} s (server hangs)", timed_out=True
            )
        if self.unreachable:
            raise ConnectionFailed("database unreachable")

    def _commit(self, key: tuple[str, int], points: Sequence[Point]) -> bool:
        """Store a batch atomically; returns whether the answer is lost."""
        with self.lock:
            if key in self.ledger:
                raise OutcomeUnknown(f"batch {key[1]} was already committed")
            if self.reject is not None:
                for point in points:
                    reason = self.reject(point)
                    if reason:
                        raise BatchRejected(f"point {tuple(point)!r} rejected: {reason}")
            for type_id, t, value in points:
                self.rows.append((next(self._ids), type_id, t, value))
            self.ledger[key] = len(points)
            self.commits += 1
            lose = self._lose_answers > 0
            if lose:
                self._lose_answers -= 1
            return lose


class MemoryBackend(Backend):
    """A client of a :class:`MemoryDatabase`, with the same behaviour as a real backend."""

    def __init__(self, database: MemoryDatabase, ledger_key: str = "logger", timeout: float = 1.0):
        self.database = database
        self.logger_id = ledger_key  # names this client's batches in the ledger
        self.timeout = timeout
        self._connected = False

    def describe(self) -> str:
        return "memory database"

    @property
    def connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        self._connected = False
        self.database._wait_running(self.timeout)
        self._connected = True

    def close(self) -> None:
        self._connected = False

    def _require(self) -> None:
        if not self._connected:
            raise ConnectionFailed("not connected")
        try:
            self.database._wait_running(self.timeout)
        except ConnectionFailed:
            self._connected = False
            raise

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        self._require()
        with self.database.lock:
            rows = [(type_id, name) for name, type_id in self.database.codenames.items()]
        return map_codenames(list(codenames), rows, "dateplots_descriptions")

    def insert_batch(self, first_seq: int, points: Sequence[Point], prepared: object = None) -> None:
        self._require()
        if self.database._commit((self.logger_id, first_seq), points):
            self._connected = False
            raise OutcomeUnknown("connection lost before the COMMIT answer arrived")

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        self._require()
        with self.database.lock:
            # the whole batch of that name: it may be larger than ``points`` after a restart
            return self.database.ledger.get((self.logger_id, first_seq), 0)
