"""The point buffer: where points wait, in order, until the database has committed them.

Producers (instrument threads) only ever ``append``; that is one ``deque.append``, atomic
under the GIL, so enqueueing never takes a lock and never waits for the database. The one
consumer (the drain) ``peek``s a batch, which moves points from the incoming deque into an
in-flight list that the consumer alone owns, and ``ack``s them once they are committed.
Points in flight are still in the buffer: they count as queued and are handed out again
by the next ``peek`` until acknowledged, so a failed batch is simply retried.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["PointBuffer", "first_item"]


def first_item(*queues: Any) -> Any | None:
    """The first item of the first non-empty queue; safe while a consumer pops."""
    for queue in queues:
        try:
            return queue[0]
        except IndexError:
            continue
    return None


class PointBuffer:
    """FIFO of points with peek/ack semantics; many producers, one consumer."""

    def __init__(self) -> None:
        self._incoming: deque[Any] = deque()
        self._inflight: list[Any] = []
        self._acked = 0  # stream position of the oldest queued point
        # Bound method: the fastest way for producers to add a point.
        self.append = self._incoming.append

    def __len__(self) -> int:
        return len(self._incoming) + len(self._inflight)

    def peek(self, max_points: int) -> list[Any]:
        """Up to ``max_points`` oldest points, without removing them (consumer only)."""
        inflight = self._inflight
        take = min(max_points - len(inflight), len(self._incoming))
        if take > 0:  # producers only append on the right: these `take` are there
            popleft = self._incoming.popleft
            inflight.extend([popleft() for _ in range(take)])
        return inflight[:max_points]

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

    def oldest(self) -> Any | None:
        """The oldest point still queued, or None (a racy but safe read for status)."""
        return first_item(self._inflight, self._incoming)

    def snapshot(self) -> list[Any]:
        """A copy of every queued point, oldest first (consumer only, e.g. at stop)."""
        return self._inflight + list(self._incoming)
