"""Pfeiffer TPG 261 / 262 (and TPG 361 / 362) vacuum gauge controllers.

Port: 9600 baud (19200, 38400 selectable), 8N1, no handshake. Two-step exchange: the
host sends a mnemonic + CR LF, the unit acknowledges with ACK CR LF (NAK CR LF when it
did not understand), the host sends ENQ and the unit sends the data + CR LF. ETX clears
the unit's input buffer; the driver sends it to resynchronise after an error. No
checksum.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    Status,
    decode_ascii,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

T = TypeVar("T")

CRLF = b"\r\n"
ACK = b"\x06"
NAK = b"\x15"
ENQ = b"\x05"
ETX = b"\x03"

#: Status digit sent with each pressure.
GAUGE_STATUS = {
    "0": Status.OK,
    "1": Status.UNDERRANGE,
    "2": Status.OVERRANGE,
    "3": Status.SENSOR_ERROR,
    "4": Status.SENSOR_OFF,
    "5": Status.NO_SENSOR,
    "6": Status.IDENTIFICATION_ERROR,
}
#: Statuses whose number is a measurement (else the number means nothing).
_STATUS_WITH_VALUE = {Status.OK, Status.UNDERRANGE, Status.OVERRANGE}
PRESSURE_UNITS = {"0": "mbar", "1": "Torr", "2": "Pa"}


# --------------------------------------------------------------------------- pure functions
def check_acknowledgement(reply: bytes) -> None:
    """Accept ``ACK CR LF``; raise on NAK or anything else."""
    if reply == ACK + CRLF:
        return
    if reply == NAK + CRLF:
        raise InstrumentReportedError("NAK", "mnemonic not understood", reply)
    raise GarbledReply("expected ACK or NAK", reply)


def data_text(reply: bytes) -> str:
    """The data of a reply (``...CR LF``) as text."""
    return decode_ascii(strip_terminator(reply, CRLF))


def _reading(status_text: str, value_text: str, reply: bytes) -> Reading:
    status = GAUGE_STATUS.get(status_text)
    if status is None:
        raise GarbledReply("unknown gauge status", reply)
    value = parse_float(value_text, reply)
    return Reading(value if status in _STATUS_WITH_VALUE else None, status)


def parse_pressure(reply: bytes) -> Reading:
    """Parse ``s,sx.xxxxEsxx CR LF`` (reply to ``PR1``/``PR2``).

    Underrange and overrange keep the number the unit sent; for sensor error, sensor
    off, no sensor and identification error the value is None.
    """
    fields = data_text(reply).split(",")
    if len(fields) != 2:
        raise GarbledReply("expected status,value", reply)
    return _reading(fields[0], fields[1], reply)


def parse_pressures(reply: bytes) -> tuple[Reading, Reading]:
    """Parse ``s1,v1,s2,v2 CR LF`` (reply to ``PRX``)."""
    fields = data_text(reply).split(",")
    if len(fields) != 4:
        raise GarbledReply("expected s1,v1,s2,v2", reply)
    return _reading(fields[0], fields[1], reply), _reading(fields[2], fields[3], reply)


def parse_identification(reply: bytes) -> tuple[str, ...]:
    """Parse ``TPR,noSEn CR LF`` (reply to ``TID``) into one name per gauge."""
    names = tuple(data_text(reply).split(","))
    if not all(name and name.isprintable() for name in names):
        raise GarbledReply("bad gauge identification", reply)
    return names


def parse_unit(reply: bytes) -> str:
    """Parse the reply to ``UNI`` into ``mbar``, ``Torr`` or ``Pa``."""
    text = data_text(reply)
    try:
        return PRESSURE_UNITS[text]
    except KeyError:
        raise GarbledReply("unknown pressure unit", reply) from None


# --------------------------------------------------------------------------- drivers
class TPG26x(SerialInstrument):
    """Common part of the TPG 261 and TPG 262 drivers."""

    baudrate = 9600
    bytesize = serial.EIGHTBITS
    parity = serial.PARITY_NONE
    stopbits = serial.STOPBITS_ONE
    reply_terminator = CRLF
    #: Gauges this controller has.
    gauges = 2

    def query(self, mnemonic: str, parse: Callable[[bytes], T]) -> T:
        """Send ``mnemonic``, check the acknowledgement, ask for the data with ENQ."""
        with self.transaction():
            self.send(mnemonic.encode("ascii") + CRLF)
            check_acknowledgement(self.receive())
            self.send(ENQ)
            return parse(self.receive())

    def _resync(self, ser: serial.SerialBase) -> None:
        """Clear the unit's input buffer with ETX, then drain late bytes."""
        ser.write(ETX)
        super()._resync(ser)

    def pressure_gauge(self, gauge: int = 1) -> Reading:
        """Pressure of ``gauge`` (1 or 2) with the status the unit reports."""
        if not 1 <= gauge <= self.gauges:
            raise ValueError(f"{type(self).__name__} has gauges 1..{self.gauges}")
        return self.query(f"PR{gauge}", parse_pressure)

    def pressure_gauges(self) -> tuple[Reading, Reading]:
        """Pressures of both gauges in one exchange (``PRX``)."""
        return self.query("PRX", parse_pressures)

    def gauge_identification(self) -> tuple[str, ...]:
        """Gauge types, e.g. ``('TPR', 'noSEn')`` (noSEn: no sensor)."""
        return self.query("TID", parse_identification)

    def pressure_unit(self) -> str:
        """Unit of the pressure readings: ``mbar``, ``Torr`` or ``Pa``."""
        return self.query("UNI", parse_unit)

    def program_number(self) -> str:
        """Firmware version (``PNR``)."""
        return self.query("PNR", data_text)

    def reset(self) -> str:
        """Reset the unit (``RST``); returns the unit's answer (pending errors)."""
        return self.query("RST", data_text)


class TPG261(TPG26x):
    """Pfeiffer TPG 261 (one gauge)."""

    gauges = 1


class TPG262(TPG26x):
    """Pfeiffer TPG 262 (two gauges)."""

    gauges = 2
