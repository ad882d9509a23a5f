"""The SQL text sent to the database: checked identifiers, rendered VALUES lists, and
the statements the MySQL/MariaDB session and batch writer send.

Pure functions and constants, shared by every SQL backend (MySQL, ODBC, SQLite);
importing this module imports no database library. Statements are written with ``%s``
markers; a backend replaces them with its library's marker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from .base import Point

__all__ = [
    "CAUSAL_READS",
    "IDENTITY",
    "LAST_INSERT_ID",
    "SESSION_STATEMENT_TIME",
    "SESSION_UTC",
    "TABLE_ENGINE",
    "TIME_PRECISION",
    "WSREP_ON",
    "kill_connection",
    "markers",
    "max_row_id",
    "quote_identifier",
    "render_rows",
    "select_codenames",
    "select_values_since",
]

# -- the session (sent on each new connection) --------------------------------------------

#: Times are sent and read as UTC date-time literals.
SESSION_UTC = "SET SESSION time_zone = '+00:00'"
#: MariaDB's server-side cap on any statement (MySQL has no such variable).
SESSION_STATEMENT_TIME = "SET SESSION max_statement_time = %s"
#: Who we are on which server: connection id, database, ``@@hostname``, ``@@port``.
IDENTITY = "SELECT CONNECTION_ID(), DATABASE(), @@hostname, @@port"
#: The data table's storage engine (argument: the table's name).
TABLE_ENGINE = (
    "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
)
#: The precision of the data table's ``time`` column (argument: the table's name).
TIME_PRECISION = (
    "SELECT COALESCE(DATETIME_PRECISION, 0) FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = 'time'"
)
#: Whether the server is a Galera node.
WSREP_ON = "SHOW VARIABLES LIKE 'wsrep_on'"
#: Galera: reads wait until the node has applied what the cluster committed before them.
CAUSAL_READS = "SET SESSION wsrep_sync_wait = 1"
#: The id of the first row of the last INSERT on this connection.
LAST_INSERT_ID = "SELECT LAST_INSERT_ID()"


def kill_connection(connection_id: int) -> str:
    """End one of our earlier connections (the id is an integer: no quoting needed)."""
    return f"KILL CONNECTION {int(connection_id)}"


def max_row_id(table_sql: str) -> str:
    """The highest row id of a (quoted) data table, 0 when it is empty."""
    return f"SELECT COALESCE(MAX(id), 0) FROM {table_sql}"


def markers(count: int) -> str:
    """``%s,%s,...``: ``count`` parameter markers for an IN list."""
    return ",".join(["%s"] * count)


def select_codenames(descriptions_sql: str, count: int) -> str:
    """The ids of ``count`` codenames in the (quoted) descriptions table."""
    return f"SELECT id, codename FROM {descriptions_sql} WHERE codename IN ({markers(count)})"


def select_values_since(table_sql: str, types: int) -> str:
    """Points of ``types`` type ids at or after a time (first argument, seconds since
    the epoch), as (type, seconds, value), oldest first."""
    return (
        f"SELECT type, UNIX_TIMESTAMP(time), value FROM {table_sql} "
        f"WHERE time >= FROM_UNIXTIME(%s) AND type IN ({markers(types)}) ORDER BY time"
    )


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def quote_identifier(name: str) -> str:
    """Backquote a table name after checking it is a plain identifier (no injection)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid table name: {name!r} (letters, digits, _ and $ only)")
    return f"`{name}`"


def render_rows(points: Iterable[Point], precision: int) -> str:
    """The VALUES list of a multi-row INSERT; times rounded to the column's precision.

    Written for the server's parser, whose work per row is most of what a batch costs it
    beyond storing the rows (docs/capacity.rst):

    * times are numeric date-time literals, ``YYYYMMDDhhmmss`` with the column's decimals
      after a point (``20240131120000.250000``), in UTC (the session's time zone). The
      server reads such a number straight into the column; a quoted date-time string
      costs it a string item, a character set conversion and a date parser per row, and
      ``FROM_UNIXTIME(x)`` more still. The date part is formatted once per second of data;
    * values are written with ``repr``, which round-trips a float exactly, followed by
      ``e0`` unless ``repr`` wrote an exponent: a number with an exponent is a DOUBLE
      literal, converted once, where ``1.5`` would be an exact DECIMAL literal that is
      then converted to a double. None becomes NULL.

    The points were validated on enqueue (times within the TIMESTAMP range, finite
    values), so no quoting is needed.
    """
    seconds: dict[int, str] = {}
    known = seconds.get
    opening = "(%Y%m%d%H%M%S." if precision > 0 else "(%Y%m%d%H%M%S,"

    def second(whole: int) -> str:  # "(20240131120000," once per second of data
        text = seconds[whole] = time.strftime(opening, time.gmtime(whole))
        return text

    if precision > 0:
        scale = 10**precision
        rows = [
            f"{known(whole) or second(whole)}{fraction:0{precision}d},{type_id},"
            f"{(text := repr(value))}{'' if 'e' in text else 'e0'})"
            for type_id, stamp, value in points
            for whole, fraction in (divmod(round(stamp * scale), scale),)
        ]
    else:
        rows = [
            f"{known(whole := round(stamp)) or second(whole)}{type_id},"
            f"{(text := repr(value))}{'' if 'e' in text else 'e0'})"
            for type_id, stamp, value in points
        ]
    # repr(None) is the only way "None" can end a row (it has an "e": no "e0" follows);
    # numbers never spell it
    return ",".join(rows).replace(",None)", ",NULL)")
