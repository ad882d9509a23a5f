"""MKS G-series digital mass-flow controllers (GE50A and relatives).

Port: 9600 baud, 8N1. Request: ``@@@`` + 3-digit address + command + ``;`` + checksum;
reply: ``@@@000`` (the master's address) + ``ACK`` + data + ``;`` + checksum, or ``NAK``
+ code. The checksum is the sum of the character codes modulo 256 as two uppercase hex
digits. Real units accept requests whose checksum covers one ``@`` + address + command
+ ``;``; replies carry a checksum over the whole ``@@@...;``. NAK replies are reported by
their code even when their checksum is off (it deviates on real units).

What PyExpLabSys's methods return on the bad paths (the rule: :mod:`.upstream`).
PyExpLabSys read the reply 0.1 s after sending; so here a unit that has not begun to
answer within 0.1 s counts as absent (no unit at that address), while one that has
begun gets the full time-out:

* ``comm``, ``read_serial_number``, ``read_current_gas_type``, ``read_run_hours``,
  ``read_device_address``, ``read_internal_temperature`` (text): ``''`` with a log
  line when no unit answers ("no such device"), it refuses (NAK), or the reply is
  garbled or fails its checksum.
* ``read_full_scale_range``: ``''`` for each part the unit does not give.
* ``read_flow``: ``-1`` (an int) when no unit answers, or when the reply cannot be read
  in 49 tries.
* ``read_setpoint``: ``ValueError`` (:class:`~.base.EmptyReply` when no unit answers).
* ``set_flow``: ``True``, logged, also when refused (above full scale: NAK 25) or
  silent.
* ``purge``, ``set_device_address``: ``None``; refusals and silence logged.

A vanished port raises ``PortGone`` (an ``OSError``). The strict methods are the twins
(``read_flow_reading``, ``read_setpoint_reading``, ``read_internal_temperature_reading``)
and this project's own names (``read_unit``, ``read_address``, ``set_address``,
``valve_override``).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import serial

from .base import (
    ChecksumError,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    Reading,
    SerialInstrument,
    command,
    decode_ascii,
    parse_float,
    value_of,
)
from .mks_protocol import BROADCAST, format_address, parse_ack
from .upstream import or_sentinel, silence_is_value_error

LOG = logging.getLogger(__name__)

MASTER_ADDRESS = 0
#: Seconds PyExpLabSys waited for a reply: a unit that has not begun to answer by then
#: is taken to be absent by the PyExpLabSys-named methods.
ABSENT_AFTER = 0.1
NAK_CODES = {
    "01": "checksum error",
    "10": "syntax error",
    "11": "data length error",
    "12": "invalid data",
    "13": "invalid operating mode",
    "14": "invalid action",
    "15": "invalid gas",
    "16": "invalid control mode",
    "17": "invalid command",
    "24": "calibration error",
    "25": "flow too large",
    "27": "too many gases in gas table",
    "28": "flow cal error; valve not open",
    "98": "internal device error",
    "99": "internal device error",
}


# --------------------------------------------------------------------------- pure functions
def checksum(data: bytes) -> bytes:
    """Sum of the character codes modulo 256 as two uppercase hex digits."""
    return f"{sum(data) % 256:02X}".encode("ascii")


def request_frame(address: int, command: str) -> bytes:
    """``@@@aaa<command>;CS`` with the checksum over ``@aaa<command>;``."""
    body = f"@{format_address(address)}{command};".encode("ascii")
    return b"@@" + body + checksum(body)


def parse_reply(reply: bytes) -> str:
    """The data of ``@@@000ACK<data>;CS``; verifies the checksum, raises on NAK."""
    if not reply.startswith(b"@@@") or len(reply) < 6 or reply[-3:-2] != b";":
        raise GarbledReply("expected @@@...;CS", reply)
    body, received = reply[:-2], reply[-2:]
    text = decode_ascii(body[3:-1])
    if text[3:6] != "NAK" and checksum(body) != received:
        raise ChecksumError(f"checksum {received!r}, computed {checksum(body)!r}", reply)
    return parse_ack(text, reply, MASTER_ADDRESS, NAK_CODES)


def format_flow(value: float) -> str:
    """The ``SX!`` argument: rounded to one decimal, as PyExpLabSys sent it (``7.25`` →
    ``7.2``, ``5`` → ``5``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"flow must be a number, not {value!r}")
    return str(round(value, 1))


