"""A 20 Hz simulated channel aggregated to 1 s mean/min/max, through a real reader and
logger into the mock database: the stored values are the aggregates of the readings the
simulator actually gave in each window, stamped at the window's middle; non-OK readings
are left out, and a pause (the instrument unplugged) yields nothing for its windows."""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time
import tomllib
from collections import defaultdict
from typing import Any

import pytest

from PyExpLabSys.datalog.policies import RetryPolicy
from PyExpLabSys.drivers.base import Reading, SerialInstrument, reading_name
from PyExpLabSys.service.config import InstrumentConfig, parse_config
from PyExpLabSys.service.instruments import open_instrument
from PyExpLabSys.service.readers import InstrumentReader, ReaderPolicy
from PyExpLabSys.simulators import start_simulator

from .conftest import wait_until

FAST = ReaderPolicy(RetryPolicy(first_delay=0.01, base_delay=0.05, max_delay=0.2), reopen_after=2)

CONFIG = """
[database]
path = "unused.sqlite"
table = "dateplots_agg"

[[instruments]]
name = "gauge"
driver = "tpg26x"
port = "{port}"
timeout = 0.2

[[instruments.channels]]
codename = "agg_pressure"
read = "pressure_gauge"
args = [1]
interval = 0.05
aggregate = ["mean", "min", "max"]
window = 1.0
codenames = {{ min = "agg_pressure_min", max = "agg_pressure_max" }}
"""


class Recorder:
    """Opens the real driver and records every reading it returns with the wall time
    at which the call returned; the reader's wall clock gives that same time to the
    reading it stamps next (and the real time to every other question)."""

    def __init__(self, config: InstrumentConfig) -> None:
        self.config = config
        self.method = reading_name(config.channels[0].read)
        self.readings: list[tuple[float, float | None]] = []
        self.lock = threading.Lock()
        self._returned_at: float | None = None

    def open(self) -> SerialInstrument:
        driver = open_instrument(self.config)
        real = getattr(driver, self.method)

        def recorded(*args: Any) -> Any:
            result = real(*args)
            now = time.time()
            assert isinstance(result, Reading)
            with self.lock:
                self.readings.append((now, result.value if result.ok else None))
            self._returned_at = now
            return result

        setattr(driver, self.method, recorded)
        return driver

    def wall_clock(self) -> float:
        returned_at, self._returned_at = self._returned_at, None
        return time.time() if returned_at is None else returned_at

    def snapshot(self) -> list[tuple[float, float | None]]:
        with self.lock:
            return list(self.readings)

    def not_ok(self) -> int:
        return sum(1 for _, value in self.snapshot() if value is None)


def stored(mock_database, codename: str) -> dict[float, float]:
    """Time stamp → value of the rows of ``codename``."""
    return {t: v for c, t, v in mock_database.rows() if c == codename}


