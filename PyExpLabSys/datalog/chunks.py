"""How the spool packs a run of points into one row (a *chunk*), and back.

A row per point cost the spool's group commit about half a microsecond per point, as
much as a quarter of what the database itself takes, and the service pays it for every
point its clients send. A chunk holds up to :data:`CHUNK_POINTS` points as columns of
machine numbers, so a group commit writes a few blobs instead of thousands of rows.

Layout (little-endian): a header ``flags, count, nulls`` (``<BII``), then ``count`` type
ids (int64), ``count`` times (float64), ``count`` values (float64, 0.0 where the value
is None), the ``nulls`` indices whose value is None (uint32), and, when the chunk has
holes (points dropped by the overflow policy, flag :data:`HAS_SEQS`), the ``count``
stream positions (int64). Without holes, the positions are ``first``, ``first + 1``, …
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Sequence
from typing import Any

__all__ = ["CHUNK_POINTS", "HAS_SEQS", "ChunkError", "decode_chunk", "decode_points", "encode_chunk", "split"]

#: Points per chunk at most: large enough that a row costs little per point, small
#: enough that reading back the oldest few points decodes little.
CHUNK_POINTS = 4096
#: Flag: the chunk lists its stream positions (it has holes).
HAS_SEQS = 1

_HEADER = struct.Struct("<BII")
_SWAP = sys.byteorder != "little"


class ChunkError(ValueError):
    """The bytes are not a chunk this version wrote (a damaged or foreign spool)."""


def split(points: Sequence[Any], size: int = CHUNK_POINTS) -> list[Sequence[Any]]:
    """``points`` in runs of at most ``size``."""
    return [points[start : start + size] for start in range(0, len(points), size)]


def _column(typecode: str, values: Any) -> bytes:
    column = array(typecode, values)
    if _SWAP:
        column.byteswap()
    return column.tobytes()


def encode_chunk(points: Sequence[Any], seqs: Sequence[int] | None = None) -> bytes:
    """Pack ``(type id, time, value or None)`` points; ``seqs`` only for a chunk with
    holes (its points' stream positions, ascending)."""
    if not points:
        raise ValueError("a chunk holds at least one point")
    types, times, values = zip(*points, strict=True)
    nulls: list[int] = []
    try:
        packed_values = _column("d", values)
    except TypeError:  # a None among them (a point stored as NULL)
        nulls = [index for index, value in enumerate(values) if value is None]
        packed_values = _column("d", [0.0 if value is None else value for value in values])
    flags = 0 if seqs is None else HAS_SEQS
    parts = [
        _HEADER.pack(flags, len(points), len(nulls)),
        _column("q", types),
        _column("d", times),
        packed_values,
        _column("I", nulls) if nulls else b"",
    ]
    if seqs is not None:
        if len(seqs) != len(points):
            raise ValueError(f"{len(seqs)} positions for {len(points)} points")
        parts.append(_column("q", seqs))
    return b"".join(parts)


def _read(typecode: str, data: bytes, offset: int, count: int) -> tuple[list[Any], int]:
    column = array(typecode)
    end = offset + count * column.itemsize
    if end > len(data):
        raise ChunkError(f"chunk cut short: {len(data)} bytes, {end} needed")
    column.frombytes(data[offset:end])
    if _SWAP:
        column.byteswap()
    return column.tolist(), end


def decode_chunk(first: int, data: bytes) -> list[tuple[int, int, float, float | None]]:
    """The ``(seq, type id, time, value)`` rows of a chunk whose first point is at
    stream position ``first``."""
    seqs, points = decode_points(first, data)
    return [(seq, *point) for seq, point in zip(seqs, points, strict=True)]


def decode_points(first: int, data: bytes) -> tuple[list[int], list[tuple[int, float, float | None]]]:
    """A chunk as its stream positions and its ``(type id, time, value)`` points (the
    points are made in one C-level pass: reading back is on the drain's path)."""
    if len(data) < _HEADER.size:
        raise ChunkError(f"chunk of {len(data)} bytes has no header")
    flags, count, null_count = _HEADER.unpack_from(data)
    if flags & ~HAS_SEQS or null_count > count:
        raise ChunkError(f"unknown chunk header (flags {flags}, {count} points, {null_count} nulls)")
    offset = _HEADER.size
    types, offset = _read("q", data, offset, count)
    times, offset = _read("d", data, offset, count)
    values: list[Any]
    values, offset = _read("d", data, offset, count)
    if null_count:
        nulls, offset = _read("I", data, offset, null_count)
        for index in nulls:
            values[index] = None
    if flags & HAS_SEQS:
        seqs, offset = _read("q", data, offset, count)
    else:
        seqs = list(range(first, first + count))
    if offset != len(data):
        raise ChunkError(f"chunk of {len(data)} bytes holds {offset} bytes of points")
    return seqs, list(zip(types, times, values, strict=True))
