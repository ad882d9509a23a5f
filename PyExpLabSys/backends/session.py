"""The session with a MySQL/MariaDB server: one connection at a time, and what keeps it honest.

A :class:`SQLSession` connects to the node in use (moving round the node ring after a
node failed), prepares the session (UTC time zone, ``max_statement_time``, causal reads
on Galera), ends the connections given up on before (:mod:`.stale`), runs blocks of
statements under the query deadline (:mod:`.deadline`), and translates the library's
errors into the backend's (:mod:`.mysql_errors`). What it writes is the batch writer's
business (:mod:`.batch_writer`); how to talk to the server is the client library's,
reached through :class:`SQLClient` (the PyMySQL and ODBC backends).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..values import Timeouts
from .base import BatchRejected, ConnectionFailed, MayHeal, OutcomeUnknown, SetupRejected
from .deadline import DeadlineGuard
from .mysql_errors import CR, ER, Action, action_of, classify_code
from .nodes import Node, NodeRing
from .sqltext import (
    CAUSAL_READS,
    IDENTITY,
    SESSION_STATEMENT_TIME,
    SESSION_UTC,
    WSREP_ON,
    kill_connection,
)
from .stale import StaleConnections
from .tls import TLSSettings, tls_failure

LOG = logging.getLogger(__name__)

__all__ = ["SQLClient", "SQLSession", "TableSetup"]


class SQLClient(Protocol):
    """What a client library provides to the session (the PyMySQL and ODBC backends)."""

    #: The parameter marker of the library (``%s`` PyMySQL, ``?`` ODBC).
    placeholder: str
    #: The exception classes of the library.
    driver_errors: tuple[type[BaseException], ...]
    #: Whether a batch's ledger row, rows and COMMIT go in one packet (multi-statements).
    one_trip: bool

    def open_connection(self) -> Any:
        """Open a connection (autocommit off) with the library; raise its errors."""

    def error_code(self, error: BaseException) -> int | None:
        """The native MySQL error code carried by ``error``, None if it has none."""

    def rejects_data(self, error: BaseException) -> bool:
        """Whether the library classes ``error`` as a verdict on the data."""

    def setup_error(self, error: BaseException) -> Exception | None:
        """The library's own reading of ``error`` when it says more than the code
        (an ODBC driver manager error), else None."""

    def discard_connection(self, conn: Any) -> None:
        """Close ``conn`` without waiting for a polite goodbye on a dead line."""

    def interrupt_connection(self, conn: Any) -> None:
        """Make a call blocked on ``conn`` in another thread fail now."""

    def last_insert_id(self, cursor: Any) -> int:
        """The id of the first row of the last INSERT on this connection."""

    def quote(self, conn: Any, text: str) -> str:
        """``text`` as a string literal, quoted the way ``conn``'s server reads it."""

    def when_sent(self, conn: Any, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (once, in this thread) when the next statement on ``conn``
        has been sent and its answer is awaited; None forgets a callback not yet called."""

    def describe(self) -> str:
        """A human-readable name of the database (no secrets)."""


class TableSetup(Protocol):
    """What the writer reads and prepares on each new connection."""

    #: The data table's name.
    table: str

    @property
    def transactional(self) -> bool: ...

    @property
    def engine(self) -> str: ...

    def read_layout(self, cursor: Any) -> None:
        """Read the data table's engine and time precision."""

    def ready(self, cursor: Any) -> None:
        """Prepare what the writer needs on the table (ledger, watermark)."""


class SQLSession:
    """One connection to a MySQL/MariaDB server, its node ring and its deadlines."""

    def __init__(
        self,
        client: SQLClient,
        database: str | None,
        timeouts: Timeouts,
        guard_name: str,
        nodes: tuple[Node, ...] | None = None,
        tls: TLSSettings | None = None,
    ) -> None:
        self.client = client
        self.database = database
        self.timeouts = timeouts
        self.tls = tls
        # None: the server the library's own settings name (an ODBC data source).
        self._ring = NodeRing(nodes) if nodes else None
        self._move_on = False  # the node in use failed: the next connect tries another
        self._server: tuple[str, int] | None = None  # (hostname, port) the server reports
        self.galera = False  # the server is a Galera node (wsrep_on)
        self._stale = StaleConnections()
        self._conn: Any = None
        self._guard = DeadlineGuard(guard_name)
        self._block_fired = 0
        self._block_started = time.monotonic()
        self._block_wait = timeouts.read  # the longest one wait of the current block
        self.connection_id: int | None = None

    # -- nodes --------------------------------------------------------------------------

    @property
    def node(self) -> Node | None:
        """The node in use (None: the server the library's settings name)."""
        return self._ring.current if self._ring is not None else None

    def require_node(self) -> Node:
        """The node in use, for clients that always have one."""
        if self._ring is None:
            raise RuntimeError(f"{type(self.client).__name__} has no node")
        return self._ring.current

    def _next_node(self, reason: str) -> None:
        self._move_on = False
        if self._ring is None or len(self._ring) == 1:
            return
        failed = self._ring.current
        LOG.warning("node %s: %s; moving to node %s", failed, reason, self._ring.advance())

    # -- statements -----------------------------------------------------------------------

    def cursor(self, conn: Any) -> contextlib.closing[Any]:
        """A cursor that is closed (never committed) when the block ends."""
        return contextlib.closing(conn.cursor())

    def sql(self, statement: str) -> str:
        """``statement`` with the library's parameter marker."""
        marker = self.client.placeholder
        return statement if marker == "%s" else statement.replace("%s", marker)

    def execute(self, cursor: Any, statement: str, args: Sequence[Any] | None = None) -> None:
        if args is None:
            cursor.execute(statement)
        else:
            cursor.execute(self.sql(statement), list(args))

    def error_code(self, error: BaseException) -> int | None:
        return self.client.error_code(error)

    # -- errors -------------------------------------------------------------------------

    def classify(self, error: BaseException, outcome_unknown: bool, timed_out: bool) -> Exception:
        """The backend error for a library error.

        A TLS failure (untrusted certificate, wrong host name) is a SetupRejected naming
        the CA file or the host: waiting does not heal it. An access denied without
        verified TLS hints at a server that requires secure transport."""
        own = self.client.setup_error(error)
        if own is not None:
            return own
        node = self.node
        failure = tls_failure(error, self.tls, node.host if node is not None else "the server")
        if failure is not None:
            return SetupRejected(failure)
        code = self.error_code(error)
        translated = classify_code(
            error,
            code,
            outcome_unknown,
            rejected=self.client.rejects_data(error),
            server_error=isinstance(error, self.client.driver_errors),
            timed_out=timed_out,
        )
        if code == ER.ACCESS_DENIED_ERROR and (self.tls is None or self.tls.ca is None):
            return MayHeal(
                f"{translated}; a server with require_secure_transport=ON refuses "
                "connections without TLS this way: set ssl_ca"
            )
        return translated

    def failed(self, error: BaseException, outcome_unknown: bool = False) -> Exception:
        """Translate ``error`` of the current guarded block; time-outs are recognised
        by the deadline guard having fired, or by a lost connection after waiting at
        least the read/write time-out (ODBC drivers say "lost connection" then)."""
        if isinstance(error, (MayHeal, ConnectionFailed, OutcomeUnknown, BatchRejected)):
            return error
        waited = time.monotonic() - self._block_started
        code = self.error_code(error)
        timed_out = self._guard.fired != self._block_fired or (
            code == CR.SERVER_LOST and waited >= 0.9 * self._block_wait
        )
        translated = self.classify(error, outcome_unknown, timed_out)
        if isinstance(translated, (ConnectionFailed, OutcomeUnknown)) and (
            action_of(code) is not Action.STAY_AND_RETRY
        ):
            self._move_on = True  # the node failed: another one takes over (if any)
        return translated

    # -- connection ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self, tables: TableSetup) -> None:
        """Connect to the node in use; when it fails, or the last statement failed on
        it, to the next nodes, each tried once."""
        self.close()
        if self._move_on:
            self._next_node("it failed")
        tried = 1
        while True:
            try:
                self._connect_node(tables)
                return
            except (ConnectionFailed, OutcomeUnknown) as error:
                if self._ring is None or tried >= len(self._ring):
                    raise
                tried += 1
                self._next_node(str(error))

    def open_unprepared(self) -> Any:
        """A connection of its own, with no session set up (init-db); the caller
        discards it with :meth:`discard`."""
        self.start_block(self.timeouts.connect)
        try:
            return self.client.open_connection()
        except Exception as error:  # libraries raise several types here
            raise self.failed(error) from None

    def discard(self, conn: Any) -> None:
        self.client.discard_connection(conn)

    def _connect_node(self, tables: TableSetup) -> None:
        """Open a connection to the node in use and prepare its session."""
        conn = self.open_unprepared()
        self._conn = conn
        try:
            with self.guarded(), self.cursor(conn) as cursor:
                cursor.execute(SESSION_UTC)
                try:
                    self.execute(cursor, SESSION_STATEMENT_TIME, (float(self.timeouts.query),))
                except self.client.driver_errors:  # MySQL (not MariaDB) has no such variable
                    conn.rollback()
                cursor.execute(IDENTITY)
                connection_id, database, hostname, port = cursor.fetchone()
                self.connection_id = int(connection_id)
                self._server = (str(hostname), int(port))
                self.database = self.database or database
                tables.read_layout(cursor)
                self._check_galera(cursor, tables)
                self._stale.end(
                    self._server,
                    lambda stale: self._kill(cursor, stale),
                    lambda statement, args: self._count(cursor, statement, args),
                    self.timeouts.query,
                )
                tables.ready(cursor)
            conn.rollback()  # nothing to commit: the ledger DDL commits by itself
        except Exception as error:
            translated = self.failed(error)
            self.close()
            raise translated from None

    def _check_galera(self, cursor: Any, tables: TableSetup) -> None:
        """On a Galera node: reads wait for what the cluster committed before them
        (causal reads, so the ledger is current), and the table must be InnoDB."""
        cursor.execute(WSREP_ON)
        row = cursor.fetchone()
        self.galera = row is not None and str(row[1]).upper() == "ON"
        if not self.galera:
            return
        if not tables.transactional:
            raise SetupRejected(
                f"table {self.database}.{tables.table} is {tables.engine} on a Galera node: Galera "
                "replicates InnoDB only (ALTER TABLE ... ENGINE=InnoDB)"
            )
        cursor.execute(CAUSAL_READS)

    def _kill(self, cursor: Any, connection_id: int) -> None:
        """KILL one of our earlier connections; one that is already gone is fine."""
        try:
            cursor.execute(kill_connection(connection_id))
            LOG.info("killed stale connection %d", connection_id)
        except self.client.driver_errors as error:
            if self.error_code(error) != ER.NO_SUCH_THREAD:
                raise

    def _count(self, cursor: Any, statement: str, args: Sequence[Any]) -> int:
        self.execute(cursor, statement, args)
        return int(cursor.fetchone()[0])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if self.connection_id is not None and self._server is not None:
            self._stale.add(self._server, self.connection_id)
            self.connection_id = None
        if conn is None:
            return
        try:
            self.discard(conn)
        except Exception:  # closing is best effort
            LOG.debug("error while closing", exc_info=True)

    def interrupt(self) -> None:
        """Make a call that is blocked in the database fail now (any thread)."""
        conn = self._conn
        if conn is not None:
            try:
                self.client.interrupt_connection(conn)
            except Exception:  # best effort: the read/write time-outs still bound it
                LOG.debug("error while interrupting", exc_info=True)

    def require(self) -> Any:
        """The open connection; ConnectionFailed when there is none."""
        if self._conn is None:
            raise ConnectionFailed("not connected")
        return self._conn

    # -- deadlines ------------------------------------------------------------------------

    def _deadline_passed(self) -> None:
        LOG.warning(
            "statement on %s passed its %.1f s time-out: interrupting it",
            self.client.describe(),
            self.timeouts.query,
        )
        self.interrupt()

    def start_block(self, wait: float | None = None) -> None:
        """Start timing a block of calls whose one wait is at most ``wait`` seconds."""
        self._block_fired = self._guard.fired
        self._block_started = time.monotonic()
        self._block_wait = wait or min(self.timeouts.read, self.timeouts.write)

    @contextlib.contextmanager
    def guarded(self) -> Iterator[None]:
        """A block of statements under the query deadline (the guard interrupts it)."""
        self.start_block()
        with self._guard.guard(self.timeouts.query, self._deadline_passed):
            yield

    # -- reads and rollbacks ----------------------------------------------------------------

    def read(self, statement: str, args: Sequence[Any]) -> list[Any]:
        """Run one read-only statement under the deadline; its rows."""
        conn = self.require()
        try:
            with self.guarded(), self.cursor(conn) as cursor:
                self.execute(cursor, statement, args)
                rows = cursor.fetchall()
            conn.rollback()  # read-only: end the transaction
        except Exception as error:
            translated = self.failed(error)
            self.close()
            raise translated from None
        return list(rows)

    def rollback(self) -> None:
        """Roll the open transaction back; a connection that cannot is closed."""
        try:
            with self.guarded():
                self.require().rollback()
        except Exception:
            self.close()
