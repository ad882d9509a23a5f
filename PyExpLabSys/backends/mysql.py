"""MySQL / MariaDB backend through PyMySQL.

The SQL (multi-row INSERT, batch ledger, read-back reconciliation, KILL of stale
connections, error classification by MySQL error code) lives in :mod:`.sql`, shared with
the ODBC backend. This module adds what is PyMySQL's own: connecting with connect, read
and write time-outs (PyMySQL waits forever without them), and interrupting a blocked
call by shutting the connection's socket down.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Callable

import pymysql
import pymysql.err

from ..datalog.policies import Timeouts
from .sql import (
    CONNECTION_ERRORS,
    LEDGER_TABLE,
    MAY_HEAL_ERRORS,
    REJECTED_ERRORS,
    SQLBackend,
    classify_code,
    create_tables,
    default_logger_id,
    quote_identifier,
    render_rows,
)

LOG = logging.getLogger(__name__)

__all__ = [
    "MySQLBackend",
    "classify",
    "create_tables",
    "render_rows",
    "quote_identifier",
    "default_logger_id",
    "CONNECTION_ERRORS",
    "MAY_HEAL_ERRORS",
    "REJECTED_ERRORS",
]

_REJECTED_TYPES = (pymysql.err.DataError, pymysql.err.IntegrityError, pymysql.err.ProgrammingError)


def _pymysql_code(error: BaseException) -> int | None:
    """PyMySQL puts the MySQL error code first in ``args``."""
    return error.args[0] if error.args and isinstance(error.args[0], int) else None


def classify(error: BaseException, outcome_unknown: bool) -> Exception:
    """Translate a PyMySQL error into the backend error that says what to do next."""
    return classify_code(
        error, _pymysql_code(error), outcome_unknown,
        rejected=isinstance(error, _REJECTED_TYPES),
        server_error=isinstance(error, pymysql.err.MySQLError),
    )


class MySQLBackend(SQLBackend):
    """Writes points into ``table`` of a MySQL/MariaDB database through PyMySQL."""

    placeholder = "%s"
    driver_errors = (pymysql.err.MySQLError,)

    def __init__(
        self,
        table: str,
        user: str,
        password: str,
        host: str = "localhost",
        port: int = 3306,
        database: str = "cinfdata",
        timeouts: Timeouts = Timeouts(),
        descriptions_table: str = "dateplots_descriptions",
        connect: Callable[..., Any] = pymysql.connect,
        logger_id: str | None = None,
        ledger_table: str = LEDGER_TABLE,
    ) -> None:
        super().__init__(
            table, user, password, database, timeouts=timeouts,
            descriptions_table=descriptions_table, logger_id=logger_id,
            ledger_table=ledger_table, guard_name="mysql",
        )
        self.host, self.port = host, int(port)
        self._connect = connect

    def describe(self) -> str:
        return f"MySQL {self.user}@{self.host}:{self.port}/{self.database}.{self.table}"

    def _open(self) -> Any:
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
        )

    def _error_code(self, error: BaseException) -> int | None:
        return _pymysql_code(error)

    def _is_rejected(self, error: BaseException) -> bool:
        return isinstance(error, _REJECTED_TYPES)

    def _last_insert_id(self, cursor: Any) -> int:
        return int(cursor.lastrowid or 0)

    def _discard(self, conn: Any) -> None:
        sock = getattr(conn, "_sock", None)
        if sock is not None:  # do not wait for a polite QUIT on a dead line
            sock.close()
        conn._sock = None
        conn._rfile = None

    def _interrupt(self, conn: Any) -> None:
        """Shut the socket down so that a blocked call fails now."""
        sock = getattr(conn, "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
