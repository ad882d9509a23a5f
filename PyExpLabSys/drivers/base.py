"""Foundation shared by the serial instrument drivers.

A driver subclasses :class:`SerialInstrument`, states the port settings where they differ
from the defaults here (8N1 at 9600 baud), implements :meth:`SerialInstrument.converse`
(one request and its reply, returning the reply's data as text) and declares its
commands on top of the one :meth:`SerialInstrument.query`:

* a plain command in a line: ``read_unit = command("RU", parse_unit, "Temperature unit")``;
* a measurement in a line, as a pair: ``read_temperature, read_temperature_reading =
  measurement("RT", parse_reading, "Bath temperature")``;
* anything with arguments as a real method (``x_reading`` returning :class:`Reading`, and
  ``x = plain(x_reading)``);
* the measurements the service may log in ``readings`` (the first is the default).

**Naming rule**: a method with PyExpLabSys's name returns what PyExpLabSys's driver
returned, on every path, the instrument's refusals, silence and off states included (its
sentinels, in its types: see :mod:`.upstream` and each driver's table); its twin
``x_reading`` returns the same measurement as a :class:`Reading` (value and the
instrument's status), or a tuple/list of them, and raises :class:`InstrumentError` on
every failure. Methods of the project's own names are strict like the twins. The
service reads only the twins.

Parsers follow one convention: ``parse(data: str) -> value``, where ``data`` is the
reply's payload after the protocol's framing (terminator, address, ACK, checksum) has
been checked by the driver's pure frame functions; a parser raises :class:`GarbledReply`.

Design rules, taken from drivers that ran against real units:

* Replies are framed by terminator and/or length against a deadline; the driver never
  sleeps a fixed time and then reads whatever happens to be waiting.
* Every failure is an :class:`InstrumentError` (an ``OSError``; time-outs are also
  ``TimeoutError``, garbled and refused replies also ``ValueError``, so the handlers of
  PyExpLabSys's scripts catch them); only PyExpLabSys-named methods return sentinels,
  where PyExpLabSys did.
* Status that the instrument reports together with a value is returned with it, as a
  :class:`Reading`.
* Each transaction starts with an empty input buffer; after an error the driver also
  drains late bytes (and may send a protocol-specific resynchronisation) first.
* When the device vanishes, the port is closed and :class:`PortGone` raised; the next
  exchange reopens a port given by name or URL (or call :meth:`SerialInstrument.reopen`).
"""

from __future__ import annotations

import enum
import functools
import inspect
import logging
import re
import termios
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias, TypeVar, cast, overload

import serial

LOG = logging.getLogger(__name__)

T = TypeVar("T")

#: A parser: the reply's data (payload) as text → the value; raises GarbledReply.
Parser: TypeAlias = Callable[[str], T]

#: Suffix of the status-rich twin of a measurement method (``read_flow_reading``).
READING_SUFFIX = "_reading"

# Errors that mean "the port (device) is not usable any more". termios.error is not an
# OSError, but tcflush on a hung-up pty raises it.
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


# --------------------------------------------------------------------------- errors
# The types are chosen so that the handlers of PyExpLabSys's scripts catch our errors
# where they caught its drivers' errors: every driver error is an OSError (IOError, as
# pyserial's and minimalmodbus's errors are), a time-out is also a TimeoutError, and a
# reply that is garbled, refused or carries no number is also a ValueError (what
# ``float(reply)`` raised there).
class InstrumentError(OSError):
    """Base class of all driver errors; an ``OSError`` (``IOError``)."""


class InstrumentTimeout(InstrumentError, TimeoutError):
    """No complete reply arrived before the deadline (``partial`` holds what did); also a
    ``TimeoutError``."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        super().__init__(message)
        self.partial = partial


class EmptyReply(InstrumentTimeout, ValueError):
    """No reply, raised by a method whose PyExpLabSys original parsed the empty reply it
    read from a silent unit (and so raised ``ValueError``); also a ``ValueError``."""


class GarbledReply(InstrumentError, ValueError):
    """A complete reply arrived but does not have the form the protocol prescribes; also
    a ``ValueError``."""

    def __init__(self, message: str, reply: bytes | str = b"") -> None:
        super().__init__(f"{message}: {reply!r}" if reply else message)
        self.reply = _as_bytes(reply)


class ChecksumError(GarbledReply):
    """A reply's checksum does not match its contents."""


