"""The SQL logic shared by the MySQL/MariaDB backends (PyMySQL and ODBC).

The statements are the same whichever client library carries them: a hand-built
multi-row INSERT followed by an explicit COMMIT, the InnoDB batch ledger written in the
same transaction, read-back reconciliation after a watermark id on MyISAM, the KILL of
stale connection ids on reconnect, and the classification of errors by MySQL error code.
:class:`SQLBackend` holds all of it; a subclass only says how to connect, how to open a
cursor, which parameter marker the library uses, how to interrupt a blocked call and
how to read the native error code out of the library's exceptions.

Times are sent as UTC date-time literals in a session whose time zone is UTC, which
makes the conversion unambiguous (no daylight-saving overlap), rounded on the client
side to the precision of the ``time`` column (MariaDB would truncate).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import re
import socket
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..datalog.policies import Timeouts
from .base import (
    Backend,
    BatchRejected,
    ConnectionFailed,
    MayHeal,
    OutcomeUnknown,
    Point,
    describe_error,
    map_codenames,
)
from .deadline import DeadlineGuard

LOG = logging.getLogger(__name__)

__all__ = [
    "SQLBackend",
    "classify_code",
    "create_tables",
    "render_rows",
    "quote_identifier",
    "default_logger_id",
    "LEDGER_TABLE",
]

#: The table that records committed batches (InnoDB data tables only).
LEDGER_TABLE = "pyexplabsys_ledger"
#: Every so many batches, ledger rows of acknowledged batches are deleted.
LEDGER_PRUNE_EVERY = 1000
#: How many of the newest batches always keep their ledger rows.
LEDGER_KEEP = 100
#: MySQL error codes of the client library that mean "the conversation broke".
LOST_CONNECTION = 2013
UNKNOWN_THREAD = 1094
DUPLICATE_KEY = 1062
STATEMENT_TIME_EXCEEDED = 1969


def default_logger_id(table: str) -> str:
    """A name for this logger's batches: host, table and a random part (<= 64 chars)."""
    return f"{socket.gethostname()[:24]}:{table[:24]}:{uuid.uuid4().hex[:12]}"


# Client errors that mean the conversation with the server broke (not a verdict on data).
CONNECTION_ERRORS = {
    1040,  # too many connections
    1053,  # server shutdown in progress
    1152,  # aborted connection
    1159,  # net read interrupted
    1161,  # net write interrupted
    1205,  # lock wait timeout
    1213,  # deadlock
    1317,  # query interrupted (KILL QUERY)
    1927,  # connection killed
    1969,  # max_statement_time exceeded
    2003,  # can't connect
    2006,  # server has gone away
    2013,  # lost connection during query
    2014,  # commands out of sync
    2055,  # lost connection (system error)
}
# Server refusals an operator can fix; retried with back-off, nothing dropped.
MAY_HEAL_ERRORS = {
    1044,  # access denied to database
    1045,  # access denied for user (wrong password or revoked)
    1046,  # no database selected
    1049,  # unknown database
    1142,  # command denied (privilege revoked)
    1146,  # table doesn't exist
    1036,  # table is read only
    1114,  # table is full
    1021,  # disk full
    1030,  # got error from storage engine
    145,  # table is marked as crashed (MyISAM after a kill; repair heals it)
    1194,  # table is marked as crashed
    1195,  # table is crashed and last repair failed
}

