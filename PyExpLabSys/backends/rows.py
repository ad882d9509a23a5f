"""The shape of a data table's rows: which columns the three items of a point fill.

The logging core moves points ``(key, x, y)`` through the buffer, the drain and a
backend without asking what they mean. The row shape says it for the SQL backends:

* :data:`CLASSIC` is the continuous ``dateplots_<setup>`` table: ``key`` is the
  codename's type id, ``x`` a unix time stored in the ``time`` column at that column's
  precision, ``y`` the value;
* :data:`DATA_SET` is an ``xy_values_<setup>`` table of the data-set savers:
  ``measurement`` (the row id in the measurements table), ``x`` and ``y``, both stored
  as they are (doubles).

Each shape renders the VALUES list of a batch and the read-back of what follows a
watermark (tables without transactions); everything else (batching, ledger, deadlines,
reconnection, reconciliation) is the same code for both.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import Point
from .sqltext import render_rows

__all__ = ["CLASSIC", "DATA_SET", "RowShape", "render_xy_rows"]

#: The precision given to exact (double) columns: read-back compares them exactly.
EXACT = 17


def render_xy_rows(points: Sequence[Point], precision: int = EXACT) -> str:
    """The VALUES list ``(measurement,x,y),...`` of a batch; numbers by ``repr`` (exact
    for doubles), None as NULL. The points were validated on enqueue."""
    text = ",".join(f"({key},{x!r},{y!r})" for key, x, y in points)
    return text.replace(",None)", ",NULL)")


@dataclass(frozen=True)
class RowShape:
    """Where a point's ``(key, x, y)`` go in the data table."""

    name: str
    #: The columns, in the order the rendered VALUES list fills them.
    columns: tuple[str, str, str]
    key: str
    x: str
    y: str
    #: ``x`` is a unix time kept in a date-time column (rounded to its precision).
    timed: bool
    #: The ``x`` values the table can store.
    x_range: tuple[float, float]

    def insert_head(self, table_sql: str) -> str:
        """``INSERT INTO `table` (columns) VALUES `` (the rendered rows follow)."""
        return f"INSERT INTO {table_sql} ({', '.join(self.columns)}) VALUES "

    def render(self, points: Sequence[Point], precision: int) -> str:
        """The VALUES list of ``points``."""
        return render_rows(points, precision) if self.timed else render_xy_rows(points, precision)

    def select_after(self, table_sql: str, row_id: int, keys: Sequence[int]) -> tuple[str, list[Any]]:
        """The SELECT of ``(id, key, x, y)`` rows after ``row_id`` with these keys, in
        id order (read-back of a table without transactions)."""
        x = f"UNIX_TIMESTAMP({self.x})" if self.timed else self.x
        return (
            f"SELECT id, {self.key}, {x}, {self.y} FROM {table_sql} "
            f"WHERE id > %s AND {self.key} IN ({','.join(['%s'] * len(keys))}) ORDER BY id",
            [row_id, *keys],
        )


#: The continuous table: ``(time, type, value)``, time a TIMESTAMP up to 2038.
CLASSIC = RowShape(
    "continuous", ("time", "type", "value"), "type", "time", "value", True, (1.0, 2147483647.0)
)
#: The data-set table: ``(measurement, x, y)``, x any finite double.
DATA_SET = RowShape(
    "data set",
    ("measurement", "x", "y"),
    "measurement",
    "x",
    "y",
    False,
    (-sys.float_info.max, sys.float_info.max),
)