class UnknownCode(GarbledReply, KeyError):
    """A reply holds a code missing from the driver's table, where PyExpLabSys looked the
    code up in its own table (and so raised ``KeyError``); also a ``KeyError``."""

    def __str__(self) -> str:
        return GarbledReply.__str__(self)


class InstrumentReportedError(InstrumentError, ValueError):
    """The instrument answered with an error (NAK, ``?``); ``code`` is its own code. Also a
    ``ValueError``: a refused request is a reply that holds no value."""

    def __init__(self, code: str, meaning: str = "", reply: bytes = b"") -> None:
        text = f"instrument reported error {code}"
        if meaning:
            text += f" ({meaning})"
        super().__init__(text)
        self.code = code
        self.meaning = meaning
        self.reply = reply


class PortGone(InstrumentError):
    """The serial device vanished (unplugged, pty closed) or cannot be opened."""


# --------------------------------------------------------------------------- readings
class Status(str, enum.Enum):
    """Status reported by an instrument together with a reading."""

    OK = "ok"
    UNDERRANGE = "underrange"
    OVERRANGE = "overrange"
    SENSOR_ERROR = "sensor error"
    SENSOR_OFF = "sensor off"
    NO_SENSOR = "no sensor"
    IDENTIFICATION_ERROR = "identification error"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Reading:
    """A measured value with the status the instrument gave with it.

    ``value`` is None only when the status says there is no number (sensor off, ``LO``
    without a number, ...). Instruments without status always give ``Status.OK``.
    """

    value: float | None
    status: Status = Status.OK

    @property
    def ok(self) -> bool:
        """True when the instrument reports a normal measurement."""
        return self.status is Status.OK


class NoValue(InstrumentError, ValueError):
    """A measurement came without a number (sensor off, ``LO``, ``WAIT`` ...); also a
    ``ValueError``.

    Raised by :func:`value_of` where a float is required; ``status`` is the instrument's
    status and ``reading`` the whole :class:`Reading`. The ``*_reading`` twins return
    such readings instead of raising.
    """

    def __init__(self, reading: Reading) -> None:
        super().__init__(f"no value: the instrument reports {reading.status.value}")
        self.reading = reading
        self.status = reading.status


def value_of(reading: Reading) -> float:
    """The number of ``reading`` (also under- or over-range bounds the unit sent);
    :class:`NoValue` when the instrument sent none."""
    if reading.value is None:
        raise NoValue(reading)
    return reading.value


def reading_name(method: str) -> str:
    """The name of the status-rich twin of measurement ``method``."""
    return method + READING_SUFFIX


def text(data: str) -> str:
    """The parser that keeps the reply's data as it is."""
    return data


def checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """A parser that returns the data as text once ``parse`` accepts it (for replies
    PyExpLabSys returned as text: garbage is still an error)."""

    def parse_text(data: str) -> str:
        parse(data)
        return data

    return parse_text


