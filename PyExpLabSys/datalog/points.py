"""The point type and its validation.

A point is the tuple ``(type_id, unixtime, value)`` where ``type_id`` is the database id
of the codename, ``unixtime`` a float of seconds since the epoch and ``value`` a float or
``None`` (stored as NULL). Tuples keep the enqueue path at about a microsecond; this
module holds the checks that turn what an instrument script passes into such a tuple, with
a clear error at the call for anything that cannot be stored.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

from ..values import TIMESTAMP_RANGE, Point
from .policies import NonFinitePolicy

LOG = logging.getLogger(__name__)

__all__ = ["TIMESTAMP_RANGE", "Point", "PointValidator", "UnknownCodenameError"]


class UnknownCodenameError(KeyError, ValueError):
    """Raised when a point names a codename the logger was not started with."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _is_real_number(value: Any) -> bool:
    return isinstance(value, (int, float)) or (
        hasattr(value, "__float__") and not isinstance(value, (str, bytes, bytearray, complex))
    )


class PointValidator:
    """Turns (codename, time, value) into a :class:`Point`, or raises a clear error.

    ``check`` is the complete, slow path; the logger inlines the common case (a known
    codename, a finite float) and calls ``check`` for everything else, so both paths give
    the same answers.
    """

    def __init__(
        self,
        type_ids: Mapping[str, int],
        nonfinite: NonFinitePolicy = NonFinitePolicy.NULL,
        time_range: tuple[float, float] = TIMESTAMP_RANGE,
    ) -> None:
        self.type_ids = dict(type_ids)
        self.nonfinite = NonFinitePolicy(nonfinite)
        self.time_range = time_range
        self._lock = threading.Lock()
        self.nonfinite_seen = 0
        self.nonfinite_dropped = 0

    def add(self, type_ids: Mapping[str, int]) -> None:
        """Know these codenames too (the logger added them while running)."""
        self.type_ids = {**self.type_ids, **type_ids}

    def type_id(self, codename: Any) -> int:
        """The database id of ``codename``; an error naming it and the known ones."""
        try:
            return self.type_ids[codename]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self.type_ids)) or "(none)"
            raise UnknownCodenameError(
                f"unknown codename {codename!r}: this logger was started with {known}"
            ) from None

    def value(self, value: Any) -> float | None:
        """``value`` as a float, or None for a non-finite value under the NULL policy.

        Raises TypeError for what is not a real number (strings, None, sequences) and
        ValueError for NaN/inf under the REJECT policy. Returns the sentinel ``DROP``
        for a non-finite value under the DROP policy.
        """
        if isinstance(value, bool) or not _is_real_number(value):
            raise TypeError(
                f"value must be a real number (int or float), not {type(value).__name__}: {value!r:.80}"
            )
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as error:
            raise TypeError(f"value {value!r:.80} cannot be stored as a number: {error}") from None
        if math.isfinite(number):
            return number
        with self._lock:
            self.nonfinite_seen += 1
            if self.nonfinite is NonFinitePolicy.DROP:
                self.nonfinite_dropped += 1
        if self.nonfinite is NonFinitePolicy.REJECT:
            raise ValueError(f"value {number!r} is not finite (policy: reject)")
        if self.nonfinite is NonFinitePolicy.DROP:
            return DROP  # type: ignore[return-value]  # a sentinel that check() filters out
        return None

    def time(self, unixtime: Any) -> float:
        """``unixtime`` as a float within the range the time column can store."""
        if isinstance(unixtime, bool) or not _is_real_number(unixtime):
            raise TypeError(
                f"time must be a unix time in seconds (a real number), not "
                f"{type(unixtime).__name__}: {unixtime!r:.80}"
            )
        number = float(unixtime)
        low, high = self.time_range
        if not low <= number <= high:  # also False for NaN
            raise ValueError(
                f"time {number!r} is outside what the time column can store "
                f"({low:.0f} to {high:.0f} unix seconds)"
            )
        return number

    def check(self, codename: Any, unixtime: Any, value: Any) -> Point | None:
        """The full check of one point: a Point, None when the policy drops it, or raise."""
        type_id = self.type_id(codename)
        number = self.value(value)
        stamp = self.time(unixtime)
        if number is DROP:
            return None
        return (type_id, stamp, number)

    @staticmethod
    def unpack(point: Any) -> tuple[Any, Any]:
        """Split a ``(unixtime, value)`` pair; ValueError for anything else."""
        if isinstance(point, (str, bytes, bytearray)):
            raise ValueError(f"point must be a (unixtime, value) pair, not a string: {point!r:.80}")
        try:
            unixtime, value = point
        except (TypeError, ValueError):
            raise ValueError(
                f"point must be a (unixtime, value) pair of exactly two items, got {point!r:.80}"
            ) from None
        return unixtime, value


DROP = object()  # marker for "the non-finite policy drops this point"
