"""Judging a status snapshot: how fresh each channel's value is, and whether the
service is healthy (``/healthz``).

One rule for the page, ``status.json`` and the health endpoint, so they never disagree:

* a client codename (sent by scripts through the points socket) is **fresh** while a
  connected client sends it and it has a value, **stale** otherwise (no client sends
  it now, or none sent a point yet): the service cannot know how often a script logs;
* a channel is **fresh** while its newest valid value is younger than
  :func:`stale_after`; **stale** once it is older (the instrument stopped answering,
  was unplugged, or reports no valid value); **error** when it never gave a valid value
  and its instrument is failing, or its reader thread is dead;
* the service is unhealthy when the logger thread is dead, the oldest point waiting
  for the database is older than ``health_max_waiting``, an instrument has given
  nothing valid for ``health_max_silence`` seconds, or the points socket cannot accept
  new clients (e.g. out of file descriptors).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

__all__ = ["ERROR", "FRESH", "STALE", "Health", "channel_state", "client_state", "judge", "stale_after"]

FRESH, STALE, ERROR = "fresh", "stale", "error"
#: A value is never called stale sooner than this (seconds), however fast the polling.
STALE_FLOOR = 5.0


def stale_after(interval: float, status_interval: float) -> float:
    """Seconds after which a channel's value counts as stale: three poll intervals or
    three status rounds, at least :data:`STALE_FLOOR`."""
    return max(3.0 * interval, 3.0 * status_interval, STALE_FLOOR)


def channel_state(channel: Mapping[str, Any], instrument: Mapping[str, Any], now: float, limit: float) -> str:
    """FRESH, STALE or ERROR for one channel of a snapshot (see the module's rule)."""
    valid = channel.get("last_valid_time")
    if not instrument.get("alive", True):
        return ERROR
    if valid is None:
        failing = instrument.get("error_streak", 0) > 0 or not instrument.get("connected", True)
        return ERROR if failing else STALE
    return FRESH if now - valid <= limit else STALE


def client_state(card: Mapping[str, Any]) -> str:
    """FRESH or STALE for one client codename of a snapshot (see the module's rule)."""
    return FRESH if card.get("clients") and card.get("last_time") is not None else STALE


@dataclass(frozen=True)
class Health:
    """The answer of ``/healthz``: ``ok``, or the reasons it is not."""

    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    def text(self) -> str:
        return "ok\n" if self.ok else "".join(f"{reason}\n" for reason in self.reasons)


def judge(snapshot: Mapping[str, Any], max_waiting: float, max_silence: float, now: float) -> Health:
    """The service's health from a snapshot of :meth:`~.runner.Service.snapshot`."""
    reasons: list[str] = []
    logger = snapshot.get("logger")
    if snapshot.get("state") != "running":
        reasons.append(f"service is {snapshot.get('state', 'unknown')}")
    if not logger or not logger.get("running"):
        reasons.append("logger thread is not running")
    else:
        waiting = [
            age
            for age in (logger.get("oldest_queued_age"), logger.get("oldest_spooled_age"))
            if age is not None
        ]
        if waiting and max(waiting) > max_waiting:
            reasons.append(f"oldest waiting point is {max(waiting):.0f} s old (limit {max_waiting:g} s)")
    points = snapshot.get("points_socket") or {}
    if points.get("accept_error"):
        reasons.append(f"points socket: {points['accept_error']}")
    started = float(snapshot.get("started") or now)
    for instrument in snapshot.get("instruments", []):
        times = [
            c["last_valid_time"]
            for c in instrument.get("channels", [])
            if c.get("last_valid_time") is not None
        ]
        since = max(times) if times else started
        if now - since > max_silence:
            what = "nothing valid" if times else "no valid value since start"
            reasons.append(
                f"instrument {instrument['name']}: {what} for {now - since:.0f} s (limit {max_silence:g} s)"
            )
        if not instrument.get("alive", True) and snapshot.get("state") == "running":
            reasons.append(f"instrument {instrument['name']}: reader thread is dead")
    return Health(tuple(reasons))
