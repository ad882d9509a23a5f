"""Snapshots of what the logger is doing, for scripts, the service and monitoring."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LoggerStatus", "StopReport"]


@dataclass(frozen=True)
class LoggerStatus:
    """One consistent-enough look at the logger (counters since start).

    Times are unix seconds; ages are seconds. ``last_error`` never contains a password:
    it is built from driver messages, which do not carry them.
    """

    running: bool
    connected: bool
    backend: str
    queued: int
    committed: int
    batches: int
    reconnects: int
    timeouts: int
    reconciled_batches: int
    dead_lettered: int
    last_commit_time: float | None
    oldest_queued_age: float | None
    nonfinite_seen: int
    nonfinite_dropped: int
    current_backoff: float
    last_error: str | None
    spooled: int = 0
    spool_bytes: int = 0
    oldest_spooled_age: float | None = None
    overflowed: int = 0
    #: The database node in use (``host:port``) where the backend chooses among several.
    node: str | None = None
    #: Seconds from a point's time stamp (its enqueue time, for ``enqueue_point_now``)
    #: to its commit: median, 99th percentile and maximum over the recent batches,
    #: taken from the oldest point of each batch. None before the first commit.
    commit_latency_p50: float | None = None
    commit_latency_p99: float | None = None
    commit_latency_max: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for a log or systemd's STATUS=."""
        state = "connected" if self.connected else "disconnected"
        age = "-" if self.oldest_queued_age is None else f"{self.oldest_queued_age:.1f}s"
        spool = f", spooled {self.spooled}" if self.spooled else ""
        lost = f", OVERFLOWED {self.overflowed}" if self.overflowed else ""
        if self.node:
            state += f" to {self.node}"
        return (
            f"{state}, queued {self.queued} (oldest {age}), committed {self.committed} "
            f"in {self.batches} batches, reconnects {self.reconnects}{spool}{lost}"
        )


@dataclass(frozen=True)
class StopReport:
    """What ``stop()`` achieved: delivered everything, or what is left and why."""

    delivered_all: bool
    undelivered: int
    outcome_unknown: int = 0
    per_codename: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    spooled: int = 0  # not delivered, but safe in the spool for the next start

    def __bool__(self) -> bool:
        return self.delivered_all
