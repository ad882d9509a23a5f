"""Agilent (Varian) XGS-600 gauge controller.

Port: RS-232, 9600 baud, 8N1, no handshake. Request: ``#`` + address as 2 hex digits
(``00`` on RS-232, up to ``20`` on RS-485) + command (2 hex digits) + data + CR, e.g.
``#0002T1\\r``. Reply: ``>`` + data + CR, e.g. ``>1.000E-02\\r``; ``?FF\\r`` when the
command, its data or its length is invalid. A request for another address, or without
CR, gets no reply. No checksum. Commands and labels are upper case.

A gauge is named by its user label (``U`` + label, e.g. ``UION1``) or by sensor code and
count: ``T1`` the first convection/TC gauge, ``I2`` the second ion gauge, counted from
the left of the front panel.

Methods keep PyExpLabSys's names and results; ``*_reading`` twins return
:class:`~.base.Reading` with the status (a pressure of ``OPEN`` is an open sensor).

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`). A
silent unit raises :class:`~.base.InstrumentTimeout`, a ``TimeoutError`` as there,
except where no reply was awaited (``expect_reply=False``: the set commands):

* ``read_pressure``: ``-1.0`` for ``?FF`` (a missing gauge), ``OPEN`` or a non-number.
* ``read_all_pressures``: per field ``'OPEN'`` or ``-2`` if not a number; ``[-2]`` for
  ``?FF``; ``[-3]`` after 9 empty dumps.
* ``list_all_gauges``: ``'0.0: Hot Filament Gauge\\n...'``, without the boards
  PyExpLabSys did not know; ``''`` for ``?FF``.
* ``emission_status``: ``True`` for ``01`` only: ``False`` when off, lit on filament 2
  (``02``) or refused (not an ion gauge); ``set_emission_on`` and
  ``set_smission_off`` / ``set_emission_off`` return it after the command.
* ``read_setpoint``: ``None`` for any other answer than 0, 1, 3.
* ``read_pressure_unit``, ``read_software_version``, ``xgs_comm``: the text as sent
  (``'?FF'``).
* ``filament_lit``, ``read_setpoint_state``: ``ValueError`` for ``?FF``.
* ``read_all_user_label``: gauges answering ``?FF`` left out.
* ``set_setpoint``, ``set_setpoint_on``, ``set_setpoint_off``: ``None``; their reply is
  read but not judged (a refusal or silence is logged).

A vanished port raises ``PortGone`` (an ``OSError``). ``read_pressure_reading`` and
``read_all_pressures_reading`` are strict.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import serial

from .base import (
    GarbledReply,
    InstrumentReportedError,
    NoValue,
    Reading,
    SerialInstrument,
    Status,
    command,
    decode_ascii,
    parse_float,
    strip_terminator,
)
from .upstream import number_only

LOG = logging.getLogger(__name__)

CR = b"\r"
ERROR_REPLY = "?FF"
#: Board codes of the six slots (reply to command 01) that PyExpLabSys names; it left
#: others (``4C``: an analog board) out of ``list_all_gauges``.
BOARDS = {
    "10": "Hot Filament Gauge",
    "3A": "Inverted Magnetron Board",
    "40": "Convection Board",
    "FE": "Empty Slot",
}
#: Seconds PyExpLabSys waited after a command whose reply it did not read.
REPLY_WAIT = 0.25
#: Tries of ``read_all_pressures`` while the dump comes back empty, as PyExpLabSys.
DUMP_TRIES = 9
PRESSURE_UNITS = {"00": "Torr", "01": "mBar", "02": "Pascal"}
SETPOINT_STATES = {"0": "OFF", "1": "ON", "3": "AUTO"}
_STATE_CODES = {"0": 0, "1": 1, "3": 3, "off": 0, "on": 1, "auto": 3}
_GAUGE_ID = re.compile(r"U[0-9A-Z_.+\-]{1,16}|[TI][1-8]")
_HEX = re.compile(r"[0-9A-F]+")
_PRESSURE = re.compile(r"\d\.\d{3}E[+-]\d{2}")


# --------------------------------------------------------------------------- pure functions
def check_address(address: int) -> int:
    """0 on RS-232, up to 0x20 on RS-485."""
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 0x20:
        raise ValueError(f"XGS-600 address must be 0x00..0x20, not {address!r}")
    return address


def request_frame(command: str, address: int = 0) -> bytes:
    """``#aa<command>\\r`` (the command includes its data)."""
    check_address(address)
    if not command or not command.isascii() or not command.isprintable():
        raise ValueError(f"bad command {command!r}")
    return f"#{address:02X}{command}".encode("ascii") + CR


