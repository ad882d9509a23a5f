"""Modbus RTU slave on a pty: framing, CRC, addressing and exception replies.

Requests are framed by their length (8 bytes for functions 03 and 06, 9 + byte count
for 16; bytes of an unknown function are taken as one frame) and, as on a real line,
by silence: bytes of an unfinished frame are dropped when nothing follows within
:attr:`ModbusRtuSimulator.silence`. A request with a bad CRC or for another slave
gets no reply. Subclasses provide :meth:`read_register` and :meth:`write_register`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..drivers.modbus import (
    READ_HOLDING_REGISTERS,
    WRITE_MULTIPLE_REGISTERS,
    WRITE_SINGLE_REGISTER,
    append_crc,
    crc16,
)
from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SLAVE_DEVICE_FAILURE = 0x04


class ModbusError(Exception):
    """Raised by the register model: answer with this exception code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exception {code:02X}")
        self.code = code


def request_length(buf: bytes | bytearray) -> int | None:
    """Length of the request at the start of ``buf`` (None: not known yet)."""
    if len(buf) < 2:
        return None
    if buf[1] in (READ_HOLDING_REGISTERS, WRITE_SINGLE_REGISTER):
        return 8
    if buf[1] == WRITE_MULTIPLE_REGISTERS:
        return 9 + buf[6] if len(buf) >= 7 else None
    return len(buf)


class ModbusRtuSimulator(PtySimulator):
    """A Modbus RTU slave at ``address`` with a register model."""

    has_checksum = True
    #: Largest number of registers one read may ask for.
    max_read = 125
    #: Inter-frame silence after which an unfinished frame is dropped (seconds).
    silence = 0.01

    def __init__(self, *args: Any, address: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = address
        self._leftover = 0
        self._last_data = 0.0

    # ------------------------------------------------------------------ framing
    def split_requests(self, buf: bytearray) -> list[bytes]:
        now = time.monotonic()
        if self._leftover and now - self._last_data > self.silence:
            LOG.debug("%s: dropped unfinished frame %r", self.name, bytes(buf[: self._leftover]))
            del buf[: self._leftover]
        self._last_data = now
        requests = []
        while (length := request_length(buf)) is not None and len(buf) >= length:
            requests.append(bytes(buf[:length]))
            del buf[:length]
        self._leftover = len(buf)
        return requests

    def handle(self, request: bytes) -> bytes | None:
        if len(request) < 4 or crc16(request[:-2]).to_bytes(2, "little") != request[-2:]:
            LOG.debug("%s: bad CRC, no reply: %r", self.name, request)
            return None
        if request[0] != self.address:
            return None
        function = request[1]
        try:
            if function == READ_HOLDING_REGISTERS:
                data = self._read(request)
            elif function == WRITE_SINGLE_REGISTER:
                self.write_register(_word(request, 2), _word(request, 4))
                data = request[2:6]
            elif function == WRITE_MULTIPLE_REGISTERS:
                self._write_many(request)
                data = request[2:6]
            else:
                raise ModbusError(ILLEGAL_FUNCTION)
        except ModbusError as error:
            return self.exception(function, error.code)
        return append_crc(bytes([self.address, function]) + data)

    def _read(self, request: bytes) -> bytes:
        start, count = _word(request, 2), _word(request, 4)
        if not 1 <= count <= self.max_read:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        words = [self.read_register(start + i) for i in range(count)]
        return bytes([2 * count]) + b"".join(w.to_bytes(2, "big") for w in words)

    def _write_many(self, request: bytes) -> None:
        start, count, size = _word(request, 2), _word(request, 4), request[6]
        if size != 2 * count or len(request) != 9 + size:
            raise ModbusError(ILLEGAL_DATA_VALUE)
        for i in range(count):
            self.write_register(start + i, _word(request, 7 + 2 * i))

    def exception(self, function: int, code: int) -> bytes:
        """The exception reply to ``function`` with ``code``."""
        return append_crc(bytes([self.address, function | 0x80, code]))

    # ------------------------------------------------------------------ faults
    def nak(self, request: bytes, code: str | None) -> bytes:
        function = request[1] if len(request) > 1 else READ_HOLDING_REGISTERS
        return self.exception(function, int(code, 16) if code else SLAVE_DEVICE_FAILURE)

    def corrupt(self, reply: bytes) -> bytes:
        """Flip the lowest bit of the last data byte (the CRC no longer matches)."""
        index = len(reply) - 3
        return reply[:index] + bytes([reply[index] ^ 0x01]) + reply[index + 1 :]

    def bad_checksum(self, reply: bytes) -> bytes:
        return reply[:-2] + bytes([reply[-2] ^ 0xFF, reply[-1]])

    # ------------------------------------------------------------------ the model
    def read_register(self, register: int) -> int:
        """The word in ``register``; raise :class:`ModbusError` if there is none."""
        raise ModbusError(ILLEGAL_DATA_ADDRESS)

    def write_register(self, register: int, value: int) -> None:
        """Store ``value``; raise :class:`ModbusError` to refuse it."""
        raise ModbusError(ILLEGAL_DATA_ADDRESS)


def _word(frame: bytes, offset: int) -> int:
    return int.from_bytes(frame[offset : offset + 2], "big")
