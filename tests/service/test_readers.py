"""Readers against simulated instruments on real ptys: faults are survived, the others
keep logging, and a vanished instrument comes back with its simulator."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import ExitStack

import pytest

from PyExpLabSys.datalog.policies import RetryPolicy
from PyExpLabSys.drivers.registry import DRIVERS, driver_entry
from PyExpLabSys.service.config import ChannelConfig, InstrumentConfig
from PyExpLabSys.service.readers import InstrumentReader, ReaderPolicy
from PyExpLabSys.simulators import SIMULATORS, start_simulator
from PyExpLabSys.simulators.registry import reading_args

from .conftest import wait_until

FAST = ReaderPolicy(RetryPolicy(first_delay=0.01, base_delay=0.05, max_delay=0.2), reopen_after=2)


class Sink:
    """Collects points; tests wait on it instead of sleeping."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.cond = threading.Condition()

    def __call__(self, codename: str, value: float) -> None:
        with self.cond:
            self.counts[codename] += 1
            self.cond.notify_all()

    def wait_more(self, codenames, than: Counter | None = None, by: int = 3, timeout: float = 10) -> None:
        """Until each codename has ``by`` points more than in ``than``."""
        base = Counter(than or {})
        with self.cond:
            assert self.cond.wait_for(
                lambda: all(self.counts[c] >= base[c] + by for c in codenames), timeout
            ), f"points: {dict(self.counts)}, wanted {by} more than {dict(base)} for {codenames}"

    def snapshot(self) -> Counter:
        with self.cond:
            return Counter(self.counts)


def instrument(name: str, port: str, interval: float = 0.03, **channel) -> InstrumentConfig:
    read = driver_entry(name).default_read
    channel.setdefault("args", reading_args(name, read))
    return InstrumentConfig(
        name, name, port, (ChannelConfig(f"{name}_value", interval, read, **channel),), timeout=0.2
    )


@pytest.fixture
def rig():
    """Three simulators, a reader on each, one sink."""
    names = ("tpg26x", "omega", "mksg")
    with ExitStack() as stack:
        sims = {n: stack.enter_context(start_simulator(n)) for n in names}
        sink = Sink()
        readers = {n: InstrumentReader(instrument(n, sims[n].port), sink, FAST) for n in names}
        for reader in readers.values():
            reader.start()
            stack.callback(reader.stop, 5)
        sink.wait_more([f"{n}_value" for n in names])
        yield sims, readers, sink


def others(name):
    return [f"{n}_value" for n in ("tpg26x", "omega", "mksg") if n != name]


def test_silent_instrument_is_counted_and_the_others_keep_logging(rig):
    sims, readers, sink = rig
    fault = sims["tpg26x"].inject("silent", times=3)
    before = sink.snapshot()
    assert fault.done.wait(10)
    sink.wait_more(others("tpg26x"), before)
    sink.wait_more(["tpg26x_value"], sink.snapshot())  # and it answers again
    snap = readers["tpg26x"].snapshot()
    assert snap["errors"]["InstrumentTimeout"] == 3 and snap["reopens"] >= 1
    assert snap["channels"][0]["errors"] == 3 and snap["alive"]


def test_garbled_replies_are_counted_and_reading_resumes(rig):
    sims, readers, sink = rig
    fault = sims["omega"].inject("corrupt", times=2)
    assert fault.done.wait(10)
    sink.wait_more(["omega_value", *others("omega")], sink.snapshot())
    assert readers["omega"].snapshot()["errors"]["GarbledReply"] == 2


def test_vanished_instrument_comes_back_with_its_simulator(rig):
    sims, readers, sink = rig
    sims["mksg"].vanish()
    wait_until(lambda: not readers["mksg"].snapshot()["connected"], what="mksg disconnected")
    gone = sink.snapshot()
    sink.wait_more(others("mksg"), gone)  # the others carry on meanwhile
    assert sink.snapshot()["mksg_value"] == gone["mksg_value"]
    sims["mksg"].reappear()
    sink.wait_more(["mksg_value"], gone)
    snap = readers["mksg"].snapshot()
    assert snap["errors"]["PortGone"] >= 1 and snap["connected"] and snap["error_streak"] == 0


def test_criterion_decides_which_readings_become_points():
    with start_simulator("omega") as sim:
        sink = Sink()
        # The simulated temperature is steady: only the first reading and heartbeats log.
        config = instrument(
            "omega", sim.port, interval=0.01, criterion="linear", threshold=100.0, max_interval=0.2
        )
        reader = InstrumentReader(config, sink, FAST)
        reader.start()
        try:
            sink.wait_more(["omega_value"], by=3)
        finally:
            reader.stop(5)
        channel = reader.snapshot()["channels"][0]
        assert channel["reads"] > 3 * channel["points"] and channel["points"] >= 3


def test_reader_keeps_trying_a_port_that_never_existed(tmp_path):
    sink = Sink()
    reader = InstrumentReader(instrument("omega", str(tmp_path / "nothing")), sink, FAST)
    reader.start()
    try:
        wait_until(lambda: reader.snapshot()["error_streak"] >= 3, what="3 failed opens")
    finally:
        reader.stop(5)
    assert not reader.is_alive()
    assert reader.snapshot()["errors"]["PortGone"] >= 3


@pytest.mark.parametrize("name", sorted(set(DRIVERS) & set(SIMULATORS)))
def test_every_registered_driver_with_a_simulator_is_read(name):
    """Each driver's default reading reaches the sink through its *_reading twin."""
    with start_simulator(name) as sim:
        sink = Sink()
        reader = InstrumentReader(instrument(name, sim.port), sink, FAST)
        reader.start()
        try:
            sink.wait_more([f"{name}_value"], by=2)
        finally:
            reader.stop(5)
    snap = reader.snapshot()
    assert snap["channels"][0]["points"] >= 2 and not snap["errors"]
