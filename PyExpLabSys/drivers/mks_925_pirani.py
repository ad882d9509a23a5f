"""MKS 925 MicroPirani vacuum transducer.

Port: 9600 baud, 8N1. Protocol ``@<address><command>;FF`` (see
:mod:`PyExpLabSys.drivers.mks_protocol`); address 254 is the broadcast address a single
unit on the line always answers.

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`):

* ``read_pressure``: ``-1.0`` for a reply without a number (``LO``, ``OFF``, ``<x``,
  ``>``), a silent unit, or a refused or garbled reply after 9 tries.
* ``read_serial``: ``''`` when silent, refused (see below) or garbled.
* ``change_unit``, ``set_comm_speed``, ``comm``: the whole reply as text
  (``@253NAK160;FF``), ``''`` when silent.

A vanished port raises ``PortGone`` (an ``OSError``). Where the unit refuses,
PyExpLabSys cut the NAK code out of the reply as if it were the value (``160.0``,
``'160'``); we give the sentinel instead of taking an error code for a pressure.
``read_pressure_reading`` is the strict twin.
"""

from __future__ import annotations

import logging

from .base import command
from .mks_protocol import MksGauge, parse_pressure_value, unit_command
from .upstream import number_only, or_sentinel

LOG = logging.getLogger(__name__)

#: Baud rates the 925 takes in ``BR!``.
BAUD_RATES = (4800, 9600, 19200, 38400, 57600, 115200, 230400)


class Mks925(MksGauge):
    """Driver for the MKS 925 MicroPirani."""

    readings = ("read_pressure",)

    read_pressure_reading = command(
        "PR1?", parse_pressure_value, "The pressure in the unit's current unit, with its status"
    )

    def comm(self, command: str) -> str:
        """Send ``command`` and return the whole reply as text (``@253ACK...;FF``), as
        PyExpLabSys did: an error reply as it came, ``''`` from a silent unit."""
        return self.reply_text(command)

    def read_pressure(self) -> float:
        """The pressure as a float; ``-1.0`` when the unit sends no number, says nothing,
        or answers what cannot be read in 9 tries (PyExpLabSys's sentinel)."""
        return or_sentinel(
            lambda: number_only(self.read_pressure_reading()), -1.0, f"{self.port_name} PR1?", attempts=9
        )

    def read_serial(self) -> str:
        """The serial number; ``''`` when the unit is silent or refuses."""
        return or_sentinel(lambda: self.query("SN?"), "", f"{self.port_name} SN?")

    def change_unit(self, unit: str) -> str:
        """Set the pressure unit (``U!TORR``, ``MBAR``, ``PASCAL``, ``MICRON``); returns
        the whole reply as text (``@253ACKMBAR;FF``), as PyExpLabSys did."""
        return self.comm(unit_command(unit))

    def set_comm_speed(self, speed: int) -> str:
        """Set the unit's baud rate (``BR!9600``); returns the whole reply as text. The
        port keeps its own rate: reopen it with the new one to go on talking."""
        if isinstance(speed, bool) or int(speed) not in BAUD_RATES:
            raise ValueError(f"baud rate must be one of {BAUD_RATES}, not {speed!r}")
        return self.comm(f"BR!{int(speed)}")
