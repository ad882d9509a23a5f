"""Omega iSeries (CNi32, CNi3244 ...) temperature and process controllers.

Port: 19200 baud by default, **7 data bits, odd parity**, 1 stop bit. Request: ``*`` +
command + CR, with a 2-digit address after ``*`` on RS-485 (``*01X01\\r``). With echo on
the reply repeats the command before the data (``X01075.4\\r``), with echo off it is
just the data (``075.4\\r``). There is no error frame: an unknown command gets no answer
and the driver raises :class:`~PyExpLabSys.drivers.base.InstrumentTimeout`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from .base import (
    GarbledReply,
    Reading,
    SerialInstrument,
    decode_ascii,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

T = TypeVar("T")

CR = b"\r"
_HEX = re.compile(r"[0-9A-Fa-f]+")


def request_frame(command: str, address: int | None = None) -> bytes:
    """``*[aa]<command>\\r``."""
    if address is None:
        return f"*{command}".encode("ascii") + CR
    if not 0 <= address <= 99:
        raise ValueError(f"RS-485 address must be 0..99, not {address}")
    return f"*{address:02d}{command}".encode("ascii") + CR


def parse_reply(reply: bytes, command: str, echo: bool = True,
                address: int | None = None) -> str:
    """The data of a reply; with echo on, check and remove the echoed command.

    On RS-485 the echo may carry the unit's address in front of the command.
    """
    text = decode_ascii(strip_terminator(reply, CR))
    if echo:
        prefixes = [command] if address is None else [f"{address:02d}{command}", command]
        for prefix in prefixes:
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        else:
            raise GarbledReply(f"reply does not echo {command}", reply)
    if not text:
        raise GarbledReply("reply without data", reply)
    return text


def parse_hex(text: str, reply: bytes = b"") -> int:
    """Hex data such as ``2003E8`` (reply to ``R01``)."""
    if not _HEX.fullmatch(text):
        raise GarbledReply("not hex data", reply)
    return int(text, 16)


def parse_reading(text: str, reply: bytes = b"") -> Reading:
    """The process value (the controller sends no status with it)."""
    return Reading(parse_float(text, reply))


class ISeries(SerialInstrument):
    """Driver for Omega iSeries controllers (RS-232, or RS-485 with ``address``)."""

    baudrate = 19200
    bytesize = serial.SEVENBITS
    parity = serial.PARITY_ODD
    stopbits = serial.STOPBITS_ONE
    reply_terminator = CR

    def __init__(self, port: str | serial.SerialBase, *, address: int | None = None,
                 echo: bool = True, **settings: Any) -> None:
        if address is not None:
            request_frame("X01", address)  # validates the address
        self.address = address
        self.echo = echo
        super().__init__(port, **settings)

    def _address(self, address: int | None) -> int | None:
        return self.address if address is None else address

    def query(self, command: str, parse_data: Callable[[str, bytes], T],
              address: int | None = None) -> T:
        """Send ``command`` and return ``parse_data(data, reply)``."""
        addr = self._address(address)
        return self.exchange(
            request_frame(command, addr),
            lambda reply: parse_data(parse_reply(reply, command, self.echo, addr), reply))

    def command(self, command: str, address: int | None = None) -> str:
        """Send ``command`` (e.g. ``R26``) and return the reply's data."""
        return self.query(command, lambda data, reply: data, address)

    def read_temperature(self, address: int | None = None) -> Reading:
        """The process value (``X01``), e.g. the temperature in the unit's unit."""
        return self.query("X01", parse_reading, address)

    def identify(self, address: int | None = None) -> str:
        """Identification data (``R26``)."""
        return self.command("R26", address)

    def read_reading_configuration(self, address: int | None = None) -> int:
        """The reading configuration register (``R01``, hex data such as 2003E8)."""
        return self.query("R01", parse_hex, address)

    def reset(self, address: int | None = None) -> None:
        """Reset the controller (``Z02``); the unit restarts and sends nothing useful."""
        with self.transaction():
            self.send(request_frame("Z02", self._address(address)))
