"""The window aggregator on a fake clock: aligned boundaries, pauses, count windows,
non-OK readings, empty windows and the statistics themselves."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from PyExpLabSys.datalog.aggregation import FUNCTIONS, AggregationPolicy, Window, WindowAggregator

T0 = 1_700_000_000.0  # a multiple of 10 s


class FakeClock:
    """Unix time that moves only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed(aggregator: WindowAggregator, clock: FakeClock, readings, step: float) -> list[Window]:
    """Each reading at the clock's time, then the clock moves on by ``step``."""
    windows = []
    for value in readings:
        window = aggregator.add(value)
        if window is not None:
            windows.append(window)
        clock.now += step
    return windows


def test_time_windows_are_aligned_to_the_wall_clock_and_stamped_at_their_middle():
    clock = FakeClock(T0 + 3.0)  # starts in the middle of a window
    aggregator = WindowAggregator(AggregationPolicy(("mean", "min", "max", "last", "count"), 10.0), clock)
    windows = feed(aggregator, clock, [float(i) for i in range(17)], step=1.0)
    # readings 0..6 at T0+3..T0+9, then 7..16 at T0+10..T0+19; the last window is still open
    assert [(w.start, w.end, w.time, w.readings) for w in windows] == [(T0, T0 + 10, T0 + 5, 7)]
    assert windows[0].values == {"mean": 3.0, "min": 0.0, "max": 6.0, "last": 6.0, "count": 7.0}
    assert list(windows[0].values) == ["mean", "min", "max", "last", "count"]  # policy order
    assert aggregator.pending == 10
    clock.now = T0 + 20.0
    second = aggregator.add(100.0)
    assert second is not None and second.time == T0 + 15 and second.values["mean"] == 11.5
    assert second.values["count"] == 10


def test_a_pause_longer_than_a_window_yields_nothing_for_the_empty_windows():
    clock = FakeClock(T0)
    aggregator = WindowAggregator(AggregationPolicy(("mean", "count"), window=1.0), clock)
    windows = feed(aggregator, clock, [1.0, 2.0, 3.0, 4.0], step=0.25)  # fills [T0, T0+1)
    assert windows == []
    clock.now = T0 + 3.7  # a pause: [T0+1, T0+3) had no reading
    closed = aggregator.add(10.0)
    assert closed == Window(T0 + 0.5, T0, T0 + 1, 4, {"mean": 2.5, "count": 4.0})
    # the first reading after the pause opened the window it falls in, [T0+3, T0+4)
    clock.now = T0 + 3.9
    assert aggregator.add(20.0) is None
    after = aggregator.poll(T0 + 4.0)
    assert after == Window(T0 + 3.5, T0 + 3, T0 + 4, 2, {"mean": 15.0, "count": 2.0})
    assert aggregator.windows == 2


def test_poll_closes_an_ended_window_without_a_new_reading():
    clock = FakeClock(T0 + 1)
    aggregator = WindowAggregator(AggregationPolicy(("max",), window=5.0), clock)
    aggregator.add(1.0)
    aggregator.add(7.0, T0 + 4.9)
    assert aggregator.poll(T0 + 4.999) is None
    clock.now = T0 + 5.0  # the end is exclusive: a reading at T0+5 belongs to the next window
    assert aggregator.poll() == Window(T0 + 2.5, T0, T0 + 5, 2, {"max": 7.0})
    assert aggregator.poll(T0 + 100) is None  # nothing open: nothing to yield


def test_an_empty_window_yields_nothing():
    clock = FakeClock(T0)
    aggregator = WindowAggregator(AggregationPolicy(("mean", "count"), window=1.0), clock)
    for _ in range(10):
        assert aggregator.poll() is None
        assert aggregator.add(None) is None
        clock.now += 0.4
    assert aggregator.flush() is None
    assert aggregator.windows == 0 and aggregator.left_out == 10


def test_non_ok_readings_are_left_out_of_the_window():
    clock = FakeClock(T0)
    aggregator = WindowAggregator(AggregationPolicy(("mean", "min", "max", "count"), window=10.0), clock)
    readings = [1.0, None, 3.0, math.nan, math.inf, -math.inf, 5.0, None]
    feed(aggregator, clock, readings, step=1.0)
    window = aggregator.add(None, T0 + 10.0)  # an empty reading past the end still closes it
    assert window == Window(T0 + 5, T0, T0 + 10, 3, {"mean": 3.0, "min": 1.0, "max": 5.0, "count": 3.0})
    assert aggregator.left_out == 6


