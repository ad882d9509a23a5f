"""Serial instrument drivers built on :mod:`PyExpLabSys.drivers.base`.

Methods keep PyExpLabSys's names and return what its drivers returned, on every path:
where an instrument refuses, is silent or is off, the same sentinels in the same types
(the rule: :mod:`.upstream`; each driver's table of sentinels in its module). Each
measurement has a twin ``<name>_reading`` that returns a :class:`Reading` (value + the
instrument's status) and raises :class:`InstrumentError` subclasses on every failure;
the service uses those. Every :class:`InstrumentError` is an ``OSError``; time-outs are
also ``TimeoutError``, garbled and refused replies also ``ValueError``. The drivers are
registered by name in :mod:`.registry`.
"""

from .base import (
    ChecksumError,
    EmptyReply,
    GarbledReply,
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
    PortGone,
    Reading,
    SerialInstrument,
    Status,
    UnknownCode,
)

__all__ = [
    "ChecksumError",
    "EmptyReply",
    "GarbledReply",
    "InstrumentError",
    "InstrumentReportedError",
    "InstrumentTimeout",
    "NoValue",
    "PortGone",
    "Reading",
    "SerialInstrument",
    "Status",
    "UnknownCode",
]
