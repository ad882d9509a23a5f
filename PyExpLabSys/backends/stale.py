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

#: How often the process list is polled while a killed connection winds down.
POLL_INTERVAL = 0.01


class StaleConnections:
    """Ids of earlier connections that may still be running on the server."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def add(self, connection_id: int) -> None:
        self.ids.append(connection_id)

    def end(
        self,
        kill: Callable[[int], None],
        count_running: Callable[[str, Sequence[Any]], int],
        timeout: float,
    ) -> None:
        """Kill every stale connection (``kill(id)``, which tolerates one already gone)
        and wait until ``count_running(statement, args)`` says none runs; raise
        ConnectionFailed if one still runs after ``timeout`` seconds."""
        if not self.ids:
            return
        for stale in self.ids:
            kill(stale)
        placeholders = ",".join(["%s"] * len(self.ids))
        statement = f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({placeholders})"
        deadline = time.monotonic() + timeout
        while count_running(statement, self.ids):
            if time.monotonic() > deadline:
                raise ConnectionFailed(f"stale connection(s) {self.ids} still running")
            time.sleep(POLL_INTERVAL)  # polling the server's process list, bounded by the deadline
        self.ids.clear()
