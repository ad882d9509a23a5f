"""The durable spool on the mock database: restarts, size limits, damaged files."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.datalog.chunks import PointColumns
from PyExpLabSys.datalog.logger import DataLogger, StartupException
from PyExpLabSys.datalog.policies import RetryPolicy, SpoolPolicy, Timeouts

FAST = Timeouts(connect=0.2, read=0.2, write=0.2, query=0.2, startup=0.3)
QUICK_RETRY = RetryPolicy(first_delay=0.001, base_delay=0.005, max_delay=0.02)
QUICK_SPOOL = SpoolPolicy(group_commit_interval=0.02)


def make_logger(db: MemoryDatabase, path, policy: SpoolPolicy = QUICK_SPOOL) -> DataLogger:
    return DataLogger(
        MemoryBackend(db, timeout=0.2),
        ["a", "b"],
        timeouts=FAST,
        retry=QUICK_RETRY,
        spool_path=path,
        spool=policy,
    )


def fill_during_outage(db: MemoryDatabase, path, policy: SpoolPolicy, count: int) -> DataLogger:
    """A started logger that enqueued ``count`` points of "a" (0.0, 1.0, …) while the
    database was unreachable, all of them through the spool's group commits."""
    logger = make_logger(db, path, policy)
    db.unreachable = True
    logger.start()
    for value in range(count):
        logger.enqueue_point_now("a", float(value))
    assert logger._buffer.wait_flushed(5)
    return logger


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(["a", "b"])


def test_points_wait_in_the_spool_across_a_restart(db, tmp_path):
    path = tmp_path / "spool.sqlite"
    first = make_logger(db, path)
    first.start()
    db.unreachable = True
    for value in range(300):
        first.enqueue_point_now("a", float(value))
    assert first._buffer.wait_flushed(5)
    status = first.status()
    assert status.spooled == 300 and status.spool_bytes > 0 and status.oldest_spooled_age >= 0
    report = first.stop(timeout=0.2)
    assert not report.delivered_all and report.spooled == 300 and report.undelivered == 0

    db.unreachable = False
    second = make_logger(db, path)
    assert second.status().spooled == 300
    second.enqueue_point_now("b", 1.0)
    second.start()
    assert second.stop(timeout=5)
    assert db.values("a") == [float(v) for v in range(300)] and db.values("b") == [1.0]
    # the same logger id (kept in the spool) names the batches of both runs
    assert first.backend.logger_id == second.backend.logger_id
    assert first.backend.logger_id.startswith("spool:")


def test_ram_holds_at_most_max_ram_points(db, tmp_path):
    policy = SpoolPolicy(group_commit_interval=0.02, max_ram_points=100)
    logger = fill_during_outage(db, tmp_path / "spool.sqlite", policy, 5000)
    assert len(logger._buffer._points) <= 100 and logger.status().spooled == 5000
    db.unreachable = False
    assert logger.stop(timeout=10)
    assert db.values("a") == [float(v) for v in range(5000)]


@pytest.mark.parametrize("overflow", ["drop_oldest", "drop_newest"])
def test_full_spool_applies_the_overflow_policy(db, tmp_path, overflow, caplog):
    policy = SpoolPolicy(
        group_commit_interval=0.02, max_spool_bytes=64 * 1024, max_ram_points=50, overflow=overflow
    )
    path = tmp_path / "spool.sqlite"
    total = 20_000
    logger = fill_during_outage(db, path, policy, total)
    status = logger.status()
    assert status.overflowed > 0 and "OVERFLOWED" in status.summary()
    assert "SPOOL FULL" in caplog.text
    assert path.stat().st_size < 4 * 64 * 1024  # bounded, not the 20,000 points
    db.unreachable = False
    assert logger.stop(timeout=10)
    stored = db.values("a")
    assert len(stored) + logger.status().overflowed == total
    assert stored == sorted(stored)  # what survives keeps its order
    if overflow == "drop_newest":
        assert stored == [float(v) for v in range(len(stored))]
    else:
        assert stored[-1] == float(total - 1)


