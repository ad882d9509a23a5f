"""MySQL / MariaDB backend through PyMySQL.

Writes a batch as one hand-built multi-row INSERT followed by an explicit COMMIT (the
fastest statement form PyMySQL offers; ``executemany`` with ``FROM_UNIXTIME(%s)`` would
fall back to one statement per row). Every connection has connect, read and write
time-outs, a server-side ``max_statement_time`` and a client-side deadline that shuts the
socket down, so no call blocks longer than the policy allows.

Times are sent as ``FROM_UNIXTIME(x)`` in a session whose time zone is UTC, which makes
the conversion unambiguous (no daylight-saving overlap) and rounds on the client side to
the precision of the ``time`` column (MariaDB would truncate).
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import pymysql
import pymysql.err

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

__all__ = ["MySQLBackend", "create_tables", "render_rows", "quote_identifier"]

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
}

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def quote_identifier(name: str) -> str:
    """Backquote a table name after checking it is a plain identifier (no injection)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid table name: {name!r} (letters, digits, _ and $ only)")
    return f"`{name}`"


def render_rows(points: Iterable[Point], precision: int) -> str:
    """The VALUES list of a multi-row INSERT; times rounded to the column's precision.

    Numbers are written with ``repr``, which round-trips a float exactly; None becomes
    NULL. The points were validated on enqueue, so no quoting is needed.
    """
    if precision <= 0:
        return ",".join(
            f"(FROM_UNIXTIME({round(t)}),{type_id},{'NULL' if v is None else repr(v)})"
            for type_id, t, v in points
        )
    return ",".join(
        f"(FROM_UNIXTIME({round(t, precision)!r}),{type_id},{'NULL' if v is None else repr(v)})"
        for type_id, t, v in points
    )


def classify(error: BaseException, outcome_unknown: bool) -> Exception:
    """Translate a PyMySQL error into the backend error that says what to do next."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    text = describe_error(error)
    timed_out = code == 1969 or isinstance(error, TimeoutError) or "timed out" in text
    if code in MAY_HEAL_ERRORS:
        return MayHeal(text)
    if isinstance(error, pymysql.err.MySQLError) and not (
        isinstance(error, pymysql.err.InterfaceError)
        or code in CONNECTION_ERRORS
        or (isinstance(error, pymysql.err.OperationalError) and (code is None or code >= 2000))
    ):
        return BatchRejected(text)
    kind = OutcomeUnknown if outcome_unknown else ConnectionFailed
    return kind(text, timed_out=timed_out)


class MySQLBackend(Backend):
    """Writes points into ``table`` of a MySQL/MariaDB database."""

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
    ) -> None:
        self.table = table
        self._table_sql = quote_identifier(table)
        self._descriptions_sql = quote_identifier(descriptions_table)
        self.descriptions_table = descriptions_table
        self.user = user
        self.__password = password  # name-mangled: kept out of vars() and reprs
        self.host, self.port, self.database = host, int(port), database
        self.timeouts = timeouts
        self._connect = connect
        self._conn: Any = None
        self._guard = DeadlineGuard(f"mysql-deadline-{table}")
        self.connection_id: int | None = None
        self.precision = 0
        self.engine = "unknown"

    def describe(self) -> str:
        return f"MySQL {self.user}@{self.host}:{self.port}/{self.database}.{self.table}"

    @property
    def connected(self) -> bool:
        return self._conn is not None

    # -- connection ---------------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        timeouts = self.timeouts
        try:
            conn = self._connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.__password,
                database=self.database,
                connect_timeout=timeouts.connect,
                read_timeout=timeouts.read,
                write_timeout=timeouts.write,
                autocommit=False,
                charset="utf8mb4",
            )
        except Exception as error:  # PyMySQL raises several types here
            raise classify(error, outcome_unknown=False) from None
        self._conn = conn
        try:
            with self._guarded():
                with conn.cursor() as cursor:
                    cursor.execute("SET SESSION time_zone = '+00:00'")
                    try:
                        cursor.execute(
                            "SET SESSION max_statement_time = %s", (float(timeouts.query),)
                        )
                    except pymysql.err.MySQLError:  # MySQL (not MariaDB) has no such variable
                        conn.rollback()
                    cursor.execute("SELECT CONNECTION_ID()")
                    self.connection_id = int(cursor.fetchone()[0])
                    self._read_table_layout(cursor)
                conn.commit()
        except Exception as error:
            self.close()
            if isinstance(error, (MayHeal, ConnectionFailed)):
                raise
            raise classify(error, outcome_unknown=False) from None
        LOG.info(
            "connected to %s (connection %s, %s, time precision %d)",
            self.describe(), self.connection_id, self.engine, self.precision,
        )

    def _read_table_layout(self, cursor: Any) -> None:
        cursor.execute(
            "SELECT ENGINE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (self.table,),
        )
        row = cursor.fetchone()
        if row is None:
            raise MayHeal(f"table {self.database}.{self.table} does not exist")
        self.engine = row[0] or "unknown"
        cursor.execute(
            "SELECT COALESCE(DATETIME_PRECISION, 0) FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = 'time'",
            (self.table,),
        )
        row = cursor.fetchone()
        if row is None:
            raise MayHeal(f"table {self.database}.{self.table} has no column 'time'")
        self.precision = int(row[0])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            sock = getattr(conn, "_sock", None)
            if sock is not None:  # do not wait for a polite QUIT on a dead line
                sock.close()
            conn._sock = None
            conn._rfile = None
        except Exception:  # closing is best effort
            LOG.debug("error while closing", exc_info=True)

    def interrupt(self) -> None:
        """Shut the socket down so that a blocked call fails now (any thread)."""
        conn = self._conn
        sock = getattr(conn, "_sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _deadline_passed(self) -> None:
        LOG.warning("statement on %s passed its %.1f s time-out: interrupting it",
                    self.describe(), self.timeouts.query)
        self.interrupt()

    def _guarded(self):
        return self._guard.guard(self.timeouts.query, self._deadline_passed)

    # -- the logger's operations ----------------------------------------------------------

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        wanted = list(codenames)
        if not wanted:
            return {}
        conn = self._require()
        placeholders = ",".join(["%s"] * len(wanted))
        try:
            with self._guarded(), conn.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, codename FROM {self._descriptions_sql} "
                    f"WHERE codename IN ({placeholders})",
                    wanted,
                )
                rows = cursor.fetchall()
            conn.commit()
        except Exception as error:
            self.close()
            raise classify(error, outcome_unknown=False) from None
        return map_codenames(wanted, rows, self.descriptions_table)

    def insert_batch(self, first_seq: int, points: Sequence[Point]) -> None:
        conn = self._require()
        sql = f"INSERT INTO {self._table_sql} (time, type, value) VALUES " + render_rows(
            points, self.precision
        )
        transactional = self.engine.upper() != "MYISAM"
        sent = False
        fired = self._guard.fired
        try:
            with self._guarded():
                with conn.cursor() as cursor:
                    sent = not transactional  # MyISAM: the INSERT itself is durable
                    cursor.execute(sql)
                sent = True
                conn.commit()
        except Exception as error:
            translated = classify(error, outcome_unknown=sent)
            translated.timed_out = translated.timed_out or self._guard.fired != fired
            if isinstance(translated, (BatchRejected, MayHeal)):
                self._rollback()
            else:
                self.close()
            raise translated from None

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
