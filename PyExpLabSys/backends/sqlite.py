"""SQLite backend: the embedded default, same table layout as the MySQL database.

Used by the demo and by labs without a database server. The ``time`` column holds unix
seconds as REAL (SQLite has no TIMESTAMP type); everything else is as in MySQL:
``dateplots_descriptions (id, codename, description)`` and
``<table> (id, time, type, value)``. Batches are one transaction each, in WAL mode.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .base import (
    Backend,
    BackendSettings,
    BatchRejected,
    Capabilities,
    ConnectionFailed,
    MayHeal,
    OutcomeUnknown,
    Point,
    describe_error,
    map_codenames,
)
from .ledger import BatchLedger, default_logger_id
from .sqltext import quote_identifier

LOG = logging.getLogger(__name__)

__all__ = ["SQLiteBackend", "create_tables"]


class SQLiteBackend(Backend):
    """Writes points into ``table`` of an SQLite file.

    Each batch has its ledger row (:mod:`.ledger`) in the same transaction, as on
    InnoDB: a batch that a killed logger committed but could not acknowledge in its
    spool is recognised when it is sent again, and not stored twice."""

    time_range = (1.0, 253402300799.0)  # REAL unix seconds: up to year 9999
    capabilities = Capabilities(reconcile="ledger")

    def __init__(
        self,
        path: str | Path,
        table: str,
        descriptions_table: str = "dateplots_descriptions",
        timeout: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.table = table
        self.descriptions_table = descriptions_table
        self._table_sql = quote_identifier(table)
        self._descriptions_sql = quote_identifier(descriptions_table)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._ledger = BatchLedger(default_logger_id(table))

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> SQLiteBackend:
        return cls(settings.options["path"], settings.table)

    def describe(self) -> str:
        return f"SQLite {self.path}:{self.table}"

    @property
    def logger_id(self) -> str:
        return self._ledger.logger_id

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        self._ledger.rename(logger_id)

    def keep_ledger_from(self, seq: float) -> None:
        self._ledger.keep_from(seq)

    def _ledger_sql(self, statement: tuple[str, tuple[Any, ...]]) -> tuple[str, tuple[Any, ...]]:
        """A ledger statement with SQLite's parameter marker."""
        return statement[0].replace("%s", "?"), statement[1]

    def create_tables(self, descriptions: Mapping[str, str], **layout: object) -> dict[str, int]:
        ids = create_tables(self.path, self.table, descriptions, self.descriptions_table, descriptions)
        return {codename: ids[codename] for codename in descriptions}

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self) -> None:
        self.close()
        try:
            # The logger's drain thread uses the connection made at start-up; only one
            # thread uses it at a time.
            conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (self.table,)
            ).fetchone()
        except sqlite3.Error as error:
            raise ConnectionFailed(f"cannot open {self.path}: {describe_error(error)}") from None
        if found is None:
            conn.close()
            raise MayHeal(f"table {self.table} does not exist in {self.path}")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._ledger.table_sql} (logger_id TEXT NOT NULL, "
                "first_seq INTEGER NOT NULL, points INTEGER NOT NULL, committed_at REAL, "
                "PRIMARY KEY (logger_id, first_seq))"
            )
        except sqlite3.Error as error:
            conn.close()
            raise MayHeal(f"cannot create the ledger in {self.path}: {describe_error(error)}") from None
        self._conn = conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                LOG.debug("error while closing", exc_info=True)

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        wanted = list(codenames)
        conn = self._require()
        placeholders = ",".join("?" * len(wanted))
        try:
            rows = conn.execute(
                f"SELECT id, codename FROM {self._descriptions_sql} WHERE codename IN ({placeholders})",
                wanted,
            ).fetchall()
        except sqlite3.Error as error:
            raise MayHeal(describe_error(error)) from None
        return map_codenames(wanted, rows, self.descriptions_table)

    def read_values(
        self, codenames: Sequence[str], since: float
    ) -> dict[str, list[tuple[float, float | None]]]:
        ids = self.resolve_codenames(codenames)
        names = {type_id: codename for codename, type_id in ids.items()}
        out: dict[str, list[tuple[float, float | None]]] = {codename: [] for codename in codenames}
        try:
            rows = (
                self._require()
                .execute(
                    f"SELECT type, time, value FROM {self._table_sql} WHERE time >= ? AND type IN "
                    f"({','.join('?' * len(names))}) ORDER BY time",
                    [since, *names],
                )
                .fetchall()
            )
        except sqlite3.Error as error:
            raise MayHeal(describe_error(error)) from None
        for type_id, when, value in rows:
            out[names[type_id]].append((float(when), value))
        return out

    def insert_batch(self, first_seq: int, points: Sequence[Point], prepared: object = None) -> None:
        conn = self._require()
        in_ledger = False
        try:
            with conn:  # one transaction: commit on success, rollback on error
                in_ledger = True
                conn.execute(*self._ledger_sql(self._ledger.record(first_seq, len(points))))
                in_ledger = False
                conn.executemany(  # the columns in the points' order: no tuple per point
                    f"INSERT INTO {self._table_sql} (type, time, value) VALUES (?, ?, ?)", points
                )
        except sqlite3.IntegrityError as error:
            if in_ledger:  # committed before (by a run that was killed): settle it
                raise OutcomeUnknown(f"batch {first_seq} is already in the ledger") from None
            raise BatchRejected(describe_error(error)) from None
        except sqlite3.OperationalError as error:  # locked, disk full, read-only …
            raise MayHeal(describe_error(error)) from None
        except sqlite3.Error as error:
            raise BatchRejected(describe_error(error)) from None
        below = self._ledger.committed(first_seq)
        if below is not None:
            try:
                with conn:
                    conn.execute(*self._ledger_sql(self._ledger.prune(below)))
            except sqlite3.Error as error:  # pruning can wait for the next time
                LOG.warning("could not prune the ledger: %s", describe_error(error))

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """The ledger says whether the batch of that name was committed (and its size:
        after a restart it may be larger than ``points``)."""
        try:
            row = self._require().execute(*self._ledger_sql(self._ledger.lookup(first_seq))).fetchone()
        except sqlite3.Error as error:
            raise MayHeal(describe_error(error)) from None
        return 0 if row is None else int(row[0])

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ConnectionFailed("not connected")
        return self._conn


def create_tables(
    path: str | Path,
    table: str,
    codenames: Iterable[str] = (),
    descriptions_table: str = "dateplots_descriptions",
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Create the layout in an SQLite file and register ``codenames`` (described by
    ``descriptions``, else by themselves); returns the ids of every codename."""
    descriptions = {codename: (descriptions or {}).get(codename, codename) for codename in codenames}
    table_sql, descriptions_sql = quote_identifier(table), quote_identifier(descriptions_table)
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {descriptions_sql} ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, codename TEXT NOT NULL UNIQUE, description TEXT)"
        )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table_sql} ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,"
            " type INTEGER NOT NULL, value REAL)"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_type_time ON {table_sql} (type, time)")
        conn.executemany(
            f"INSERT OR IGNORE INTO {descriptions_sql} (codename, description) VALUES (?, ?)",
            descriptions.items(),
        )
        rows = conn.execute(f"SELECT id, codename FROM {descriptions_sql}").fetchall()
    conn.close()
    return {codename: type_id for type_id, codename in rows}
