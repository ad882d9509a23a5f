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
"""

from __future__ import annotations

import logging
from typing import Any

import serial

from .base import GarbledReply, Reading, Status, measurement
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


def parse_temperature(data: str) -> Reading:
    """One PV or SV word (hex): °C with one decimal, or the status it codes."""
    words = parse_words(data)
    if len(words) != 1:
        raise GarbledReply("expected one register", data)
    status = PV_STATUS.get(words[0])
    if status is not None:
        return Reading(None, status)
    return Reading(float(decode_register(words[0], decimals=1, signed=True)))


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

    read_temperature, read_temperature_reading = measurement(
        read_registers_pdu(PROCESS_VALUE, 1), parse_temperature, "Process value in °C"
    )
    read_setpoint, read_setpoint_reading = measurement(
        read_registers_pdu(SET_POINT, 1), parse_temperature, "Temperature set point in °C"
    )

    def write_setpoint(self, new_setpoint: float) -> None:
        """Set the temperature set point (°C, rounded to 0.1; function 06)."""
        word = encode_register(new_setpoint, decimals=1, signed=True)
        self.query(write_register_pdu(SET_POINT, word))
        LOG.debug("%s: set point %.1f", self.port_name, new_setpoint)
