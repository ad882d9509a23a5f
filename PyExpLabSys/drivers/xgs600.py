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
from collections.abc import Callable
from typing import Any, TypeVar

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
from .values import plain_value

LOG = logging.getLogger(__name__)

T = TypeVar("T")

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
    text = decode_ascii(strip_terminator(reply, CR))
    if text == ERROR_REPLY:
        raise InstrumentReportedError("FF", "invalid command, data or length", reply)
    if not text.startswith(">"):
        raise GarbledReply("reply does not start with >", reply)
    return text[1:]


def check_gauge_id(gauge_id: str) -> str:
    """A gauge name: ``U`` + user label, or ``T``/``I`` + count 1..8."""
    if not isinstance(gauge_id, str) or not _GAUGE_ID.fullmatch(gauge_id):
        raise ValueError(f"gauge id must be U<LABEL> (upper case) or T1..T8 / I1..I8, "
                         f"not {gauge_id!r}")
    return gauge_id


def parse_pressure(text: str) -> Reading:
    """One pressure field: ``x.xxxE-xx`` or ``OPEN`` (open sensor: no value)."""
    text = text.strip()
    if text == "OPEN":
        return Reading(None, Status.SENSOR_ERROR)
    return Reading(parse_float(text))


def parse_pressures(text: str) -> list[Reading]:
    """The pressure dump: comma-separated fields, board order, spaces ignored."""
    if not text.strip():
        raise GarbledReply("empty pressure dump", _raw(text))
    return [parse_pressure(field) for field in text.replace(" ", "").split(",")]


def parse_boards(text: str) -> list[str]:
    """Board codes of the slots, two hex digits each (reply to command 01)."""
    if len(text) % 2 or not _HEX.fullmatch(text):
        raise GarbledReply("expected 2-digit board codes", _raw(text))
    return [text[i:i + 2] for i in range(0, len(text), 2)]


def describe_boards(codes: list[str]) -> str:
    """One line ``<slot>: <board>`` per slot, slots counted from 0."""
    return "".join(f"{slot}: {BOARDS.get(code, f'Unknown board {code}')}\n"
                   for slot, code in enumerate(codes))


def parse_unit(text: str) -> str:
    """``00`` Torr, ``01`` mBar, ``02`` Pascal."""
    try:
        return PRESSURE_UNITS[text.strip()]
    except KeyError:
        raise GarbledReply("unknown pressure unit", _raw(text)) from None


def parse_setpoint_states(text: str) -> list[bool]:
    """``00hh``: bit n set when setpoint n+1 is on; 8 booleans, setpoint 1 first."""
    text = text.strip()
    if not _HEX.fullmatch(text):
        raise GarbledReply("expected hex setpoint states", _raw(text))
    bits = int(text, 16)
    return [bool(bits >> n & 1) for n in range(8)]


def parse_setpoint_state(text: str) -> str:
    """``0`` OFF, ``1`` ON, ``3`` AUTO."""
    try:
        return SETPOINT_STATES[text.strip()]
    except KeyError:
        raise GarbledReply("unknown setpoint state", _raw(text)) from None


def parse_emission(text: str) -> bool:
    """``00`` off, ``01`` on (filament 1), ``02`` on (filament 2)."""
    if text not in ("00", "01", "02"):
        raise GarbledReply("unknown emission status", _raw(text))
    return text != "00"


def parse_label(reply: bytes) -> str | None:
    """A user label (spaces removed); None for ``?FF``: no such gauge."""
    if reply == ERROR_REPLY.encode("ascii") + CR:
        return None
    return parse_reply(reply).replace(" ", "")


def parse_int(text: str) -> int:
    """A decimal integer field."""
    if not text.isdigit():
        raise GarbledReply("expected an integer", _raw(text))
    return int(text)


def expect_empty(text: str) -> None:
    """A command's bare ``>`` acknowledgement."""
    if text:
        raise GarbledReply("expected a bare >", _raw(text))


def _raw(text: str) -> bytes:
    return text.encode("ascii", "replace")


def _setpoint_number(channel: int) -> int:
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 8:
        raise ValueError(f"setpoint must be 1..8, not {channel!r}")
    return channel


def setpoint_code(state: int | str) -> int:
    """0/1/3 or ``'OFF'``/``'ON'``/``'AUTO'`` (any case) → 0, 1 or 3."""
    key = state.strip().lower() if isinstance(state, str) else str(state)
    if isinstance(state, bool) or key not in _STATE_CODES:
        raise ValueError(f"setpoint state must be 0, 1, 3, 'OFF', 'ON' or 'AUTO', "
                         f"not {state!r}")
    return _STATE_CODES[key]


