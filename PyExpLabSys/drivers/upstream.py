"""What PyExpLabSys's driver methods return when an instrument refuses, is silent or is off.

**The rule.** A driver method that has PyExpLabSys's name returns what PyExpLabSys's
method returned on *every* path, the bad ones included, in the same types: its
sentinels (``-1.0``, ``0.0``, ``nan``, ``None``, ``''``, ``'?FF'``), ``True`` where it
ignored the reply, ints where it gave ints. Where PyExpLabSys's method raised, ours
raises at least the same built-in type (see the error classes in :mod:`.base`: every
driver error is an ``OSError``, a time-out is a ``TimeoutError``, a garbled or refused
reply and a reading without a number are ``ValueError``). Each driver module lists its
sentinels in a table.

The strict behaviour lives under the project's own names: the ``*_reading`` twins (a
:class:`~.base.Reading` with the instrument's status, or an :class:`~.base.InstrumentError`)
and the methods PyExpLabSys did not have. The service's readers call only those, so a
sentinel is never logged as a value.

Two exceptions hold for every driver: a port that vanished raises
:class:`~.base.PortGone` (an ``OSError``, as pyserial's error was), and a bad argument
from the caller raises ``ValueError`` before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .base import (
    EmptyReply,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
    Reading,
    Status,
)

LOG = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")


def or_sentinel(read: Callable[[], T], sentinel: S, what: str, attempts: int = 1) -> T | S:
    """``read()``, or ``sentinel`` where PyExpLabSys's method gave it up.

    A reading without a number (:class:`~.base.NoValue`) and a silent unit give the
    sentinel at once; a garbled or refused reply is tried again, ``attempts`` exchanges
    in all (PyExpLabSys retried replies it could not read), then gives the sentinel.
    Each sentinel is logged with its cause. A vanished port raises.
    """
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except NoValue as error:
            LOG.info("%s: %s; returning %r", what, error, sentinel)
            return sentinel
        except InstrumentTimeout as error:
            LOG.warning("%s: %s; returning %r", what, error, sentinel)
            return sentinel
        except (GarbledReply, InstrumentReportedError) as error:
            if attempt == attempts:
                LOG.warning("%s: %s (%d tries); returning %r", what, error, attempts, sentinel)
    return sentinel


@contextmanager
def silence_is_value_error() -> Iterator[None]:
    """Raise a silent unit's time-out as :class:`~.base.EmptyReply` (also a
    ``ValueError``), for methods whose original parsed the empty reply and so raised
    ``ValueError``."""
    try:
        yield
    except EmptyReply:
        raise
    except InstrumentTimeout as timeout:
        raise EmptyReply(str(timeout), timeout.partial) from timeout


def number_only(reading: Reading) -> float:
    """The value of a reading with status OK; :class:`~.base.NoValue` for any other
    (PyExpLabSys's ``float(text)`` failed on ``LO``, ``<1E-4``, ``OPEN`` alike)."""
    if reading.status is not Status.OK or reading.value is None:
        raise NoValue(reading)
    return reading.value
