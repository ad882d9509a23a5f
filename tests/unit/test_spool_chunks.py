"""The spool's chunks: runs of points packed into one row, on bytes and in the file."""

from __future__ import annotations

import math
import sqlite3
import struct
from array import array

import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.datalog.chunks import (
    CHUNK_POINTS,
    HAS_NULLS,
    HAS_SEQS,
    ChunkError,
    PointColumns,
    decode_chunk,
    encode_chunk,
)
from PyExpLabSys.datalog.logger import DataLogger
from PyExpLabSys.datalog.policies import SpoolPolicy, Timeouts
from PyExpLabSys.datalog.spool import Spool, SpoolError


def test_the_layout_on_bytes():
    data = encode_chunk([(7, 1.5, None), (300, 2.5, -3.25)])
    assert data == (
        struct.pack("<BI", HAS_NULLS, 2)
        + struct.pack("<2q", 7, 300)
        + struct.pack("<2d", 1.5, 2.5)
        + data[-16:-8]  # NaN stands for None
        + struct.pack("<d", -3.25)
    )
    assert math.isnan(struct.unpack("<d", data[-16:-8])[0])
    assert decode_chunk(40, data) == [(40, 7, 1.5, None), (41, 300, 2.5, -3.25)]


def test_a_chunk_without_none_has_no_flag():
    data = encode_chunk([(1, 1.0, 2.0)])
    assert data == struct.pack("<BI", 0, 1) + struct.pack("<q2d", 1, 1.0, 2.0)


def test_a_chunk_with_holes_lists_its_positions():
    data = encode_chunk([(1, 1.0, 1.0), (2, 2.0, 2.0)], seqs=[10, 13])
    assert data[:1] == bytes([HAS_SEQS])
    assert data.endswith(struct.pack("<2q", 10, 13))
    assert decode_chunk(10, data) == [(10, 1, 1.0, 1.0), (13, 2, 2.0, 2.0)]


def test_values_round_trip_exactly():
    points = [(2**40, 1.7e9 + i / 7, v) for i, v in enumerate([0.1, -0.0, 1e-300, 1e300, None, 5.0])]
    assert [row[1:] for row in decode_chunk(0, encode_chunk(points))] == points
    columns = PointColumns.of(points)
    assert columns.points() == points and columns.first() == points[0]
    assert columns[4:].first() == (2**40, points[4][1], None) and len(columns[1:3]) == 2


def test_columns_of_a_packed_batch_are_taken_as_they_are():
    times, values = array("d", [1.0, 2.0]), array("d", [3.0, 4.0])
    columns = PointColumns(array("q", [5, 6]), times, values)
    assert columns.times is times and columns.values is values
    assert columns.points() == [(5, 1.0, 3.0), (6, 2.0, 4.0)]
    with pytest.raises(ValueError, match="columns of 2, 2 and 1 points"):
        PointColumns(array("q", [5, 6]), times, array("d", [1.0]))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01", "no header"),
        (struct.pack("<BI", 0, 2) + b"\x00" * 10, "cut short"),
        (struct.pack("<BI", 4, 0), "unknown chunk header"),
        (encode_chunk([(1, 1.0, 1.0)]) + b"\x00", "holds 29 bytes"),
    ],
    ids=["no header", "cut short", "unknown flag", "trailing bytes"],
)
def test_damaged_chunks_are_refused(data, reason):
    with pytest.raises(ChunkError, match=reason):
        decode_chunk(0, data)


def test_bad_arguments_are_refused_at_the_call():
    with pytest.raises(ValueError, match="at least one point"):
        encode_chunk([])
    with pytest.raises(ValueError, match="1 positions for 2 points"):
        encode_chunk([(1, 1.0, 1.0), (1, 2.0, 2.0)], seqs=[3])


