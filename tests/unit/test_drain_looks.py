"""When the drain looks at the queue: at once for the first point after a quiet spell
(the enqueue wakes it), and, while it holds a batch back to grow, when a full batch will
be there at the rate the queue grows."""

from __future__ import annotations

import sqlite3
import time

import pytest

from PyExpLabSys.backends.sqlite import SQLiteBackend, create_tables
from PyExpLabSys.datalog import drain
from PyExpLabSys.datalog.drain import FIRST_LOOK, LOOK_EVERY, next_look
from PyExpLabSys.datalog.logger import DataLogger
from PyExpLabSys.datalog.policies import BatchPolicy


def test_the_first_look_of_a_hold_comes_soon():
    assert next_look(None, 10.0, 5, 20_000) == FIRST_LOOK


def test_a_burst_is_looked_at_when_a_batch_will_be_full():
    # 15,000 points in 5 ms: the remaining 5,000 take about 1.7 ms more
    assert next_look((10.0, 0), 10.005, 15_000, 20_000) == pytest.approx(0.005 / 3)


def test_a_slow_stream_is_looked_at_no_more_often_than_before():
    assert next_look((10.0, 0), 10.05, 5, 20_000) == LOOK_EVERY  # 100 points/s
    assert next_look((10.0, 5), 10.05, 5, 20_000) == LOOK_EVERY  # nothing new
    assert next_look((10.0, 0), 10.0, 5, 20_000) == LOOK_EVERY  # no time passed


def test_a_very_fast_queue_is_not_looked_at_more_than_once_a_millisecond():
    assert next_look((10.0, 0), 10.001, 19_999, 20_000) == 0.001


def test_the_first_point_after_a_quiet_spell_wakes_the_drain(tmp_path, monkeypatch):
    """Looks are a minute apart here (SQLite holds no batch back, so the flush
    interval is the idle look too): only the enqueue's wake-up delivers the point in time."""
    monkeypatch.setattr(drain, "LOOK_EVERY", 60.0)
    path = tmp_path / "data.sqlite"
    create_tables(path, "dateplots_quiet", ["a"])
    logger = DataLogger(SQLiteBackend(path, "dateplots_quiet"), ["a"], batch=BatchPolicy(flush_interval=60))
    logger.start()
    try:
        deadline = time.monotonic() + 10
        while not logger._drain.idle:  # the drain found nothing and waits
            assert time.monotonic() < deadline
            time.sleep(0.001)
        logger.enqueue_point_now("a", 1.5)
        stored: list[tuple[float]] = []
        while not stored and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the file, with a deadline
            with sqlite3.connect(path) as conn:
                stored = conn.execute("SELECT value FROM dateplots_quiet").fetchall()
        assert stored == [(1.5,)]
    finally:
        logger.stop(timeout=5)
