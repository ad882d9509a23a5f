"""Lab scripts in PyExpLabSys's style, run unchanged against the simulators in the bad
states their instruments get into: switched off, a channel off, empty bus addresses, a
missing gauge, a silent controller. Each script is written as such a script is (no
handler where the lab's scripts had none; ``except`` clauses as they had them) and is
the same function for the good and the bad states: what PyExpLabSys's drivers returned
there, ours return; what they raised, the scripts' handlers catch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.drivers.mks_925_pirani import Mks925
from PyExpLabSys.drivers.mks_937b import Mks937b
from PyExpLabSys.drivers.mks_g_series import MksGSeries
from PyExpLabSys.drivers.omega_cn7800 import CN7800
from PyExpLabSys.drivers.omega_cni import ISeries
from PyExpLabSys.drivers.pfeiffer import TPG262
from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100
from PyExpLabSys.drivers.xgs600 import XGS600Driver
from PyExpLabSys.simulators import PtySimulator, start_simulator


# --------------------------------------------------------------------------- the scripts
def chiller_script(port: str) -> dict[str, Any]:
    """A chiller reader thread's loop body: no handler, nan checked before logging."""
    chiller = Polyscience4100(port)
    values = {
        "temperature": chiller.read_temperature(),
        "flow": chiller.read_flow_rate(),
        "pressure": chiller.read_pressure(),
        "ambient": chiller.read_ambient_temperature(),
        "setpoint": chiller.read_setpoint(),
        "status": chiller.read_status(),
    }
    return values


def three_channel_script(port: str) -> list[float]:
    """Reads three 937B channels, no handler (it stopped at an off channel before)."""
    mks = Mks937b(port)
    return [mks.read_pressure_gauge(channel) for channel in (1, 2, 4)]


def guarded_channel_script(port: str) -> float | None:
    """The same read with the ``except ValueError`` some 937B scripts had."""
    mks = Mks937b(port)
    try:
        return mks.read_pressure_gauge(1)
    except ValueError:
        return None


def address_scan_script(port: str) -> dict[str, int]:
    """At start-up: find the flow controllers on the bus, addresses 1-7."""
    mfc = MksGSeries(port=port)
    devices = {}
    for address in range(1, 8):
        serial_number = mfc.read_serial_number(address)
        if len(serial_number) > 0:
            devices[serial_number] = address
    return devices


def pressure_controller_script(port: str) -> dict[str, Any]:
    """A pressure-controller helper: XGS-600 reads guarded by ``except TimeoutError``."""
    xgs = XGS600Driver(port=port)
    try:
        pressures = {"ion": xgs.read_pressure("I2"), "cnv": xgs.read_pressure("T1")}
    except TimeoutError:
        pressures = {"ion": None, "cnv": None}
    return pressures


def tpg_logger_script(port: str) -> tuple[float | None, int | None]:
    """A TPG 262 logger loop body guarded by ``except (IOError, ValueError)``."""
    tpg = TPG262(port=port)
    try:
        value, (code, _message) = tpg.pressure_gauge(1)
    except (IOError, ValueError):  # noqa: UP024  # the script's own words
        return None, None
    return value, code


def pirani_startup_script(port: str) -> tuple[str, str, float]:
    """Upstream's 925 example at start-up: unit, serial number, a pressure."""
    mks = Mks925(port)
    unit_reply = mks.change_unit("MBAR")
    serial = "Serial: " + str(mks.read_serial())
    return unit_reply, serial, mks.read_pressure()


def omega_script(port: str) -> float | None:
    """An iSeries reader: None means no reading this time."""
    omega = ISeries(port, 19200)
    return omega.read_temperature()


def oven_script(port: str) -> float | int | None:
    """A CN7800 reader guarded by ``except IOError`` (minimalmodbus's errors)."""
    omega = CN7800(port)
    try:
        omega.read_temperature()
    except IOError:  # noqa: UP024  # the script's own words
        return None
    return omega.temperature


# --------------------------------------------------------------------------- the states
def off(sim: PtySimulator) -> None:
    """Switched off at the wall, cable still in: nothing answers."""
    sim.powered = False


def refusing(sim: PtySimulator) -> None:
    """Every reply is the protocol's refusal."""
    sim.inject("nak", times=None)


def chiller_stopped(sim: Any) -> None:
    sim.running = False


def channel_off(sim: Any) -> None:
    sim.channels[0] = "OFF"
    sim.channels[3] = "WAIT"


def gauge_missing(sim: Any) -> None:
    del sim.gauges["T1"]


def sensor_off(sim: Any) -> None:
    sim.gauges[0].status = 4


def data_silent(sim: PtySimulator) -> None:
    """Acknowledges, then sends no data."""
    sim.inject("silent", times=None)


def pirani_low(sim: Any) -> None:
    sim.reading = "LO"


def sensor_disconnected(sim: Any) -> None:
    sim.pv_status = 0x8003