# --------------------------------------------------------------------------- parsing helpers
_NUMBER = re.compile(rb"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def parse_float(text: bytes | str, reply: bytes = b"") -> float:
    """Parse a decimal number or raise :class:`GarbledReply`.

    Stricter than ``float()``: ``nan``, ``inf`` and ``1_0`` are garbage, not readings.
    """
    data = _as_bytes(text)
    if not _NUMBER.fullmatch(data):
        raise GarbledReply("not a number", reply or data)
    return float(data)


def decode_ascii(data: bytes) -> str:
    """Decode an ASCII reply or raise :class:`GarbledReply`."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise GarbledReply("non-ASCII bytes in reply", data) from None


def strip_terminator(reply: bytes, terminator: bytes) -> bytes:
    """Return ``reply`` without its terminator, raising if it does not end with it."""
    if not reply.endswith(terminator):
        raise GarbledReply(f"reply does not end with {terminator!r}", reply)
    return reply[: len(reply) - len(terminator)]


def _as_bytes(text: bytes | str) -> bytes:
    return text if isinstance(text, bytes) else str(text).encode("ascii", "replace")


def frame_end(
    buf: bytes | bytearray, terminator: bytes | None, trailer: int = 0, length: int | None = None
) -> int | None:
    """Return the length of the first complete frame in ``buf``, or None if incomplete.

    A frame ends ``trailer`` bytes after ``terminator`` (a checksum follows the
    terminator in some protocols), or after ``length`` bytes when no terminator is set.
    With both, the frame ends at whichever comes first (a short error frame).
    """
    if terminator is not None:
        pos = buf.find(terminator)
        if pos >= 0 and len(buf) >= pos + len(terminator) + trailer:
            end = pos + len(terminator) + trailer
            return end if length is None else min(end, length)
    if length is not None and len(buf) >= length:
        return length
    return None


# --------------------------------------------------------------------------- the driver base
class SerialInstrument:
    """Base class of serial instrument drivers.

    ``port`` is a device path (``/dev/ttyUSB0``), any pyserial URL (``socket://``,
    ``rfc2217://``, ``loop://``...) or an already opened ``serial.SerialBase``. The port
    settings default to the class attributes and can be overridden by keyword.
    """

    baudrate: ClassVar[int] = 9600
    bytesize: ClassVar[int] = serial.EIGHTBITS
    parity: ClassVar[str] = serial.PARITY_NONE
    stopbits: ClassVar[float] = serial.STOPBITS_ONE
    #: Deadline for one reply, seconds.
    timeout: float = 1.0
    #: The port's own read time-out: a blocked read returns after this slice so the
    #: driver can check its deadline. It is set once when the port is opened, because
    #: reconfiguring costs system calls (and fails on a pty in 7-bit mode). It is also
    #: how long the line must stay quiet while draining late bytes after an error.
    poll_interval: ClassVar[float] = 0.02
    #: Default framing of replies.
    reply_terminator: ClassVar[bytes | None] = b"\r"
    reply_trailer: ClassVar[int] = 0
    #: Longest reply accepted before the reply counts as garbage.
    max_reply: ClassVar[int] = 1024
    #: Whether :meth:`query` takes a bus address (RS-485 and multi-drop protocols).
    addressable: ClassVar[bool] = False
    #: Measurement methods the service may log (each has its ``*_reading`` twin and
    #: returns a single reading); the first is the default ``read`` of a channel.
    readings: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Name the methods made by the factories and check the declared readings."""
        super().__init_subclass__(**kwargs)
        for name, attr in list(vars(cls).items()):
            if getattr(attr, "_unnamed", False):
                attr.__name__, attr.__qualname__ = name, f"{cls.__qualname__}.{name}"
                attr.__module__ = cls.__module__
                attr._unnamed = False
        for attr in vars(cls).values():
            rich = getattr(attr, "_plain_of", None)
            if rich is not None and not attr.__doc__:
                attr.__doc__ = (
                    f"As :meth:`{rich.__name__}`, but the number alone, a float "
                    "as PyExpLabSys returned it; :class:`NoValue` (carrying "
                    "the instrument's status) when the unit sent no number."
                )
        for name in cls.readings:
            for method in (name, reading_name(name)):
                if not callable(getattr(cls, method, None)):
                    raise TypeError(f"{cls.__name__} declares reading {name!r} but has no method {method!r}")

    @classmethod
    def port_defaults(cls) -> dict[str, Any]:
        """The port settings this driver opens with unless told otherwise."""
        return {
            "baudrate": cls.baudrate,
            "bytesize": cls.bytesize,
            "parity": cls.parity,
            "stopbits": cls.stopbits,
            "timeout": cls.timeout,
        }

    def __init__(
        self,
        port: str | serial.SerialBase,
        baudrate: int | None = None,
        *,
        bytesize: int | None = None,
        parity: str | None = None,
        stopbits: float | None = None,
        timeout: float | None = None,
        write_timeout: float | None = None,
    ) -> None:
        self.settings: dict[str, Any] = {
            "baudrate": baudrate or type(self).baudrate,
            "bytesize": bytesize or type(self).bytesize,
            "parity": parity or type(self).parity,
            "stopbits": stopbits or type(self).stopbits,
        }
        self.timeout = float(timeout if timeout is not None else type(self).timeout)
        self.write_timeout = write_timeout if write_timeout is not None else self.timeout
        self._lock = threading.RLock()
        self._dirty = False
        self._absent_after: float | None = None
        #: The last reply frame received (or what arrived before a time-out), as bytes.
        self.last_reply = b""
        if isinstance(port, serial.SerialBase):
            self._spec: str | None = None
            # A port opened by the caller (a test's script port, pyserial's URL handlers)
            self.serial: serial.Serial | None = cast(serial.Serial, port)
            if port.timeout != self.poll_interval:
                port.timeout = self.poll_interval
        else:
            self._spec = port
            self.serial = None
            self._open()

    # ------------------------------------------------------------------ port handling
    @property
    def port_name(self) -> str:
        """The device path or URL this driver talks to."""
        if self._spec is not None:
            return self._spec
        return str(getattr(self.serial, "port", None) or self.serial)

    def _open(self) -> serial.Serial:
        try:
            ser = serial.serial_for_url(
                self._spec, timeout=self.poll_interval, write_timeout=self.write_timeout, **self.settings
            )
        except (ValueError, *_PORT_ERRORS) as exc:
            raise PortGone(f"cannot open {self._spec}: {exc}") from exc
        self.serial = ser
        self._dirty = False
        LOG.debug("opened %s", self._spec)
        return ser

    def reopen(self) -> None:
        """Close and open the port again, e.g. after the device came back."""
        with self._lock:
            self._close_quietly()
            if self._spec is not None:
                self._open()
                return
            ser = self.serial
            if ser is None or getattr(ser, "port", None) is None:
                raise PortGone("port object has no name to reopen")
            try:
                ser.open()
            except _PORT_ERRORS as exc:
                raise PortGone(f"cannot reopen {ser.port}: {exc}") from exc
            self._dirty = False

    def close(self) -> None:
        """Close the port (a later exchange reopens a port given by name or URL)."""
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        ser = self.serial
        if ser is not None and ser.is_open:
            try:
                ser.close()
            except _PORT_ERRORS:
                LOG.debug("error while closing %s", self.port_name, exc_info=True)
        if self._spec is not None:
            self.serial = None

    def _port(self) -> serial.Serial:
        ser = self.serial
        if ser is None:
            return self._open()
        if not ser.is_open:
            self.reopen()
            assert self.serial is not None
            return self.serial
        return ser

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ exchanges
    @contextmanager
    def transaction(self) -> Iterator[serial.Serial]:
        """Hold the port for one request/reply sequence, starting from a clean line.

        Any :class:`InstrumentError` inside marks the line dirty, so the next
        transaction drains and resynchronises first; port errors close the port.
        """
        with self._lock:
            ser = self._port()
            try:
                if self._dirty:
                    self._resync(ser)
                    self._dirty = False
                ser.reset_input_buffer()
                yield ser
            except InstrumentError:
                self._dirty = True
                raise
            except _PORT_ERRORS as exc:
                self._dirty = True
                self._close_quietly()
                raise PortGone(f"{self.port_name}: {exc}") from exc

    def send(self, data: bytes) -> None:
        """Write ``data`` (inside a transaction)."""
        ser = self.serial
        assert ser is not None
        try:
            ser.write(data)
        except serial.SerialTimeoutException as exc:
            raise InstrumentTimeout(f"write to {self.port_name} timed out") from exc
        except _PORT_ERRORS as exc:
            self._close_quietly()
            raise PortGone(f"{self.port_name}: write failed: {exc}") from exc

    def receive(
        self,
        terminator: bytes | None = None,
        trailer: int | None = None,
        length: int | None = None,
        timeout: float | None = None,
        frame: Callable[[bytearray], int | None] | None = None,
    ) -> bytes:
        """Read one reply frame (inside a transaction) and return it, terminator included.

        Framing defaults to the class's ``reply_terminator`` / ``reply_trailer``; pass
        ``length`` alone (with ``terminator=None``) for fixed-length frames, or ``frame``
        (bytes so far → length of the complete frame, or None) for binary protocols whose
        frame length depends on its first bytes (Modbus RTU).
        """
        if terminator is None and length is None:
            terminator = self.reply_terminator
        if trailer is None:
            trailer = self.reply_trailer if terminator == self.reply_terminator else 0
        start = time.monotonic()
        deadline = start + (self.timeout if timeout is None else timeout)
        # A unit that has not begun to answer by then counts as absent (see absent_after).
        first_byte_by = deadline if self._absent_after is None else min(deadline, start + self._absent_after)
        ser = self.serial
        assert ser is not None
        buf = bytearray()
        self.last_reply = b""
        try:
            while True:
                waiting = ser.in_waiting
                if waiting:
                    buf += ser.read(waiting)
                elif time.monotonic() >= (deadline if buf else first_byte_by):
                    self.last_reply = bytes(buf)
                    raise self._timeout_error(buf)
                else:
                    # Blocks until a byte arrives or one poll slice has passed.
                    chunk = ser.read(1)
                    if not chunk:
                        continue
                    buf += chunk
                end = frame(buf) if frame is not None else frame_end(buf, terminator, trailer, length)
                if end is not None:
                    if end < len(buf):
                        LOG.debug("%s: %d bytes after the frame", self.port_name, len(buf) - end)
                        self._dirty = True
                    self.last_reply = bytes(buf[:end])
                    return self.last_reply
                if len(buf) > self.max_reply:
                    self.last_reply = bytes(buf)
                    raise GarbledReply("reply too long, no terminator", bytes(buf[:64]))
        except InstrumentError:  # an OSError too: not a port failure
            raise
        except serial.SerialTimeoutException as exc:  # pragma: no cover - write only
            raise InstrumentTimeout(str(exc)) from exc
        except _PORT_ERRORS as exc:
            self._close_quietly()
            raise PortGone(f"{self.port_name}: read failed: {exc}") from exc

    @contextmanager
    def absent_after(self, seconds: float) -> Iterator[None]:
        """Inside the block, a unit that has not begun to answer within ``seconds``
        counts as absent (:class:`InstrumentTimeout` then); one that has begun gets the
        full time-out to finish. For PyExpLabSys's methods that read after a fixed short
        wait and took silence for "no unit at this address"."""
        with self._lock:
            saved, self._absent_after = self._absent_after, seconds
            try:
                yield
            finally:
                self._absent_after = saved

    def reply_text(self, command: str, address: int | None = None, errors: str = "strict") -> str:
        """The whole reply to ``command`` as text, terminator included, whatever it says
        (an error reply, garbage), as PyExpLabSys's ``comm`` methods returned it; from a
        silent unit, what arrived before the deadline (``''`` when nothing did).

        Non-ASCII bytes raise :class:`GarbledReply` (a ``ValueError``, as ``decode()``
        raised there) unless ``errors`` says otherwise; a vanished port raises
        :class:`PortGone`.
        """
        with self._lock:  # last_reply must be this exchange's
            try:
                self.query(command, address=address)
            except InstrumentTimeout as timeout:
                LOG.debug("%s: %s", self.port_name, timeout)
            except (GarbledReply, InstrumentReportedError) as error:
                LOG.debug("%s: %s", self.port_name, error)
            reply = self.last_reply
        try:
            return reply.decode("ascii", errors)
        except UnicodeDecodeError:
            raise GarbledReply("non-ASCII bytes in reply", reply) from None

    @overload
    def query(self, command: str, parse: Parser[T], address: int | None = None) -> T: ...

    @overload
    def query(self, command: str, parse: None = None, address: int | None = None) -> str: ...

    def query(self, command: str, parse: Parser[Any] | None = None, address: int | None = None) -> Any:
        """Send ``command`` (to bus ``address``; None: the driver's own) and return
        ``parse(data)`` of the reply, the one way every driver talks to its instrument.

        Parsing happens inside the transaction so that a garbled reply also marks the
        line for resynchronisation. Without ``parse``, the data as text.
        """
        parse = text if parse is None else parse
        if address is not None and not self.addressable:
            raise ValueError(f"{type(self).__name__} has no bus address; got {address!r}")
        with self.transaction():
            return parse(self.converse(command, address))

    def converse(self, command: str, address: int | None) -> str:
        """One request and its reply inside a transaction; returns the reply's data.

        Each driver implements it with its protocol's pure frame functions (raising
        :class:`InstrumentError` on NAK, bad frames, checksums).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement converse()")

    def _timeout_error(self, buf: bytearray) -> InstrumentTimeout:
        what = f"incomplete reply {bytes(buf)!r}" if buf else "no reply"
        return InstrumentTimeout(f"{self.port_name}: {what} within {self.timeout:g} s", bytes(buf))

    def _resync(self, ser: serial.Serial) -> None:
        """Bring the line back to a known state after an error.

        Drains bytes that arrive late until the line has been quiet for
        ``poll_interval`` seconds (bounded by the time-out). Protocols with a reset
        character override this and send it first.
        """
        deadline = time.monotonic() + self.timeout
        ser.reset_input_buffer()
        while time.monotonic() < deadline:
            junk = ser.read(max(1, ser.in_waiting))  # waits one poll slice at most
            if not junk:
                break
            LOG.debug("%s: drained %r", self.port_name, junk)


# --------------------------------------------------------------------------- method factories
M = TypeVar("M", bound=Callable[..., Any])


def _unnamed(method: M, doc: str) -> M:
    """Mark a factory-made method so that the class names it after its attribute."""
    method.__doc__ = doc
    method._unnamed = True  # type: ignore[attr-defined]  # a marker on the function object
    return method


@overload
def command(
    request: str, parse: Parser[T], doc: str = "", *, address: str | None = None
) -> Callable[..., T]: ...


@overload
def command(
    request: str, parse: None = None, doc: str = "", *, address: str | None = None
) -> Callable[..., str]: ...


def command(
    request: str,
    parse: Parser[Any] | None = None,
    doc: str = "",
    *,
    address: str | None = None,
) -> Callable[..., Any]:
    """A driver method that sends ``request`` and returns ``parse`` of the reply's data
    (the data as text without ``parse``).

    With ``address`` (the keyword PyExpLabSys used, ``addr`` or ``address``) the method
    takes an optional bus address, as the instruments' original methods did.
    """
    parse = text if parse is None else parse
    doc = f"{doc} (``{request}``)."
    if address is None:

        def method(self: SerialInstrument) -> Any:
            return self.query(request, parse)

        return _unnamed(method, doc)

    signature = inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter(
                address, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation="int | None"
            ),
        ]
    )

    def addressed(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        self = bound.arguments["self"]
        return self.query(request, parse, bound.arguments.get(address))

    addressed.__signature__ = signature  # type: ignore[attr-defined]  # read by inspect.signature
    return _unnamed(addressed, doc)


def plain(rich: Callable[..., Reading]) -> Callable[..., float]:
    """The PyExpLabSys-shaped twin of status-rich method ``rich``: the reading's number
    as a float, :class:`NoValue` (with the status) when there is none."""

    @functools.wraps(rich)
    def method(self: SerialInstrument, *args: Any, **kwargs: Any) -> float:
        return value_of(rich(self, *args, **kwargs))

    method.__signature__ = inspect.signature(rich).replace(  # type: ignore[attr-defined]  # for inspect
        return_annotation="float"
    )
    method._plain_of = rich  # type: ignore[attr-defined]  # the registry finds the twin by it
    return _unnamed(method, "")


def measurement(
    request: str, parse: Parser[Reading], doc: str, *, address: str | None = None
) -> tuple[Callable[..., float], Callable[..., Reading]]:
    """The pair ``(x, x_reading)`` for a measurement command: ``x_reading`` sends
    ``request`` and returns ``parse(data)``, a :class:`Reading`; ``x`` its float."""
    rich = command(request, parse, f"{doc}, with its status", address=address)
    return plain(rich), rich
