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
"""

from __future__ import annotations

import logging
import re
from typing import Any

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
    plain,
    strip_terminator,
    text,
)

LOG = logging.getLogger(__name__)

CR = b"\r"
ERROR_REPLY = "?FF"
#: Board codes of the six slots (reply to command 01).
BOARDS = {
    "10": "Hot Filament Gauge",
    "3A": "Inverted Magnetron Board",
    "40": "Convection Board",
    "4C": "Analog Board",
    "FE": "Empty Slot",
}
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


def parse_boards(data: str) -> list[str]:
    """Board codes of the slots, two hex digits each (reply to command 01)."""
    if len(data) % 2 or not _HEX.fullmatch(data):
        raise GarbledReply("expected 2-digit board codes", data)
    return [data[i : i + 2] for i in range(0, len(data), 2)]


def describe_boards(codes: list[str]) -> str:
    """One line ``<slot>: <board>`` per slot, slots counted from 0."""
    return "".join(
        f"{slot}: {BOARDS.get(code, f'Unknown board {code}')}\n" for slot, code in enumerate(codes)
    )


def parse_unit(data: str) -> str:
    """``00`` Torr, ``01`` mBar, ``02`` Pascal."""
    try:
        return PRESSURE_UNITS[data.strip()]
    except KeyError:
        raise GarbledReply("unknown pressure unit", data) from None


def parse_setpoint_states(data: str) -> list[bool]:
    """``00hh``: bit n set when setpoint n+1 is on; 8 booleans, setpoint 1 first."""
    data = data.strip()
    if not _HEX.fullmatch(data):
        raise GarbledReply("expected hex setpoint states", data)
    bits = int(data, 16)
    return [bool(bits >> n & 1) for n in range(8)]


def parse_setpoint_state(data: str) -> str:
    """``0`` OFF, ``1`` ON, ``3`` AUTO."""
    try:
        return SETPOINT_STATES[data.strip()]
    except KeyError:
        raise GarbledReply("unknown setpoint state", data) from None


def parse_emission(data: str) -> bool:
    """``00`` off, ``01`` on (filament 1), ``02`` on (filament 2)."""
    if data not in ("00", "01", "02"):
        raise GarbledReply("unknown emission status", data)
    return data != "00"


def parse_label(data: str) -> str:
    """A user label, spaces removed (as PyExpLabSys returned it)."""
    return data.replace(" ", "")


def parse_gauge_list(data: str) -> str:
    """The reply to command 01 as one ``slot: board`` line per slot."""
    return describe_boards(parse_boards(data))


def parse_int(data: str) -> int:
    """A decimal integer field."""
    if not data.isdigit():
        raise GarbledReply("expected an integer", data)
    return int(data)


def expect_empty(data: str) -> None:
    """A command's bare ``>`` acknowledgement."""
    if data:
        raise GarbledReply("expected a bare >", data)


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
        """PyExpLabSys's raw exchange: send ``command`` (number + data), return the
        reply's data (None with ``expect_reply=False``; the ``>`` is read and checked)."""
        data = self.query(command)
        return data if expect_reply else None

    # -- pressures
    read_all_pressures_reading = command(
        "0F", parse_pressures, "All gauges in board order, with their status"
    )
    read_pressure_unit = command("13", parse_unit, "``Torr``, ``mBar`` or ``Pascal``")

    def read_all_pressures(self) -> list[float | str]:
        """All gauges in board order (``0F``); an open sensor is the string ``'OPEN'``."""
        return [r.value if r.value is not None else "OPEN" for r in self.read_all_pressures_reading()]

    def read_pressure_reading(self, gauge_id: str) -> Reading:
        """Pressure of one gauge (``02``), with its status."""
        return self.query("02" + check_gauge_id(gauge_id), parse_pressure)

    read_pressure = plain(read_pressure_reading)

    # -- controller
    list_all_gauges = command("01", parse_gauge_list, "The board in each slot, one ``slot: board`` line each")
    read_software_version = command("05", text, "Firmware revisions, main board first")

    def read_all_user_label(self) -> dict[str, str]:
        """User labels of the gauges present, keyed ``T1``..``T8`` / ``I1``..``I8``."""
        labels = {}
        for count in range(1, 9):
            for gauge in (f"T{count}", f"I{count}"):
                try:
                    labels[gauge] = self.query(gauge, parse_label)
                except InstrumentReportedError:  # ?FF: no such gauge
                    continue
        return labels

    # -- ion gauge emission
    def emission_status(self, gauge_id: str) -> bool:
        """True while the gauge emits, on either filament (command 32)."""
        return self.query("32" + check_gauge_id(gauge_id), parse_emission)

    def filament_lit(self, gauge_id: str) -> int:
        """Which filament is lit (command 34)."""
        return self.query("34" + check_gauge_id(gauge_id), parse_int)

    def set_emission_off(self, gauge_id: str) -> bool:
        """Turn emission off (command 30); returns the emission status after."""
        self.query("30" + check_gauge_id(gauge_id), expect_empty)
        return self.emission_status(gauge_id)

    #: PyExpLabSys's spelling.
    set_smission_off = set_emission_off

    def set_emission_on(self, gauge_id: str, filament: int) -> bool:
        """Turn emission on with filament 1 or 2 (command 31 / 33); returns the status."""
        requests = {1: "31", 2: "33"}
        if filament not in requests:
            raise ValueError(f"filament must be 1 or 2, not {filament!r}")
        self.query(requests[filament] + check_gauge_id(gauge_id), expect_empty)
        return self.emission_status(gauge_id)

    # -- setpoints (relays)
    read_setpoint_state = command("03", parse_setpoint_states, "On/off of setpoints 1..8")

    def read_setpoint(self, channel: int) -> str:
        """``'OFF'``, ``'ON'`` or ``'AUTO'`` of setpoint ``channel`` 1..8 (command 5F)."""
        return self.query(f"5F{_setpoint_number(channel)}", parse_setpoint_state)

    def set_setpoint(self, channel: int, state: int | str) -> None:
        """Set setpoint ``channel`` 1..8 OFF, ON or AUTO (command 5E)."""
        self.query(f"5E{_setpoint_number(channel)}{setpoint_code(state)}", expect_empty)

    def set_setpoint_on(
        self, setpoint: int, sensor_code: str, sensor_count: int | str, pressure_on: float | str
    ) -> None:
        """Pressure at which ``setpoint`` switches on, from the named gauge (6h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_on)
        self.query("6" + data, expect_empty)

    def set_setpoint_off(
        self, setpoint: int, sensor_code: str, sensor_count: int | str, pressure_off: float | str
    ) -> None:
        """Pressure at which ``setpoint`` switches off, from the named gauge (7h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_off)
        self.query("7" + data, expect_empty)
