"""Serial instrument drivers built on :mod:`PyExpLabSys.drivers.base`.

All drivers raise :class:`InstrumentError` subclasses on failure and return measured
values as :class:`Reading` (value + status).
"""

from .base import (
    ChecksumError,
    GarbledReply,
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    PortGone,
    Reading,
    SerialInstrument,
    Status,
)

__all__ = [
    "ChecksumError",
    "GarbledReply",
    "InstrumentError",
    "InstrumentReportedError",
    "InstrumentTimeout",
    "PortGone",
    "Reading",
    "SerialInstrument",
    "Status",
]
