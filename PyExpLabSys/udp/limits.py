"""How much a UDP socket accepts: the size of a datagram, and how many a sender (and all
senders together) may send per second before the rest is dropped.

The gate is a token bucket per source address plus one for all sources: a client that
polls, even fast, never meets it; a flood costs the owning process a bounded share of
its time (each dropped datagram is counted, none is answered: answering would amplify).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DatagramLimits", "FloodGate"]


@dataclass(frozen=True)
class DatagramLimits:
    """Bounds of one socket. ``max_datagram`` in bytes (upstream's socketserver read
    8192 and cut longer datagrams short; here a longer one is refused whole), rates in
    datagrams per second, bursts in datagrams, ``max_sources`` senders remembered.

    A reply costs the server some 20-40 µs, so the defaults keep one sender under about
    a tenth of a core and all senders together under a quarter; a client that asks
    once a second (a live plot, another setup) is thousands of times below them."""

    max_datagram: int = 8192
    per_source_rate: float = 2000.0
    per_source_burst: float = 500.0
    total_rate: float = 5000.0
    total_burst: float = 1000.0
    max_sources: int = 4096

    def __post_init__(self) -> None:
        for name in ("max_datagram", "per_source_rate", "per_source_burst", "total_rate", "total_burst"):
            if not getattr(self, name) > 0:
                raise ValueError(f"DatagramLimits.{name} must be > 0, not {getattr(self, name)!r}")
        if self.max_datagram > 65507:
            raise ValueError("DatagramLimits.max_datagram: a UDP datagram holds at most 65507 bytes")
        if self.max_sources < 1:
            raise ValueError("DatagramLimits.max_sources must be >= 1")


class _Bucket:
    __slots__ = ("last", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens, self.last = tokens, now

    def take(self, rate: float, burst: float, now: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.last) * rate)
        self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class FloodGate:
    """``admit(source)``: may this datagram be answered? Used by one thread only."""

    def __init__(self, limits: DatagramLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._total = _Bucket(limits.total_burst, clock())
        self._sources: OrderedDict[str, _Bucket] = OrderedDict()

    def admit(self, source: str) -> bool:
        limits, now = self.limits, self._clock()
        bucket = self._sources.get(source)
        if bucket is None:
            bucket = self._sources[source] = _Bucket(limits.per_source_burst, now)
            if len(self._sources) > limits.max_sources:  # forget the longest silent sender
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(source)
        if not bucket.take(limits.per_source_rate, limits.per_source_burst, now):
            return False
        return self._total.take(limits.total_rate, limits.total_burst, now)
