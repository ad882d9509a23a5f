"""Policies of the logging core: small frozen objects with their defaults written once.

Each policy says *what* the logger does in one situation (a connection fails, a value is
not finite, a batch is due) so that the code that acts on it stays free of magic numbers.
Replace a policy with ``dataclasses.replace(policy, field=...)`` or by constructing one.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from ..values import Timeouts  # the ground floor; importable from here as before

__all__ = ["BatchPolicy", "NonFinitePolicy", "Overflow", "RetryPolicy", "SpoolPolicy", "Timeouts"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter between attempts to reach the database.

    The first retry comes fast (``first_delay``), so a single dropped connection costs
    almost nothing; after that the ceiling doubles per failure up to ``max_delay`` and the
    actual wait is drawn uniformly below it (full jitter), so many lab PCs that lost the
    same server do not hammer it in lock-step when it comes back.
    """

    first_delay: float = 0.05
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if min(self.first_delay, self.base_delay, self.max_delay) < 0:
            raise ValueError("RetryPolicy delays must be >= 0")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be >= 1")

    def ceiling(self, failures: int) -> float:
        """Upper bound of the wait after ``failures`` consecutive failures (>= 1)."""
        if failures <= 1:
            return min(self.first_delay, self.max_delay)
        exponent = min(failures - 2, 64)  # keeps the power finite
        return min(self.base_delay * self.multiplier**exponent, self.max_delay)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """The wait before the next attempt: uniform in [0, ceiling] (full jitter)."""
        ceiling = self.ceiling(failures)
        return (rng or random).uniform(0.0, ceiling) if failures > 1 else ceiling


class NonFinitePolicy(enum.Enum):
    """What to do with NaN and ±inf, which are real readings (an over-range gauge).

    NULL: store the point with a NULL value (the classic column allows it) and count it.
    DROP: do not store the point, count it.
    REJECT: raise ``ValueError`` at the enqueue call.
    """

    NULL = "null"
    DROP = "drop"
    REJECT = "reject"


@dataclass(frozen=True)
class BatchPolicy:
    """How points are grouped into one INSERT + COMMIT.

    ``flush_interval`` is the latency budget: into a database server (MySQL, ODBC, and
    the mock of them) a batch is sent when its oldest point has waited that long (by its
    time stamp), or as soon as ``max_points`` wait, or when a flush or stop asks for the
    points; other backends (SQLite, the service's socket) send what waits at once and
    look again after at most ``flush_interval``. Each commit costs the server a fixed price
    (about as much as 50 rows), so a longer budget means fewer, larger commits and
    less server CPU per point, at the price of latency: a point is committed within
    about ``flush_interval`` plus the commit's own time. The default keeps the 99th
    percentile of enqueue-to-commit under one second (docs/capacity.rst).
    """

    max_points: int = 20000
    flush_interval: float = 0.5

    def __post_init__(self) -> None:
        if self.max_points < 1:
            raise ValueError("BatchPolicy.max_points must be >= 1")
        if not self.flush_interval > 0:
            raise ValueError("BatchPolicy.flush_interval must be > 0")


class Overflow(enum.Enum):
    """What the spool gives up when it reaches its size limit (counted and logged).

    DROP_OLDEST: delete the oldest waiting points to make room (the recent past matters
    most when the outage ends). DROP_NEWEST: keep what is spooled, refuse new points.
    """

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


@dataclass(frozen=True)
class SpoolPolicy:
    """The durable spool: how often it commits, what it keeps in RAM, how large it gets.

    ``group_commit_interval``: points reach the disk in one transaction at most this
    often (a point enqueued longer ago than this survives a kill of the process).
    ``max_ram_points``: the oldest waiting points are kept in RAM for the drain up to
    this many; the rest wait on disk only. ``max_spool_bytes``: the spool's size limit,
    enforced by ``overflow``. ``synchronous``: SQLite's setting; NORMAL survives a killed
    process, FULL also a power cut, at a cost per group commit.
    """

    group_commit_interval: float = 0.2
    max_ram_points: int = 100_000
    max_spool_bytes: int = 2 * 1024**3
    overflow: Overflow = Overflow.DROP_OLDEST
    synchronous: str = "NORMAL"

    def __post_init__(self) -> None:
        if not self.group_commit_interval > 0:
            raise ValueError("SpoolPolicy.group_commit_interval must be > 0")
        if self.max_ram_points < 1:
            raise ValueError("SpoolPolicy.max_ram_points must be >= 1")
        if self.max_spool_bytes < 64 * 1024:
            raise ValueError("SpoolPolicy.max_spool_bytes must be at least 64 KiB")
        object.__setattr__(self, "overflow", Overflow(self.overflow))
        if self.synchronous.upper() not in {"NORMAL", "FULL"}:
            raise ValueError("SpoolPolicy.synchronous must be NORMAL or FULL")
