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
