"""The SQL text sent to the database: checked identifiers and rendered VALUES lists.

Pure functions, shared by every SQL backend (MySQL, ODBC, SQLite); importing this module
imports no database library.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from .base import Point

__all__ = ["quote_identifier", "render_rows"]

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
