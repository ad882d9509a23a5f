"""The frames scripts and the service exchange over the points socket.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one
object with one key). Frames are bounded (:data:`MAX_FRAME`): a peer that announces more
is cut off before anything is read. The JSON itself is read strictly: no ``NaN`` or
``Infinity`` literals, integers of at most :data:`MAX_DIGITS` digits, finite numbers
only, nesting bounded by the schema below (a frame nested deeper than the parser allows
is refused, not a crash).

The messages, client → service (every field required, types exact: a JSON string is
never a number, ``true`` is never a number, ``0.9`` is never an index):

* ``{"hello": {"client": id, "secret": s, "codenames": [...]}}``: who is sending, and
  which codenames. ``id`` is 1 to :data:`MAX_ID` printable characters; ``secret`` is
  the client's own random secret, :data:`SECRET_HEX` hexadecimal characters, which
  binds the id to this client (see :mod:`~PyExpLabSys.points.identity`); the
  codenames are at most :data:`MAX_CODENAMES` distinct strings of 1 to :data:`MAX_ID`
  characters. Points name a codename by its index in that list.
* ``{"batch": {"first": seq, "points": [[index, time, value], ...]}}``: points numbered
  ``first``, ``first + 1``, … in the client's stream (``seq`` an integer from 0 to
  2**53); at most :data:`MAX_BATCH` points, each a list of three: the codename's index
  (an integer), the unix time (a number) and the value (a number, or ``null`` for a
  value that was not finite: stored under the service's non-finite policy, NULL by
  default, as in-process).
* ``{"flush": {"token": n, "timeout": seconds or null}}``: answer once everything the
  service holds is committed.
* ``{"ping": {}}``: the heartbeat, at least every ``heartbeat`` seconds of the welcome
  while nothing else is sent (the service closes a connection silent for four times
  that).

Batches may follow each other without waiting for the acknowledgements (pipelining);
these come in order.

service → client:

* ``{"welcome": {"next": seq, "heartbeat": seconds}}``, or ``{"refused": reason}`` (then
  the service closes; the client's codenames, identity or frames are wrong), or
  ``{"busy": reason}`` (then the service closes: too many clients; try again later);
* ``{"rejected": {"first": seq, "count": n, "points": [[offset, reason], ...]}}``: points
  of the batch at ``seq`` that break the schema or that the logger refuses (a codename
  index out of range, a time outside the column's range, a value that is no number).
  They are dead-lettered by the service with their reason; the rest of the batch is
  stored. Up to :data:`MAX_REASONS` of them are listed, ``count`` counts them all.
* ``{"ack": seq}``: every point of this client before ``seq`` is durable (in the
  service's spool), so the client may forget it;
* ``{"flushed": {"token": n, "ok": bool}}``.

Pure functions and classes, tested on bytes: :func:`encode`, :class:`FrameReader`
(which takes the bytes as they arrive and gives whole messages), and the schema
checks :func:`parse_hello`, :func:`parse_batch`, :func:`parse_flush`.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_BATCH",
    "MAX_CODENAMES",
    "MAX_DIGITS",
    "MAX_FRAME",
    "MAX_ID",
    "MAX_REASONS",
    "MAX_SEQ",
    "SECRET_HEX",
    "Batch",
    "FrameError",
    "FrameReader",
    "Hello",
    "SchemaError",
    "decode",
    "encode",
    "parse_batch",
    "parse_flush",
    "parse_hello",
    "parse_ping",
]

#: The largest frame either side accepts (a batch of ~100,000 points fits).
MAX_FRAME = 4 * 1024 * 1024
#: Points in one batch.
MAX_BATCH = 100_000
#: Characters of a client id or a codename.
MAX_ID = 128
#: Codenames one client may declare.
MAX_CODENAMES = 1000
#: Digits of an integer in a frame (a stream position needs 16).
MAX_DIGITS = 20
#: Stream positions and tokens stay below this (exact in a double).
MAX_SEQ = 2**53
#: Length of a client's secret in hexadecimal characters (128 bits).
SECRET_HEX = 32
#: Refused points listed by name in one ``rejected`` message.
MAX_REASONS = 10
_LENGTH = struct.Struct(">I")
_HEX = frozenset("0123456789abcdef")


class FrameError(ValueError):
    """A frame that breaks the protocol: too long, not JSON, not an object."""


class SchemaError(FrameError):
    """A message whose fields break the schema (the message says which)."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the length, then the message as compact JSON."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise FrameError(f"message of {len(body)} bytes exceeds the frame limit of {MAX_FRAME}")
    return _LENGTH.pack(len(body)) + body