def parse_reading(data: str) -> Reading:
    """A measured value (the controller sends no status with it)."""
    return Reading(parse_float(data))


def parse_int(data: str) -> int:
    """A whole number such as an address (``005``)."""
    if not data.isdigit():
        raise GarbledReply("not an integer", data)
    return int(data)


#: The factory for this driver's commands: they take PyExpLabSys's ``addr`` argument.
_command = functools.partial(command, address="addr")


# --------------------------------------------------------------------------- the driver
class MksGSeries(SerialInstrument):
    """Driver for MKS G-series mass-flow controllers (9600 8N1, checksummed frames).

    Every command takes PyExpLabSys's optional ``addr`` (default: ``address``, the
    broadcast address 254 unless given).
    """

    reply_terminator = b";"
    reply_trailer = 2  # the checksum follows the ';'
    addressable = True
    readings = ("read_flow", "read_setpoint", "read_internal_temperature")

    def __init__(
        self, port: str | serial.SerialBase = "/dev/ttyUSB0", address: int = BROADCAST, **settings: Any
    ) -> None:
        format_address(address)
        self.address = address
        super().__init__(port, **settings)

    def converse(self, command: str, address: int | None) -> str:
        """Send the checksummed request to ``address`` (None: the driver's) and return
        the data of the master-addressed ACK reply."""
        self.send(request_frame(self.address if address is None else address, command))
        return parse_reply(self.receive())

    read_flow_reading = _command("FX?", parse_reading, "Actual flow in the unit's flow unit, as a reading")
    read_setpoint_reading = _command("SX?", parse_reading, "Flow set point, as a reading")
    read_internal_temperature_reading = _command(
        "TA?", parse_reading, "Internal temperature in °C, as a reading"
    )
    read_unit = _command("U?", doc="Flow unit, e.g. ``SCCM``")
    read_address = _command("CA?", parse_int, "The unit's address")

    def set_address(self, new_address: int, addr: int | None = None) -> int:
        """Give the unit a new address (``CA!``); later calls use it by default."""
        confirmed = self.query("CA!" + format_address(new_address), parse_int, addr)
        if addr is None or addr == self.address:
            self.address = confirmed
        return confirmed

    def valve_override(self, purge: bool, addr: int | None = None) -> str:
        """Open the valve fully (``VO!PURGE``) or return to control (``VO!NORMAL``)."""
        return self.query("VO!PURGE" if purge else "VO!NORMAL", address=addr)

    # ------------------------------------------------------------------ PyExpLabSys's methods
    def checksum(self, command: str, reply: bool = False) -> str:
        """The checksum of a request body (``'254FX?;'``: summed with a leading ``@``, as
        the units expect) or, with ``reply``, of ``command`` as it is; two hex digits."""
        text = command if reply else "@" + command
        return checksum(text.encode("ascii")).decode("ascii")

    def comm(self, command: str, addr: int | None = None) -> str:
        """Send ``command`` to ``addr`` (None: the driver's address) and return the
        reply's data as text; ``''`` (logged) when no unit begins to answer within 0.1 s,
        the unit refuses, or the reply is garbled or fails its checksum."""
        where = f"{self.port_name} address {self.address if addr is None else addr}"
        try:
            with self.absent_after(ABSENT_AFTER):
                return self.query(command, address=addr)
        except InstrumentTimeout:
            LOG.warning("%s: no such device (%s unanswered)", where, command)
        except ChecksumError as error:
            LOG.error("%s: checksum error in reply to %s: %s", where, command, error)
        except InstrumentReportedError as error:
            LOG.warning("%s: error in command %s: %s", where, command, error)
        except GarbledReply as error:
            LOG.error("%s: garbled reply to %s: %s", where, command, error)
        return ""

    def read_flow(self, addr: int | None = None) -> float | int:
        """Actual flow (``FX?``); ``-1`` when no unit answers or the reply cannot be
        read in 49 tries, as PyExpLabSys gave it."""

        def flow() -> float:
            with self.absent_after(ABSENT_AFTER):
                return value_of(self.read_flow_reading(addr))

        return or_sentinel(flow, -1, f"{self.port_name} FX?", attempts=49)

    def read_setpoint(self, addr: int | None = None) -> float:
        """Flow set point (``SX?``); ``ValueError`` when there is none to read (no unit:
        :class:`~.base.EmptyReply`), as ``float('')`` raised there."""
        with silence_is_value_error(), self.absent_after(ABSENT_AFTER):
            return value_of(self.read_setpoint_reading(addr))

    def read_internal_temperature(self, addr: int | None = None) -> str:
        """Internal temperature in °C as the unit sends it (``TA?``), text; ``''`` on
        the bad paths."""
        return self.comm("TA?", addr)

    def read_serial_number(self, addr: int | None = None) -> str:
        """Serial number (``SN?``); ``''`` within 0.1 s where no unit answers, so an
        address scan passes empty addresses quickly."""
        return self.comm("SN?", addr)

    def read_current_gas_type(self, addr: int | None = None) -> str:
        """Gas in use (``PG?``); ``''`` on the bad paths."""
        return self.comm("PG?", addr)

    def read_run_hours(self, addr: int | None = None) -> str:
        """Operating hours as the unit sends them (``RH?``); ``''`` on the bad paths."""
        return self.comm("RH?", addr)

    def read_full_scale_range(self, addr: int | None = None) -> str:
        """Full-scale flow followed by the flow unit, e.g. ``100.000SCCM`` (``U?``, then
        ``FS?``); a part the unit does not give is ``''``."""
        unit = self.comm("U?", addr)
        return self.comm("FS?", addr) + unit

    def read_device_address(self, address: int = BROADCAST) -> str:
        """The address of the unit at ``address`` as it sends it (``CA?``); ``''`` when
        there is none."""
        return self.comm("CA?", address)

    def set_device_address(self, old_addr: int, new_addr: int) -> None:
        """Move the unit at ``old_addr`` to ``new_addr`` (1..253; ``CA!``); a refusal or
        silence is logged. Later calls to ``old_addr`` by default go to ``new_addr``."""
        if not isinstance(new_addr, int) or not 0 < new_addr < BROADCAST:
            raise ValueError(f"new address must be 1..253, not {new_addr!r}")
        confirmed = self.comm("CA!" + format_address(new_addr), old_addr)
        if confirmed.isdigit() and old_addr == self.address:
            self.address = int(confirmed)

    def set_flow(self, value: float, addr: int | None = None) -> bool:
        """Set the flow set point (``SX!`` + the value rounded to one decimal); True,
        as PyExpLabSys returned, also when the unit refuses (above full scale: NAK 25)
        or is silent: both are logged."""
        if not self.comm("SX!" + format_flow(value), addr):
            LOG.warning("%s: flow set point %r not confirmed", self.port_name, value)
        return True

    def purge(self, t: float = 1, addr: int | None = None) -> None:
        """Purge for ``t`` seconds: open the valve fully, then return to control (also
        when interrupted), as PyExpLabSys's ``purge`` did; refusals are logged."""
        self.comm("VO!PURGE", addr)
        LOG.info("%s: purging for %g s", self.port_name, abs(t))
        try:
            time.sleep(abs(t))  # the purge's duration, not a wait for an event
        finally:
            self.comm("VO!NORMAL", addr)
            LOG.info("%s: done purging", self.port_name)
