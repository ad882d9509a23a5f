"""Omega iSeries (CNi32, CNi3244 ...) temperature and process controllers.

Port: 19200 baud by default, **7 data bits, odd parity**, 1 stop bit. Request: ``*`` +
command + CR, with a 2-digit address after ``*`` on RS-485 (``*01X01\\r``). With echo on
the reply repeats the command before the data (``X01075.4\\r``), with echo off it is
just the data (``075.4\\r``). There is no error frame: an unknown command gets no answer
and the strict methods raise :class:`~PyExpLabSys.drivers.base.InstrumentTimeout`.

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`).
PyExpLabSys read whatever had come 0.5 s after sending; so here a unit that has not
begun to answer within 0.5 s is taken to be silent:

* ``read_temperature``: ``None`` when silent, or when the reply cannot be read in 9
  tries.
* ``command``, ``identify_device``, ``reset_device``: ``''`` when silent; otherwise the
  reply without its CR (and without the echo, if there is one).

A vanished port raises ``PortGone`` (an ``OSError``). ``read_temperature_reading``,
``identify``, ``read_reading_configuration`` and ``reset`` (this project's names) are
strict. ``CNi3244_C24(port)`` is PyExpLabSys's name for the CNi3244-C24.
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
    parse_float,
    strip_terminator,
    value_of,
)
from .upstream import or_sentinel

LOG = logging.getLogger(__name__)

CR = b"\r"
_HEX = re.compile(r"[0-9A-Fa-f]+")
#: PyExpLabSys's ``comm_stnd`` values; on RS-485 its default address was 1.
COMM_STANDARDS = {"rs232": None, "rs485": 1}
#: Seconds PyExpLabSys waited before reading a reply: a unit that has not begun to
#: answer by then is taken to be silent by the PyExpLabSys-named methods.
ABSENT_AFTER = 0.5


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
        """Send ``command`` (e.g. ``R26``) and return the reply's data as PyExpLabSys
        did: the echo removed, ``''`` when nothing came within 0.5 s, other replies as
        they came (without their CR).

        ``response_length`` is accepted for PyExpLabSys's scripts and not needed: the
        reply is framed by its CR.
        """
        addr = self.address if address is None else address
        with self.absent_after(ABSENT_AFTER):
            text = self.reply_text(command, address, errors="replace")
        prefixes = [command] if addr is None else [f"{addr:02d}{command}", command]
        for prefix in prefixes:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        return text[:-1]

    read_temperature_reading = _command(
        "X01", parse_reading, "The process value, e.g. the temperature, as a reading"
    )
    identify = _command("R26", doc="Identification data")
    read_reading_configuration = _command(
        "R01", parse_hex, "The reading configuration register (hex data such as 2003E8)"
    )

    def read_temperature(self, address: int | None = None) -> float | None:
        """The process value (``X01``); ``None`` when the unit is silent or its reply
        cannot be read in 9 tries, as PyExpLabSys gave it."""

        def temperature() -> float:
            with self.absent_after(ABSENT_AFTER):
                return value_of(self.read_temperature_reading(address))

        return or_sentinel(temperature, None, f"{self.port_name} X01", attempts=9)

    def identify_device(self, address: int | None = None) -> str:
        """Identification data (``R26``) as :meth:`command` returns it."""
        return self.command("R26", address=address)

    def reset_device(self, address: int | None = None) -> str:
        """Reset the controller (``Z02``); returns what :meth:`command` returns (the unit
        restarts and normally sends nothing: ``''``)."""
        LOG.info("%s: resetting the device", self.port_name)
        return self.command("Z02", address=address)

    def reset(self, address: int | None = None) -> None:
        """Reset the controller (``Z02``) without waiting for an answer."""
        with self.transaction():
            self.send(request_frame("Z02", self.address if address is None else address))


class CNi3244_C24(ISeries):  # PyExpLabSys's class name, kept for its scripts
    """The CNi3244-C24, an iSeries controller (RS-232 defaults)."""

    def __init__(self, port: str | serial.SerialBase, **settings: Any) -> None:
        super().__init__(port, **settings)