def _no_constant(name: str) -> Any:
    raise FrameError(f"frame is not strict JSON: {name} is not a number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise FrameError(f"frame has an integer of {len(text)} digits; the limit is {MAX_DIGITS}")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise FrameError(f"frame has a number beyond a double's range ({text[:40]})")
    return number


_DECODER = json.JSONDecoder(parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)


def decode(body: bytes) -> dict[str, Any]:
    """One frame's body as a message (an object with one key); FrameError otherwise."""
    try:
        message = _DECODER.decode(body.decode("utf-8"))
    except FrameError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameError(f"frame is not JSON: {error}") from None
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    except ValueError as error:  # e.g. an integer beyond Python's conversion limit
        raise FrameError(f"frame is not acceptable JSON: {error}") from None
    if type(message) is not dict or len(message) != 1:
        raise FrameError("frame is not a message (an object with one key)")
    return message


class FrameReader:
    """Whole messages out of a byte stream, however it is cut into pieces."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    @property
    def held(self) -> int:
        """Bytes of a frame begun and not finished."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The messages completed by ``data``; FrameError for a broken frame."""
        self.add(data)
        messages = []
        while (message := self.pop()) is not None:
            messages.append(message)
        return messages

    def clear(self) -> None:
        """Drop what is held (the connection is gone)."""
        self._buffer = bytearray()

    def add(self, data: bytes) -> None:
        """Take ``data``; :meth:`pop` then gives the messages it completes, one by one
        (so the limit may change between two, e.g. after the hello)."""
        self._buffer += data

    def pop(self) -> dict[str, Any] | None:
        """The next whole message, or None; FrameError for a broken frame."""
        if len(self._buffer) < _LENGTH.size:
            return None
        (length,) = _LENGTH.unpack_from(self._buffer)
        if length > self.max_frame:
            raise FrameError(f"frame of {length} bytes announced; the limit is {self.max_frame}")
        if len(self._buffer) < _LENGTH.size + length:
            return None
        body = bytes(self._buffer[_LENGTH.size : _LENGTH.size + length])
        del self._buffer[: _LENGTH.size + length]
        return decode(body)


# -- the schema ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """A checked hello."""

    client: str
    secret: str
    codenames: tuple[str, ...]


@dataclass(frozen=True)
class Batch:
    """A checked batch: the points that pass the schema, as ``(offset, index, time,
    value)``, and those that do not, as ``(offset, reason, raw point)``."""

    first: int
    count: int
    points: list[tuple[int, int, float, float | None]]
    refused: list[tuple[int, str, Any]]


def _fields(body: Any, kind: str, names: tuple[str, ...]) -> tuple[Any, ...]:
    if type(body) is not dict:
        raise SchemaError(f"{kind}: must be an object with {', '.join(names)}")
    if set(body) != set(names):
        raise SchemaError(f"{kind}: must have exactly the fields {', '.join(names)}")
    return tuple(body[name] for name in names)


def _name(value: Any, what: str) -> str:
    if type(value) is not str or not 0 < len(value) <= MAX_ID or not value.isprintable():
        raise SchemaError(f"{what} must be a string of 1 to {MAX_ID} printable characters")
    return value


def _seq(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_SEQ:
        raise SchemaError(f"{what} must be an integer from 0 to 2**53")
    return value


def parse_hello(body: Any) -> Hello:
    """The hello's fields, checked; SchemaError naming the first that is wrong."""
    client, secret, codenames = _fields(body, "hello", ("client", "secret", "codenames"))
    _name(client, "hello: client")
    if type(secret) is not str or len(secret) != SECRET_HEX or not set(secret) <= _HEX:
        raise SchemaError(f"hello: secret must be {SECRET_HEX} lower-case hexadecimal characters")
    if type(codenames) is not list or len(codenames) > MAX_CODENAMES:
        raise SchemaError(f"hello: codenames must be a list of at most {MAX_CODENAMES}")
    for codename in codenames:
        _name(codename, "hello: each codename")
    if len(set(codenames)) != len(codenames):
        raise SchemaError("hello: codenames must be distinct")
    return Hello(client, secret, tuple(codenames))


def _number(value: Any) -> bool:
    return type(value) is float or type(value) is int


def parse_batch(body: Any, codenames: int) -> Batch:
    """The batch's points, each checked against the schema and the ``codenames`` the
    hello declared; SchemaError when the batch itself is malformed."""
    first, points = _fields(body, "batch", ("first", "points"))
    _seq(first, "batch: first")
    if type(points) is not list or len(points) > MAX_BATCH:
        raise SchemaError(f"batch: points must be a list of at most {MAX_BATCH}")
    if first + len(points) >= MAX_SEQ:
        raise SchemaError("batch: positions beyond 2**53")
    good: list[tuple[int, int, float, float | None]] = []
    refused: list[tuple[int, str, Any]] = []
    for offset, point in enumerate(points):
        if type(point) is not list or len(point) != 3:
            refused.append((offset, "a point must be a list [index, time, value]", point))
            continue
        index, stamp, value = point
        if type(index) is not int or not 0 <= index < codenames:
            refused.append((offset, "the index must be an integer naming a codename of the hello", point))
        elif not _number(stamp):
            refused.append((offset, "the time must be a number", point))
        elif value is not None and not _number(value):
            refused.append((offset, "the value must be a number or null", point))
        else:
            good.append((offset, index, float(stamp), None if value is None else float(value)))
    return Batch(first, len(points), good, refused)


def parse_flush(body: Any) -> tuple[int, float | None]:
    """The flush's token and time-out, checked."""
    token, timeout = _fields(body, "flush", ("token", "timeout"))
    _seq(token, "flush: token")
    if timeout is not None and (not _number(timeout) or not 0 <= timeout <= 86400):
        raise SchemaError("flush: timeout must be null or a number of seconds up to a day")
    return token, None if timeout is None else float(timeout)


def parse_ping(body: Any) -> None:
    """The heartbeat carries nothing."""
    if body != {} or type(body) is not dict:
        raise SchemaError("ping: must be an empty object")
