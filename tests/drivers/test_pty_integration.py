"""Each driver against its simulator over a real pseudo-terminal, with faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import serial

from PyExpLabSys.drivers.base import (
    ChecksumError,
    GarbledReply,
    InstrumentReportedError,
    InstrumentTimeout,
    PortGone,
    Reading,
)
from PyExpLabSys.drivers.mks_g_series import MksGSeries
from PyExpLabSys.drivers.omega_cni import ISeries
from PyExpLabSys.drivers.registry import driver_entry
from PyExpLabSys.simulators import start_simulator

from .conftest import TIMEOUT, default_reading

#: Bound on how long a failing exchange may take beyond the driver time-out.
SLACK = 0.15


def assert_fresh_reading(read: Callable[[], Reading]) -> None:
    """The exchange after a fault succeeds with a normal reading."""
    reading = read()
    assert isinstance(reading, Reading)
    assert reading.ok and isinstance(reading.value, float)


def timed(call: Callable[[], object], error: type[Exception]) -> float:
    """Seconds ``call`` takes to raise ``error``."""
    start = time.monotonic()
    with pytest.raises(error):
        call()
    return time.monotonic() - start


def test_reading(read) -> None:
    assert_fresh_reading(read)


def test_silent_instrument_times_out_then_recovers(simulator, read) -> None:
    fault = simulator.inject("silent")
    elapsed = timed(read, InstrumentTimeout)
    assert TIMEOUT * 0.9 <= elapsed <= TIMEOUT + SLACK
    assert fault.done.is_set()
    assert_fresh_reading(read)


def test_late_reply_times_out_and_is_not_taken_for_the_next(simulator, read) -> None:
    fault = simulator.inject("delay", delay=TIMEOUT + 0.1)
    elapsed = timed(read, InstrumentTimeout)
    assert elapsed <= TIMEOUT + SLACK
    assert fault.done.wait(2), "the simulator never sent its late reply"
    assert_fresh_reading(read)


def test_slow_reply_within_the_timeout_is_accepted(simulator, read) -> None:
    simulator.inject("delay", delay=TIMEOUT / 3)
    assert_fresh_reading(read)


def test_corrupted_reply_is_garbled_then_recovers(sim_name, simulator, read) -> None:
    simulator.inject("corrupt")
    expected = ChecksumError if sim_name == "mksg" else GarbledReply
    with pytest.raises(expected):
        read()
    assert_fresh_reading(read)


def test_nak_is_reported_with_code_then_recovers(sim_name, simulator, read) -> None:
    simulator.inject("nak")
    if sim_name == "omega":  # no error frame: the host must time out
        timed(read, InstrumentTimeout)
    else:
        with pytest.raises(InstrumentReportedError) as info:
            read()
        assert info.value.code
    assert_fresh_reading(read)


def test_bad_checksum_is_an_error_then_recovers() -> None:
    with start_simulator("mksg") as sim:
        mfc = MksGSeries(sim.port, timeout=TIMEOUT)
        sim.inject("checksum")
        with pytest.raises(ChecksumError):
            mfc.read_flow_reading()
        assert mfc.read_flow_reading().ok
        mfc.close()


def test_vanish_and_return_reopens_the_same_path(simulator, driver, read) -> None:
    assert_fresh_reading(read)
    simulator.vanish()
    assert timed(read, PortGone) < TIMEOUT
    assert timed(read, PortGone) < TIMEOUT  # still unplugged: reopening fails
    simulator.reappear()
    assert simulator.device and os.path.realpath(simulator.port) == simulator.device
    assert_fresh_reading(read)  # reopened automatically, same name
    assert driver.port_name == simulator.port


def test_explicit_reopen_after_return(simulator, driver, read) -> None:
    simulator.vanish()
    with pytest.raises(PortGone):
        driver.reopen()
    simulator.reappear()
    driver.reopen()
    assert_fresh_reading(read)


def test_driver_accepts_an_opened_serial_object(sim_name, simulator) -> None:
    port = serial.serial_for_url(simulator.port, timeout=TIMEOUT)
    instrument = driver_entry(sim_name).cls(port, timeout=TIMEOUT)
    read = default_reading(sim_name, instrument)
    assert_fresh_reading(read)
    simulator.vanish()
    with pytest.raises(PortGone):
        read()
    simulator.reappear()
    assert_fresh_reading(read)  # reopened via port.open()
    port.close()


@pytest.mark.parametrize("echo", [True, False])
@pytest.mark.parametrize("address", [None, 7])
def test_omega_echo_and_rs485_address(echo: bool, address: int | None) -> None:
    with start_simulator("omega", echo=echo, address=address) as sim:
        controller = ISeries(sim.port, echo=echo, address=address, timeout=TIMEOUT)
        assert controller.read_temperature_reading().value == pytest.approx(75.4, abs=0.5)
        assert controller.identify() == "000C32"
        with pytest.raises(InstrumentTimeout):  # another unit on the bus: no answer
            controller.read_temperature_reading(address=(address or 0) + 1)
        assert controller.read_temperature(address=(address or 0) + 1) is None  # PyExpLabSys's
        assert controller.read_temperature_reading().ok
        controller.close()


def test_omega_echo_mismatch_is_garbled() -> None:
    with start_simulator("omega", echo=False) as sim:
        controller = ISeries(sim.port, echo=True, timeout=TIMEOUT)
        with pytest.raises(GarbledReply):
            controller.read_temperature_reading()
        assert controller.read_temperature() is None  # unreadable 9 times: PyExpLabSys's None
        controller.close()


def test_setpoints_round_trip_through_the_models() -> None:
    from PyExpLabSys.drivers.mks_937b import Mks937b
    from PyExpLabSys.drivers.pfeiffer import TPG262
    from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100

    with start_simulator("mksg") as sim, MksGSeries(sim.port, timeout=TIMEOUT) as mfc:
        assert mfc.set_flow(42.5) is True
        assert mfc.read_setpoint() == 42.5
        assert mfc.read_flow_reading().value == pytest.approx(42.5, rel=0.01)
        assert mfc.set_flow(1000) is True  # refused (NAK 25), logged, True as in PyExpLabSys
        assert mfc.read_setpoint() == 42.5
    with start_simulator("polyscience") as sim, Polyscience4100(sim.port, timeout=TIMEOUT) as chiller:
        assert chiller.set_setpoint(15.5) is True  # whole degrees, halves to even
        assert chiller.read_setpoint() == 16.0
        chiller.turn_unit_on(False)
        assert chiller.read_status() == "Off"
    with start_simulator("mks937b") as sim, Mks937b(sim.port, timeout=TIMEOUT) as gauge:
        assert gauge.pressure_unit("torr") == "TORR"
        assert [r.status.value for r in gauge.read_all_pressures_reading()] == [
            "ok",
            "ok",
            "underrange",
            "sensor off",
            "wait",
            "overrange",
        ]
    with start_simulator("tpg26x") as sim, TPG262(sim.port, timeout=TIMEOUT) as tpg:
        sim.gauges[0].status = 1
        assert tpg.pressure_gauge_reading(1).status.value == "underrange"
        assert tpg.pressure_gauges_reading()[1].value is None


def test_cli_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "PyExpLabSys.simulators.cli", "polyscience"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        path = proc.stdout.readline().strip()
        from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100

        with Polyscience4100(path, timeout=1.0) as chiller:
            assert chiller.read_temperature_reading().ok
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        assert not os.path.exists(path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
