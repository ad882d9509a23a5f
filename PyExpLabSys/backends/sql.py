"""The SQL backend shared by the MySQL/MariaDB clients (PyMySQL and ODBC).

The statements are the same whichever client library carries them: a hand-built
multi-row INSERT (:mod:`.sqltext`) followed by an explicit COMMIT, the batch ledger
written in the same transaction on InnoDB (:mod:`.ledger`), read-back after a watermark
id on MyISAM (:mod:`.readback`), the KILL of stale connections on reconnect
(:mod:`.stale`), and errors sorted by MySQL error code (:mod:`.mysql_errors`).
:class:`SQLBackend` runs them under a deadline (:mod:`.deadline`); a subclass only says
how to connect, which parameter marker its library uses, how to interrupt a blocked call
and how to read the native error code out of the library's exceptions.

Times are sent as UTC date-time literals in a session whose time zone is UTC, which
makes the conversion unambiguous (no daylight-saving overlap), rounded on the client
side to the precision of the ``time`` column (MariaDB would truncate).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..datalog.policies import Timeouts
from .base import (
    Backend,
    BatchRejected,
    Capabilities,
    ConnectionFailed,
    Contended,
    MayHeal,
    OutcomeUnknown,
    Point,
    SetupRejected,
    describe_error,
    map_codenames,
)
from .deadline import DeadlineGuard
from .ledger import LEDGER_TABLE, BatchLedger, default_logger_id
from .mysql_errors import CR, ER, classify_code
from .nodes import Node, NodeRing
from .readback import Watermark
from .rows import CLASSIC, EXACT, RowShape
from .schema import DESCRIPTIONS_TABLE, create_tables, register_codenames
from .sqltext import quote_identifier
from .stale import StaleConnections
from .tls import TLSSettings, tls_failure

LOG = logging.getLogger(__name__)

__all__ = ["SQLBackend", "default_logger_id"]


#: Errors after which the node in use is still the right one: a deadlock or a Galera
#: certification conflict (1213), a lock wait. Moving on would spread a fleet over the
#: nodes, where their writes to one table conflict all the more.
STAY_ON_NODE = frozenset({ER.LOCK_DEADLOCK, ER.LOCK_WAIT_TIMEOUT})


class SQLBackend(Backend):
    """Writes points into ``table`` of a MySQL/MariaDB database: the shared SQL logic.

    Subclasses implement :meth:`_open` (connect with their library), :meth:`_error_code`
    (the native MySQL error code of an exception), :meth:`_discard` and
    :meth:`_interrupt` (end a connection or a blocked call without waiting), and set
    :attr:`placeholder` and :attr:`driver_errors`. Statements are written here with
    ``%s`` markers, replaced by the subclass's marker.
    """

    capabilities = Capabilities(prepare=True, reconcile="ledger (InnoDB) or read-back (MyISAM)")
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
        descriptions_table: str = DESCRIPTIONS_TABLE,
        logger_id: str | None = None,
        ledger_table: str = LEDGER_TABLE,
        guard_name: str = "sql",
        nodes: tuple[Node, ...] | None = None,
        tls: TLSSettings | None = None,
        rows: RowShape = CLASSIC,
    ) -> None:
        self.table = table
        self.tls = tls
        self.rows = rows  # which columns a point fills (continuous or data-set table)
        self.time_range = rows.x_range
        self.time_stamped = rows.timed
        # None: the server the library's own settings name (an ODBC data source).
        self._ring = NodeRing(nodes) if nodes else None
        self._move_on = False  # the node in use failed: the next connect tries another
        self._server: tuple[str, int] | None = None  # (hostname, port) the server reports
        self.galera = False  # the server is a Galera node (wsrep_on)
        self._ledger = BatchLedger(logger_id or default_logger_id(table), ledger_table)
        self.ledger_table = ledger_table
        self._stale = StaleConnections()
        self._watermark = Watermark()  # non-transactional tables
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

    @property
    def logger_id(self) -> str:
        """The name of this logger's batches in the ledger."""
        return self._ledger.logger_id

    @property
    def node(self) -> Node | None:
        """The node in use (None: the server the library's settings name)."""
        return self._ring.current if self._ring is not None else None

    def current_node(self) -> str | None:
        return None if self._ring is None else str(self._ring.current)

    def _node(self) -> Node:
        """The node in use, for backends that always have one."""
        if self._ring is None:
            raise RuntimeError(f"{type(self).__name__} has no node")
        return self._ring.current

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
        """The backend error for a library error (subclasses may add their own cases).

        A TLS failure (untrusted certificate, wrong host name) is a SetupRejected naming
        the CA file or the host: waiting does not heal it. An access denied without
        verified TLS hints at a server that requires secure transport."""
        node = self.node
        failure = tls_failure(error, self.tls, node.host if node is not None else "the server")
        if failure is not None:
            return SetupRejected(failure)
        code = self._error_code(error)
        translated = classify_code(
            error,
            code,
            outcome_unknown,
            rejected=self._is_rejected(error),
            server_error=isinstance(error, self.driver_errors),
            timed_out=timed_out,
        )
        if code == ER.ACCESS_DENIED_ERROR and (self.tls is None or self.tls.ca is None):
            return MayHeal(
                f"{translated}; a server with require_secure_transport=ON refuses "
                "connections without TLS this way: set ssl_ca"
            )
        return translated

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
            self._error_code(error) == CR.SERVER_LOST and waited >= 0.9 * self._block_wait
        )
        translated = self._classify(error, outcome_unknown, timed_out)
        if isinstance(translated, (ConnectionFailed, OutcomeUnknown)) and (
            self._error_code(error) not in STAY_ON_NODE
        ):
            self._move_on = True  # the node failed: another one takes over (if any)
        return translated

    # -- connection ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self) -> None:
        """Connect to the node in use; when it fails, or the last statement failed on
        it, to the next nodes, each tried once."""
        self.close()
        if self._move_on:
            self._next_node("it failed")
        tried = 1
        while True:
            try:
                self._connect_node()
                return
            except (ConnectionFailed, OutcomeUnknown) as error:
                if self._ring is None or tried >= len(self._ring):
                    raise
                tried += 1
                self._next_node(str(error))

    def _next_node(self, reason: str) -> None:
        self._move_on = False
        if self._ring is None or len(self._ring) == 1:
            return
        failed = self._ring.current
        LOG.warning("node %s: %s; moving to node %s", failed, reason, self._ring.advance())

    def _connect_node(self) -> None:
        """Open a connection to the node in use and prepare its session."""
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
                        cursor,
                        "SET SESSION max_statement_time = %s",
                        (float(self.timeouts.query),),
                    )
                except self.driver_errors:  # MySQL (not MariaDB) has no such variable
                    conn.rollback()
                cursor.execute("SELECT CONNECTION_ID(), DATABASE(), @@hostname, @@port")
                connection_id, database, hostname, port = cursor.fetchone()
                self.connection_id = int(connection_id)
                self._server = (str(hostname), int(port))
                self.database = self.database or database
                self._read_table_layout(cursor)
                self._check_galera(cursor)
                self._stale.end(
                    self._server,
                    lambda stale: self._kill(cursor, stale),
                    lambda statement, args: self._count(cursor, statement, args),
                    self.timeouts.query,
                )
                if self.transactional:
                    cursor.execute(self._ledger.create_statement())
                elif self._watermark.row_id is None:
                    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self._table_sql}")
                    self._watermark.row_id = int(cursor.fetchone()[0])
            conn.rollback()  # nothing to commit: the ledger DDL commits by itself
        except Exception as error:
            translated = self._failed(error)
            self.close()
            raise translated from None
        LOG.info(
            "connected to %s (connection %s, %s, time precision %d)",
            self.describe(),
            self.connection_id,
            self.engine,
            self.precision,
        )

    def _read_table_layout(self, cursor: Any) -> None:
        """The data table's engine and the precision of its ``time`` column (a
        data-set table's doubles are exact)."""
        where = "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
        self.engine = (
            self._one(
                cursor,
                f"SELECT ENGINE FROM information_schema.TABLES {where}",
                "does not exist",
            )
            or "unknown"
        )
        if not self.rows.timed:
            self.precision = EXACT
            return
        self.precision = int(
            self._one(
                cursor,
                "SELECT COALESCE(DATETIME_PRECISION, 0) FROM information_schema.COLUMNS "
                f"{where} AND COLUMN_NAME = 'time'",
                "has no column 'time'",
            )
        )

    def _one(self, cursor: Any, statement: str, missing: str) -> Any:
        """The single value ``statement`` selects about the data table; MayHeal if none."""
        self._execute(cursor, statement, (self.table,))
        row = cursor.fetchone()
        if row is None:
            raise MayHeal(f"table {self.database}.{self.table} {missing}")
        return row[0]

    def _check_galera(self, cursor: Any) -> None:
        """On a Galera node: reads wait for what the cluster committed before them
        (causal reads, so the ledger is current), and the table must be InnoDB."""
        cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
        row = cursor.fetchone()
        self.galera = row is not None and str(row[1]).upper() == "ON"
        if not self.galera:
            return
        if not self.transactional:
            raise SetupRejected(
                f"table {self.database}.{self.table} is {self.engine} on a Galera node: Galera "
                "replicates InnoDB only (ALTER TABLE ... ENGINE=InnoDB)"
            )
        cursor.execute("SET SESSION wsrep_sync_wait = 1")

    def _kill(self, cursor: Any, connection_id: int) -> None:
        """KILL one of our earlier connections; one that is already gone is fine."""
        try:
            cursor.execute(f"KILL CONNECTION {int(connection_id)}")
            LOG.info("killed stale connection %d", connection_id)
        except self.driver_errors as error:
            if self._error_code(error) != ER.NO_SUCH_THREAD:
                raise

    def _count(self, cursor: Any, statement: str, args: Sequence[Any]) -> int:
        self._execute(cursor, statement, args)
        return int(cursor.fetchone()[0])

    @property
    def transactional(self) -> bool:
        """Whether the data table has transactions (InnoDB): then the ledger is used."""
        return self.engine.upper() == "INNODB"

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if self.connection_id is not None and self._server is not None:
            self._stale.add(self._server, self.connection_id)
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
        LOG.warning(
            "statement on %s passed its %.1f s time-out: interrupting it",
            self.describe(),
            self.timeouts.query,
        )
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

    def read_values(
        self, codenames: Sequence[str], since: float
    ) -> dict[str, list[tuple[float, float | None]]]:
        ids = self.resolve_codenames(codenames)
        names = {type_id: codename for codename, type_id in ids.items()}
        rows = self._read(
            f"SELECT type, UNIX_TIMESTAMP(time), value FROM {self._table_sql} "
            f"WHERE time >= FROM_UNIXTIME(%s) AND type IN ({','.join(['%s'] * len(names))}) "
            "ORDER BY time",
            [since, *names],
        )
        out: dict[str, list[tuple[float, float | None]]] = {codename: [] for codename in codenames}
        for type_id, when, value in rows:  # the session's time zone is UTC (connect)
            out[names[type_id]].append((float(when), None if value is None else float(value)))
        return out

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
        return list(rows)

    def insert_row(self, table: str, values: Mapping[str, tuple[Any, str]]) -> int:
        """One INSERT of one row and its COMMIT, under the deadline; the row's id."""
        conn = self._require()
        columns = ", ".join(quote_identifier(column) for column in values)
        markers = ", ".join(marker for _, marker in values.values())
        statement = f"INSERT INTO {quote_identifier(table)} ({columns}) VALUES ({markers})"
        sent = False
        try:
            with self._guarded(), self._cursor(conn) as cursor:
                sent = True
                self._execute(cursor, statement, [value for value, _ in values.values()])
                row_id = self._last_insert_id(cursor)
                conn.commit()
        except Exception as error:
            translated = self._failed(error, outcome_unknown=sent)
            if isinstance(translated, (BatchRejected, MayHeal)):
                self._rollback()
            else:
                self.close()
            raise translated from None
        return row_id

    def distinct_values(self, table: str, expression: str) -> set[Any]:
        return {
            row[0] for row in self._read(f"SELECT DISTINCT {expression} FROM {quote_identifier(table)}", [])
        }

    def prepare(self, points: Sequence[Point]) -> tuple[int, str]:
        """The VALUES list of ``points`` (pure; the drain renders the next batch with it
        while the current one is in flight)."""
        precision = self.precision
        return precision, self.rows.render(points, precision)

    def checkpoint(self) -> dict:
        """Non-transactional tables: the highest row id known to hold our points."""
        return {} if self.transactional else self._watermark.checkpoint()

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        """Continue an earlier run's batches: its ledger name, and on MyISAM its
        watermark; until a batch is found not to be stored, every batch is first read
        back (it may have landed before the kill)."""
        self._ledger.rename(logger_id)
        self._watermark.restore(dict(checkpoint))

    def keep_ledger_from(self, seq: float) -> None:
        self._ledger.keep_from(seq)

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
        if self._watermark.unverified and not self.transactional:
            stored = self._stored_prefix(points)
            if stored < len(points):
                self._watermark.unverified = False
            if stored:
                LOG.warning("%d point(s) were stored before the restart: not resending them", stored)
                points, prepared = points[stored:], None
            if not points:
                return
        if prepared is None or prepared[0] != self.precision:
            prepared = self.prepare(points)
        sql = self.rows.insert_head(self._table_sql) + prepared[1]
        sent = False
        in_ledger = False
        try:
            with self._guarded(), self._cursor(conn) as cursor:
                if self.transactional:
                    in_ledger = True
                    self._execute(cursor, *self._ledger.record(first_seq, len(points)))
                    in_ledger = False
                    cursor.execute(sql)
                    sent = True
                    conn.commit()
                else:  # the INSERT itself is durable, possibly in part
                    sent = True
                    cursor.execute(sql)
                    first_id = self._last_insert_id(cursor)
                    if first_id:
                        self._watermark.row_id = first_id + len(points) - 1
        except Exception as error:
            if in_ledger and self._error_code(error) == ER.DUP_ENTRY:
                self._rollback()
                raise OutcomeUnknown(f"batch {first_seq} is already in the ledger") from None
            if self.transactional and self._error_code(error) in STAY_ON_NODE:
                # InnoDB and Galera roll the whole transaction back: nothing is stored,
                # and the connection is fine; send again on it.
                self._rollback()
                raise Contended(describe_error(error)) from None
            translated = self._failed(error, outcome_unknown=sent)
            if isinstance(translated, (BatchRejected, MayHeal)):
                self._rollback()
                if isinstance(translated, BatchRejected) and not self.transactional:
                    translated = BatchRejected(str(translated), stored=self._stored_prefix(points))
            else:
                self.close()
            raise translated from None
        if self.transactional:
            below = self._ledger.committed(first_seq)
            if below is not None:
                self._prune_ledger(below)

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """How many leading ``points`` are stored, asked on a fresh connection.

        InnoDB: the ledger row of the batch says all or nothing. MyISAM: the rows after
        the watermark are read back and compared with the batch (this logger is assumed
        to be the only writer of its codenames).
        """
        if not self.transactional:
            return self._stored_prefix(points)
        rows = self._read(*self._ledger.lookup(first_seq))
        # the whole batch of that name: after a restart it may be larger than ``points``
        return 0 if not rows else int(rows[0][0])

    def _stored_prefix(self, points: Sequence[Point]) -> int:
        """Non-transactional tables: how many leading ``points`` the table holds
        after the watermark (a killed multi-row INSERT leaves a prefix)."""
        rows = self._read(*self._watermark.select_after(self._table_sql, points, self.rows))
        return self._watermark.match(rows, points, self.precision, self.table)

    def _prune_ledger(self, below_seq: int) -> None:
        """Forget ledger rows of batches that can no longer be resent."""
        try:
            with self._guarded(), self._cursor(self._conn) as cursor:
                self._execute(cursor, *self._ledger.prune(below_seq))
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

    # -- tables (init-db) -----------------------------------------------------------------

    def create_tables(self, descriptions: Mapping[str, str], **layout: Any) -> dict[str, int]:
        """Create the classic layout if missing (new tables get ``layout``'s ``engine``,
        default InnoDB, and a time column of ``time_precision`` digits, default 6) and
        register the codenames in ``descriptions`` (codename → description); their ids.
        Existing tables and codenames are left as they are."""
        engine = layout.pop("engine", "InnoDB")
        time_precision = layout.pop("time_precision", 6)
        if layout:
            raise TypeError(f"unknown table layout option(s): {', '.join(sorted(layout))}")
        self._start_block(self.timeouts.connect)
        try:
            conn = self._open()
        except Exception as error:
            raise self._failed(error) from None
        try:
            create_tables(
                conn,
                self.table,
                engine=engine,
                descriptions_table=self.descriptions_table,
                time_precision=time_precision,
            )
            return register_codenames(conn, descriptions, self.placeholder, self.descriptions_table)
        except self.driver_errors as error:
            raise self._failed(error) from None
        finally:
            self._discard(conn)
