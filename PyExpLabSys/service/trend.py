"""The last hour of each channel's values, kept in memory for the live page.

A bounded ring per codename, fed by the service's status round from the snapshot it
builds anyway (never by the readers or the enqueue path): at most one value per
``step`` seconds, for ``span`` seconds. The page asks for a few hundred points per
codename (:meth:`TrendRing.series`), averaged per time bucket.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LOG = logging.getLogger(__name__)

__all__ = ["TrendRing", "wants_log_scale"]

#: A series spanning more than this many decades is drawn on a log scale.
LOG_DECADES = 2.0


def wants_log_scale(values: Iterable[float]) -> bool:
    """True when all values are positive and span more than two decades (pressures)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite or min(finite) <= 0:
        return False
    return math.log10(max(finite) / min(finite)) > LOG_DECADES


class TrendRing:
    """Per codename, the values of the last ``span`` seconds, one per ``step`` at most."""

    def __init__(self, span: float = 3600.0, step: float = 1.0) -> None:
        if span <= 0 or step <= 0:
            raise ValueError("TrendRing: span and step must be > 0")
        self.span, self.step = span, step
        self._capacity = math.ceil(span / step) + 1
        self._rings: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def add(self, codename: str, when: float, value: float) -> None:
        """Keep ``value`` read at ``when`` unless the last kept one is younger than a step."""
        with self._lock:
            ring = self._rings.get(codename)
            if ring is None:
                ring = self._rings[codename] = deque(maxlen=self._capacity)
            if ring and when - ring[-1][0] < self.step:
                return
            ring.append((when, value))

    def record(self, snapshot: Mapping[str, Any]) -> None:
        """Take each channel's newest valid value, and each client codename's newest
        value, from a service snapshot."""
        for instrument in snapshot.get("instruments", []):
            for channel in instrument["channels"]:
                when, value = channel.get("last_valid_time"), channel.get("last_value")
                if when is not None and value is not None:
                    self.add(channel["codename"], when, value)
        for card in snapshot.get("clients", []):
            when, value = card.get("last_time"), card.get("last_value")
            if when is not None and value is not None:
                self.add(card["codename"], when, value)

    def series(self, now: float, buckets: int = 240) -> dict[str, dict[str, Any]]:
        """Per codename: ``points`` ([time, mean value] per time bucket of the last
        ``span``, at most ``buckets``) and ``log`` (draw on a log scale)."""
        with self._lock:
            rings = {name: list(ring) for name, ring in self._rings.items()}
        start = now - self.span
        out: dict[str, dict[str, Any]] = {}
        for name, points in rings.items():
            recent = [(t, v) for t, v in points if t >= start]
            out[name] = {
                "points": _bucketed(recent, start, now, buckets),
                "log": wants_log_scale(v for _, v in recent),
            }
        return out


def _bucketed(
    points: Sequence[tuple[float, float]], start: float, end: float, buckets: int
) -> list[list[float]]:
    """The mean time and value of the points in each of ``buckets`` equal slices."""
    if len(points) <= buckets:
        return [[t, v] for t, v in points]
    width = (end - start) / buckets
    sums: dict[int, list[float]] = {}
    for t, v in points:
        acc = sums.setdefault(min(buckets - 1, int((t - start) / width)), [0.0, 0.0, 0.0])
        acc[0] += t
        acc[1] += v
        acc[2] += 1
    return [[acc[0] / acc[2], acc[1] / acc[2]] for _, acc in sorted(sums.items())]
