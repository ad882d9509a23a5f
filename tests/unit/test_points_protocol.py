"""The points socket's frames, on bytes."""

from __future__ import annotations

import struct

import pytest

from PyExpLabSys.points.protocol import MAX_FRAME, FrameError, FrameReader, encode


def test_frames_survive_any_cut():
    data = encode({"hello": {"client": "a", "codenames": ["x"]}}) + encode({"ack": 5})
    for cut in range(len(data) + 1):
        reader = FrameReader()
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == [
            {"hello": {"client": "a", "codenames": ["x"]}},
            {"ack": 5},
        ]


def test_a_frame_is_length_then_compact_json():
    assert encode({"ack": 7}) == struct.pack(">I", 9) + b'{"ack":7}'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack(">I", MAX_FRAME + 1), "frame of 4194305 bytes announced"),
        (struct.pack(">I", 3) + b"\xff\xfe\x00", "not JSON"),
        (struct.pack(">I", 5) + b"[1,2]", "not a message"),
        (struct.pack(">I", 2) + b"{}", "not a message"),
    ],
)
def test_broken_frames_are_named(data, message):
    with pytest.raises(FrameError, match=message):
        FrameReader().feed(data)


def test_nan_cannot_be_sent():
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode({"batch": {"first": 0, "points": [[0, 1.0, float("nan")]]}})


def test_the_schema_is_strict():
    from PyExpLabSys.points.protocol import SchemaError, parse_batch, parse_flush, parse_hello

    secret = "a" * 32
    assert parse_hello({"client": "c", "secret": secret, "codenames": ["x"]}).codenames == ("x",)
    for body in (
        {"client": "", "secret": secret, "codenames": []},
        {"client": "c" * 129, "secret": secret, "codenames": []},
        {"client": "c", "secret": "A" * 32, "codenames": []},
        {"client": "c", "secret": secret, "codenames": ["x", "x"]},
        {"client": "c", "secret": secret, "codenames": [1]},
        {"client": "c", "codenames": []},
    ):
        with pytest.raises(SchemaError):
            parse_hello(body)
    batch = parse_batch({"first": 3, "points": [[0, 1.0, 2], [0, 1, None], [1, 1.0, 1.0], [0, 1.0, "1"]]}, 1)
    assert batch.points == [(0, 0, 1.0, 2.0), (1, 0, 1.0, None)]
    assert [offset for offset, _, _ in batch.refused] == [2, 3]
    assert parse_flush({"token": 1, "timeout": None}) == (1, None)
    with pytest.raises(SchemaError):
        parse_flush({"token": 1, "timeout": "1"})


# -- packed batches, built from the description in the module's docstring ----------------


def packed(first: int, indices, times, values) -> bytes:
    """A packed batch frame, written from the protocol's description (not its encoder)."""
    count = len(indices)
    body = (
        b"\x00\x01"
        + struct.pack("<QI", first, count)
        + struct.pack(f"<{count}H", *indices)
        + struct.pack(f"<{count}d", *times)
        + struct.pack(f"<{count}d", *values)
    )
    return struct.pack(">I", len(body)) + body


def test_a_packed_batch_is_the_described_bytes_and_reads_back_column_by_column():
    from PyExpLabSys.points.protocol import encode_packed_batch, parse_batch

    nan, inf = float("nan"), float("inf")
    frame = packed(7, [0, 1, 0], [1.5, 2.5, 3.5], [1.0, nan, -inf])
    assert encode_packed_batch(7, [(0, 1.5, 1.0), (1, 2.5, None), (0, 3.5, float("-inf"))]) == frame
    for cut in range(len(frame) + 1):  # any cut, as JSON frames
        reader = FrameReader()
        messages = reader.feed(frame[:cut]) + reader.feed(frame[cut:])
        assert len(messages) == 1
    batch = parse_batch(messages[0]["batch"], 2)
    assert (batch.first, batch.count, batch.points, batch.refused) == (7, 3, [], [])
    assert batch.columns is not None
    indices, times, values = batch.columns
    assert list(indices) == [0, 1, 0] and list(times) == [1.5, 2.5, 3.5]
    assert values[0] == 1.0 and values[1] != values[1] and values[2] == -inf
    columns = batch.named(("a", "b"))
    assert not isinstance(columns, list)
    tail = columns.tail(1)
    assert (tail.start, list(tail.indices), len(tail)) == (1, [1, 0], 2)


def test_a_packed_batch_refuses_its_bad_points_one_by_one():
    """An index beyond the hello's codenames or a time that is not finite refuses that
    point (with its reason); a value that is not finite is None, as JSON's null."""
    from PyExpLabSys.points.protocol import parse_batch

    nan, inf = float("nan"), float("inf")
    frame = packed(0, [0, 2, 0, 1, 0], [1.0, 2.0, nan, 4.0, inf], [1.0, 2.0, 3.0, inf, 5.0])
    batch = parse_batch(FrameReader().feed(frame)[0]["batch"], 2)
    assert batch.columns is None and batch.count == 5
    assert batch.points == [(0, 0, 1.0, 1.0), (3, 1, 4.0, None)]
    assert [(offset, reason) for offset, reason, _ in batch.refused] == [
        (1, "the index must name a codename of the hello"),
        (2, "the time must be a finite number"),
        (4, "the time must be a finite number"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x00\x01" + struct.pack("<QI", 0, 2) + b"\x00" * 35, "must be 50 bytes"),
        (b"\x00\x01" + struct.pack("<QI", 0, 1), "must be 32 bytes"),
        (b"\x00\x01\x00", "shorter than its header"),
        (b"\x00\x01" + struct.pack("<QI", 2**53, 0), "from 0 to 2"),
        (b"\x00\x01" + struct.pack("<QI", 0, 100_001), "at most 100000"),
    ],
)
def test_a_malformed_packed_batch_is_a_schema_error(body, message):
    from PyExpLabSys.points.protocol import SchemaError, parse_batch

    (decoded,) = FrameReader().feed(struct.pack(">I", len(body)) + body)
    with pytest.raises(SchemaError, match=message):
        parse_batch(decoded["batch"], 1)


def test_a_frame_beginning_with_nul_is_a_packed_batch_or_nothing():
    with pytest.raises(FrameError, match="neither JSON nor a packed batch"):
        FrameReader().feed(struct.pack(">I", 2) + b"\x00\x02")


def test_points_that_do_not_fit_the_packed_form_go_as_json():
    from PyExpLabSys.points.protocol import encode_packed_batch

    assert encode_packed_batch(0, []) is None
    assert encode_packed_batch(0, [(70_000, 1.0, 1.0)]) is None  # an index beyond 16 bits
    assert encode_packed_batch(0, [(0, 1.0, "1")]) is None  # no number: the service says so
