"""Fast tests of the logging core on the in-memory mock database.

They use the ``mock_database`` fixture of the project's pytest plugin, the one labs use
for their own scripts, and build loggers as lab scripts do (no ``backend=``): the
plugin routes them into the mock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from decimal import Decimal

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger, StartupException
from PyExpLabSys.datalog.buffer import RamBuffer
from PyExpLabSys.datalog.logger import LoggerStoppedError
from PyExpLabSys.datalog.points import UnknownCodenameError
from PyExpLabSys.datalog.policies import BatchPolicy, NonFinitePolicy, RetryPolicy, Timeouts
from PyExpLabSys.testing.plugin import MockDatabase

FAST = Timeouts(connect=0.2, read=0.2, write=0.2, query=0.2, startup=0.3)
QUICK_RETRY = RetryPolicy(first_delay=0.001, base_delay=0.005, max_delay=0.02)


def make_logger(db: MockDatabase, codenames=("a", "b"), **kw) -> ContinuousLogger:
    """A logger built as a lab script builds it; the fixture routes it into ``db``."""
    kw.setdefault("retry", QUICK_RETRY)
    return ContinuousLogger("dateplots_test", "user", "pw", list(codenames), timeouts=FAST, **kw)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


@pytest.fixture
def db(mock_database: MockDatabase) -> MockDatabase:
    mock_database.timeout = 0.2
    mock_database.declare("a", "b")
    return mock_database


# -- bad input: a clear error at the call, nothing queued lost ------------------------------

BAD_POINTS = [(1.0, 2.0, 3.0), (1.0,), "ab", b"ab", 5, None]
BAD_VALUES = ["abc", None, [1.0], (1.0,), {}, 1 + 2j, True, b"1"]


@pytest.mark.parametrize("point", BAD_POINTS, ids=repr)
def test_malformed_point_raises_value_error(db, point):
    logger = make_logger(db)
    logger.enqueue_point_now("a", 1.0)
    with pytest.raises(ValueError, match="pair"):
        logger.enqueue_point("a", point)
    assert logger.status().queued == 1
    logger.start()
    assert logger.stop(timeout=2)
    assert db.values("a") == [1.0]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_value_that_is_not_a_number_raises_type_error(db, value):
    logger = make_logger(db)
    logger.enqueue_point_now("a", 1.0)
    with pytest.raises(TypeError, match=r"real number|cannot be stored"):
        logger.enqueue_point_now("a", value)
    with pytest.raises(TypeError):
        logger.enqueue_point("a", (time.time(), value))
    assert logger.status().queued == 1


@pytest.mark.parametrize("stamp", ["now", None, math.nan, math.inf, -5.0, 1e12])
def test_bad_time_raises(db, stamp):
    logger = make_logger(db)
    with pytest.raises((TypeError, ValueError), match="time"):
        logger.enqueue_point("a", (stamp, 1.0))
    assert logger.status().queued == 0


def test_unknown_codename_names_it_and_the_known_ones(db):
    logger = make_logger(db)
    logger.enqueue_point_now("a", 1.0)
    with pytest.raises(UnknownCodenameError, match=r"'nope'.*started with a, b"):
        logger.enqueue_point_now("nope", 1.0)
    with pytest.raises(KeyError):  # also a KeyError, as a dict look-up would raise
        logger.enqueue_point("nope", (time.time(), 1.0))
    assert logger.status().queued == 1


@pytest.mark.parametrize("codenames", ["abc", b"abc"], ids=repr)
def test_a_single_string_of_codenames_is_refused_at_the_call(db, codenames):
    """``list("abc")`` is ``["a", "b", "c"]``: a logger must not take a string as one
    codename per character (here each of them is a real codename and would be logged)."""
    db.declare("abc", "c")
    with pytest.raises(TypeError, match=r"not the single string .*abc.*write \[.*abc.*\]"):
        ContinuousLogger("dateplots_test", "user", "pw", codenames, timeouts=FAST)
    logger = make_logger(db)
    with pytest.raises(TypeError, match="single string 'abc'"):
        logger.add_codenames("abc")
    assert logger.add_codenames(["abc"]) == {"abc": db.codenames["abc"]}
    logger.start()
    logger.enqueue_point_now("abc", 1.0)
    with pytest.raises(UnknownCodenameError):  # "c" was never added as a codename
        logger.enqueue_point_now("c", 2.0)
    assert logger.stop(timeout=2)
    assert db.rows() == [("abc", db.rows()[0][1], 1.0)]


@pytest.mark.parametrize("value", [3, 2**40, Decimal("1.5"), 1.5])
def test_real_numbers_of_other_types_are_accepted(db, value):
    logger = make_logger(db)
    logger.start()
    logger.enqueue_point_now("a", value)
    assert logger.stop(timeout=2)
    assert db.values("a") == [float(value)]


# -- non-finite policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "stored"),
    [("null", [1.0, None, None, 2.0]), ("drop", [1.0, 2.0])],
)
def test_non_finite_policy(db, policy, stored):
    logger = make_logger(db, nonfinite=policy)
    logger.start()
    for value in (1.0, math.nan, -math.inf, 2.0):
        logger.enqueue_point_now("a", value)
    assert logger.stop(timeout=2)
    assert db.values("a") == stored
    status = logger.status()
    assert status.nonfinite_seen == 2
    assert status.nonfinite_dropped == (2 if policy == "drop" else 0)


def test_non_finite_reject_policy_raises(db):
    logger = make_logger(db, nonfinite=NonFinitePolicy.REJECT)
    with pytest.raises(ValueError, match="not finite"):
        logger.enqueue_point_now("a", math.inf)
    assert logger.status().queued == 0


# -- delivery -----------------------------------------------------------------------------


def test_points_enqueued_before_start_are_delivered_in_order(db):
    logger = make_logger(db)
    for value in range(10):
        logger.enqueue_point_now("a", float(value))
    logger.start()
    assert logger.stop(timeout=2)
    assert db.values("a") == [float(v) for v in range(10)]


def test_concurrent_producers_lose_nothing_and_keep_order(db):
    db.declare(*(f"c{i}" for i in range(4)))
    logger = make_logger(db, codenames=[f"c{i}" for i in range(4)])
    logger.start()
    count = 20000

    def produce(codename: str) -> None:
        for index in range(count):
            logger.enqueue_point_now(codename, float(index))

    threads = [threading.Thread(target=produce, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.stop(timeout=10)
    for i in range(4):
        assert db.values(f"c{i}") == [float(v) for v in range(count)]


def test_batches_are_bounded_by_the_policy(db):
    logger = make_logger(db, batch=BatchPolicy(max_points=100))
    for value in range(1000):
        logger.enqueue_point_now("a", float(value))
    logger.start()
    assert logger.stop(timeout=2)
    assert db.commits >= 10 and len(db.rows()) == 1000


def test_outage_keeps_points_until_the_database_is_back(db):
    logger = make_logger(db)
    logger.start()
    db.unreachable = True
    for value in range(50):
        logger.enqueue_point_now("b", float(value))
    assert wait_until(lambda: logger.status().last_error is not None)
    assert db.values("b") == [] and logger.status().queued == 50
    db.unreachable = False
    assert wait_until(lambda: logger.status().queued == 0)
    assert logger.stop(timeout=2)
    assert db.values("b") == [float(v) for v in range(50)]
    assert logger.status().reconnects >= 1


def test_lost_commit_answer_is_reconciled_not_resent(db):
    logger = make_logger(db)
    db.lose_next_commit_answer()
    for value in range(5):
        logger.enqueue_point_now("a", float(value))
    logger.start()
    assert logger.stop(timeout=2)
    assert db.values("a") == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert logger.status().reconciled_batches == 1


def test_hanging_database_times_out_and_recovers(db):
    logger = make_logger(db)
    logger.start()
    db.hang()
    logger.enqueue_point_now("a", 1.0)
    assert wait_until(lambda: logger.status().timeouts >= 1)
    db.unhang()
    assert wait_until(lambda: logger.status().queued == 0)
    assert logger.stop(timeout=2)
    assert db.values("a") == [1.0]


def test_stop_reports_what_it_could_not_deliver(db, caplog):
    logger = make_logger(db)
    logger.start()
    db.unreachable = True
    for value in range(3):
        logger.enqueue_point_now("a", float(value))
    logger.enqueue_point_now("b", 1.0)
    started = time.monotonic()
    report = logger.stop(timeout=0.3)
    assert time.monotonic() - started < 2
    assert not report and report.undelivered == 4
    assert report.per_codename == {"a": 3, "b": 1}
    assert "NOT delivered" in caplog.text
    assert logger.stop() is report  # idempotent


def test_enqueue_after_stop_raises_and_says_so(db):
    logger = make_logger(db)
    logger.start()
    logger.stop(timeout=1)
    with pytest.raises(LoggerStoppedError):
        logger.enqueue_point_now("a", 1.0)
    with pytest.raises(LoggerStoppedError):
        logger.enqueue_point("a", (time.time(), 1.0))


def test_status_snapshot(db):
    logger = make_logger(db)
    status = logger.status()
    assert (status.running, status.queued, status.committed) == (False, 0, 0)
    logger.enqueue_point("a", (time.time() - 10, 1.0))
    assert logger.status().oldest_queued_age >= 10
    logger.start()
    assert wait_until(lambda: logger.status().committed == 1)
    status = logger.status()
    assert status.running and status.connected and status.batches == 1
    assert status.last_commit_time is not None and status.oldest_queued_age is None
    assert "committed 1" in status.summary()
    logger.stop(timeout=1)


def test_enqueue_point_now_returns_the_time_it_used(db):
    logger = make_logger(db)
    before = time.time()
    stamp = logger.enqueue_point_now("a", 1.0)
    assert before <= stamp <= time.time()
    logger.start()
    logger.stop(timeout=1)
    assert [t for _, t, _ in db.rows()] == [stamp]


def test_codename_translation_is_readable(db):
    assert make_logger(db)._codename_translation == {"a": 1, "b": 2}


def test_start_up_errors(db):
    with pytest.raises(StartupException, match="'zzz' has no row"):
        make_logger(db, codenames=["a", "zzz"])
    db.unreachable = True
    with pytest.raises(StartupException, match="cannot reach"):
        make_logger(db)


# -- building blocks ----------------------------------------------------------------------


def test_buffer_peek_does_not_remove_until_ack():
    buffer = RamBuffer()
    for i in range(5):
        buffer.append(i)
    assert buffer.peek(3) == [0, 1, 2]
    assert buffer.peek(3) == [0, 1, 2] and len(buffer) == 5
    buffer.ack(2)
    buffer.append(5)
    assert buffer.peek(10) == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="cannot acknowledge 5 points, only 4 in flight"):
        buffer.ack(5)
    assert buffer.oldest() == 2


def test_retry_policy_backs_off_with_full_jitter():
    policy = RetryPolicy(first_delay=0.05, base_delay=0.5, multiplier=2, max_delay=60)
    assert policy.delay(1) == 0.05
    assert [policy.ceiling(n) for n in (2, 3, 4)] == [0.5, 1.0, 2.0]
    assert policy.ceiling(100) == 60
    rng = random.Random(1)
    delays = [policy.delay(5, rng) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in delays) and max(delays) > 2.0 and min(delays) < 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RetryPolicy(multiplier=0.5), "RetryPolicy.multiplier must be >= 1"),
        (lambda: Timeouts(read=0), "Timeouts.read must be > 0"),
        (lambda: BatchPolicy(max_points=0), "BatchPolicy.max_points must be >= 1"),
    ],
)
def test_policies_reject_nonsense(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- poison points --------------------------------------------------------------------------


def test_poison_point_is_isolated_and_dead_lettered(db, tmp_path):
    db.reject(lambda row: "value -666 is forbidden" if row[2] == -666.0 else None)
    letters = tmp_path / "dead.jsonl"
    logger = make_logger(db, dead_letter_path=letters)
    values = [float(v) for v in range(1000)]
    values[437] = -666.0
    for value in values:
        logger.enqueue_point_now("a", value)
    logger.start()
    assert logger.stop(timeout=5)
    assert db.values("a") == [v for v in values if v != -666.0]
    status = logger.status()
    assert status.dead_lettered == 1 and "forbidden" in status.last_error
    (record,) = logger.dead_letters.records()
    assert record["codename"] == "a" and record["value"] == -666.0
    assert "forbidden" in record["reason"]
    # after the poison point, batches grow back to full size
    assert logger._drain.limit == BatchPolicy().max_points


# -- flush ----------------------------------------------------------------------------------


def test_flush_returns_once_the_points_are_stored(db):
    logger = make_logger(db)
    logger.start()
    try:
        for value in range(500):
            logger.enqueue_point_now("a", float(value))
        assert logger.flush(timeout=10) is True
        assert db.values("a") == [float(v) for v in range(500)]  # read back: stored
    finally:
        logger.stop()


def test_flush_is_false_while_the_database_is_unreachable_then_true(db):
    logger = make_logger(db)
    logger.start()
    try:
        with db.outage():
            logger.enqueue_point_now("a", 1.0)
            started = time.monotonic()
            assert logger.flush(timeout=0.5) is False
            assert 0.45 <= time.monotonic() - started < 3
            assert db.values("a") == []
        assert logger.flush(timeout=10) is True
        assert db.values("a") == [1.0]
        logger.wait_for_queue_to_empty()  # PyExpLabSys's name: nothing left, returns at once
    finally:
        logger.stop()


def test_flush_before_start_and_after_stop(db):
    logger = make_logger(db)
    assert logger.flush(timeout=0.1) is True  # nothing queued
    logger.enqueue_point_now("a", 1.0)
    assert logger.flush(timeout=0.1) is False  # queued, and nothing delivers before start()
    logger.start()
    assert logger.stop(timeout=5).delivered_all
    assert logger.flush() is True


def test_a_contended_batch_is_sent_again_on_the_same_connection():
    """A deadlock or a Galera certification conflict rolls the batch back: resend it,
    without reconnecting (a fleet would otherwise wander over the cluster's nodes)."""
    from PyExpLabSys.backends.base import Contended
    from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
    from PyExpLabSys.datalog.logger import DataLogger

    class ConflictOnce(MemoryBackend):
        conflicts = 1

        def insert_batch(self, first_seq, points, prepared=None):
            if self.conflicts:
                self.conflicts -= 1
                raise Contended("(1213) Deadlock found when trying to get lock")
            super().insert_batch(first_seq, points, prepared)

    database = MemoryDatabase(["a"])
    logger = DataLogger(ConflictOnce(database), ["a"], retry=QUICK_RETRY, timeouts=FAST)
    logger.start()
    logger.enqueue_point_now("a", 1.0)
    assert logger.flush(timeout=5)
    status = logger.status()
    assert logger.stop().delivered_all
    assert database.values("a") == [1.0] and status.reconnects == 0 and status.reconciled_batches == 0


def test_a_batch_is_held_until_its_oldest_point_reaches_the_latency_budget(db):
    """Points trickling in are committed together once the oldest has waited
    flush_interval (the latency budget), not one small commit each."""
    logger = make_logger(db, batch=BatchPolicy(flush_interval=0.6))
    logger.start()
    try:
        first = logger.enqueue_point_now("a", 0.0)
        for value in range(1, 5):
            time.sleep(0.05)  # a producer's pace, not synchronisation
            logger.enqueue_point_now("a", float(value))
        assert wait_until(lambda: logger.status().committed == 5, timeout=10)
        committed_at = time.time()
        assert logger.status().batches == 1  # held, then sent together
        assert committed_at - first >= 0.6 - 0.01  # not before the budget
    finally:
        logger.stop(timeout=5)


def test_flush_and_a_full_batch_do_not_wait_for_the_latency_budget(db):
    logger = make_logger(db, batch=BatchPolicy(max_points=100, flush_interval=60.0))
    logger.start()
    try:
        logger.enqueue_point_now("a", 1.0)
        began = time.monotonic()
        assert logger.flush(timeout=10) is True  # asked for: sent now, not in 60 s
        for value in range(100):
            logger.enqueue_point_now("b", float(value))
        assert wait_until(lambda: logger.status().committed == 101, timeout=10)
        assert time.monotonic() - began < 30  # far below the 60 s budget
    finally:
        logger.stop(timeout=5)