def test_count_windows_close_on_their_last_reading_and_are_stamped_between_first_and_last():
    clock = FakeClock(T0 + 0.3)
    aggregator = WindowAggregator(AggregationPolicy(("mean", "last", "count"), count=3), clock)
    windows = feed(aggregator, clock, [1.0, None, 2.0, 6.0, 4.0, 4.0, 4.0, 9.0], step=0.5)
    # valid readings at T0+0.3, 1.3, 1.8 | 2.3, 2.8, 3.3 | 3.8 (open)
    assert windows == [
        Window(T0 + 1.05, T0 + 0.3, T0 + 1.8, 3, {"mean": 3.0, "last": 6.0, "count": 3.0}),
        Window(T0 + 2.8, T0 + 2.3, T0 + 3.3, 3, {"mean": 4.0, "last": 4.0, "count": 3.0}),
    ]
    assert aggregator.poll(T0 + 1000) is None  # count windows do not close on time
    assert aggregator.flush() == Window(
        T0 + 3.8, T0 + 3.8, T0 + 3.8, 1, {"mean": 9.0, "last": 9.0, "count": 1.0}
    )


def test_std_is_the_sample_standard_deviation():
    rng = random.Random(14)
    values = [1e-9 * (1 + 0.01 * rng.gauss(0, 1)) for _ in range(50)]  # tiny values, far from 0
    aggregator = WindowAggregator(AggregationPolicy(("std", "mean"), count=50))
    windows = [w for i, v in enumerate(values) if (w := aggregator.add(v, T0 + i)) is not None]
    (window,) = windows
    assert window.values["std"] == pytest.approx(statistics.stdev(values), rel=1e-9)
    assert window.values["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
    known = WindowAggregator(AggregationPolicy(("std",), count=4))
    for value in (2.0, 4.0, 4.0, 6.0):
        last = known.add(value, T0)
    assert last is not None and last.values["std"] == pytest.approx(math.sqrt(8 / 3))


def test_std_needs_two_readings_the_other_functions_do_not():
    aggregator = WindowAggregator(AggregationPolicy(("mean", "std"), window=1.0))
    aggregator.add(5.0, T0 + 0.2)
    assert aggregator.poll(T0 + 1.0) == Window(T0 + 0.5, T0, T0 + 1, 1, {"mean": 5.0})
    aggregator.add(5.0, T0 + 1.2)
    aggregator.add(5.0, T0 + 1.3)
    window = aggregator.poll(T0 + 2.0)
    assert window is not None and window.values == {"mean": 5.0, "std": 0.0}


def test_a_clock_that_goes_back_closes_the_open_window():
    aggregator = WindowAggregator(AggregationPolicy(("mean",), window=10.0))
    aggregator.add(1.0, T0 + 25)
    closed = aggregator.add(2.0, T0 + 5)  # NTP stepped the clock back
    assert closed == Window(T0 + 25, T0 + 20, T0 + 30, 1, {"mean": 1.0})
    assert aggregator.flush() == Window(T0 + 5, T0, T0 + 10, 1, {"mean": 2.0})


def test_fractional_windows_stay_on_their_grid():
    aggregator = WindowAggregator(AggregationPolicy(("count",), window=0.25))
    for i in range(40):  # 20 Hz for 2 s
        aggregator.add(1.0, T0 + i * 0.05 + 0.001)
    windows = [aggregator.flush()]
    assert windows[0] is not None and windows[0].start == T0 + 1.75 and windows[0].time == T0 + 1.875


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"functions": ("mean", "median"), "window": 1.0},
            "unknown function 'median'; choose from mean, min",
        ),
        ({"functions": ("min", "max", "min"), "window": 1.0}, "function 'min' is given more than once"),
        ({"functions": (), "window": 1.0}, "give at least one of"),
        ({"functions": "mean", "window": 1.0}, "must be a list of names"),
        ({"window": 1.0, "count": 3}, "either window .* or count .*, exactly one"),
        ({}, "either window"),
        ({"window": 0.0}, "window must be > 0 seconds, not 0.0"),
        ({"window": -1}, "window must be > 0 seconds"),
        ({"window": math.inf}, "window must be > 0 seconds"),
        ({"window": "10"}, "window must be a number of seconds"),
        ({"count": 0}, "count must be a whole number of readings > 0, not 0"),
        ({"count": 2.5}, "count must be a whole number"),
        ({"count": True}, "count must be a whole number"),
    ],
)
def test_bad_policies_are_refused_at_the_call(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AggregationPolicy(**kwargs)


def test_bad_readings_and_times_are_refused_at_the_call():
    aggregator = WindowAggregator(AggregationPolicy(window=1.0))
    with pytest.raises(TypeError, match="value must be a number or None, not 'abc'"):
        aggregator.add("abc", T0)  # type: ignore[arg-type]  # the wrong type is the test
    with pytest.raises(ValueError, match="time must be a finite unix time, not nan"):
        aggregator.add(1.0, math.nan)
    with pytest.raises(TypeError, match="policy must be an AggregationPolicy"):
        WindowAggregator({"window": 1.0})  # type: ignore[arg-type]  # the wrong type is the test
    assert aggregator.pending == 0


def test_policy_defaults_and_description():
    policy = AggregationPolicy(window=10)
    assert policy.functions == ("mean",) and policy.window == 10.0 and isinstance(policy.window, float)
    assert AggregationPolicy(("mean", "max"), count=5).describe() == "mean, max of 5 readings windows"
    assert policy.describe() == "mean of 10 s windows"
    assert set(FUNCTIONS) == {"mean", "min", "max", "last", "count", "std"}
