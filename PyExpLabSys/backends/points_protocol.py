"""The frames scripts and the service exchange over the points socket.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one
object). Frames are bounded (:data:`MAX_FRAME`): a peer that announces more is cut off
before anything is read. The messages, client → service:

* ``{"hello": {"client": id, "codenames": [...]}}``: who is sending, and which
  codenames; its points name a codename by its index in that list;
* ``{"batch": {"first": seq, "points": [[index, unix time, value or null], ...]}}``:
  points numbered ``first``, ``first + 1``, … in the client's stream;
* ``{"flush": token}``: answer once everything the service holds is committed;

service → client:

* ``{"welcome": {"next": seq}}`` or ``{"refused": reason}`` (then the service closes);
* ``{"ack": seq}``: every point of this client before ``seq`` is durable (in the
  service's spool), so the client may forget it;
* ``{"flushed": token, "ok": bool}``.

Pure functions: :func:`encode` and :class:`FrameReader` (which takes the bytes as they
arrive and gives whole messages), tested on bytes.
"""

from __future__ import annotations

import json
import struct
from typing import Any

__all__ = ["MAX_FRAME", "FrameError", "FrameReader", "encode"]

#: The largest frame either side accepts (a batch of ~100,000 points fits).
MAX_FRAME = 4 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that breaks the protocol: too long, not JSON, not an object."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the length, then the message as compact JSON."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise FrameError(f"message of {len(body)} bytes exceeds the frame limit of {MAX_FRAME}")
    return _LENGTH.pack(len(body)) + body


class FrameReader:
    """Whole messages out of a byte stream, however it is cut into pieces."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The messages completed by ``data``; FrameError for a broken frame."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if length > self.max_frame:
                raise FrameError(f"frame of {length} bytes announced; the limit is {self.max_frame}")
            if len(self._buffer) < _LENGTH.size + length:
                break
            body = bytes(self._buffer[_LENGTH.size : _LENGTH.size + length])
            del self._buffer[: _LENGTH.size + length]
            try:
                message = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise FrameError(f"frame is not JSON: {error}") from None
            if not isinstance(message, dict) or len(message) != 1:
                raise FrameError("frame is not a message (an object with one key)")
            messages.append(message)
        return messages
