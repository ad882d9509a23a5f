"""Serial instrument drivers built on :mod:`PyExpLabSys.drivers.base`.

Measurement methods keep PyExpLabSys's names and return what its drivers returned (a
plain ``float`` for a single value, raising :class:`NoValue` when the instrument sends no
number); each has a twin ``<name>_reading`` that returns a :class:`Reading` (value +
the instrument's status). All failures raise :class:`InstrumentError` subclasses. The
drivers are registered by name in :mod:`.registry`.
"""

from .base import (
    ChecksumError,
    GarbledReply,
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeout,
    NoValue,
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
    "NoValue",
    "PortGone",
    "Reading",
    "SerialInstrument",
    "Status",
]