def parse_reply(reply: bytes) -> str:
    """The data of a ``>data\\r`` reply; ``?FF`` raises InstrumentReportedError."""
    data = decode_ascii(strip_terminator(reply, CR))
    if data == ERROR_REPLY:
        raise InstrumentReportedError("FF", "invalid command, data or length", reply)
    if not data.startswith(">"):
        raise GarbledReply("reply does not start with >", reply)
    return data[1:]


def check_gauge_id(gauge_id: str) -> str:
    """A gauge name: ``U`` + user label, or ``T``/``I`` + count 1..8."""
    if not isinstance(gauge_id, str) or not _GAUGE_ID.fullmatch(gauge_id):
        raise ValueError(f"gauge id must be U<LABEL> (upper case) or T1..T8 / I1..I8, not {gauge_id!r}")
    return gauge_id


def parse_pressure(data: str) -> Reading:
    """One pressure field: ``x.xxxE-xx`` or ``OPEN`` (open sensor: no value)."""
    data = data.strip()
    if data == "OPEN":
        return Reading(None, Status.SENSOR_ERROR)
    return Reading(parse_float(data))


def parse_pressures(data: str) -> list[Reading]:
    """The pressure dump: comma-separated fields, board order, spaces ignored."""
    if not data.strip():
        raise GarbledReply("empty pressure dump", data)
    return [parse_pressure(field) for field in data.replace(" ", "").split(",")]


def list_boards(data: str) -> str:
    """The reply to command 01 as PyExpLabSys listed it: a ``slot: board`` line per slot
    it knew the board of, slots numbered ``0.0``, ``1.0`` ... (``?FF``: no lines)."""
    codes = [data[i : i + 2] for i in range(0, len(data), 2)]
    return "".join(f"{slot:.1f}: {BOARDS[code]}\n" for slot, code in enumerate(codes) if code in BOARDS)


def upstream_pressure(field: str) -> float | str | int:
    """One field of the pressure dump as PyExpLabSys gave it: a float, ``'OPEN'``, or
    ``-2`` for anything else."""
    if field == "OPEN":
        return field
    try:
        return parse_float(field)
    except GarbledReply:
        return -2


def parse_setpoint_states(data: str) -> list[bool]:
    """``00hh``: bit n set when setpoint n+1 is on; 8 booleans, setpoint 1 first."""
    data = data.strip()
    if not _HEX.fullmatch(data):
        raise GarbledReply("expected hex setpoint states", data)
    bits = int(data, 16)
    return [bool(bits >> n & 1) for n in range(8)]


def parse_label(data: str) -> str:
    """A user label, spaces removed (as PyExpLabSys returned it)."""
    return data.replace(" ", "")


def parse_int(data: str) -> int:
    """A decimal integer field."""
    if not data.isdigit():
        raise GarbledReply("expected an integer", data)
    return int(data)


def _setpoint_number(channel: int) -> int:
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 8:
        raise ValueError(f"setpoint must be 1..8, not {channel!r}")
    return channel


def setpoint_code(state: int | str) -> int:
    """0/1/3 or ``'OFF'``/``'ON'``/``'AUTO'`` (any case) → 0, 1 or 3."""
    key = state.strip().lower() if isinstance(state, str) else str(state)
    if isinstance(state, bool) or key not in _STATE_CODES:
        raise ValueError(f"setpoint state must be 0, 1, 3, 'OFF', 'ON' or 'AUTO', not {state!r}")
    return _STATE_CODES[key]


