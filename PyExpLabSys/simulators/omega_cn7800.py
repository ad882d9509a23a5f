"""Simulator of an Omega CN7800 temperature controller (Modbus RTU slave 1).

Registers (0.1 °C, two's complement): 0x1000 process value (drifts around the set
point; set ``pv_status`` to e.g. 0x8003 to report "sensor not connected"), 0x1001 set
point (writable within 0x1003..0x1002), 0x1002 / 0x1003 upper / lower range limit,
0x1004 sensor type. At most 8 registers per read, as on the real unit.
"""

from __future__ import annotations

import logging
from typing import Any

from ..drivers.modbus import decode_register
from ..drivers.omega_cn7800 import PROCESS_VALUE, SET_POINT
from .modbus import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, ModbusError, ModbusRtuSimulator

LOG = logging.getLogger(__name__)

UPPER_LIMIT = 0x1002
LOWER_LIMIT = 0x1003
SENSOR_TYPE = 0x1004


class CN7800Simulator(ModbusRtuSimulator):
    """A CN7800 with a K thermocouple, range -200.0 .. 1300.0 °C, set point 25.0 °C."""

    name = "cn7800"
    max_read = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registers = {SET_POINT: 250, UPPER_LIMIT: 13000, LOWER_LIMIT: -2000 & 0xFFFF, SENSOR_TYPE: 0}
        self.pv_status: int | None = None

    def read_register(self, register: int) -> int:
        if register == PROCESS_VALUE:
            if self.pv_status is not None:
                return self.pv_status
            setpoint = decode_register(self.registers[SET_POINT], decimals=1, signed=True)
            return round(self.drift(setpoint, relative=0.005) * 10) & 0xFFFF
        if register not in self.registers:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        return self.registers[register]

    def write_register(self, register: int, value: int) -> None:
        if register != SET_POINT:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        low, high = (decode_register(self.registers[r], signed=True) for r in (LOWER_LIMIT, UPPER_LIMIT))
        if not low <= decode_register(value, signed=True) <= high:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        self.registers[SET_POINT] = value