def test_drop_newest_keeps_new_points_again_once_the_spool_has_room(db, tmp_path, caplog):
    policy = SpoolPolicy(
        group_commit_interval=0.02, max_spool_bytes=64 * 1024, max_ram_points=50, overflow="drop_newest"
    )
    logger = fill_during_outage(db, tmp_path / "spool.sqlite", policy, 20_000)
    dropped = logger.status().overflowed
    assert dropped > 0
    db.unreachable = False
    assert logger.flush(timeout=10)
    for value in range(20_000, 20_010):
        logger.enqueue_point_now("a", float(value))
    assert logger.stop(timeout=10)
    assert "has room again" in caplog.text
    stored = db.values("a")
    assert logger.status().overflowed == dropped  # nothing dropped after the outage
    assert stored == [float(v) for v in range(20_000 - dropped)] + [float(v) for v in range(20_000, 20_010)]


def test_a_failing_size_check_keeps_the_points_for_the_next_group_commit(db, tmp_path, monkeypatch, caplog):
    logger = make_logger(db, tmp_path / "spool.sqlite")
    spool = logger._spool
    measure = spool.used_bytes
    failures = [sqlite3.OperationalError("disk I/O error")]

    def used_bytes() -> int:  # the size check before the first group commit with points fails
        if failures:
            raise failures.pop()
        return measure()

    monkeypatch.setattr(spool, "used_bytes", used_bytes)
    for value in range(100):
        logger.enqueue_point_now("a", float(value))
    logger.start()
    assert logger.stop(timeout=10).delivered_all
    assert not failures and "group commit failed" in caplog.text
    assert db.values("a") == [float(value) for value in range(100)]


def test_disk_full_is_logged_and_retried_nothing_lost(db, tmp_path, caplog):
    logger = make_logger(db, tmp_path / "spool.sqlite")
    spool = logger._spool
    with spool.lock:
        pages = spool.conn.execute("PRAGMA page_count").fetchone()[0]
        spool.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    for value in range(2000):
        logger.enqueue_point_now("a", float(value))
    assert wait_until(lambda: "group commit failed" in caplog.text)
    assert len(logger._buffer) == 2000
    with spool.lock:
        spool.conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    logger.start()
    assert logger.stop(timeout=5)
    assert db.values("a") == [float(v) for v in range(2000)]


def test_not_an_sqlite_file_is_a_clear_start_up_error(db, tmp_path):
    path = tmp_path / "spool.sqlite"
    path.write_bytes(b"this is not a database, it is a lab notebook\n" * 100)
    with pytest.raises(StartupException, match=r"spool .*spool.sqlite.*not a database"):
        make_logger(db, path)
    assert path.read_bytes().startswith(b"this is not a database")  # left untouched


def test_sqlite_file_of_something_else_is_refused(db, tmp_path):
    path = tmp_path / "spool.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE measurements (x)")
    conn.close()
    with pytest.raises(StartupException, match="something else"):
        make_logger(db, path)


def test_truncated_spool_is_a_clear_start_up_error(db, tmp_path):
    path = tmp_path / "spool.sqlite"
    logger = make_logger(db, path)
    db.unreachable = True
    for value in range(20000):
        logger.enqueue_point_now("a", float(value))
    logger.start()
    assert logger.stop(timeout=0.1).spooled == 20000
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    db.unreachable = False
    with pytest.raises(StartupException, match="spool"):
        make_logger(db, path)


def test_unwritable_location_is_a_clear_start_up_error(db):
    with pytest.raises(StartupException, match="cannot be created"):
        make_logger(db, "/proc/pyexplabsys-spool/spool.sqlite")


def test_restart_while_the_database_is_down_logs_into_the_spool(db, tmp_path):
    path = tmp_path / "spool.sqlite"
    make_logger(db, path).stop(timeout=1)  # an earlier run learnt the codenames
    db.unreachable = True
    logger = make_logger(db, path)  # no StartupException: the spool knows the codenames
    logger.start()
    logger.enqueue_point_now("b", 7.0)
    assert logger._buffer.wait_flushed(5) and logger.status().spooled == 1
    db.unreachable = False
    assert logger.stop(timeout=5)
    assert db.values("b") == [7.0]


def test_without_an_earlier_run_an_unreachable_database_fails_start_up(db, tmp_path):
    db.unreachable = True
    with pytest.raises(StartupException, match="cannot reach"):
        make_logger(db, tmp_path / "spool.sqlite")


