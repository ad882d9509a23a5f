"""ContinuousDataSaver: PyExpLabSys's names and results over the logging core (mock database)."""

from __future__ import annotations

import threading

import numpy
import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.common.database_saver import ContinuousDataSaver
from PyExpLabSys.datalog.logger import CodenameLookupError, LoggerStoppedError, StartupException
from PyExpLabSys.datalog.points import UnknownCodenameError
from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts

from ..scripts import data_saver_sines

FAST = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=0.5)


def saver(db: MemoryDatabase, codenames=None, **kw) -> ContinuousDataSaver:
    return ContinuousDataSaver(
        "dateplots_x",
        "user",
        "secret",
        codenames,
        backend=MemoryBackend(db, timeout=0.2),
        timeouts=FAST,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
        **kw,
    )


def test_upstream_example_script_runs_unchanged_on_the_mock(mock_database):
    mock_database.declare("dummy_sine_one", "dummy_sine_two")
    data_saver_sines.main()
    one, two = mock_database.values("dummy_sine_one"), mock_database.values("dummy_sine_two")
    assert len(one) == len(two) == 10
    assert all(type(v) is float and -1.0 <= v <= 1.0 for v in one + two)
    # sin(t) + sin(t' + pi) with t' read a moment after t: close to 0 (50 ms apart at most)
    assert all(abs(a + b) < 0.05 for a, b in zip(one, two, strict=True))


def test_a_single_string_of_codenames_is_refused_at_the_call():
    """Upstream iterated ``measurement_codenames``: a string became one codename per
    character. Here it is a TypeError at the call, naming what to write instead."""
    db = MemoryDatabase(["a", "b", "ab"])
    with pytest.raises(TypeError, match=r"single string 'ab' \(for one codename write \['ab'\]\)"):
        saver(db, "ab")
    assert saver(db, ["ab"]).codename_translation == {"ab": db.codenames["ab"]}
    assert saver(db).codename_translation == {}


def test_upstream_results_and_names():
    db = MemoryDatabase(["a", "b"])
    s = saver(db, ["a"])
    assert s.codename_translation == {"a": db.codenames["a"]}
    s.start()
    now = s.save_point_now("a", numpy.float32(1.5))
    assert isinstance(now, float)
    assert s.save_point("a", (1.7e9, numpy.int64(2))) is None
    with pytest.raises(ValueError, match="pair"):
        s.save_point("a", (1.7e9,))
    with pytest.raises(UnknownCodenameError):  # a KeyError, as upstream's dict look-up
        s.save_point_now("b", 1.0)
    s.add_continuous_measurement("b")
    s.save_point_now("b", 3.0)
    assert s.stop().delivered_all
    assert db.rows() == [("a", now, 1.5), ("a", 1.7e9, 2.0), ("b", db.rows()[2][1], 3.0)]
    assert s.continuous_data_table == "dateplots_x" and s.username == "user"


def test_a_codename_without_a_row_is_a_value_error_naming_it():
    db = MemoryDatabase(["a"])
    with pytest.raises(ValueError, match="'nope' has no row"):
        saver(db, ["a", "nope"])
    s = saver(db)
    s.start()
    try:
        with pytest.raises(CodenameLookupError, match="'nope' has no row"):
            s.add_continuous_measurement("nope")
        assert s.codename_translation == {}
    finally:
        s.stop()


def test_adding_while_the_database_is_down_waits_then_says_so():
    db = MemoryDatabase(["a", "b"])
    s = saver(db, ["a"])
    s.start()
    try:
        s.save_point_now("a", 1.0)
        with db.outage():
            with pytest.raises(StartupException, match="cannot reach"):
                s.add_codenames(["b"], timeout=0.3)
            s.save_point_now("a", 2.0)  # the queue is untouched
        s.add_continuous_measurement("b")
        s.save_point_now("b", 3.0)
    finally:
        assert s.stop(timeout=5).delivered_all
    assert db.rows()[-1][0] == "b" and db.values("a") == [1.0, 2.0]


def test_adding_codenames_from_many_threads_while_others_enqueue():
    """The add runs in the drain thread; enqueuers on other threads never fail or wait."""
    names = [f"c{i}" for i in range(20)]
    db = MemoryDatabase(["base", *names])
    s = saver(db, ["base"])
    s.start()
    stop = threading.Event()
    errors: list[BaseException] = []
    enqueued = [0]

    def enqueue() -> None:
        while not stop.is_set():
            s.save_point_now("base", 1.0)
            enqueued[0] += 1

    def add(chunk: list[str]) -> None:
        try:
            for name in chunk:
                s.add_continuous_measurement(name)
                s.save_point_now(name, 2.0)
        except BaseException as error:  # reported below
            errors.append(error)

    producer = threading.Thread(target=enqueue)
    producer.start()
    adders = [threading.Thread(target=add, args=(names[i::4],)) for i in range(4)]
    for thread in adders:
        thread.start()
    for thread in adders:
        thread.join(10)
    stop.set()
    producer.join(10)
    report = s.stop(timeout=10)
    assert not errors and report.delivered_all
    assert sorted(set(s.codename_translation)) == sorted(["base", *names])
    assert all(db.values(name) == [2.0] for name in names)
    assert len(db.values("base")) == enqueued[0]


def test_adding_after_stop_is_refused():
    db = MemoryDatabase(["a", "b"])
    s = saver(db, ["a"])
    s.start()
    s.stop()
    with pytest.raises(LoggerStoppedError):
        s.add_continuous_measurement("b")