def test_a_large_group_spans_chunks_and_reads_back_from_any_position(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    count = 2 * CHUNK_POINTS + 5
    points = [(1, float(i), float(i)) for i in range(count)]
    assert spool.write_group([PointColumns.of(points)], 0, {}, {}) == 0
    rows = spool.conn.execute("SELECT first, last, count FROM chunks ORDER BY first").fetchall()
    assert rows == [
        (0, CHUNK_POINTS - 1, CHUNK_POINTS),
        (CHUNK_POINTS, 2 * CHUNK_POINTS - 1, CHUNK_POINTS),
        (2 * CHUNK_POINTS, count - 1, 5),
    ]
    middle = CHUNK_POINTS - 3
    assert [row[0] for row in spool.read(middle, 6)] == list(range(middle, middle + 6))
    assert spool.waiting(middle) == (count - middle, middle)
    assert spool.read(count, 10) == [] and spool.waiting(count) == (0, None)
    spool.close()


def test_partly_acknowledged_chunks_stay_until_all_of_them_is_acknowledged(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path)
    spool.write_group([PointColumns.of([(1, float(i), float(i)) for i in range(10)])], 0, {}, {})
    spool.write_group([], 6, {"x": 1}, {})  # the first six committed by the database
    assert spool.stored == 10  # the chunk holds acknowledged points still
    spool.close()
    spool = Spool(path)
    assert spool.acked_seq == 6 and spool.next_seq == 10
    assert spool.waiting(6) == (4, 6)
    assert [row[0] for row in spool.read(6, 100)] == [6, 7, 8, 9]
    spool.write_group([], 10, {}, {})
    assert spool.stored == 0 and spool.conn.execute("SELECT COUNT(*) FROM chunks").fetchone() == (0,)
    spool.close()


def test_deleting_points_leaves_holes_that_survive_a_restart(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path)
    spool.write_group([PointColumns.of([(1, float(i), float(i)) for i in range(8)])], 0, {}, {})
    spool.delete([0, 3, 4])  # the overflow policy
    assert spool.stored == 5
    spool.close()
    spool = Spool(path)
    assert spool.stored == 5 and spool.next_seq == 8
    assert [row[0] for row in spool.read(0, 100)] == [1, 2, 5, 6, 7]
    assert spool.waiting(2) == (4, 2)
    assert spool.write_group([PointColumns.of([(1, 8.0, 8.0)])], 0, {}, {}) == 8
    spool.close()


def test_a_damaged_chunk_is_a_spool_error_naming_the_file(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path)
    spool.write_group([PointColumns.of([(1, 1.0, 1.0)])], 0, {}, {})
    spool.conn.execute("UPDATE chunks SET data = x'0001'")
    with pytest.raises(SpoolError, match=r"spool\.sqlite: the chunk at seq 0 is damaged"):
        spool.read(0, 10)
    spool.close()


def _old_spool(path, rows, acked):
    """A spool file as the previous version left it: a row per point."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE points (seq INTEGER PRIMARY KEY, type INTEGER NOT NULL, time REAL NOT NULL, value REAL)"
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("schema", "1"), ("logger_id", "spool:old"), ("acked_seq", str(acked)), ("checkpoint", "{}")],
    )
    conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_a_spool_of_the_previous_layout_is_repacked_and_delivered(tmp_path, caplog):
    db = MemoryDatabase(["a", "b"])
    ids = db.codenames
    path = tmp_path / "spool.sqlite"
    old = [(2, ids["a"], 1.7e9, 1.0), (3, ids["b"], 1.7e9 + 1, None), (7, ids["a"], 1.7e9 + 2, 3.0)]
    _old_spool(path, [(0, ids["a"], 1.7e9, -1.0), *old], acked=2)  # seq 0 committed earlier
    caplog.set_level("INFO")
    logger = DataLogger(
        MemoryBackend(db, timeout=0.5),
        ["a", "b"],
        timeouts=Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=1.0),
        spool_path=path,
        spool=SpoolPolicy(group_commit_interval=0.02),
    )
    assert "repacked into the chunked layout" in caplog.text
    logger.start()
    assert logger.stop(timeout=10).delivered_all
    assert db.values("a") == [1.0, 3.0] and db.values("b") == [None]
    conn = sqlite3.connect(path)
    assert {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "chunks",
        "meta",
    }
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    conn.close()


def test_another_streams_points_start_a_group_commit_at_once(tmp_path):
    """The interval is a minute; a client's points are on disk long before it, and the
    drain is told that points were published."""
    import threading

    from PyExpLabSys.datalog.spool import SpoolBuffer

    published = threading.Event()
    spool = Spool(tmp_path / "spool.sqlite", SpoolPolicy(group_commit_interval=60))
    buffer = SpoolBuffer(spool, on_publish=published.set)
    buffer.append_from("client", 3, PointColumns.of([(1, 1.0, 1.0), (1, 2.0, None), (1, 3.0, 3.0)]))
    ticket = buffer.flush_ticket()
    assert buffer.wait_flushed(10) and buffer.flushes >= ticket
    assert published.wait(10)
    assert spool.sources == {"client": 3}
    assert buffer.peek(10) == [(1, 1.0, 1.0), (1, 2.0, None), (1, 3.0, 3.0)]
    buffer.close()


def test_a_flush_ticket_is_the_next_group_commit_to_begin(tmp_path):
    from PyExpLabSys.datalog.spool import SpoolBuffer

    spool = Spool(tmp_path / "spool.sqlite", SpoolPolicy(group_commit_interval=60))
    buffer = SpoolBuffer(spool)
    assert buffer.wait_flushed(10)  # the flusher is idle now, waiting for work
    done = buffer.flushes
    buffer.append((1, 1.0, 1.0))
    ticket = buffer.flush_ticket()
    assert ticket == done + 1  # no group commit had begun since the last one ended
    assert buffer.wait_flushed(10)
    assert spool.read(0, 10) == [(0, 1, 1.0, 1.0)]
    buffer.close()
