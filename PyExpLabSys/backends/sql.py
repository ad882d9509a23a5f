"""The SQL backend shared by the MySQL/MariaDB clients (PyMySQL and ODBC).

:class:`SQLBackend` is the backend interface over two objects: a session
(:mod:`.session`: connect, the node ring, the KILL of stale connections, the deadline
guard, the translation of errors by MySQL error code) and a batch writer
(:mod:`.batch_writer`: a hand-built multi-row INSERT and an explicit COMMIT, the batch
ledger in the same transaction on InnoDB, read-back after a watermark id on MyISAM). The
SQL text lives in :mod:`.sqltext`. A subclass only says how to connect, which parameter
marker its library uses, how to interrupt a blocked call and how to read the native
error code out of the library's exceptions (the :class:`~.session.SQLClient` methods).

Times are sent as numeric UTC date-time literals in a session whose time zone is UTC, which
makes the conversion unambiguous (no daylight-saving overlap), rounded on the client
side to the precision of the ``time`` column (MariaDB would truncate).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..values import Timeouts
from .base import Backend, BatchRejected, Capabilities, MayHeal, Point, map_codenames
from .batch_writer import BatchWriter
from .ledger import LEDGER_TABLE, BatchLedger, default_logger_id
from .nodes import Node
from .rows import CLASSIC, RowShape
from .schema import DESCRIPTIONS_TABLE, create_tables, register_codenames
from .session import SQLSession
from .sqltext import LAST_INSERT_ID, quote_identifier, select_codenames, select_values_since
from .tls import TLSSettings

LOG = logging.getLogger(__name__)

__all__ = ["SQLBackend", "default_logger_id"]


class SQLBackend(Backend):
    """Writes points into ``table`` of a MySQL/MariaDB database: the shared SQL logic.

    Subclasses implement :meth:`open_connection` (connect with their library),
    :meth:`error_code` (the native MySQL error code of an exception),
    :meth:`discard_connection` and :meth:`interrupt_connection` (end a connection or a
    blocked call without waiting), and set :attr:`placeholder` and :attr:`driver_errors`.
    Statements are written with ``%s`` markers, replaced by the subclass's marker.
    """

    capabilities = Capabilities(
        prepare=True, reconcile="ledger (InnoDB) or read-back (MyISAM)", costly_commits=True
    )
    #: The parameter marker of the client library (``%s`` PyMySQL, ``?`` ODBC).
    placeholder = "%s"
    #: The exception classes of the client library (for "unknown thread id" etc.).
    driver_errors: tuple[type[BaseException], ...] = ()
    #: Whether the library sends a batch's ledger row, rows and COMMIT in one packet.
    one_trip = False

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
        self.time_range = rows.x_range  # which columns a point fills: continuous or data set
        self.time_stamped = rows.timed
        self.ledger_table = ledger_table
        self._descriptions_sql = quote_identifier(descriptions_table)
        self.descriptions_table = descriptions_table
        self.user = user
        self.__password = password  # name-mangled: kept out of vars() and reprs
        self.timeouts = timeouts
        self.session = SQLSession(self, database, timeouts, f"{guard_name}-deadline-{table}", nodes, tls)
        self.writer = BatchWriter(
            self.session, table, BatchLedger(logger_id or default_logger_id(table), ledger_table), rows
        )

    # -- what the session and the writer know -------------------------------------------------

    @property
    def logger_id(self) -> str:
        """The name of this logger's batches in the ledger."""
        return self.writer.ledger.logger_id

    @property
    def database(self) -> str | None:
        """The database (the server's default for the login until connected, if None)."""
        return self.session.database

    @property
    def node(self) -> Node | None:
        """The node in use (None: the server the library's settings name)."""
        return self.session.node

    def current_node(self) -> str | None:
        node = self.session.node
        return None if node is None else str(node)

    def _node(self) -> Node:
        """The node in use, for backends that always have one."""
        return self.session.require_node()

    @property
    def galera(self) -> bool:
        """Whether the server is a Galera node (wsrep_on)."""
        return self.session.galera

    @property
    def connection_id(self) -> int | None:
        """The server's id of the connection in use."""
        return self.session.connection_id

    @property
    def precision(self) -> int:
        """The number of decimals of the ``time`` column."""
        return self.writer.precision

    @property
    def engine(self) -> str:
        """The storage engine of the data table."""
        return self.writer.engine

    @property
    def transactional(self) -> bool:
        """Whether the data table has transactions (InnoDB): then the ledger is used."""
        return self.writer.transactional

    # -- what a client library provides (the session's SQLClient) ------------------------------

    @abc.abstractmethod
    def open_connection(self) -> Any:
        """Open a connection (autocommit off) with the library; raise its errors."""

    @abc.abstractmethod
    def error_code(self, error: BaseException) -> int | None:
        """The native MySQL error code carried by ``error``, None if it has none."""

    @abc.abstractmethod
    def discard_connection(self, conn: Any) -> None:
        """Close ``conn`` without waiting for a polite goodbye on a dead line."""

    @abc.abstractmethod
    def interrupt_connection(self, conn: Any) -> None:
        """Make a call blocked on ``conn`` in another thread fail now."""

    def rejects_data(self, error: BaseException) -> bool:
        """Whether the library classes ``error`` as a verdict on the data."""
        return False

    def setup_error(self, error: BaseException) -> Exception | None:
        """The library's own reading of ``error`` (None: go by the error code)."""
        return None

    def last_insert_id(self, cursor: Any) -> int:
        """The id of the first row of the last INSERT on this connection."""
        cursor.execute(LAST_INSERT_ID)
        return int(cursor.fetchone()[0])

    def when_sent(self, conn: Any, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once the next statement on ``conn`` has been sent (None:
        forget a callback not yet called). Here: at once, before it is sent; a library
        that sends without holding the interpreter lock (ODBC) needs no more."""
        if callback is not None:
            callback()

    def quote(self, conn: Any, text: str) -> str:
        """Only libraries that send a batch in one trip quote values themselves."""
        raise NotImplementedError(f"{type(self).__name__} binds its parameters")

    def _password(self) -> str | None:
        return self.__password

    # -- connection ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.session.connected

    def connect(self) -> None:
        """Connect to the node in use; when it fails, or the last statement failed on
        it, to the next nodes, each tried once."""
        self.session.connect(self.writer)
        LOG.info(
            "connected to %s (connection %s, %s, time precision %d)",
            self.describe(),
            self.connection_id,
            self.engine,
            self.precision,
        )

    def close(self) -> None:
        self.session.close()

    def interrupt(self) -> None:
        """Make a call that is blocked in the database fail now (any thread)."""
        self.session.interrupt()

    # -- the logger's operations ----------------------------------------------------------

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        wanted = list(codenames)
        if not wanted:
            return {}
        rows = self.session.read(select_codenames(self._descriptions_sql, len(wanted)), wanted)
        return map_codenames(wanted, rows, self.descriptions_table)

    def read_values(
        self, codenames: Sequence[str], since: float
    ) -> dict[str, list[tuple[float, float | None]]]:
        ids = self.resolve_codenames(codenames)
        names = {type_id: codename for codename, type_id in ids.items()}
        rows = self.session.read(select_values_since(self.writer.table_sql, len(names)), [since, *names])
        out: dict[str, list[tuple[float, float | None]]] = {codename: [] for codename in codenames}
        for type_id, when, value in rows:  # the session's time zone is UTC (connect)
            out[names[type_id]].append((float(when), None if value is None else float(value)))
        return out

    def insert_row(self, table: str, values: Mapping[str, tuple[Any, str]]) -> int:
        """One INSERT of one row and its COMMIT, under the deadline; the row's id."""
        session = self.session
        conn = session.require()
        columns = ", ".join(quote_identifier(column) for column in values)
        row_markers = ", ".join(marker for _, marker in values.values())
        statement = f"INSERT INTO {quote_identifier(table)} ({columns}) VALUES ({row_markers})"
        sent = False
        try:
            with session.guarded(), session.cursor(conn) as cursor:
                sent = True
                session.execute(cursor, statement, [value for value, _ in values.values()])
                row_id = self.last_insert_id(cursor)
                conn.commit()
        except Exception as error:
            translated = session.failed(error, outcome_unknown=sent)
            if isinstance(translated, (BatchRejected, MayHeal)):
                session.rollback()
            else:
                session.close()
            raise translated from None
        return row_id

    def distinct_values(self, table: str, expression: str) -> set[Any]:
        rows = self.session.read(f"SELECT DISTINCT {expression} FROM {quote_identifier(table)}", [])
        return {row[0] for row in rows}

    def prepare(self, points: Sequence[Point]) -> tuple[int, str]:
        """The VALUES list of ``points`` (pure; the drain renders the next batch with it
        while the current one is in flight)."""
        return self.writer.prepare(points)

    def checkpoint(self) -> dict:
        """Non-transactional tables: the highest row id known to hold our points."""
        return self.writer.checkpoint()

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        """Continue an earlier run's batches (see :meth:`.BatchWriter.resume`)."""
        self.writer.resume(logger_id, checkpoint)

    def keep_ledger_from(self, seq: float) -> None:
        self.writer.ledger.keep_from(seq)

    def insert_batch(
        self,
        first_seq: int,
        points: Sequence[Point],
        prepared: tuple[int, str] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        """One multi-row INSERT, exactly once (see :meth:`.BatchWriter.insert`);
        ``on_sent`` is called once the batch is on its way (a :class:`.PreparingBackend`)."""
        self.writer.insert(first_seq, points, prepared, on_sent)

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """How many leading ``points`` are stored (see :meth:`.BatchWriter.reconcile`)."""
        return self.writer.reconcile(first_seq, points)

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
        conn = self.session.open_unprepared()
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
            raise self.session.failed(error) from None
        finally:
            self.session.discard(conn)