def setpoint_pressure_data(
    setpoint: int, sensor_code: str, sensor_count: int | str, pressure: float | str
) -> str:
    """``hcnx.xxxE-xx`` for commands 6h / 7h (``user_label`` means sensor code U)."""
    number = _setpoint_number(setpoint)
    code = "U" if sensor_code == "user_label" else sensor_code
    check_gauge_id(f"{code}{sensor_count}")
    data = pressure.strip() if isinstance(pressure, str) else f"{pressure:.3E}"
    if not _PRESSURE.fullmatch(data):
        raise ValueError(f"pressure must be positive, as x.xxxE-xx, not {pressure!r}")
    return f"{number}{code}{sensor_count}{data}"


# --------------------------------------------------------------------------- driver
class XGS600Driver(SerialInstrument):
    """Driver for the XGS-600 (``address`` 0 on RS-232); the port defaults are 9600 8N1."""

    timeout = 2.0
    reply_terminator = CR
    readings = ("read_pressure",)
    #: ``query(..., address=n)`` talks to unit n on the same RS-485 bus.
    addressable = True

    def __init__(
        self,
        port: str | serial.SerialBase = "/dev/ttyUSB1",
        timeout: float | None = None,
        address: int = 0,
        **settings: Any,
    ) -> None:
        self.address = check_address(address)
        super().__init__(port, timeout=timeout, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send ``#aa<command>\\r`` (``aa``: ``address``, None: the driver's) and return
        the data of the ``>...\\r`` reply."""
        self.send(request_frame(command, self.address if address is None else address))
        return parse_reply(self.receive())

    def xgs_comm(self, command: str, expect_reply: bool = True) -> str | None:
        """PyExpLabSys's raw exchange: send ``command`` (number + data) and return the
        reply's text without ``>`` and CR (``'?FF'`` when refused); a silent unit raises
        :class:`~.base.InstrumentTimeout` (a ``TimeoutError``). With
        ``expect_reply=False`` the reply is read but not judged, and None returned."""
        if not expect_reply:
            with self.absent_after(REPLY_WAIT):
                answer = self.reply_text(command, errors="replace")
            if answer != ">\r":
                LOG.warning("%s: %s answered %r", self.port_name, command, answer)
            return None
        with self._lock:  # last_reply must be this exchange's
            try:
                return self.query(command)
            except (GarbledReply, InstrumentReportedError):
                return decode_ascii(self.last_reply).replace(">", "").replace("\r", "")

    def _text(self, command: str) -> str:
        data = self.xgs_comm(command)
        assert data is not None  # a reply was expected
        return data

    # -- pressures
    read_all_pressures_reading = command(
        "0F", parse_pressures, "All gauges in board order, with their status"
    )

    def read_all_pressures(self) -> list[float | str | int]:
        """All gauges in board order (``0F``) as PyExpLabSys gave them: floats,
        ``'OPEN'`` for an open sensor, ``-2`` for a field that is neither (``[-2]`` for
        ``?FF``); ``[-3]`` when the dump came back empty 9 times."""
        for _ in range(DUMP_TRIES):
            data = self._text("0F")
            if data:
                return [upstream_pressure(field) for field in data.replace(" ", "").split(",")]
        LOG.warning("%s: empty pressure dump %d times", self.port_name, DUMP_TRIES)
        return [-3]

    def read_pressure_reading(self, gauge_id: str) -> Reading:
        """Pressure of one gauge (``02``), with its status."""
        return self.query("02" + check_gauge_id(gauge_id), parse_pressure)

    def read_pressure(self, gauge_id: str) -> float:
        """Pressure of one gauge (``02``); ``-1.0`` for a gauge that is missing (``?FF``)
        or open, or a reply that is not a number; a silent unit raises."""
        try:
            return number_only(self.read_pressure_reading(gauge_id))
        except (NoValue, GarbledReply, InstrumentReportedError) as error:
            LOG.info("%s: gauge %s: %s; returning -1.0", self.port_name, gauge_id, error)
            return -1.0

    def read_pressure_unit(self) -> str:
        """``Torr``, ``mBar`` or ``Pascal`` (``13``); another answer as sent."""
        data = self._text("13")
        return PRESSURE_UNITS.get(data.replace(" ", ""), data.replace(" ", ""))

    # -- controller
    def list_all_gauges(self) -> str:
        """The board in each slot, one ``0.0: Hot Filament Gauge`` line each (``01``)."""
        return list_boards(self._text("01"))

    def read_software_version(self) -> str:
        """Firmware revisions, main board first (``05``), as sent (``'?FF'`` refused)."""
        return self._text("05")

    def read_all_user_label(self) -> dict[str, str]:
        """User labels of the gauges present, keyed ``T1``..``T8`` / ``I1``..``I8``."""
        labels = {}
        for count in range(1, 9):
            for gauge in (f"T{count}", f"I{count}"):
                label = parse_label(self._text(gauge))
                if label != ERROR_REPLY:  # ?FF: no such gauge
                    labels[gauge] = label
        return labels

    # -- ion gauge emission
    def emission_status(self, gauge_id: str) -> bool:
        """True while the gauge emits on filament 1 (command 32 answers ``01``); False
        otherwise: off, on filament 2 (``02``) or not an ion gauge (``?FF``), as
        PyExpLabSys judged it."""
        return self._text("32" + check_gauge_id(gauge_id)) == "01"

    def filament_lit(self, gauge_id: str) -> int:
        """Which filament is lit (command 34); ``ValueError`` when refused."""
        return self.query("34" + check_gauge_id(gauge_id), parse_int)

    def set_emission_off(self, gauge_id: str) -> bool:
        """Turn emission off (command 30); returns :meth:`emission_status` after."""
        self.xgs_comm("30" + check_gauge_id(gauge_id), expect_reply=False)
        return self.emission_status(gauge_id)

    #: PyExpLabSys's spelling.
    set_smission_off = set_emission_off

    def set_emission_on(self, gauge_id: str, filament: int) -> bool:
        """Turn emission on with filament 1 or 2 (command 31 / 33); returns
        :meth:`emission_status` after (False on filament 2, as PyExpLabSys's)."""
        requests = {1: "31", 2: "33"}
        if filament not in requests:
            raise ValueError(f"filament must be 1 or 2, not {filament!r}")
        self.xgs_comm(requests[filament] + check_gauge_id(gauge_id), expect_reply=False)
        return self.emission_status(gauge_id)

    # -- setpoints (relays)
    read_setpoint_state = command("03", parse_setpoint_states, "On/off of setpoints 1..8")

    def read_setpoint(self, channel: int) -> str | None:
        """``'OFF'``, ``'ON'`` or ``'AUTO'`` of setpoint ``channel`` 1..8 (command 5F);
        None for any other answer (``?FF``)."""
        return SETPOINT_STATES.get(self._text(f"5F{_setpoint_number(channel)}").replace(" ", ""))

    def set_setpoint(self, channel: int, state: int | str) -> None:
        """Set setpoint ``channel`` 1..8 OFF, ON or AUTO (command 5E); a refusal is
        logged."""
        self.xgs_comm(f"5E{_setpoint_number(channel)}{setpoint_code(state)}", expect_reply=False)

    def set_setpoint_on(
        self, setpoint: int, sensor_code: str, sensor_count: int | str, pressure_on: float | str
    ) -> None:
        """Pressure at which ``setpoint`` switches on, from the named gauge (6h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_on)
        self.xgs_comm("6" + data, expect_reply=False)

    def set_setpoint_off(
        self, setpoint: int, sensor_code: str, sensor_count: int | str, pressure_off: float | str
    ) -> None:
        """Pressure at which ``setpoint`` switches off, from the named gauge (7h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_off)
        self.xgs_comm("7" + data, expect_reply=False)
