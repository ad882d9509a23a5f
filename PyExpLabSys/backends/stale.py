"""Ending the connections a backend gave up on, before anything is sent again.

A connection abandoned after a time-out or a partition may still be executing on the
server, or hold an open transaction. Before reconciliation looks at the table, the
backend kills those connections (``KILL CONNECTION``) and waits until the server's
process list no longer shows them, so their outcome is final.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from .base import ConnectionFailed

LOG = logging.getLogger(__name__)

__all__ = ["StaleConnections"]

#: A server as it names itself: (``@@hostname``, ``@@port``).
Server = tuple[str, int]
#: How often the process list is polled while a killed connection winds down.
POLL_INTERVAL = 0.01


class StaleConnections:
    """Earlier connections that may still be running, by the server they ran on.

    A connection id means something only on its own server: after a move to another
    node of a cluster, the connections left on the old node cannot be ended from the
    new one (the batch ledger fences what they might still try to commit)."""

    def __init__(self) -> None:
        self._ids: dict[Server, list[int]] = {}

    def add(self, server: Server, connection_id: int) -> None:
        self._ids.setdefault(server, []).append(connection_id)

    def end(
        self,
        server: Server,
        kill: Callable[[int], None],
        count_running: Callable[[str, Sequence[Any]], int],
        timeout: float,
    ) -> None:
        """Kill every stale connection of ``server`` (``kill(id)``, which tolerates one
        already gone) and wait until ``count_running(statement, args)`` says none runs;
        raise ConnectionFailed if one still runs after ``timeout`` seconds. Those of
        other servers are forgotten."""
        for other in [s for s in self._ids if s != server]:
            LOG.info(
                "connection(s) %s on %s:%s are left to that server (now on %s:%s)",
                self._ids.pop(other),
                *other,
                *server,
            )
        ids = self._ids.get(server)
        if not ids:
            return
        for stale in ids:
            kill(stale)
        placeholders = ",".join(["%s"] * len(ids))
        statement = f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({placeholders})"
        deadline = time.monotonic() + timeout
        while count_running(statement, ids):
            if time.monotonic() > deadline:
                raise ConnectionFailed(f"stale connection(s) {ids} still running")
            time.sleep(POLL_INTERVAL)  # polling the server's process list, bounded by the deadline
        del self._ids[server]
