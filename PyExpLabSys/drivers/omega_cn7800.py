"""Omega CN7800 (CN7200 / CN7500 / CN7600) temperature controller over Modbus RTU.

Port: 9600 baud, 8 data bits, even parity, 1 stop bit (set the unit to RTU, 8 bits);
unit address 1. Registers (16 bit, 0.1 °C, two's complement):

* 0x1000 process value (PV), read only. Instead of a temperature it reads 0x8002
  (initialising, no value yet), 0x8003 (sensor not connected), 0x8004 (sensor input
  error), 0x8006 (ADC input error) or 0x8007 (memory read/write error).
* 0x1001 set point (SV), read / write; the unit refuses values outside its range
  (exception 03).

Reads use function 03, the set point is written with function 06 (see
:mod:`.modbus`).

What PyExpLabSys's methods return (it read the registers with minimalmodbus, one
decimal, unsigned; the rule: :mod:`.upstream`):

* a temperature: °C, an ``int`` when whole (``25``), else a float (``25.3``);
  ``read_temperature`` also keeps it in ``.temperature`` (``-999`` before the first
  read);
* a negative temperature: unsigned, ``6533.6`` for −20.0 °C;
* a status code: its number, ``3277.1`` for 0x8003 (no sensor).

A silent unit raises :class:`~.base.InstrumentTimeout`, an exception reply
:class:`~.base.InstrumentReportedError`, a bad CRC :class:`~.base.ChecksumError`: all
``OSError`` (``IOError``), as minimalmodbus's errors were. The twins
``read_temperature_reading`` / ``read_setpoint_reading`` are strict: signed °C, and the
status code as the reading's status.
"""

from __future__ import annotations

import logging
from typing import Any

import serial

from .base import GarbledReply, Reading, Status, command
from .modbus import (
    ModbusInstrument,
    decode_register,
    encode_register,
    parse_words,
    read_registers_pdu,
    write_register_pdu,
)

LOG = logging.getLogger(__name__)

PROCESS_VALUE = 0x1000
SET_POINT = 0x1001
#: Process-value words that are status codes, not temperatures.
PV_STATUS = {
    0x8002: Status.WAIT,
    0x8003: Status.NO_SENSOR,
    0x8004: Status.SENSOR_ERROR,
    0x8006: Status.SENSOR_ERROR,
    0x8007: Status.SENSOR_ERROR,
}
#: Where a bare port name is looked for (PyExpLabSys's CN7800 took by-id names).
BY_ID = "/dev/serial/by-id/"


def _one_word(data: str) -> int:
    words = parse_words(data)
    if len(words) != 1:
        raise GarbledReply("expected one register", data)
    return words[0]


def parse_temperature(data: str) -> Reading:
    """One PV or SV word (hex): °C with one decimal, or the status it codes."""
    word = _one_word(data)
    status = PV_STATUS.get(word)
    if status is not None:
        return Reading(None, status)
    return Reading(float(decode_register(word, decimals=1, signed=True)))


def parse_upstream_temperature(data: str) -> float | int:
    """One PV or SV word (hex) as PyExpLabSys read it: unsigned, one decimal, an int
    when whole (``00FA`` → ``25``, ``8003`` → ``3277.1``)."""
    value = decode_register(_one_word(data), decimals=1)
    return int(value) if value == int(value) else value


def port_path(port: str | serial.SerialBase) -> str | serial.SerialBase:
    """A bare name such as ``usb-FTDI_...-port0`` means ``/dev/serial/by-id/<name>``;
    paths and URLs are used as they are."""
    if isinstance(port, str) and "/" not in port and ":" not in port:
        return BY_ID + port
    return port


class CN7800(ModbusInstrument):
    """Driver for the Omega CN7800 family (9600 baud, 8 data bits and 1 stop bit are the
    defaults)."""

    parity = serial.PARITY_EVEN
    timeout = 0.5
    readings = ("read_temperature", "read_setpoint")

    def __init__(self, port: str | serial.SerialBase, address: int = 1, **settings: Any) -> None:
        super().__init__(port_path(port), address, **settings)
        #: The last process value ``read_temperature`` read, as PyExpLabSys kept it.
        self.temperature: float | int = -999

    read_temperature_reading = command(
        read_registers_pdu(PROCESS_VALUE, 1), parse_temperature, "Process value in °C, with its status"
    )
    read_setpoint_reading = command(
        read_registers_pdu(SET_POINT, 1), parse_temperature, "Temperature set point in °C, as a reading"
    )

    def read_temperature(self) -> float | int:
        """Process value as PyExpLabSys read it (unsigned, an int when whole; see the
        table above); kept in ``.temperature``."""
        self.temperature = self.query(read_registers_pdu(PROCESS_VALUE, 1), parse_upstream_temperature)
        return self.temperature

    def read_setpoint(self) -> float | int:
        """Set point as PyExpLabSys read it (unsigned, an int when whole)."""
        return self.query(read_registers_pdu(SET_POINT, 1), parse_upstream_temperature)

    def write_setpoint(self, new_setpoint: float) -> None:
        """Set the temperature set point (°C, rounded to 0.1; function 06)."""
        word = encode_register(new_setpoint, decimals=1, signed=True)
        self.query(write_register_pdu(SET_POINT, word))
        LOG.debug("%s: set point %.1f", self.port_name, new_setpoint)