def setpoint_pressure_data(setpoint: int, sensor_code: str, sensor_count: int | str,
                           pressure: float | str) -> str:
    """``hcnx.xxxE-xx`` for commands 6h / 7h (``user_label`` means sensor code U)."""
    number = _setpoint_number(setpoint)
    code = "U" if sensor_code == "user_label" else sensor_code
    check_gauge_id(f"{code}{sensor_count}")
    text = pressure.strip() if isinstance(pressure, str) else f"{pressure:.3E}"
    if not _PRESSURE.fullmatch(text):
        raise ValueError(f"pressure must be positive, as x.xxxE-xx, not {pressure!r}")
    return f"{number}{code}{sensor_count}{text}"


# --------------------------------------------------------------------------- driver
class XGS600Driver(SerialInstrument):
    """Driver for the XGS-600 (``address`` 0 on RS-232); the port defaults are 9600 8N1."""

    timeout = 2.0
    reply_terminator = CR

    def __init__(self, port: str | serial.SerialBase = "/dev/ttyUSB1",
                 timeout: float | None = None, address: int = 0, **settings: Any) -> None:
        self.address = check_address(address)
        super().__init__(port, timeout=timeout, **settings)

    def query(self, command: str, parse: Callable[[str], T]) -> T:
        """Send ``command`` (with its data) and return ``parse(data)`` of the reply."""
        return self.exchange(request_frame(command, self.address),
                             lambda reply: parse(parse_reply(reply)))

    # -- pressures
    def read_all_pressures_reading(self) -> list[Reading]:
        """All gauges in board order (command 0F), with their status."""
        return self.query("0F", parse_pressures)

    def read_all_pressures(self) -> list[float | str]:
        """All gauges in board order; an open sensor is the string ``'OPEN'``."""
        return [r.value if r.value is not None else "OPEN"
                for r in self.read_all_pressures_reading()]

    def read_pressure_reading(self, gauge_id: str) -> Reading:
        """Pressure of one gauge (command 02), with its status."""
        return self.query("02" + check_gauge_id(gauge_id), parse_pressure)

    def read_pressure(self, gauge_id: str) -> float:
        """Pressure of one gauge; :class:`~.values.NoValue` for an open sensor."""
        return plain_value(self.read_pressure_reading(gauge_id), f"XGS-600 {gauge_id}")

    def read_pressure_unit(self) -> str:
        """``'Torr'``, ``'mBar'`` or ``'Pascal'`` (command 13)."""
        return self.query("13", parse_unit)

    # -- controller
    def list_all_gauges(self) -> str:
        """The board in each slot (command 01), one ``slot: board`` line each."""
        return describe_boards(self.query("01", parse_boards))

    def read_software_version(self) -> str:
        """Firmware revisions, main board first (command 05), as the unit sends them."""
        return self.query("05", str)

    def read_all_user_label(self) -> dict[str, str]:
        """User labels of the gauges present, keyed ``T1``..``T8`` / ``I1``..``I8``."""
        labels = {}
        for count in range(1, 9):
            for gauge in (f"T{count}", f"I{count}"):
                label = self.exchange(request_frame(gauge, self.address), parse_label)
                if label is not None:
                    labels[gauge] = label
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
        commands = {1: "31", 2: "33"}
        if filament not in commands:
            raise ValueError(f"filament must be 1 or 2, not {filament!r}")
        self.query(commands[filament] + check_gauge_id(gauge_id), expect_empty)
        return self.emission_status(gauge_id)

    # -- setpoints (relays)
    def read_setpoint_state(self) -> list[bool]:
        """On/off of setpoints 1..8 (command 03)."""
        return self.query("03", parse_setpoint_states)

    def read_setpoint(self, channel: int) -> str:
        """``'OFF'``, ``'ON'`` or ``'AUTO'`` of setpoint ``channel`` 1..8 (command 5F)."""
        return self.query(f"5F{_setpoint_number(channel)}", parse_setpoint_state)

    def set_setpoint(self, channel: int, state: int | str) -> None:
        """Set setpoint ``channel`` 1..8 OFF, ON or AUTO (command 5E)."""
        command = f"5E{_setpoint_number(channel)}{setpoint_code(state)}"
        self.query(command, expect_empty)

    def set_setpoint_on(self, setpoint: int, sensor_code: str, sensor_count: int | str,
                        pressure_on: float | str) -> None:
        """Pressure at which ``setpoint`` switches on, from the named gauge (6h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_on)
        self.query("6" + data, expect_empty)

    def set_setpoint_off(self, setpoint: int, sensor_code: str, sensor_count: int | str,
                         pressure_off: float | str) -> None:
        """Pressure at which ``setpoint`` switches off, from the named gauge (7h)."""
        data = setpoint_pressure_data(setpoint, sensor_code, sensor_count, pressure_off)
        self.query("7" + data, expect_empty)
