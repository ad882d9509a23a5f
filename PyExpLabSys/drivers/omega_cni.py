"""Omega iSeries (CNi32, CNi3244 ...) temperature and process controllers.

Port: 19200 baud by default, **7 data bits, odd parity**, 1 stop bit. Request: ``*`` +
command + CR, with a 2-digit address after ``*`` on RS-485 (``*01X01\\r``). With echo on
the reply repeats the command before the data (``X01075.4\\r``), with echo off it is
just the data (``075.4\\r``). There is no error frame: an unknown command gets no answer
and the driver raises :class:`~PyExpLabSys.drivers.base.InstrumentTimeout`.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import serial

from .base import (
    GarbledReply,
    Reading,
    SerialInstrument,
    command,
    decode_ascii,
    measurement,
    parse_float,
    strip_terminator,
)

LOG = logging.getLogger(__name__)

CR = b"\r"
_HEX = re.compile(r"[0-9A-Fa-f]+")
#: PyExpLabSys's ``comm_stnd`` values; on RS-485 its default address was 1.
COMM_STANDARDS = {"rs232": None, "rs485": 1}


# --------------------------------------------------------------------------- pure functions
def request_frame(command: str, address: int | None = None) -> bytes:
    """``*[aa]<command>\\r``."""
    if address is None:
        return f"*{command}".encode("ascii") + CR
    if not isinstance(address, int) or not 0 <= address <= 99:
        raise ValueError(f"RS-485 address must be 0..99, not {address!r}")
    return f"*{address:02d}{command}".encode("ascii") + CR


def parse_reply(reply: bytes, command: str, echo: bool = True, address: int | None = None) -> str:
    """The data of a reply; with echo on, check and remove the echoed command.

    On RS-485 the echo may carry the unit's address in front of the command.
    """
    text = decode_ascii(strip_terminator(reply, CR))
    if echo:
        prefixes = [command] if address is None else [f"{address:02d}{command}", command]
        for prefix in prefixes:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        else:
            raise GarbledReply(f"reply does not echo {command}", reply)
    if not text:
        raise GarbledReply("reply without data", reply)
    return text


def parse_hex(data: str) -> int:
    """Hex data such as ``2003E8`` (reply to ``R01``)."""
    if not _HEX.fullmatch(data):
        raise GarbledReply("not hex data", data)
    return int(data, 16)


def parse_reading(data: str) -> Reading:
    """The process value (the controller sends no status with it)."""
    return Reading(parse_float(data))


#: The factory for this driver's commands: they take PyExpLabSys's ``address`` argument.
_command = functools.partial(command, address="address")


# --------------------------------------------------------------------------- the driver
class ISeries(SerialInstrument):
    """Driver for Omega iSeries controllers (RS-232, or RS-485 with ``address``).

    ``ISeries(port, 9600, comm_stnd="rs485")`` works as in PyExpLabSys (RS-485 then
    defaults to address 1).
    """

    baudrate = 19200
    bytesize = serial.SEVENBITS
    parity = serial.PARITY_ODD
    reply_terminator = CR
    addressable = True
    readings = ("read_temperature",)

    def __init__(
        self,
        port: str | serial.SerialBase,
        baudrate: int | None = None,
        comm_stnd: str = "rs232",
        *,
        address: int | None = None,
        echo: bool = True,
        **settings: Any,
    ) -> None:
        if comm_stnd not in COMM_STANDARDS:
            raise ValueError(f"comm_stnd must be one of {', '.join(COMM_STANDARDS)}, not {comm_stnd!r}")
        if address is None:
            address = COMM_STANDARDS[comm_stnd]
        if address is not None:
            request_frame("X01", address)  # validates the address
        self.address = address
        self.echo = echo
        super().__init__(port, baudrate, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send ``*[aa]<command>`` and return the reply's data (echo removed)."""
        addr = self.address if address is None else address
        self.send(request_frame(command, addr))
        return parse_reply(self.receive(), command, self.echo, addr)

    def command(self, command: str, response_length: int | None = None, address: int | None = None) -> str:
        """Send ``command`` (e.g. ``R26``) and return the reply's data.

        ``response_length`` is accepted for PyExpLabSys's scripts and not needed: the
        reply is framed by its CR.
        """
        return self.query(command, address=address)

    read_temperature, read_temperature_reading = measurement(
        "X01", parse_reading, "The process value, e.g. the temperature", address="address"
    )
    identify = _command("R26", doc="Identification data")
    identify_device = identify
    read_reading_configuration = _command(
        "R01", parse_hex, "The reading configuration register (hex data such as 2003E8)"
    )

    def reset(self, address: int | None = None) -> None:
        """Reset the controller (``Z02``); the unit restarts and sends nothing useful."""
        with self.transaction():
            self.send(request_frame("Z02", self.address if address is None else address))
