"""Protocol scripts: check a driver's serial exchanges byte for byte, in process.

A script is a list of ``(written, answered)`` pairs. :class:`ScriptedSerial` is a
``serial.SerialBase`` (so drivers accept it as an already opened port) that expects the
driver to write exactly ``written``, then makes ``answered`` available for reading.
``answered`` may be ``b""`` (the instrument stays silent: like a real port, a read
then waits the port's ``timeout`` and returns empty, so give the driver a short
time-out in such tests) or an exception instance
(raised by the next read, e.g. ``serial.SerialException`` for a vanished device).

Any write that deviates from the script fails the test at once with
:class:`ProtocolMismatch`; :func:`expected_protocol` also fails if the driver left pairs
unconsumed or answer bytes unread.

    with expected_protocol(Polyscience4100, [(b"RT\\r", b"+023.4\\r")]) as chiller:
        assert chiller.read_temperature_reading().value == 23.4
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import serial

D = TypeVar("D")

Answer = bytes | BaseException
Pair = tuple[bytes, Answer]


class ProtocolMismatch(AssertionError):
    """The driver wrote something the script did not expect, or left it unfinished."""


class ScriptedSerial(serial.SerialBase):
    """A fake, already opened serial port that follows a protocol script."""

    def __init__(self, pairs: Sequence[Pair], **settings: Any) -> None:
        super().__init__(port=None, **settings)
        self._port = "scripted"  # a name, so drivers may close and reopen it
        self._pairs = list(pairs)
        for written, _ in self._pairs:
            if not isinstance(written, bytes) or not written:
                raise ValueError(f"written part must be non-empty bytes: {written!r}")
        self._index = 0
        self._written = bytearray()
        self._answer = bytearray()
        self._raise: BaseException | None = None
        self.failures: list[str] = []
        self.flushes = 0
        self.opens = 0
        self.is_open = True

    # -- serial.SerialBase interface used by drivers
    def open(self) -> None:
        self.opens += 1
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self, *args: Any, **kwargs: Any) -> None:
        """Settings changes are accepted and ignored."""

    @property
    def in_waiting(self) -> int:
        self._check_open()
        return len(self._answer)

    def read(self, size: int = 1) -> bytes:
        self._check_open()
        if self._raise is not None and not self._answer:
            exc, self._raise = self._raise, None
            raise exc
        if not self._answer and self.timeout:
            time.sleep(self.timeout)  # what a real port does when nothing arrives
        data = bytes(self._answer[:size])
        del self._answer[:size]
        return data

    def write(self, data: bytes) -> int:  # type: ignore[override]  # drivers send bytes
        self._check_open()
        data = bytes(data)
        for byte in data:
            self._written.append(byte)
            self._match()
        return len(data)

    def reset_input_buffer(self) -> None:
        self._check_open()
        self.flushes += 1
        self._answer.clear()

    def reset_output_buffer(self) -> None:
        """Nothing is ever buffered for output."""

    def flush(self) -> None:
        """Writes are immediate."""

    # -- script bookkeeping
    @property
    def remaining(self) -> list[Pair]:
        """Pairs not consumed yet."""
        return self._pairs[self._index :]

    def _check_open(self) -> None:
        if not self.is_open:
            raise serial.PortNotOpenError()

    def _fail(self, message: str) -> None:
        self.failures.append(message)
        raise ProtocolMismatch(message)

    def _match(self) -> None:
        if self._index >= len(self._pairs):
            self._fail(f"unexpected write {bytes(self._written)!r}: script finished")
        expected, answer = self._pairs[self._index]
        written = bytes(self._written)
        if not expected.startswith(written):
            self._fail(f"pair {self._index}: expected write {expected!r}, got {written!r}")
        if written == expected:
            self._index += 1
            self._written.clear()
            if isinstance(answer, BaseException):
                self._raise = answer
            else:
                self._answer += answer

    def verify(self) -> None:
        """Fail if anything in the script was left over or a mismatch was swallowed."""
        if self.failures:
            raise ProtocolMismatch("; ".join(self.failures))
        if self._written:
            raise ProtocolMismatch(f"incomplete write {bytes(self._written)!r}")
        if self.remaining:
            raise ProtocolMismatch(f"{len(self.remaining)} pair(s) not consumed: {self.remaining!r}")
        if self._answer:
            raise ProtocolMismatch(f"answer bytes never read: {bytes(self._answer)!r}")


@contextmanager
def expected_protocol(driver_cls: type[D], pairs: Sequence[Pair], **kwargs: Any) -> Iterator[D]:
    """Build ``driver_cls(ScriptedSerial(pairs), **kwargs)`` and verify the script.

    The script is verified when the block ends without an exception (an exception from
    the block is more informative and propagates unchanged).
    """
    port = ScriptedSerial(pairs)
    driver = driver_cls(port, **kwargs)  # type: ignore[call-arg]  # every driver takes its port first
    yield driver
    port.verify()
