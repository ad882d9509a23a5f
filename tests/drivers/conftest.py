"""Fixtures for the driver tests: a simulator per instrument and a driver on it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from PyExpLabSys.drivers.base import SerialInstrument, reading_name
from PyExpLabSys.drivers.registry import driver_entry
from PyExpLabSys.simulators import SIMULATORS, PtySimulator, start_simulator
from PyExpLabSys.simulators.registry import reading_args

#: Driver time-out in the pty tests: short, so time-out tests stay fast.
TIMEOUT = 0.25


@pytest.fixture(params=sorted(SIMULATORS))
def sim_name(request: pytest.FixtureRequest) -> str:
    """Each simulated instrument in turn."""
    return request.param


@pytest.fixture
def simulator(sim_name: str) -> Iterator[PtySimulator]:
    """The running simulator of ``sim_name``."""
    with start_simulator(sim_name) as sim:
        yield sim


@pytest.fixture
def driver(sim_name: str, simulator: PtySimulator) -> Iterator[SerialInstrument]:
    """The matching driver, opened by the simulator's stable path."""
    instrument = driver_entry(sim_name).cls(simulator.port, timeout=TIMEOUT)
    yield instrument
    instrument.close()


def default_reading(sim_name: str, driver: SerialInstrument) -> Any:
    """The status-rich twin of the driver's main reading, bound (with the arguments that
    fit the simulated unit, e.g. a gauge it has)."""
    read = driver_entry(sim_name).default_read
    return functools.partial(getattr(driver, reading_name(read)), *reading_args(sim_name, read))


@pytest.fixture
def read(sim_name: str, driver: SerialInstrument) -> Any:
    """The status-rich twin of the driver's main reading, bound."""
    return default_reading(sim_name, driver)


@contextmanager
def simulated(name: str, **sim_kwargs: Any) -> Iterator[tuple[PtySimulator, Any]]:
    """Simulator ``name`` and its registered driver on it (short time-out)."""
    with start_simulator(name, **sim_kwargs) as sim:
        with driver_entry(name).cls(sim.port, timeout=TIMEOUT) as instrument:
            yield sim, instrument


def scripted(driver_cls: type, pairs: list, call: Any, **kwargs: Any) -> Any:
    """Run ``call(driver)`` on a driver talking to a protocol script; verify the script."""
    from PyExpLabSys.testing.protocol import expected_protocol

    kwargs.setdefault("timeout", 0.05)
    with expected_protocol(driver_cls, pairs, **kwargs) as instrument:
        return call(instrument)


def fails_then_recovers(
    driver_cls: type, pairs: list, call: Any, error: type[Exception], **kwargs: Any
) -> Any:
    """``call`` raises ``error`` on the first exchange(s) of the script, then succeeds:
    return the second result."""

    def twice(instrument: Any) -> Any:
        with pytest.raises(error):
            call(instrument)
        return call(instrument)

    return scripted(driver_cls, pairs, twice, **kwargs)