# Server verdicts on the data of a batch: retrying the same points cannot succeed.
REJECTED_ERRORS = {
    1048,  # column cannot be null
    1062,  # duplicate entry (a unique key on the data table)
    1264,  # out of range value
    1265,  # data truncated
    1292,  # incorrect datetime value
    1366,  # incorrect number value
    1406,  # data too long
    1644,  # SIGNAL from a trigger
    3819,  # CHECK constraint violated (MySQL)
    4025,  # CHECK constraint failed (MariaDB)
}

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def quote_identifier(name: str) -> str:
    """Backquote a table name after checking it is a plain identifier (no injection)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid table name: {name!r} (letters, digits, _ and $ only)")
    return f"`{name}`"


def render_rows(points: Iterable[Point], precision: int) -> str:
    """The VALUES list of a multi-row INSERT; times rounded to the column's precision.

    Times are written as UTC date-time literals (the session's time zone is UTC), which
    the server takes about 1.4 times faster than ``FROM_UNIXTIME(x)`` per row; the date
    part is formatted once per second of data. Numbers are written with ``repr``, which
    round-trips a float exactly; None becomes NULL. The points were validated on
    enqueue, so no quoting is needed.
    """
    seconds: dict[int, str] = {}
    known = seconds.get
    opening = "('%Y-%m-%d %H:%M:%S." if precision > 0 else "('%Y-%m-%d %H:%M:%S',"

    def second(whole: int) -> str:  # "('2024-01-31 12:00:00'," once per second of data
        text = seconds[whole] = time.strftime(opening, time.gmtime(whole))
        return text

    if precision > 0:
        scale = 10**precision
        rows = [
            (known(whole) or second(whole)) + f"{fraction:0{precision}d}',{type_id},{value!r})"
            for type_id, stamp, value in points
            for whole, fraction in (divmod(round(stamp * scale), scale),)
        ]
    else:
        rows = [
            (known(whole := round(stamp)) or second(whole)) + f"{type_id},{value!r})"
            for type_id, stamp, value in points
        ]
    # repr(None) is the only way "None" can end a row: numbers never spell it
    return ",".join(rows).replace(",None)", ",NULL)")


def classify_code(
    error: BaseException,
    code: int | None,
    outcome_unknown: bool,
    rejected: bool = False,
    server_error: bool = False,
    timed_out: bool = False,
) -> Exception:
    """Translate a driver error into the backend error that says what to do next.

    ``code`` is the native MySQL error code (None if unknown); ``rejected`` says the
    library itself classed the error as a data error; ``server_error`` that it came
    from the server (an unknown server refusal is kept and retried, never dropped).
    """
    text = describe_error(error)
    timed_out = (timed_out or code == STATEMENT_TIME_EXCEEDED
                 or isinstance(error, TimeoutError) or "timed out" in text)
    if code in MAY_HEAL_ERRORS:
        return MayHeal(text)
    if code in REJECTED_ERRORS or (rejected and code not in CONNECTION_ERRORS):
        return BatchRejected(text)
    if server_error and code is not None and 0 < code < 2000 and code not in CONNECTION_ERRORS:
        return MayHeal(text)  # an unknown server refusal: keep the points, retry
    kind = OutcomeUnknown if outcome_unknown else ConnectionFailed
    return kind(text, timed_out=timed_out)


class SQLBackend(Backend):
    """Writes points into ``table`` of a MySQL/MariaDB database: the shared SQL logic.

    Subclasses implement :meth:`_open` (connect with their library), :meth:`_error_code`
    (the native MySQL error code of an exception), :meth:`_discard` and
    :meth:`_interrupt` (end a connection or a blocked call without waiting), and set
    :attr:`placeholder` and :attr:`driver_errors`. Statements are written here with
    ``%s`` markers, replaced by the subclass's marker.
    """

    #: The parameter marker of the client library (``%s`` PyMySQL, ``?`` ODBC).
    placeholder = "%s"
    #: The exception classes of the client library (for "unknown thread id" etc.).
    driver_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        table: str,
        user: str | None,
        password: str | None,
        database: str | None,
        timeouts: Timeouts = Timeouts(),
        descriptions_table: str = "dateplots_descriptions",
        logger_id: str | None = None,
        ledger_table: str = LEDGER_TABLE,
        guard_name: str = "sql",
    ) -> None:
        self.table = table
        self.logger_id = logger_id or default_logger_id(table)
        if len(self.logger_id) > 64:
            raise ValueError("logger_id must be at most 64 characters")
        self.ledger_table = ledger_table
        self._ledger_sql = quote_identifier(ledger_table)
        self._stale_ids: list[int] = []  # earlier connections that may still be running
        self._watermark: int | None = None  # non-transactional: highest id known stored
        self._unverified = False  # non-transactional, after a restart: read back first
        self._recent_batches: deque[int] = deque(maxlen=LEDGER_KEEP)
        self._batches = 0
        self._table_sql = quote_identifier(table)
        self._descriptions_sql = quote_identifier(descriptions_table)
        self.descriptions_table = descriptions_table
        self.user = user
        self.__password = password  # name-mangled: kept out of vars() and reprs
        self.database = database
        self.timeouts = timeouts
        self._conn: Any = None
        self._guard = DeadlineGuard(f"{guard_name}-deadline-{table}")
        self._block_fired = 0
        self._block_started = time.monotonic()
        self._block_wait = timeouts.read  # the longest one wait of the current block
        self.connection_id: int | None = None
        self.precision = 0
        self.engine = "unknown"

    # -- what a client library provides ---------------------------------------------------

    @abc.abstractmethod
    def _open(self) -> Any:
        """Open a connection (autocommit off) with the library; raise its errors."""

    @abc.abstractmethod
    def _error_code(self, error: BaseException) -> int | None:
        """The native MySQL error code carried by ``error``, None if it has none."""

    @abc.abstractmethod
    def _discard(self, conn: Any) -> None:
        """Close ``conn`` without waiting for a polite goodbye on a dead line."""

    @abc.abstractmethod
    def _interrupt(self, conn: Any) -> None:
        """Make a call blocked on ``conn`` in another thread fail now."""

    def _is_rejected(self, error: BaseException) -> bool:
        """Whether the library classes ``error`` as a verdict on the data."""
        return False

    def _classify(self, error: BaseException, outcome_unknown: bool, timed_out: bool) -> Exception:
        """The backend error for a library error (subclasses may add their own cases)."""
        return classify_code(
            error, self._error_code(error), outcome_unknown,
            rejected=self._is_rejected(error),
            server_error=isinstance(error, self.driver_errors),
            timed_out=timed_out,
        )

    def _password(self) -> str | None:
        return self.__password

    def _cursor(self, conn: Any) -> contextlib.closing[Any]:
        """A cursor that is closed (never committed) when the block ends."""
        return contextlib.closing(conn.cursor())

    def _sql(self, statement: str) -> str:
        """``statement`` with the library's parameter marker."""
        return statement if self.placeholder == "%s" else statement.replace("%s", self.placeholder)

    def _execute(self, cursor: Any, statement: str, args: Sequence[Any] | None = None) -> None:
        if args is None:
            cursor.execute(statement)
        else:
            cursor.execute(self._sql(statement), list(args))

    def _last_insert_id(self, cursor: Any) -> int:
        """The id of the first row of the last INSERT on this connection."""
        cursor.execute("SELECT LAST_INSERT_ID()")
        return int(cursor.fetchone()[0])

    # -- errors -------------------------------------------------------------------------

    def _failed(self, error: BaseException, outcome_unknown: bool = False) -> Exception:
        """Translate ``error`` of the current guarded block; time-outs are recognised
        by the deadline guard having fired, or by a lost connection after waiting at
        least the read/write time-out (ODBC drivers say "lost connection" then)."""
        if isinstance(error, (MayHeal, ConnectionFailed, OutcomeUnknown, BatchRejected)):
            return error
        waited = time.monotonic() - self._block_started
        timed_out = self._guard.fired != self._block_fired or (
            self._error_code(error) == LOST_CONNECTION and waited >= 0.9 * self._block_wait
        )
        return self._classify(error, outcome_unknown, timed_out)

    # -- connection ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self) -> None:
        self.close()
        self._start_block(self.timeouts.connect)
        try:
            conn = self._open()
        except Exception as error:  # libraries raise several types here
            raise self._failed(error) from None
        self._conn = conn
        try:
            with self._guarded(), self._cursor(conn) as cursor:
                cursor.execute("SET SESSION time_zone = '+00:00'")
                try:
                    self._execute(
                        cursor, "SET SESSION max_statement_time = %s",
                        (float(self.timeouts.query),),
                    )
                except self.driver_errors:  # MySQL (not MariaDB) has no such variable
                    conn.rollback()
                cursor.execute("SELECT CONNECTION_ID(), DATABASE()")
                connection_id, database = cursor.fetchone()
                self.connection_id = int(connection_id)
                self.database = self.database or database
                self._connected(cursor)
                self._read_table_layout(cursor)
                self._kill_stale_connections(cursor)
                if self.transactional:
                    self._create_ledger(cursor)
                elif self._watermark is None:
                    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self._table_sql}")
                    self._watermark = int(cursor.fetchone()[0])
            conn.rollback()  # nothing to commit: the ledger DDL commits by itself
        except Exception as error:
            translated = self._failed(error)
            self.close()
            raise translated from None
        LOG.info(
            "connected to %s (connection %s, %s, time precision %d)",
            self.describe(), self.connection_id, self.engine, self.precision,
        )

    def _connected(self, cursor: Any) -> None:
        """Hook: runs once per connection, after its id is known."""

    def _read_table_layout(self, cursor: Any) -> None:
        """The data table's engine and the precision of its ``time`` column."""
        where = "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
        self.engine = self._one(
            cursor, f"SELECT ENGINE FROM information_schema.TABLES {where}",
            "does not exist",
        ) or "unknown"
        self.precision = int(self._one(
            cursor, "SELECT COALESCE(DATETIME_PRECISION, 0) FROM information_schema.COLUMNS "
            f"{where} AND COLUMN_NAME = 'time'", "has no column 'time'",
        ))

    def _one(self, cursor: Any, statement: str, missing: str) -> Any:
        """The single value ``statement`` selects about the data table; MayHeal if none."""
        self._execute(cursor, statement, (self.table,))
        row = cursor.fetchone()
        if row is None:
            raise MayHeal(f"table {self.database}.{self.table} {missing}")
        return row[0]

    @property
    def transactional(self) -> bool:
        """Whether the data table has transactions (InnoDB): then the ledger is used."""
        return self.engine.upper() == "INNODB"

    def _kill_stale_connections(self, cursor: Any) -> None:
        """End our earlier connections before anything is (re)sent.

        A connection we gave up on (time-out, partition) may still be executing on the
        server, or hold an open transaction: kill it and wait until it is gone, so its
        outcome is final before reconciliation looks at the table.
        """
        if not self._stale_ids:
            return
        for stale in self._stale_ids:
            try:
                cursor.execute(f"KILL CONNECTION {int(stale)}")
                LOG.info("killed stale connection %d", stale)
            except self.driver_errors as error:
                if self._error_code(error) != UNKNOWN_THREAD:  # already gone
                    raise
        placeholders = ",".join(["%s"] * len(self._stale_ids))
        deadline = time.monotonic() + self.timeouts.query
        while True:
            self._execute(
                cursor,
                f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({placeholders})",
                self._stale_ids,
            )
            if cursor.fetchone()[0] == 0:
                break
            if time.monotonic() > deadline:
                raise ConnectionFailed(f"stale connection(s) {self._stale_ids} still running")
            time.sleep(0.01)  # polling the server's process list, bounded by the deadline
        self._stale_ids.clear()

    def _create_ledger(self, cursor: Any) -> None:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self._ledger_sql} ("
            " logger_id VARCHAR(64) NOT NULL,"
            " first_seq BIGINT UNSIGNED NOT NULL,"
            " points INT UNSIGNED NOT NULL,"
            " committed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (logger_id, first_seq)"
            ") ENGINE=InnoDB"
        )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if self.connection_id is not None:
            self._stale_ids.append(self.connection_id)
            self.connection_id = None
        if conn is None:
            return
        try:
            self._discard(conn)
        except Exception:  # closing is best effort
            LOG.debug("error while closing", exc_info=True)

    def interrupt(self) -> None:
        """Make a call that is blocked in the database fail now (any thread)."""
        conn = self._conn
        if conn is not None:
            try:
                self._interrupt(conn)
            except Exception:  # best effort: the read/write time-outs still bound it
                LOG.debug("error while interrupting", exc_info=True)

    def _deadline_passed(self) -> None:
        LOG.warning("statement on %s passed its %.1f s time-out: interrupting it",
                    self.describe(), self.timeouts.query)
        self.interrupt()

    def _start_block(self, wait: float | None = None) -> None:
        self._block_fired = self._guard.fired
        self._block_started = time.monotonic()
        self._block_wait = wait or min(self.timeouts.read, self.timeouts.write)

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """A block of statements under the query deadline (the guard interrupts it)."""
        self._start_block()
        with self._guard.guard(self.timeouts.query, self._deadline_passed):
            yield

    # -- the logger's operations ----------------------------------------------------------

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        wanted = list(codenames)
        if not wanted:
            return {}
        placeholders = ",".join(["%s"] * len(wanted))
        rows = self._read(
            f"SELECT id, codename FROM {self._descriptions_sql} WHERE codename IN ({placeholders})",
            wanted,
        )
        return map_codenames(wanted, rows, self.descriptions_table)

    def _read(self, statement: str, args: Sequence[Any]) -> list[Any]:
        """Run one read-only statement under the deadline; its rows."""
        conn = self._require()
        try:
            with self._guarded(), self._cursor(conn) as cursor:
                self._execute(cursor, statement, args)
                rows = cursor.fetchall()
            conn.rollback()  # read-only: end the transaction
        except Exception as error:
            translated = self._failed(error)
            self.close()
            raise translated from None
        return rows

    def prepare(self, points: Sequence[Point]) -> tuple[int, str]:
        """The VALUES list of ``points`` (pure; the drain renders the next batch with it
        while the current one is in flight)."""
        precision = self.precision
        return precision, render_rows(points, precision)

    def checkpoint(self) -> dict:
        """Non-transactional tables: the highest row id known to hold our points."""
        if self.transactional or self._watermark is None:
            return {}
        return {"watermark": self._watermark}

    def restore(self, checkpoint: dict) -> None:
        """After a restart: the watermark of the last run; until a batch is found not to
        be stored, every batch is first read back (it may have landed before the kill)."""
        if checkpoint.get("watermark") is not None:
            self._watermark = int(checkpoint["watermark"])
            self._unverified = True

    def insert_batch(
        self, first_seq: int, points: Sequence[Point], prepared: tuple[int, str] | None = None
    ) -> None:
        """One multi-row INSERT; on InnoDB with its ledger row, in one transaction.

        The ledger row ``(logger_id, first_seq)`` has a primary key: a batch that was
        already committed cannot commit again (the duplicate key rolls it back), and
        after a lost COMMIT answer the ledger tells whether it committed. On MyISAM after
        a restart, what the last run may have stored is read back and not sent again.
        """
        conn = self._require()
        if self._unverified and not self.transactional:
            stored = self._stored_prefix(points)
            if stored < len(points):
                self._unverified = False
            if stored:
                LOG.warning("%d point(s) were stored before the restart: not resending them", stored)
                points, prepared = points[stored:], None
            if not points:
                return
        if prepared is None or prepared[0] != self.precision:
            prepared = self.prepare(points)
        sql = f"INSERT INTO {self._table_sql} (time, type, value) VALUES " + prepared[1]
        sent = False
        in_ledger = False
        try:
            with self._guarded(), self._cursor(conn) as cursor:
                if self.transactional:
                    in_ledger = True
                    self._execute(
                        cursor,
                        f"INSERT INTO {self._ledger_sql} (logger_id, first_seq, points) "
                        "VALUES (%s, %s, %s)",
                        (self.logger_id, first_seq, len(points)),
                    )
                    in_ledger = False
                    cursor.execute(sql)
                    sent = True
                    conn.commit()
                else:  # the INSERT itself is durable, possibly in part
                    sent = True
                    cursor.execute(sql)
                    first_id = self._last_insert_id(cursor)
                    if first_id:
                        self._watermark = first_id + len(points) - 1
        except Exception as error:
            if in_ledger and self._error_code(error) == DUPLICATE_KEY:
                self._rollback()
                raise OutcomeUnknown(f"batch {first_seq} is already in the ledger") from None
            translated = self._failed(error, outcome_unknown=sent)
            if isinstance(translated, (BatchRejected, MayHeal)):
                self._rollback()
                if isinstance(translated, BatchRejected) and not self.transactional:
                    translated.stored = self._stored_prefix(points)
            else:
                self.close()
            raise translated from None
        self._batches += 1
        self._recent_batches.append(first_seq)
        if self._batches % LEDGER_PRUNE_EVERY == 0 and self.transactional:
            # Keep the last batches: a restarted logger resends from its last durable
            # acknowledgement, which can lag behind the newest commits.
            self._prune_ledger(min(self._recent_batches[0], self.ledger_horizon))

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """How many leading ``points`` are stored, asked on a fresh connection.

        InnoDB: the ledger row of the batch says all or nothing. MyISAM: the rows after
        the watermark are read back and compared with the batch (this logger is assumed
        to be the only writer of its codenames).
        """
        if not self.transactional:
            return self._stored_prefix(points)
        rows = self._read(
            f"SELECT points FROM {self._ledger_sql} WHERE logger_id = %s AND first_seq = %s",
            (self.logger_id, first_seq),
        )
        # the whole batch of that name: after a restart it may be larger than ``points``
        return 0 if not rows else int(rows[0][0])

    def _stored_prefix(self, points: Sequence[Point]) -> int:
        """Non-transactional tables: how many leading ``points`` the table holds
        after the watermark (a killed multi-row INSERT leaves a prefix)."""
        types = sorted({p[0] for p in points})
        rows = self._read(
            f"SELECT id, type, UNIX_TIMESTAMP(time), value FROM {self._table_sql} "
            f"WHERE id > %s AND type IN ({','.join(['%s'] * len(types))}) ORDER BY id",
            [self._watermark or 0, *types],
        )
        tolerance = 0.6 * 10.0**-self.precision
        stored = 0
        for row_id, type_id, stamp, value in rows:
            if stored < len(points):
                want_type, want_time, want_value = points[stored]
                if (type_id == want_type and value == want_value
                        and abs(float(stamp) - want_time) <= tolerance):
                    stored += 1
                    self._watermark = int(row_id)
                    continue
            LOG.error(
                "read-back of %s found rows this logger did not write after id %s: another "
                "writer uses its codenames; reconciliation may be wrong", self.table, self._watermark,
            )
            break
        return stored

    def _prune_ledger(self, below_seq: int) -> None:
        """Forget ledger rows of batches that can no longer be resent."""
        try:
            with self._guarded(), self._cursor(self._conn) as cursor:
                self._execute(
                    cursor,
                    f"DELETE FROM {self._ledger_sql} WHERE logger_id = %s AND first_seq < %s",
                    (self.logger_id, below_seq),
                )
            self._conn.commit()
        except Exception as error:  # pruning can wait for the next time
            LOG.warning("could not prune the ledger: %s", describe_error(error))
            self._rollback()

    def _rollback(self) -> None:
        try:
            with self._guarded():
                self._conn.rollback()
        except Exception:
            self.close()

    def _require(self) -> Any:
        if self._conn is None:
            raise ConnectionFailed("not connected")
        return self._conn

def create_tables(
    conn: Any,
    table: str,
    engine: str = "InnoDB",
    descriptions_table: str = "dateplots_descriptions",
    time_precision: int = 0,
) -> None:
    """Create the classic layout (descriptions table and one data table) if missing."""
    if not 0 <= time_precision <= 6:
        raise ValueError("time_precision must be 0 to 6")
    if engine.upper() not in {"INNODB", "MYISAM", "ARIA"}:
        raise ValueError(f"unsupported engine {engine!r}")
    time_type = f"TIMESTAMP({time_precision})" if time_precision else "TIMESTAMP"
    with conn.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(descriptions_table)} ("
            " id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            " codename VARCHAR(128) NOT NULL,"
            " description VARCHAR(255) NULL"
            f") ENGINE={engine}"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(table)} ("
            " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            f" time {time_type} NOT NULL DEFAULT CURRENT_TIMESTAMP{'(%d)' % time_precision if time_precision else ''},"
            " type SMALLINT NOT NULL,"
            " value DOUBLE NULL,"
            " KEY type_time (type, time)"
            f") ENGINE={engine}"
        )
    conn.commit()
