"""Pfeiffer TPG 261 / 262 (and TPG 361 / 362) vacuum gauge controllers.

Port: 9600 baud (19200, 38400 selectable), 8N1, no handshake. Two-step exchange: the
host sends a mnemonic + CR LF, the unit acknowledges with ACK CR LF (NAK CR LF when it
did not understand), the host sends ENQ and the unit sends the data + CR LF. ETX clears
the unit's input buffer; the driver sends it to resynchronise after an error. No
checksum.
"""

from __future__ import annotations

import logging

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    Reading,
    SerialInstrument,
    Status,
    command,
    decode_ascii,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

CRLF = b"\r\n"
ACK = b"\x06"
NAK = b"\x15"
ENQ = b"\x05"
ETX = b"\x03"

#: Status code sent with each pressure → (our status, the manual's wording that
#: PyExpLabSys returns as the status message).
GAUGE_STATUS: dict[int, tuple[Status, str]] = {
    0: (Status.OK, "Measurement data okay"),
    1: (Status.UNDERRANGE, "Underrange"),
    2: (Status.OVERRANGE, "Overrange"),
    3: (Status.SENSOR_ERROR, "Sensor error"),
    4: (Status.SENSOR_OFF, "Sensor off"),
    5: (Status.NO_SENSOR, "No sensor"),
    6: (Status.IDENTIFICATION_ERROR, "Identification error"),
}
#: Statuses whose number is a measurement (else the number means nothing).
_STATUS_WITH_VALUE = {Status.OK, Status.UNDERRANGE, Status.OVERRANGE}
#: ``UNI`` answer → the unit's name as PyExpLabSys gives it.
PRESSURE_UNITS = {"0": "mbar/bar", "1": "Torr", "2": "Pascal"}
#: Gauge type codes of ``TID`` → what they are.
GAUGE_TYPES = {
    "TPR": "Pirani gauge (or Pirani capacitive gauge)",
    "IKR9": "cold cathode gauge down to 1E-9",
    "IKR11": "cold cathode gauge down to 1E-11",
    "PKR": "full range cold cathode gauge",
    "PBR": "full range Bayard-Alpert gauge",
    "IMR": "Pirani / high pressure gauge",
    "CMR": "linear (capacitive) gauge",
    "noSEn": "no sensor",
    "noid": "no identification",
}

#: One gauge's part of a pressure reply: (status code, the number sent).
GaugeField = tuple[int, float]
#: A pressure as PyExpLabSys returns it: (value, (status code, status message)).
UpstreamPressure = tuple[float, tuple[int, str]]


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


def parse_gauge_fields(data: str, gauges: int) -> list[GaugeField]:
    """Split ``s,sx.xxxxEsxx[,s,v]`` (``PR1``/``PR2``/``PRX``) into ``gauges`` fields."""
    fields = data.split(",")
    if len(fields) != 2 * gauges:
        raise GarbledReply(f"expected {gauges} status,value pair(s)", data)
    pairs = []
    for code_text, value_text in zip(fields[::2], fields[1::2], strict=True):
        if len(code_text) != 1 or not code_text.isdigit() or int(code_text) not in GAUGE_STATUS:
            raise GarbledReply("unknown gauge status", data)
        pairs.append((int(code_text), parse_float(value_text)))
    return pairs


def to_reading(field: GaugeField) -> Reading:
    """A gauge field as a :class:`Reading`: underrange and overrange keep the number the
    unit sent; for sensor error, sensor off, no sensor and identification error the
    value is None."""
    code, number = field
    status = GAUGE_STATUS[code][0]
    return Reading(number if status in _STATUS_WITH_VALUE else None, status)


def to_upstream(field: GaugeField) -> UpstreamPressure:
    """A gauge field as PyExpLabSys returns it: ``(value, (code, message))``."""
    code, number = field
    return number, (code, GAUGE_STATUS[code][1])


def parse_pressure(data: str) -> Reading:
    """The reading in the data of a ``PR1``/``PR2`` reply."""
    return to_reading(parse_gauge_fields(data, 1)[0])


def parse_pressures(data: str) -> tuple[Reading, Reading]:
    """Both readings in the data of a ``PRX`` reply."""
    first, second = parse_gauge_fields(data, 2)
    return to_reading(first), to_reading(second)


def parse_identification(data: str) -> tuple[str, ...]:
    """Parse ``TPR,noSEn`` (data of ``TID``) into one type code per gauge."""
    codes = tuple(data.split(","))
    if not all(code and code.isprintable() for code in codes):
        raise GarbledReply("bad gauge identification", data)
    return codes


def parse_unit(data: str) -> str:
    """Parse the data of ``UNI`` into ``mbar/bar``, ``Torr`` or ``Pascal``."""
    try:
        return PRESSURE_UNITS[data]
    except KeyError:
        raise GarbledReply("unknown pressure unit", data) from None


# --------------------------------------------------------------------------- drivers
class TPG26x(SerialInstrument):
    """Common part of the TPG 261 and TPG 262 drivers (9600 8N1, CR LF)."""

    reply_terminator = CRLF
    readings = ("pressure_gauge",)
    #: Gauges this controller has.
    gauges = 2

    def converse(self, command: str, address: int | None) -> str:
        """Send the mnemonic, check the acknowledgement, ask for the data with ENQ."""
        self.send(command.encode("ascii") + CRLF)
        check_acknowledgement(self.receive())
        self.send(ENQ)
        return data_text(self.receive())

    def _resync(self, ser: serial.Serial) -> None:
        """Clear the unit's input buffer with ETX, then drain late bytes."""
        ser.write(ETX)
        super()._resync(ser)

    def _gauge_fields(self, gauge: int) -> GaugeField:
        if not isinstance(gauge, int) or not 1 <= gauge <= self.gauges:
            raise ValueError(f"{type(self).__name__} has gauges 1..{self.gauges}, not {gauge!r}")
        return self.query(f"PR{gauge}", lambda data: parse_gauge_fields(data, 1)[0])

    def pressure_gauge(self, gauge: int = 1) -> UpstreamPressure:
        """Pressure of ``gauge`` as ``(value, (status_code, status_message))``."""
        return to_upstream(self._gauge_fields(gauge))

    def pressure_gauge_reading(self, gauge: int = 1) -> Reading:
        """Pressure of ``gauge`` (1 or 2) with the status the unit reports."""
        return to_reading(self._gauge_fields(gauge))

    def pressure_gauges(self) -> tuple[float, tuple[int, str], float, tuple[int, str]]:
        """Both gauges in one exchange (``PRX``): ``(value1, (code1, message1), value2,
        (code2, message2))``."""
        first, second = self.query("PRX", lambda data: parse_gauge_fields(data, 2))
        return (*to_upstream(first), *to_upstream(second))

    pressure_gauges_reading = command("PRX", parse_pressures, "Both gauges' readings with their status")

    def gauge_identification(self) -> tuple[str, ...]:
        """Gauge types and what they are: ``(id1, name1, id2, name2)`` (``TID``)."""
        codes = self.query("TID", parse_identification)
        return tuple(item for code in codes for item in (code, GAUGE_TYPES.get(code, "unknown gauge type")))

    pressure_unit = command("UNI", parse_unit, "Unit of the pressures: ``mbar/bar``, ``Torr`` or ``Pascal``")
    program_number = command("PNR", doc="Firmware version")
    reset = command("RST", doc="Reset the unit; returns its answer (pending errors)")


class TPG261(TPG26x):
    """Pfeiffer TPG 261 (one gauge)."""

    gauges = 1


class TPG262(TPG26x):
    """Pfeiffer TPG 262 (two gauges)."""

    gauges = 2