def normal(sim: PtySimulator) -> None:
    """The good state, for comparison."""


def finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


CASES: list[tuple[str, str, Callable[[Any], None], Callable[[str], Any], Callable[[Any], bool]]] = [
    ("chiller running", "polyscience", normal, chiller_script, lambda r: finite(r["temperature"])),
    (
        "chiller switched off",
        "polyscience",
        chiller_stopped,
        chiller_script,
        lambda r: (
            all(is_nan(r[k]) for k in ("temperature", "flow", "pressure", "ambient"))
            and r["setpoint"] == 20.0
            and r["status"] == "Off"
        ),
    ),
    (
        "chiller answering ?",
        "polyscience",
        refusing,
        chiller_script,
        lambda r: all(is_nan(v) for k, v in r.items() if k != "status") and r["status"] == "error",
    ),
    (
        "chiller unpowered",
        "polyscience",
        off,
        chiller_script,
        lambda r: all(is_nan(v) for k, v in r.items() if k != "status") and r["status"] == "error",
    ),
    (
        "937B channels",
        "mks937b",
        normal,
        three_channel_script,
        lambda r: finite(r[0]) and finite(r[1]) and r[2] == -1.0,  # channel 4 is OFF
    ),
    (
        "937B channel off",
        "mks937b",
        channel_off,
        three_channel_script,
        lambda r: r[0] == -1.0 and finite(r[1]) and r[2] == -1.0,
    ),
    ("937B silent, guarded", "mks937b", off, guarded_channel_script, lambda r: r is None),
    ("MFC scan", "mksg", normal, address_scan_script, lambda r: r == {"017654321": 1}),
    ("MFC scan, no units", "mksg", off, address_scan_script, lambda r: r == {}),
    ("XGS missing ion gauge", "xgs600", normal, pressure_controller_script, lambda r: r["ion"] == -1.0),
    (
        "XGS missing gauges",
        "xgs600",
        gauge_missing,
        pressure_controller_script,
        lambda r: r == {"ion": -1.0, "cnv": -1.0},
    ),
    ("XGS silent", "xgs600", off, pressure_controller_script, lambda r: r == {"ion": None, "cnv": None}),
    ("TPG normal", "tpg26x", normal, tpg_logger_script, lambda r: r[1] == 0 and finite(r[0])),
    ("TPG sensor off", "tpg26x", sensor_off, tpg_logger_script, lambda r: r[1] == 4),
    ("TPG silent", "tpg26x", off, tpg_logger_script, lambda r: r == (None, None)),
    ("TPG no data", "tpg26x", data_silent, tpg_logger_script, lambda r: r == (None, None)),
    ("TPG refusing", "tpg26x", refusing, tpg_logger_script, lambda r: r == (None, None)),
    (
        "925 start-up",
        "mks925",
        normal,
        pirani_startup_script,
        lambda r: r[:2] == ("@253ACKMBAR;FF", "Serial: 1234567890") and finite(r[2]),
    ),
    ("925 underrange", "mks925", pirani_low, pirani_startup_script, lambda r: r[2] == -1.0),
    ("925 silent", "mks925", off, pirani_startup_script, lambda r: r == ("", "Serial: ", -1.0)),
    ("iSeries silent", "omega", off, omega_script, lambda r: r is None),
    ("CN7800 no sensor", "cn7800", sensor_disconnected, oven_script, lambda r: r == 3277.1),
    ("CN7800 silent", "cn7800", off, oven_script, lambda r: r is None),
]


@pytest.mark.parametrize(
    ("name", "simulator", "state", "script", "check"), CASES, ids=[case[0] for case in CASES]
)
def test_old_script_in_a_bad_state(name, simulator, state, script, check) -> None:
    with start_simulator(simulator) as sim:
        state(sim)
        start = time.monotonic()
        result = script(sim.port)
        elapsed = time.monotonic() - start
    assert check(result), f"{name}: {result!r}"
    assert elapsed < 10, f"{name} took {elapsed:.1f} s"


def test_a_chiller_script_logs_only_what_it_read_while_the_chiller_ran(mock_database) -> None:
    """The whole path of a typical chiller logger: switched off half-way, it logs the
    readings of the running chiller and skips the nan ones, as it did with PyExpLabSys."""
    mock_database.declare("lab_bath_temperature")
    logger = ContinuousLogger("dateplots_lab", "lab", "secret", ["lab_bath_temperature"])
    logger.start()
    with start_simulator("polyscience") as sim:
        chiller = Polyscience4100(sim.port)
        for running in (True, False, True):
            sim.running = running
            temperature = chiller.read_temperature()
            if not math.isnan(temperature):
                logger.enqueue_point_now("lab_bath_temperature", temperature)
    assert logger.stop(timeout=10).delivered_all
    assert mock_database.values("lab_bath_temperature") == [pytest.approx(20.0, abs=0.5)] * 2
