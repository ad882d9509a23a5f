"""Read-back reconciliation for tables without transactions (MyISAM, Aria).

Such a table keeps what an INSERT wrote even when the answer is lost, and a killed
multi-row INSERT can leave a prefix of its rows. To know what is stored, the backend
remembers a *watermark*: the highest row id known to hold this logger's points. The
rows after it are read back and matched, in order, against the batch in question.

After a restart the watermark comes from the spool's checkpoint, and every batch is
read back before it is sent until one is found not to be stored (the last run may have
stored it just before it was killed). This logger is assumed to be the only writer of
its codenames; a foreign row after the watermark is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from .base import Point
from .rows import CLASSIC, RowShape

LOG = logging.getLogger(__name__)

__all__ = ["Watermark", "stored_prefix"]


class Watermark:
    """The highest row id known to hold this logger's points, and whether the batches
    of an earlier run still need to be read back before they are sent."""

    def __init__(self) -> None:
        self.row_id: int | None = None
        self.unverified = False

    def checkpoint(self) -> dict[str, Any]:
        return {} if self.row_id is None else {"watermark": self.row_id}

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Take back an earlier run's watermark: its batches are unverified."""
        if checkpoint.get("watermark") is not None:
            self.row_id = int(checkpoint["watermark"])
            self.unverified = True

    def select_after(
        self, table_sql: str, points: Sequence[Point], rows: RowShape = CLASSIC
    ) -> tuple[str, list[Any]]:
        """The SELECT of the rows after the watermark with the batch's keys (types, or
        measurements in a data-set table)."""
        return rows.select_after(table_sql, self.row_id or 0, sorted({point[0] for point in points}))

    def match(
        self, rows: Iterable[Sequence[Any]], points: Sequence[Point], precision: int, table: str
    ) -> int:
        """How many leading ``points`` the read-back ``rows`` hold; moves the watermark
        past them."""
        stored, last_id, foreign = stored_prefix(rows, points, precision)
        if last_id is not None:
            self.row_id = last_id
        if foreign:
            LOG.error(
                "read-back of %s found rows this logger did not write after id %s: another "
                "writer uses its codenames; reconciliation may be wrong",
                table,
                self.row_id,
            )
        return stored


def stored_prefix(
    rows: Iterable[Sequence[Any]], points: Sequence[Point], precision: int
) -> tuple[int, int | None, bool]:
    """Match read-back ``(id, type, unix time, value)`` rows against ``points`` in order.

    Returns ``(n, last_id, foreign)``: ``n`` leading points are stored, the last of them
    in row ``last_id`` (None if none); ``foreign`` when a row that is not the next point
    follows them (another writer).
    """
    tolerance = 0.6 * 10.0**-precision
    stored = 0
    last_id: int | None = None
    for row_id, type_id, stamp, value in rows:
        if stored < len(points):
            want_type, want_time, want_value = points[stored]
            if type_id == want_type and value == want_value and abs(float(stamp) - want_time) <= tolerance:
                stored += 1
                last_id = int(row_id)
                continue
        return stored, last_id, True
    return stored, last_id, False
