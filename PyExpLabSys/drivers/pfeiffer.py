"""Pfeiffer TPG 261 / 262 (and TPG 361 / 362) vacuum gauge controllers.

Port: 9600 baud (19200, 38400 selectable), 8N1, no handshake. Two-step exchange: the
host sends a mnemonic + CR LF, the unit acknowledges with ACK CR LF (NAK CR LF when it
did not understand), the host sends ENQ and the unit sends the data + CR LF. ETX clears
the unit's input buffer; the driver sends it to resynchronise after an error. No
checksum. ``RST`` is the RS-232 test: after its ENQ the unit echoes every character
until ETX; ``RES`` resets the unit and answers its pending errors.

What PyExpLabSys's methods return or raise on the bad paths (the rule:
:mod:`.upstream`). PyExpLabSys raised ``IOError`` when the acknowledgement was a NAK,
missing or garbled, and ``ValueError`` (``int('')``) when no data followed it:

* ``pressure_gauge``, ``pressure_gauges``, ``gauge_identification``,
  ``pressure_unit``: no acknowledgement: ``InstrumentTimeout``; NAK:
  ``InstrumentReportedError`` (both ``IOError``); no data after ENQ: ``EmptyReply``
  (``ValueError`` too); garbled data: ``GarbledReply`` (``ValueError``); an unknown
  status code, gauge id or unit code: ``UnknownCode`` (``KeyError``).
* ``program_number``: as above, but ``''`` when no data follows.
* ``rs232_communication_test``: as above for the acknowledgement; ``False`` when the
  echoes are missing or wrong.

Status messages (``pressure_gauge()[1][1]``) and gauge names (``gauge_identification``)
are PyExpLabSys's texts. A vanished port raises ``PortGone`` (an ``OSError``).
``pressure_gauge_reading`` / ``pressure_gauges_reading`` are the strict twins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from .base import (
    EmptyReply,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    SerialInstrument,
    Status,
    UnknownCode,
    command,
    decode_ascii,
    parse_float,
    strip_terminator,
)
from .upstream import silence_is_value_error

LOG = logging.getLogger(__name__)

CRLF = b"\r\n"
ACK = b"\x06"
NAK = b"\x15"
ENQ = b"\x05"
ETX = b"\x03"

T = TypeVar("T")

#: Status code sent with each pressure → (our status, the status message PyExpLabSys
#: returns, its own words).
GAUGE_STATUS: dict[int, tuple[Status, str]] = {
    0: (Status.OK, "Measurement data okay"),
    1: (Status.UNDERRANGE, "Underrange"),
    2: (Status.OVERRANGE, "Overrange"),
    3: (Status.SENSOR_ERROR, "Sensor error"),
    4: (Status.SENSOR_OFF, "Sensor off (IKR, PKR, IMR, PBR)"),
    5: (Status.NO_SENSOR, "No sensor (output: 5,2.0000E-2 [mbar])"),
    6: (Status.IDENTIFICATION_ERROR, "Identification error"),
}
#: Statuses whose number is a measurement (else the number means nothing).
_STATUS_WITH_VALUE = {Status.OK, Status.UNDERRANGE, Status.OVERRANGE}
#: ``UNI`` answer → the unit's name as PyExpLabSys gives it.
PRESSURE_UNITS = {"0": "mbar/bar", "1": "Torr", "2": "Pascal"}
#: Gauge type codes of ``TID`` → the names PyExpLabSys gives them (its words, trailing
#: spaces included).
GAUGE_TYPES = {
    "TPR": "Pirani Gauge or Pirani Capacitive gauge",
    "IKR9": "Cold Cathode Gauge 10E-9 ",
    "IKR11": "Cold Cathode Gauge 10E-11 ",
    "PKR": "FullRange CC Gauge",
    "PBR": "FullRange BA Gauge",
    "IMR": "Pirani / High Pressure Gauge",
    "CMR": "Linear gauge",
    "noSEn": "no SEnsor",
    "noid": "no identifier",
}
#: The characters the RS-232 test sends and expects echoed.
TEST_CHARACTERS = b"a1"

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
        if len(code_text) != 1 or not code_text.isdigit():
            raise GarbledReply("bad gauge status", data)
        if int(code_text) not in GAUGE_STATUS:
            raise UnknownCode("unknown gauge status", data)
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
    if not data.isdigit():
        raise GarbledReply("bad pressure unit", data)
    try:
        return PRESSURE_UNITS[data]
    except KeyError:
        raise UnknownCode("unknown pressure unit", data) from None


def echo_frame(buf: bytearray) -> int | None:
    """Length of one echoed character in the RS-232 test, counting the ENQ that started
    the test where the unit echoes that too (None: incomplete)."""
    skip = 1 if buf[:1] == ENQ else 0
    return skip + 1 if len(buf) > skip else None


def gauge_names(codes: tuple[str, ...]) -> tuple[str, ...]:
    """``(id1, name1, id2, name2)`` for the ``TID`` codes; :class:`UnknownCode` (a
    ``KeyError``) for a code PyExpLabSys's table lacks."""
    for code in codes:
        if code not in GAUGE_TYPES:
            raise UnknownCode("unknown gauge id", code)
    return tuple(item for code in codes for item in (code, GAUGE_TYPES[code]))