def test_20hz_channel_aggregated_to_1s_mean_min_max_across_a_pause(mock_database, tmp_path):
    with start_simulator("tpg26x") as sim:
        config = parse_config(tomllib.loads(CONFIG.format(port=sim.port)), tmp_path / "agg.toml")
        (instrument,) = config.instruments
        assert config.codenames == ["agg_pressure", "agg_pressure_min", "agg_pressure_max"]
        recorder = Recorder(instrument)
        logger = mock_database.logger(config.codenames)
        logger.start()
        reader = InstrumentReader(
            instrument,
            logger.enqueue_point_now,
            FAST,
            opener=recorder.open,
            point_sink=logger.enqueue_point,
            wall_clock=recorder.wall_clock,
        )
        reader.start()
        try:
            wait_until(lambda: len(stored(mock_database, "agg_pressure")) >= 2, what="two windows stored")
            # non-OK readings (under range) for a while: left out of their window
            sim.gauges[0].status = 1
            wait_until(lambda: recorder.not_ok() >= 5, what="five under-range readings")
            sim.gauges[0].status = 0
            wait_until(lambda: len(stored(mock_database, "agg_pressure")) >= 4, what="four windows stored")
            # the pause: unplugged for more than two windows
            sim.vanish()
            gone = time.time()
            wait_until(lambda: not reader.snapshot()["connected"], what="the reader notices")
            last_before = math.floor(recorder.snapshot()[-1][0])
            # the window open when the instrument went away is closed by the clock, not
            # by a reading after the pause
            wait_until(
                lambda: last_before + 0.5 in stored(mock_database, "agg_pressure"),
                what="the window before the pause stored during the pause",
            )
            wait_until(lambda: time.time() > gone + 2.2, timeout=5, what="a pause of over two windows")
            sim.reappear()
            back = time.time()
            wait_until(
                lambda: len([t for t in stored(mock_database, "agg_pressure") if t > back]) >= 2,
                what="two windows after the pause",
            )
        finally:
            reader.stop(5)
            report = logger.stop(timeout=10)
    assert report.delivered_all

    readings = recorder.snapshot()
    valid: dict[int, list[float]] = defaultdict(list)
    for at, value in readings:
        if value is not None:
            valid[math.floor(at / 1.0)].append(value)
    means = stored(mock_database, "agg_pressure")
    mins = stored(mock_database, "agg_pressure_min")
    maxes = stored(mock_database, "agg_pressure_max")
    assert set(means) == set(mins) == set(maxes)
    # every stored time stamp is the middle of a window that held valid readings, and
    # every such window is stored except the one still open when the reader stopped
    windows = sorted(valid)
    assert {math.floor(t) for t in means} <= set(windows)
    assert set(windows[:-1]) <= {math.floor(t) for t in means}
    for t, mean in means.items():
        index = math.floor(t)
        assert t == index + 0.5
        values = valid[index]
        assert mean == pytest.approx(statistics.fmean(values), rel=1e-12, abs=0)
        assert mins[t] == min(values) and maxes[t] == max(values)
    assert len(means) >= 6
    assert len(set(means.values())) > 1  # the simulated pressure drifts
    assert any(min(v) < max(v) for v in valid.values())  # and windows are not flat

    # non-OK readings were given, and left out (the comparison above uses valid ones)
    assert sum(1 for _, value in readings if value is None) >= 5
    # the pause: no reading in some whole windows, and nothing stored for them
    times = [at for at, _ in readings]
    gap_start, gap_end = max(itertools.pairwise(times), key=lambda pair: pair[1] - pair[0])
    assert gap_end - gap_start > 2.0
    empty = range(math.floor(gap_start) + 1, math.floor(gap_end))
    assert len(empty) >= 1
    assert not [t for t in means if math.floor(t) in empty]
    # the first reading after the pause opened its own aligned window, stored with
    # exactly the readings after the pause in it
    first_after = math.floor(gap_end) + 0.5
    assert first_after in means
    after = [
        v for at, v in readings if at >= gap_end and math.floor(at) == math.floor(gap_end) and v is not None
    ]
    assert means[first_after] == pytest.approx(statistics.fmean(after), rel=1e-12, abs=0)
    snapshot = reader.snapshot()["channels"][0]["aggregate"]
    assert snapshot["windows"] == len(means) and set(snapshot["values"]) == set(config.codenames)


def test_the_service_stores_the_windows_of_an_aggregated_channel(mock_database, tmp_path):
    """The running service wires the readers' windows to the logger: every codename of
    the channel gets points on the window grid, and the status shows the last window."""
    from PyExpLabSys.service.runner import Service

    text = CONFIG.format(port="sim://tpg26x/aggregated").replace("window = 1.0", "window = 0.25")
    text += '\n[service]\nstate_directory = "state"\n'
    config = parse_config(tomllib.loads(text), tmp_path / "agg.toml")
    mock_database.declare(*config.codenames)
    service = Service(config, environ={}, backend=mock_database.backend())
    service.start()
    try:
        wait_until(
            lambda: all(len(stored(mock_database, c)) >= 3 for c in config.codenames),
            what="three windows of each codename",
        )
        snapshot = service.snapshot()
    finally:
        report = service.stop()
    assert report.delivered_all
    for codename in config.codenames:
        for t in stored(mock_database, codename):
            assert t == (math.floor(t / 0.25) + 0.5) * 0.25
    (channel,) = snapshot["instruments"][0]["channels"]
    assert set(channel["aggregate"]["values"]) == set(config.codenames)
    assert channel["points"] >= 9 and channel["state"] == "fresh"
