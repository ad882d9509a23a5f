"""An in-memory database with fault injection: the mock for fast tests.

:class:`MemoryDatabase` plays the server (it outlives connections, like a real one) and
:class:`MemoryBackend` the client. The database keeps a ledger of committed batches,
like the MySQL backend does on InnoDB, so reconciliation after a lost COMMIT answer is
exercised by fast tests as well. Faults are switched on and off by the test:
``unreachable`` (or ``unreachable_for(seconds)``, ``with outage():``),
``hang()``/``unhang()``, ``lose_next_commit_answer()``, ``reject(rule)``.

It is what the pytest plugin's ``mock_database`` fixture hands to tests (see
:mod:`PyExpLabSys.testing.plugin`), so the project's own fast tests and labs' tests of
their instrument scripts use the same mock.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .base import (
    Backend,
    BatchRejected,
    Capabilities,
    ConnectionFailed,
    OutcomeUnknown,
    Point,
    map_codenames,
)

LOG = logging.getLogger(__name__)

__all__ = ["MemoryBackend", "MemoryDatabase", "Row"]

#: A stored point as tests read it back: (codename, unix time, value or None).
Row = tuple[str, float, "float | None"]


class MemoryDatabase:
    """Rows, codenames, a batch ledger and switchable faults, shared by connections."""

    def __init__(self, codenames: Iterable[str] = ()) -> None:
        self.lock = threading.Lock()
        self.codenames: dict[str, int] = {}
        self.stored: list[tuple[int, int, float, float | None]] = []  # (id, type, time, value)
        self.ledger: dict[tuple[str, int], int] = {}
        self._ids = itertools.count(1)
        self.unreachable = False
        self._unreachable_until = 0.0
        self._reject: Callable[[Row], Any] | None = None
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

    def declare(self, *codenames: str) -> dict[str, int]:
        """Register codenames (rows of dateplots_descriptions); their type ids."""
        return {codename: self.add_codename(codename) for codename in codenames}

    def unreachable_for(self, seconds: float) -> None:
        """Refuse connections and statements for ``seconds`` from now (an outage)."""
        self._unreachable_until = time.monotonic() + seconds

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """``with db.outage():`` the database is unreachable inside the block."""
        self.unreachable = True
        try:
            yield
        finally:
            self.unreachable = False

    def reject(self, rule: Callable[[Row], Any] | float | None) -> None:
        """Make the server refuse points for good (a constraint): ``rule`` is a value to
        refuse, or a function of (codename, time, value) returning a reason (or True) to
        refuse; None accepts everything again. A refused batch is rolled back whole."""
        if rule is None or callable(rule):
            self._reject = rule
        else:
            self._reject = lambda row, bad=rule: row[2] == bad and f"value {bad!r} is refused"

    def hang(self) -> None:
        """Make every statement block (as a SIGSTOPped server) until ``unhang()``."""
        self._running.clear()

    def unhang(self) -> None:
        self._running.set()

    def lose_next_commit_answer(self, count: int = 1) -> None:
        """Commit the next ``count`` batches but report the outcome as unknown."""
        with self.lock:
            self._lose_answers += count

    def rows(self) -> list[Row]:
        """Every stored row as (codename, time, value), in insertion order."""
        names = {type_id: name for name, type_id in self.codenames.items()}
        with self.lock:
            return [(names.get(t, str(t)), stamp, value) for _, t, stamp, value in self.stored]

    points = rows  # the earlier name

    def values(self, codename: str) -> list[float | None]:
        """The stored values of one codename, in insertion order."""
        return [value for name, _, value in self.rows() if name == codename]

    # -- used by MemoryBackend ----------------------------------------------------------

    def _wait_running(self, timeout: float) -> None:
        if not self._running.wait(timeout):
            raise ConnectionFailed(
                f"statement timed out after {timeout:.1f} s (server hangs)", timed_out=True
            )
        if self.unreachable or time.monotonic() < self._unreachable_until:
            raise ConnectionFailed("database unreachable")

    def _commit(self, key: tuple[str, int], points: Sequence[Point]) -> bool:
        """Store a batch atomically; returns whether the answer is lost."""
        with self.lock:
            if key in self.ledger:
                raise OutcomeUnknown(f"batch {key[1]} was already committed")
            if self._reject is not None:
                names = {type_id: name for name, type_id in self.codenames.items()}
                for type_id, stamp, value in points:
                    reason = self._reject((names.get(type_id, str(type_id)), stamp, value))
                    if reason:
                        reason = reason if isinstance(reason, str) else "refused by the test"
                        raise BatchRejected(
                            f"point {(names.get(type_id), stamp, value)!r} rejected: {reason}"
                        )
            for type_id, t, value in points:
                self.stored.append((next(self._ids), type_id, t, value))
            self.ledger[key] = len(points)
            self.commits += 1
            lose = self._lose_answers > 0
            if lose:
                self._lose_answers -= 1
            return lose


class MemoryBackend(Backend):
    """A client of a :class:`MemoryDatabase`, with the same behaviour as a real backend."""

    capabilities = Capabilities(reconcile="ledger", costly_commits=True)  # as the MySQL it mocks

    def __init__(self, database: MemoryDatabase, ledger_key: str | None = None, timeout: float = 1.0) -> None:
        self.database = database
        # names this client's batches in the ledger (the spool sets a lasting one)
        self._logger_id = ledger_key or f"memory:{uuid.uuid4().hex[:12]}"
        self.timeout = timeout
        self._connected = False

    def describe(self) -> str:
        return "memory database"

    def create_tables(self, descriptions: Mapping[str, str], **layout: object) -> dict[str, int]:
        return self.database.declare(*descriptions)

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
