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
    BackendConfigError,
    BatchRejected,
    Capabilities,
    ConnectionFailed,
    OutcomeUnknown,
    Point,
    map_codenames,
)
from .rows import CLASSIC, DATA_SET, RowShape

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
        # Data sets: (id, measurement, x, y) rows, and the rows of each measurements table.
        self.xy_stored: list[tuple[int, int, float, float | None]] = []
        self.tables: dict[str, list[dict[str, Any]]] = {}
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

    def measurements(self, table: str) -> list[dict[str, Any]]:
        """The rows of a data sets' measurements table (each with its ``id``), in
        insertion order. A value given with an SQL marker other than ``%s`` (a
        ``CustomColumn``) is kept as the text the server would evaluate, e.g.
        ``FROM_UNIXTIME(1700000000.0)``: the mock runs no SQL."""
        with self.lock:
            return [dict(row) for row in self.tables.get(table, [])]

    def xy_values(self, measurement_id: int) -> list[tuple[float, float | None]]:
        """The stored ``(x, y)`` points of one data set, in insertion order."""
        with self.lock:
            return [(x, y) for _, measurement, x, y in self.xy_stored if measurement == measurement_id]

    # -- what a client (MemoryBackend) meets ----------------------------------------------

    def wait_running(self, timeout: float) -> None:
        """What every connect and statement meets first: wait up to ``timeout`` while
        the server hangs; ConnectionFailed when it still hangs or is unreachable."""
        if not self._running.wait(timeout):
            raise ConnectionFailed(
                f"statement timed out after {timeout:.1f} s (server hangs)", timed_out=True
            )
        if self.unreachable or time.monotonic() < self._unreachable_until:
            raise ConnectionFailed("database unreachable")

    def insert_row(self, table: str, values: Mapping[str, tuple[Any, str]]) -> int:
        """One row of a measurements table (column → (value, SQL marker)); its id."""
        with self.lock:
            rows = self.tables.setdefault(table, [])
            row: dict[str, Any] = {"id": len(rows) + 1}
            for column, (value, marker) in values.items():
                row[column] = value if marker == "%s" else marker.replace("%s", repr(value))
            rows.append(row)
            return int(row["id"])

    def commit_batch(self, key: tuple[str, int], points: Sequence[Point], data_set: bool = False) -> bool:
        """Store the batch named ``key`` (logger id, first position) atomically, or
        raise (already committed, rejected); returns whether the answer is lost. A data
        set's points go to ``xy_stored``."""
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
            into = self.xy_stored if data_set else self.stored
            for type_id, t, value in points:
                into.append((next(self._ids), type_id, t, value))
            self.ledger[key] = len(points)
            self.commits += 1
            lose = self._lose_answers > 0
            if lose:
                self._lose_answers -= 1
            return lose

    def codename_rows(self) -> list[tuple[int, str]]:
        """The descriptions table: (type id, codename) rows."""
        with self.lock:
            return [(type_id, name) for name, type_id in self.codenames.items()]

    def committed(self, key: tuple[str, int]) -> int:
        """How many points the batch named ``key`` stored (0: none was committed); the
        whole batch of that name, which may be larger than a resend after a restart."""
        with self.lock:
            return self.ledger.get(key, 0)


class MemoryBackend(Backend):
    """A client of a :class:`MemoryDatabase`, with the same behaviour as a real backend.

    ``rows`` is the shape of the table it writes: the continuous table, or
    :data:`~.rows.DATA_SET` (points go to ``xy_stored``)."""

    capabilities = Capabilities(reconcile="ledger", costly_commits=True)  # as the MySQL it mocks

    def __init__(
        self,
        database: MemoryDatabase,
        ledger_key: str | None = None,
        timeout: float = 1.0,
        rows: RowShape = CLASSIC,
    ) -> None:
        self.database = database
        self.rows = rows
        self.time_range = rows.x_range
        self.time_stamped = rows.timed
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
        self.database.wait_running(self.timeout)
        self._connected = True

    def close(self) -> None:
        self._connected = False

    def _require(self) -> None:
        if not self._connected:
            raise ConnectionFailed("not connected")
        try:
            self.database.wait_running(self.timeout)
        except ConnectionFailed:
            self._connected = False
            raise

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        self._require()
        return map_codenames(list(codenames), self.database.codename_rows(), "dateplots_descriptions")

    def insert_batch(self, first_seq: int, points: Sequence[Point], prepared: object = None) -> None:
        self._require()
        if self.database.commit_batch((self.logger_id, first_seq), points, self.rows is DATA_SET):
            self._connected = False
            raise OutcomeUnknown("connection lost before the COMMIT answer arrived")

    def insert_row(self, table: str, values: Mapping[str, tuple[Any, str]]) -> int:
        self._require()
        return self.database.insert_row(table, values)

    def distinct_values(self, table: str, expression: str) -> set[Any]:
        self._require()
        rows = self.database.measurements(table)
        if rows and not all(expression in row for row in rows):
            raise BackendConfigError(
                f"the memory database has no column {expression!r} in {table} (it runs no SQL)"
            )
        return {row[expression] for row in rows}

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        self._require()
        return self.database.committed((self.logger_id, first_seq))