# --------------------------------------------------------------------------- drivers
class TPG26x(SerialInstrument):
    """Common part of the TPG 261 and TPG 262 drivers (9600 8N1, CR LF)."""

    reply_terminator = CRLF
    readings = ("pressure_gauge",)
    #: Gauges this controller has.
    gauges = 2

    def __init__(
        self, port: str | serial.SerialBase = "/dev/ttyUSB0", baudrate: int | None = None, **settings: Any
    ) -> None:
        super().__init__(port, baudrate, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send the mnemonic, check the acknowledgement, ask for the data with ENQ."""
        self._acknowledged(command)
        return self._data()

    def _acknowledged(self, mnemonic: str) -> None:
        self.send(mnemonic.encode("ascii") + CRLF)
        check_acknowledgement(self.receive())

    def _data(self) -> str:
        self.send(ENQ)
        return data_text(self.receive())

    def _resync(self, ser: serial.Serial) -> None:
        """Clear the unit's input buffer with ETX, then drain late bytes."""
        ser.write(ETX)
        super()._resync(ser)

    def _upstream_query(self, mnemonic: str, parse: Callable[[str], T]) -> T:
        """One exchange as PyExpLabSys's methods made it: a NAK, missing or garbled
        acknowledgement raises (``IOError``); no data after it is :class:`EmptyReply`
        (also a ``ValueError``, as its ``int('')`` raised)."""
        with self.transaction():
            self._acknowledged(mnemonic)
            with silence_is_value_error():
                data = self._data()
            return parse(data)

    def _gauge_fields(self, gauge: int) -> GaugeField:
        if not isinstance(gauge, int) or not 1 <= gauge <= self.gauges:
            raise ValueError(f"{type(self).__name__} has gauges 1..{self.gauges}, not {gauge!r}")
        return self.query(f"PR{gauge}", lambda data: parse_gauge_fields(data, 1)[0])

    def pressure_gauge(self, gauge: int = 1) -> UpstreamPressure:
        """Pressure of ``gauge`` (1 or 2) as ``(value, (status_code, status_message))``."""
        if gauge not in (1, 2):  # PyExpLabSys let a TPG 261 ask for gauge 2: the unit decides
            raise ValueError(f"the gauge number can only be 1 or 2, not {gauge!r}")
        return to_upstream(self._upstream_query(f"PR{gauge}", lambda data: parse_gauge_fields(data, 1)[0]))

    def pressure_gauge_reading(self, gauge: int = 1) -> Reading:
        """Pressure of ``gauge`` (1 or 2) with the status the unit reports."""
        return to_reading(self._gauge_fields(gauge))

    def pressure_gauges(self) -> tuple[float, tuple[int, str], float, tuple[int, str]]:
        """Both gauges in one exchange (``PRX``): ``(value1, (code1, message1), value2,
        (code2, message2))``."""
        first, second = self._upstream_query("PRX", lambda data: parse_gauge_fields(data, 2))
        return (*to_upstream(first), *to_upstream(second))

    pressure_gauges_reading = command("PRX", parse_pressures, "Both gauges' readings with their status")

    def gauge_identification(self) -> tuple[str, ...]:
        """Gauge types and PyExpLabSys's names for them: ``(id1, name1, id2, name2)``
        (``TID``); ``KeyError`` (:class:`UnknownCode`) for an id it had no name for."""
        return gauge_names(self._upstream_query("TID", parse_identification))

    def pressure_unit(self) -> str:
        """Unit of the pressures: ``mbar/bar``, ``Torr`` or ``Pascal`` (``UNI``)."""
        return self._upstream_query("UNI", parse_unit)

    def program_number(self) -> str:
        """Firmware version (``PNR``); ``''`` when no data follows the acknowledgement."""
        try:
            return self._upstream_query("PNR", str)
        except EmptyReply as silent:
            LOG.warning("%s: %s", self.port_name, silent)
            return ""

    reset = command("RES", doc="Reset the unit; returns its answer (the pending errors)")

    def rs232_communication_test(self) -> bool:
        """The unit's RS-232 test (``RST``): after ENQ it echoes each character until
        ETX; True when ``a`` and ``1`` come back, False when they do not (also when
        nothing does). A NAK or no acknowledgement raises, as in PyExpLabSys."""
        echoed = b""
        with self.transaction():
            self._acknowledged("RST")
            self.send(ENQ)
            try:
                for char in TEST_CHARACTERS:
                    self.send(bytes([char]))
                    echoed += self.receive(frame=echo_frame)[-1:]
            except InstrumentTimeout as silent:
                LOG.warning("%s: RS-232 test: %s", self.port_name, silent)
            finally:
                self.send(ETX)  # ends the test mode
        if echoed != TEST_CHARACTERS:
            LOG.warning("%s: RS-232 test echoed %r", self.port_name, echoed)
        return echoed == TEST_CHARACTERS


class TPG261(TPG26x):
    """Pfeiffer TPG 261 (one gauge)."""

    gauges = 1


class TPG262(TPG26x):
    """Pfeiffer TPG 262 (two gauges)."""

    gauges = 2