def test_a_read_back_between_a_group_commit_and_its_publication_takes_no_point_twice(tmp_path, monkeypatch):
    """The drain read back from disk the points of a group commit that was just written
    and not yet published to RAM; the commit then put them into RAM as well: each was
    sent twice (the ledger caught it, and a double acknowledgement made the buffer's
    count negative and ended the drain)."""
    from PyExpLabSys.datalog.spool import Spool, SpoolBuffer

    spool = Spool(tmp_path / "spool.sqlite", SpoolPolicy(max_ram_points=4, group_commit_interval=60))
    buffer = SpoolBuffer(spool)
    write_group = spool.write_group
    delivered: list[float] = []

    def drain() -> None:  # the drain thread: deliver and acknowledge all it can
        while batch := buffer.peek(100):  # at most max_ram_points at a time
            delivered.extend(point[2] for point in batch)
            buffer.ack(len(batch))

    def write_then_drain(*args, **kwargs):
        first = write_group(*args, **kwargs)
        drain()  # between the write and its publication
        return first

    for value in range(6):  # 4 in RAM, 2 waiting on disk only
        buffer.append((1, 1.7e9, float(value)))
    buffer.flush()
    monkeypatch.setattr(spool, "write_group", write_then_drain)
    for value in range(6, 9):
        buffer.append((1, 1.7e9, float(value)))
    buffer.flush()
    drain()
    assert delivered == [float(value) for value in range(9)]
    assert len(buffer) == 0
    buffer.close()


def test_groups_are_numbered_on_after_the_table_was_emptied_and_reopened(tmp_path):
    """A group is stored from the next stream position on: the seqs stay the stream
    positions when acknowledgements emptied the table, and after a restart."""
    from PyExpLabSys.datalog.spool import Spool

    spool = Spool(tmp_path / "numbered.sqlite")
    assert (
        spool.write_group([PointColumns.of([(1, 1.0, 1.0), (2, 2.0, None), (3, 3.0, 3.0)])], 0, {}, {}) == 0
    )
    assert spool.write_group([PointColumns.of([(4, 4.0, 4.0)])], 3, {}, {}) == 3  # the first three deleted
    assert spool.write_group([PointColumns.of([(5, 5.0, 5.0), (6, 6.0, 6.0)])], 4, {}, {}) == 4
    assert spool.read(0, 10) == [(4, 5, 5.0, 5.0), (5, 6, 6.0, 6.0)]
    spool.close()
    spool = Spool(tmp_path / "numbered.sqlite")
    assert spool.write_group([PointColumns.of([(7, 7.0, 7.0), (8, 8.0, None)])], 6, {}, {}) == 6
    assert spool.read(0, 10) == [(6, 7, 7.0, 7.0), (7, 8, 8.0, None)]
    spool.close()


def test_points_being_written_by_a_group_commit_are_still_counted(tmp_path, monkeypatch):
    """While a group commit writes points to disk they are neither new nor published:
    the buffer's length counted them nowhere, so a stopping drain, seeing an empty
    buffer, ended with them undelivered (``STOPPED False``) and a flush returned
    before they were committed."""
    from PyExpLabSys.datalog.spool import Spool, SpoolBuffer

    spool = Spool(tmp_path / "spool.sqlite", SpoolPolicy(group_commit_interval=60))
    buffer = SpoolBuffer(spool)
    write_group = spool.write_group
    writing, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def slow_write_group(*args, **kwargs):
        writing.set()
        assert release.wait(10)
        return write_group(*args, **kwargs)

    monkeypatch.setattr(spool, "write_group", slow_write_group)
    for value in range(5):
        buffer.append((1, 1.7e9, float(value)))
    flusher = threading.Thread(target=buffer.flush)
    flusher.start()
    try:
        assert writing.wait(10)
        seen.append(len(buffer))  # taken, on its way to disk, not yet published
    finally:
        release.set()
        flusher.join(10)
    assert seen == [5] and len(buffer) == 5
    assert [point[2] for point in buffer.peek(10)] == [float(value) for value in range(5)]
    buffer.close()
