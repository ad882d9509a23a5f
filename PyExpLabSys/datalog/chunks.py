"""How the spool holds a run of points: as columns (:class:`PointColumns`), packed into
one row of its file (a *chunk*), and back.

A row per point cost the spool's group commit about half a microsecond per point, as
much as a quarter of what the database itself takes, and the service pays it for every
point its clients send. A chunk holds up to :data:`CHUNK_POINTS` points as columns of
machine numbers, so a group commit writes a few blobs instead of thousands of rows; the
points of another stream (the points socket's packed batches) arrive as columns already
and are never made into Python tuples unless the drain needs them in RAM.

Layout (little-endian): a header ``flags, count`` (``<BI``), then ``count`` type ids
(int64), ``count`` times (float64), ``count`` values (float64, NaN where the value is
None: a point that reaches the spool never holds a NaN, the non-finite policy has made
it None, dropped or refused it) and, when the chunk has holes (points dropped by the
overflow policy, flag :data:`HAS_SEQS`), the ``count`` stream positions (int64).
Without holes the positions are ``first``, ``first + 1``, … Flag :data:`HAS_NULLS` says
that some value is None.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CHUNK_POINTS",
    "HAS_NULLS",
    "HAS_SEQS",
    "ChunkError",
    "PointColumns",
    "decode_chunk",
    "decode_points",
    "encode_chunk",
]

#: Points per chunk at most: large enough that a row costs little per point, small
#: enough that reading back the oldest few points decodes little.
CHUNK_POINTS = 4096
#: Flag: the chunk lists its stream positions (it has holes).
HAS_SEQS = 1
#: Flag: some value is None (stored as NaN).
HAS_NULLS = 2

_HEADER = struct.Struct("<BI")
_SWAP = sys.byteorder != "little"
_NAN = float("nan")

Point = tuple[int, float, "float | None"]


class ChunkError(ValueError):
    """The bytes are not a chunk this version wrote (a damaged or foreign spool)."""


class PointColumns:
    """A run of ``(type id, time, value or None)`` points as three columns (int64,
    float64, float64 with NaN for None)."""

    __slots__ = ("times", "types", "values")

    def __init__(self, types: array, times: array, values: array) -> None:
        if not len(types) == len(times) == len(values):
            raise ValueError(f"columns of {len(types)}, {len(times)} and {len(values)} points")
        self.types, self.times, self.values = types, times, values

    @classmethod
    def of(cls, points: Sequence[Point]) -> PointColumns:
        """The columns of ``points`` (C-level passes; one in Python if a value is None)."""
        if not points:
            return cls(array("q"), array("d"), array("d"))
        types, times, values = zip(*points, strict=True)
        try:
            value_column = array("d", values)
        except TypeError:  # a None among them
            value_column = array("d", [_NAN if value is None else value for value in values])
        return cls(array("q", types), array("d", times), value_column)

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, cut: slice) -> PointColumns:
        return PointColumns(self.types[cut], self.times[cut], self.values[cut])

    def first(self) -> Point:
        value = self.values[0]
        return (self.types[0], self.times[0], None if value != value else value)

    def points(self) -> list[Point]:
        """The points as tuples, in order."""
        values: Any = self.values
        if not math.isfinite(sum(values)):  # NaN (None) among them, or sums that overflow
            values = [None if value != value else value for value in values]
        return list(zip(self.types, self.times, values, strict=True))

    def encode(self, seqs: Sequence[int] | None = None) -> bytes:
        """The chunk's bytes; ``seqs`` only for a chunk with holes (its points' stream
        positions, ascending)."""
        if not len(self):
            raise ValueError("a chunk holds at least one point")
        flags = 0 if seqs is None else HAS_SEQS
        if not math.isfinite(sum(self.values)) and any(value != value for value in self.values):
            flags |= HAS_NULLS
        parts = [_HEADER.pack(flags, len(self)), *map(_bytes, (self.types, self.times, self.values))]
        if seqs is not None:
            if len(seqs) != len(self):
                raise ValueError(f"{len(seqs)} positions for {len(self)} points")
            parts.append(_bytes(array("q", seqs)))
        return b"".join(parts)


def _bytes(column: array) -> bytes:
    if _SWAP:
        column = array(column.typecode, column)
        column.byteswap()
    return column.tobytes()


def encode_chunk(points: Sequence[Point], seqs: Sequence[int] | None = None) -> bytes:
    """The chunk of ``(type id, time, value or None)`` points (see :meth:`PointColumns.encode`)."""
    return PointColumns.of(points).encode(seqs)


def _read(typecode: str, data: bytes, offset: int, count: int) -> tuple[array, int]:
    column = array(typecode)
    end = offset + count * column.itemsize
    if end > len(data):
        raise ChunkError(f"chunk cut short: {len(data)} bytes, {end} needed")
    column.frombytes(data[offset:end])
    if _SWAP:
        column.byteswap()
    return column, end


def decode_points(first: int, data: bytes) -> tuple[list[int], list[Point]]:
    """A chunk whose first point is at stream position ``first``, as its positions and
    its points (made in C-level passes: reading back is on the drain's path)."""
    if len(data) < _HEADER.size:
        raise ChunkError(f"chunk of {len(data)} bytes has no header")
    flags, count = _HEADER.unpack_from(data)
    if flags & ~(HAS_SEQS | HAS_NULLS):
        raise ChunkError(f"unknown chunk header (flags {flags}, {count} points)")
    offset = _HEADER.size
    types, offset = _read("q", data, offset, count)
    times, offset = _read("d", data, offset, count)
    value_column, offset = _read("d", data, offset, count)
    values: Any = value_column
    if flags & HAS_NULLS:
        values = [None if value != value else value for value in value_column]
    if flags & HAS_SEQS:
        seq_column, offset = _read("q", data, offset, count)
        seqs = seq_column.tolist()
    else:
        seqs = list(range(first, first + count))
    if offset != len(data):
        raise ChunkError(f"chunk of {len(data)} bytes holds {offset} bytes of points")
    return seqs, list(zip(types, times, values, strict=True))


def decode_chunk(first: int, data: bytes) -> list[tuple[int, int, float, float | None]]:
    """The ``(seq, type id, time, value)`` rows of a chunk (see :func:`decode_points`)."""
    seqs, points = decode_points(first, data)
    return [(seq, *point) for seq, point in zip(seqs, points, strict=True)]
