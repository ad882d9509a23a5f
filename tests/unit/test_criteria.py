"""Logging criteria: pure decisions on which readings become points."""

from __future__ import annotations

import math
import threading

import pytest

from PyExpLabSys.common.value_logger import LoggingCriteriumChecker, ValueLogger
from PyExpLabSys.datalog.criteria import (
    EveryReading,
    LinearCriterion,
    RelativeCriterion,
    make_criterion,
)


def logged(criterion, readings):
    """The (time, value) readings the criterion logs."""
    return [(t, v) for t, v in readings if criterion.check(v, now=t)]


def test_first_reading_is_always_logged():
    for criterion in (LinearCriterion(10.0), RelativeCriterion(10.0), EveryReading()):
        assert criterion.check(5.0, now=0.0)


def test_linear_logs_moves_larger_than_threshold_from_last_logged():
    criterion = LinearCriterion(0.5, max_interval=None)
    readings = [(0, 1.0), (1, 1.4), (2, 1.5), (3, 1.51), (4, 2.02), (5, 1.6), (6, 1.4)]
    # 1.5 is not *more* than 0.5 away; drift of small steps is measured from 1.0
    assert logged(criterion, readings) == [(0, 1.0), (3, 1.51), (4, 2.02), (6, 1.4)]


def test_relative_threshold_scales_with_the_value():
    criterion = RelativeCriterion(0.1, max_interval=None)
    readings = [(0, 1e-6), (1, 1.05e-6), (2, 1.2e-6), (3, 1.1e-6), (4, 1e-9)]
    assert logged(criterion, readings) == [(0, 1e-6), (2, 1.2e-6), (4, 1e-9)]


def test_relative_from_zero_logs_any_change():
    criterion = RelativeCriterion(0.1, max_interval=None)
    assert logged(criterion, [(0, 0.0), (1, 0.0), (2, 1e-12)]) == [(0, 0.0), (2, 1e-12)]


def test_heartbeat_logs_a_flat_signal_every_max_interval():
    criterion = LinearCriterion(1.0, max_interval=10.0)
    readings = [(t, 5.0) for t in range(31)]
    assert [t for t, _ in logged(criterion, readings)] == [0, 10, 20, 30]


def test_heartbeat_counts_from_the_last_logged_point():
    criterion = LinearCriterion(1.0, max_interval=10.0)
    readings = [(0, 0.0), (7, 5.0), (12, 5.0), (17, 5.0)]
    assert [t for t, _ in logged(criterion, readings)] == [0, 7, 17]


def test_low_compare_suppresses_change_triggers_but_not_heartbeat():
    criterion = LinearCriterion(0.1, max_interval=100.0, low_compare=1.0)
    readings = [(0, 5.0), (1, 0.2), (2, 0.8), (100, 0.5), (101, 3.0)]
    assert logged(criterion, readings) == [(0, 5.0), (100, 0.5), (101, 3.0)]


def test_none_is_never_logged_and_nan_logs_when_it_appears_or_goes():
    criterion = LinearCriterion(1.0, max_interval=None)
    readings = [(0, None), (1, 2.0), (2, None), (3, math.nan), (4, math.nan), (5, 2.0)]
    result = logged(criterion, readings)
    assert [t for t, _ in result] == [1, 3, 5]


def test_infinities_compare_equal_to_themselves():
    criterion = RelativeCriterion(0.1, max_interval=None)
    assert logged(criterion, [(0, math.inf), (1, math.inf), (2, 1.0)]) == [(0, math.inf), (2, 1.0)]


def test_should_log_does_not_change_state_and_reset_forgets():
    criterion = LinearCriterion(1.0)
    assert criterion.should_log(1.0, now=0) and criterion.should_log(1.0, now=0)
    criterion.logged(1.0, now=0)
    assert not criterion.should_log(1.5, now=1)
    criterion.reset()
    assert criterion.should_log(1.5, now=1)


def test_every_reading_logs_everything_but_none():
    assert logged(EveryReading(), [(0, 1.0), (1, 1.0), (2, None)]) == [(0, 1.0), (1, 1.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "cubic"}, "unknown criterion 'cubic'"),
        ({"kind": "linear", "threshold": -1}, "threshold must be"),
        ({"kind": "relative", "threshold": math.nan}, "threshold must be"),
        ({"kind": "linear", "max_interval": 0}, "max_interval must be > 0"),
    ],
)
def test_make_criterion_rejects_nonsense(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_criterion(**kwargs)


def test_make_criterion_knows_pyexplabsys_names():
    assert isinstance(make_criterion("lin", 1), LinearCriterion)
    assert isinstance(make_criterion("log", 0.1), RelativeCriterion)


def test_logging_criterium_checker_facade():
    checker = LoggingCriteriumChecker(["a", "b"], ["lin", "log"], [1.0, 0.1], [600, 600])
    assert checker.codenames == ["a", "b"]
    assert checker.check("a", 1.0) and not checker.check("a", 1.5) and checker.check("a", 2.1)
    assert checker.check("b", 100.0) and not checker.check("b", 105.0)
    with pytest.raises(KeyError, match="unknown"):
        checker.check("c", 1.0)
    with pytest.raises(ValueError, match="as many criteria"):
        LoggingCriteriumChecker(["a"], ["lin"], [])


def test_value_logger_thread_triggers_on_change():
    class Reader:
        def __init__(self):
            self.values = iter([1.0, 1.0, 3.0])
            self.done = threading.Event()

        def value(self):
            try:
                return next(self.values)
            except StopIteration:
                self.done.set()
                return 3.0

    reader = Reader()
    vl = ValueLogger(reader, comp_val=1.0, interval=0.001)
    vl.start()
    try:
        assert reader.done.wait(5)
    finally:
        vl.stop()
        vl.join(5)
    assert vl.read_trigged() and vl.read_value() == 3.0
    vl.clear_trigged()
    assert not vl.read_trigged()
