"""Points of other streams, taken in exactly once (the points socket's server uses it).

A stream (a *source*: e.g. a script logging through the service) numbers its points and
sends them again until told they are durable. The intake checks each point as the
logger checks its own (a value of None stands for one that was not finite at the
source, and goes through the non-finite policy as NaN would), dead-letters those that
fail with their reason, and appends the rest to the spool together with the source's
new position, in one group commit: after a crash the spool has both or neither, so a
source that resends from the position the intake reports neither loses nor repeats a
point.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from typing import Any, cast

from .chunks import PointColumns
from .deadletter import DeadLetterStore
from .points import PointValidator
from .spool import SpoolBuffer

__all__ = ["Intake", "IntakeClosedError"]


def _doubles(column: Sequence[float]) -> array:
    """``column`` as an array of doubles (a packed batch's columns are already)."""
    return column if isinstance(column, array) and column.typecode == "d" else array("d", column)


class IntakeClosedError(RuntimeError):
    """The logger stopped: the points were not taken."""


class Intake:
    """Exactly-once intake of numbered points from other streams, into a spool."""

    def __init__(
        self,
        buffer: SpoolBuffer,
        validator: PointValidator,
        dead_letters: DeadLetterStore,
        accepting: Callable[[], bool],
    ) -> None:
        self._buffer = buffer
        self._validator = validator
        self._dead_letters = dead_letters
        self._accepting = accepting

    def append(self, source: str, position: int, points: list[tuple[Any, Any, Any]]) -> list[tuple[int, str]]:
        """Queue ``(codename, unix time, value)`` points of ``source``, after which its
        points before ``position`` in its own stream are all queued. A point that
        fails the logger's checks is dead-lettered with its reason and the others are
        queued: returns ``(index, reason)`` of those."""
        if not self._accepting():
            raise IntakeClosedError("the logger is stopped: the points were not queued")
        check = self._validator.check
        type_ids = self._validator.type_ids
        low, high = self._validator.time_range
        nan = float("nan")
        good: list[Any] = []
        refused: list[tuple[int, str]] = []
        letters: list[tuple[str, float, float | None, str, Any]] = []
        for index, (codename, stamp, value) in enumerate(points):
            type_id = type_ids.get(codename)
            if (  # the common case, inlined as in the logger's enqueue; check() does the rest
                type_id is not None
                and type(value) is float
                and value - value == 0.0
                and type(stamp) is float
                and low <= stamp <= high
            ):
                good.append((type_id, stamp, value))
                continue
            try:
                point = check(codename, stamp, nan if value is None else value)
            except (TypeError, ValueError, KeyError) as error:
                reason = str(error)
                refused.append((index, reason))
                stamp = stamp if isinstance(stamp, (int, float)) else 0.0
                letters.append((str(codename), float(stamp), value, reason, {"source": source}))
                continue
            if point is not None:
                good.append(point)
        if letters:
            self._dead_letters.add_many(letters)
        self._buffer.append_from(source, position, good)
        return refused

    def append_columns(
        self,
        source: str,
        position: int,
        codenames: Sequence[str],
        indices: Sequence[int],
        times: Sequence[float],
        values: Sequence[float],
    ) -> list[tuple[int, str]]:
        """:meth:`append` for points given column by column: point ``i`` is
        ``(codenames[indices[i]], times[i], values[i])`` (times finite; a value not
        finite stands for None). Checked with C-level passes when every codename is
        known, every time within the range and every value finite (a ``sum`` is finite
        exactly when its terms are, barring an overflow, which only costs the slow way);
        otherwise point by point, as :meth:`append`."""
        type_ids = self._validator.type_ids
        ids = [type_ids.get(codename) for codename in codenames]
        low, high = self._validator.time_range
        if (
            times
            and None not in ids
            and low <= min(times)
            and max(times) <= high
            and math.isfinite(sum(values))
        ):
            if not self._accepting():
                raise IntakeClosedError("the logger is stopped: the points were not queued")
            known = cast("list[int]", ids)  # no None among them
            types = array("q", map(known.__getitem__, indices))
            self._buffer.append_from(source, position, PointColumns(types, _doubles(times), _doubles(values)))
            return []
        return self.append(
            source,
            position,
            [
                (codenames[index], stamp, value if value - value == 0.0 else None)
                for index, stamp, value in zip(indices, times, values, strict=True)
            ],
        )

    def dead_letter(self, source: str, refused: list[tuple[str, str, Any]]) -> None:
        """Set aside what a source sent that is no point at all: ``(codename or "?",
        reason, what it sent)``."""
        self._dead_letters.add_many(
            [
                (codename, 0.0, None, reason, {"source": source, "sent": repr(raw)[:200]})
                for codename, reason, raw in refused
            ]
        )

    def positions(self) -> dict[str, int]:
        """Each source's position before which its points survive a crash."""
        return self._buffer.durable_sources()

    def forget(self, sources: list[str]) -> None:
        """Drop these sources' positions (with the next group commit)."""
        self._buffer.forget_sources(sources)

    def durable_ticket(self) -> int:
        """A ticket for everything appended so far: :meth:`durable_past` says when
        it survives a crash (without waiting)."""
        return self._buffer.flush_ticket()

    def durable_past(self, ticket: int) -> bool:
        """Whether what was appended before ``ticket`` was taken survives a crash."""
        return self._buffer.flushes >= ticket

    def wait_durable(self, timeout: float) -> bool:
        """Wait until every point appended so far survives a crash."""
        return self._buffer.wait_flushed(timeout)
