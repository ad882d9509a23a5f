"""MySQL / MariaDB backend through PyMySQL.

The SQL (multi-row INSERT, batch ledger, read-back reconciliation, KILL of stale
connections, error classification by MySQL error code) lives in :mod:`.sql` and the
session and batch writer under it, shared with the ODBC backend. This module adds what
is PyMySQL's own: connecting with connect, read and write time-outs (PyMySQL waits
forever without them), and interrupting a blocked call by shutting the connection's
socket down.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pymysql
import pymysql.err
from pymysql.constants import CLIENT

from ..values import Timeouts
from .base import BackendSettings
from .ledger import LEDGER_TABLE
from .nodes import DEFAULT_HOST, DEFAULT_PORT, parse_nodes
from .rows import CLASSIC, RowShape
from .schema import DEFAULT_DATABASE, DESCRIPTIONS_TABLE
from .sql import SQLBackend
from .tls import TLSSettings, tls_of

LOG = logging.getLogger(__name__)

__all__ = ["MySQLBackend", "SentCallbackConnection", "shutdown_socket"]

_REJECTED_TYPES = (pymysql.err.DataError, pymysql.err.IntegrityError, pymysql.err.ProgrammingError)


def _pymysql_code(error: BaseException) -> int | None:
    """PyMySQL puts the MySQL error code first in ``args``."""
    return error.args[0] if error.args and isinstance(error.args[0], int) else None


def shutdown_socket(conn: Any) -> None:
    """Shut a PyMySQL connection's socket down (any thread): a call blocked on it fails
    at once, and nothing more can be sent on it."""
    sock = getattr(conn, "_sock", None)  # PyMySQL exposes no public handle
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed or never connected
            pass


class SentCallbackConnection(pymysql.connections.Connection):
    """PyMySQL's connection, which can call back once a statement has been sent.

    PyMySQL sends a large packet in several pieces and takes the interpreter lock again
    after each; while another thread runs Python code (the drain's rendering of the next
    batch), each piece waits up to the interpreter's switch interval (5 ms) for it, and
    the server waits for the rest of the statement. The drain therefore starts that
    rendering only when the statement is out, which is when PyMySQL starts reading the
    answer (the method overridden below, from PyMySQL 1.0 to 2.2 the one both query()
    and the next result read through).
    """

    _on_sent: Callable[[], None] | None = None

    def call_when_sent(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once the next statement is sent (None: forget it)."""
        self._on_sent = callback

    def _read_query_result(self, unbuffered: bool = False) -> Any:
        callback, self._on_sent = self._on_sent, None
        if callback is not None:
            try:
                callback()
            except Exception:  # the statement's answer must still be read
                LOG.exception("callback after sending a statement failed")
        return super()._read_query_result(unbuffered=unbuffered)  # type: ignore[misc]  # private to PyMySQL, not in its stubs


#: Whether this PyMySQL reads answers through the method overridden above; if a future
#: release does not, the callback is made before sending (slower, never missing).
_READ_HOOK = callable(getattr(pymysql.connections.Connection, "_read_query_result", None))
if not _READ_HOOK:
    LOG.warning("PyMySQL %s has no _read_query_result: batches are prepared before sending", pymysql.VERSION)


class MySQLBackend(SQLBackend):
    """Writes points into ``table`` of a MySQL/MariaDB database through PyMySQL."""

    placeholder = "%s"
    driver_errors = (pymysql.err.MySQLError,)
    one_trip = True

    def __init__(
        self,
        table: str,
        user: str,
        password: str,
        host: str | Sequence[str] = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        database: str = DEFAULT_DATABASE,
        timeouts: Timeouts = Timeouts(),
        descriptions_table: str = DESCRIPTIONS_TABLE,
        connect: Callable[..., Any] = SentCallbackConnection,
        logger_id: str | None = None,
        ledger_table: str = LEDGER_TABLE,
        tls: TLSSettings | None = None,
        rows: RowShape = CLASSIC,
    ) -> None:
        super().__init__(
            table,
            user,
            password,
            database,
            timeouts=timeouts,
            descriptions_table=descriptions_table,
            logger_id=logger_id,
            ledger_table=ledger_table,
            guard_name="mysql",
            nodes=parse_nodes(host, port),
            tls=tls,
            rows=rows,
        )
        self._connect = connect

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> MySQLBackend:
        options = settings.options
        return cls(
            settings.table,
            options["user"] or "",
            settings.password or "",
            host=options["host"],
            port=options["port"],
            database=options["database"],
            timeouts=settings.timeouts,
            logger_id=settings.logger_id,
            tls=tls_of(options),
            rows=options.get("rows", CLASSIC),
        )

    @property
    def host(self) -> str:
        """The host of the node in use."""
        return self._node().host

    @property
    def port(self) -> int:
        """The port of the node in use."""
        return self._node().port

    def describe(self) -> str:
        over = f" over {self.tls.describe()}" if self.tls is not None else ""
        return f"MySQL {self.user}@{self._node()}/{self.database}.{self.table}{over}"

    def open_connection(self) -> Any:
        timeouts = self.timeouts
        return self._connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self._password(),
            database=self.database,
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            write_timeout=timeouts.write,
            autocommit=False,
            charset="utf8mb4",
            # a batch's ledger row, rows and COMMIT in one packet (our own SQL only)
            client_flag=CLIENT.MULTI_STATEMENTS,
            **(self.tls.pymysql_kwargs() if self.tls is not None else {}),
        )

    def error_code(self, error: BaseException) -> int | None:
        return _pymysql_code(error)

    def rejects_data(self, error: BaseException) -> bool:
        return isinstance(error, _REJECTED_TYPES)

    def last_insert_id(self, cursor: Any) -> int:
        return int(cursor.lastrowid or 0)

    def quote(self, conn: Any, text: str) -> str:
        return str(conn.escape(text))  # knows the server's NO_BACKSLASH_ESCAPES mode

    def when_sent(self, conn: Any, callback: Callable[[], None] | None) -> None:
        if isinstance(conn, SentCallbackConnection) and _READ_HOOK:
            conn.call_when_sent(callback)
        else:  # another connect function: before sending, as other libraries
            super().when_sent(conn, callback)

    def discard_connection(self, conn: Any) -> None:
        shutdown_socket(conn)  # do not wait for a polite QUIT on a dead line
        conn.close()

    def interrupt_connection(self, conn: Any) -> None:
        shutdown_socket(conn)
