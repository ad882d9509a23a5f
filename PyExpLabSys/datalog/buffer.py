"""The point buffer: where points wait, in order, until the database has committed them.

:class:`PointBuffer` is the interface; :class:`RamBuffer` (here) and
:class:`~.spool.SpoolBuffer` (the durable spool) implement it, and the logger and the
drain never ask which one they hold.

Producers (instrument threads) only ever ``append``; that is one ``deque.append``, atomic
under the GIL, so enqueueing never takes a lock and never waits for the database. The one
consumer (the drain) ``peek``s a batch, which moves points from the incoming deque into an
in-flight list that the consumer alone owns, and ``ack``s them once they are committed.
Points in flight are still in the buffer: they count as queued and are handed out again
by the next ``peek`` until acknowledged, so a failed batch is simply retried.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any, Protocol

from ..values import Point

__all__ = ["PointBuffer", "RamBuffer", "first_item"]


class PointBuffer(Protocol):
    """Where points wait: many producers append, one consumer peeks and acknowledges."""

    #: Add one point (any thread; never blocks, never takes a lock).
    append: Callable[[Point], None]

    def __len__(self) -> int:
        """Points waiting, in flight included."""

    def peek(self, max_points: int) -> list[Point]:
        """Up to ``max_points`` oldest points, without removing them (consumer only)."""

    def prefetch(self, max_points: int) -> None:
        """Make the ``max_points`` oldest points ready for the next :meth:`peek`
        (consumer only). The drain calls it while the database works on a batch, so
        that moving points along is not done while the database waits for the next."""

    def ack(self, count: int, checkpoint: Any = None) -> None:
        """Remove the ``count`` oldest points: the database has committed them;
        ``checkpoint`` is what the backend must remember with that position."""

    def head_seq(self) -> int:
        """Stream position of the oldest waiting point."""

    def durable_seq(self) -> float:
        """Every point below this stream position is acknowledged durably: a restart
        never resends from an older one."""

    def oldest(self) -> Point | None:
        """The oldest waiting point, or None (a racy but safe read, for status)."""

    def snapshot(self) -> list[Point]:
        """Waiting points held in RAM, oldest first (consumer only, e.g. at stop)."""

    def stats(self) -> dict[str, Any]:
        """Extra figures for the logger's status (e.g. the spool's), by field name."""

    def close(self) -> int:
        """Stop; returns how many waiting points are kept for the next start."""


def first_item(*queues: Any) -> Any | None:
    """The first item of the first non-empty queue; safe while a consumer pops."""
    for queue in queues:
        try:
            return queue[0]
        except IndexError:
            continue
    return None


class RamBuffer:
    """The point buffer in RAM: a FIFO with peek/ack; many producers, one consumer."""

    def __init__(self) -> None:
        self._incoming: deque[Point] = deque()
        self._inflight: list[Point] = []
        self._acked = 0  # stream position of the oldest queued point
        # Bound method: the fastest way for producers to add a point.
        self.append = self._incoming.append

    def __len__(self) -> int:
        return len(self._incoming) + len(self._inflight)

    def peek(self, max_points: int) -> list[Point]:
        """Up to ``max_points`` oldest points, without removing them (consumer only)."""
        self.prefetch(max_points)
        return self._inflight[:max_points]

    def prefetch(self, max_points: int) -> None:
        """Move points from the producers' queue to the consumer's list, up to
        ``max_points`` there (consumer only)."""
        take = min(max_points - len(self._inflight), len(self._incoming))
        if take > 0:  # producers only append on the right: these `take` are there
            self._inflight.extend(map(deque.popleft, repeat(self._incoming, take)))

    def durable_seq(self) -> float:
        """No durability in RAM: nothing restarts from an older position."""
        return float("inf")

    def head_seq(self) -> int:
        """Stream position of the oldest queued point (points acknowledged before it)."""
        return self._acked

    def ack(self, count: int, checkpoint: Any = None) -> None:
        """Remove the ``count`` oldest points: the database has committed them.
        (``checkpoint`` matters to the durable spool only.)"""
        if count > len(self._inflight):
            raise ValueError(f"cannot acknowledge {count} points, only {len(self._inflight)} in flight")
        del self._inflight[:count]
        self._acked += count

    def oldest(self) -> Point | None:
        """The oldest point still queued, or None (a racy but safe read for status)."""
        return first_item(self._inflight, self._incoming)

    def snapshot(self) -> list[Point]:
        """A copy of every queued point, oldest first (consumer only, e.g. at stop)."""
        return self._inflight + list(self._incoming)

    def stats(self) -> dict[str, Any]:
        """Nothing beyond the queue length: no spool."""
        return {}

    def close(self) -> int:
        """Nothing survives the process: no point is kept for the next start."""
        return 0
