"""Lab scripts written against PyExpLabSys's drivers run unchanged against the simulators
and feed their values straight into ``ContinuousLogger.enqueue_point_now`` (stored in the
``mock_database`` fixture). Each script below is written as such a script is: driver
built from a port, PyExpLabSys's method names, the results used as PyExpLabSys gave them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.drivers.base import NoValue, Status
from PyExpLabSys.drivers.mks_925_pirani import Mks925
from PyExpLabSys.drivers.mks_937b import Mks937b
from PyExpLabSys.drivers.mks_g_series import MksGSeries
from PyExpLabSys.drivers.omega_cni import ISeries
from PyExpLabSys.drivers.pfeiffer import TPG261, TPG262
from PyExpLabSys.drivers.polyscience_4100 import Polyscience4100
from PyExpLabSys.simulators import start_simulator


def log_points(points: dict[str, float]) -> None:
    """The logging half of a lab script: every value straight into enqueue_point_now."""
    logger = ContinuousLogger(
        table="dateplots_lab", username="lab", password="secret", measurement_codenames=list(points)
    )
    logger.start()
    for codename, value in points.items():
        logger.enqueue_point_now(codename, value)
    assert logger.stop(timeout=10).delivered_all


def tpg262_script(port: str) -> dict[str, float]:
    tpg = TPG262(port=port)
    value, (code, text) = tpg.pressure_gauge(1)
    assert code == 0 and text == "Measurement data okay"
    value1, (code1, _), _value2, (code2, message2) = tpg.pressure_gauges()
    assert (code1, code2, message2) == (0, 5, "No sensor (output: 5,2.0000E-2 [mbar])")
    id1, name1, id2, name2 = tpg.gauge_identification()
    assert (id1, id2) == ("TPR", "noSEn") and name1 and name2
    assert tpg.pressure_unit() == "mbar/bar"
    assert isinstance(tpg.program_number(), str)
    return {"lab_chamber_pressure": value, "lab_chamber_pressure_prx": value1}


def tpg261_script(port: str) -> dict[str, float]:
    tpg = TPG261(port)
    value, status = tpg.pressure_gauge()
    assert status[0] == 0
    return {"lab_load_lock_pressure": value}


def mks925_script(port: str) -> dict[str, float]:
    return {"lab_foreline_pressure": float(Mks925(port).read_pressure())}


def mks937b_script(port: str) -> dict[str, float]:
    gauge = Mks937b(port)
    text = gauge.read_all_pressures()
    assert len(text.split()) == 6
    return {"lab_ion_gauge": gauge.read_pressure_gauge(1), "lab_pirani": gauge.read_pressure(2)}


def omega_script(port: str) -> dict[str, float]:
    omega = ISeries(port)
    temperature = omega.read_temperature()
    return {"lab_sample_temperature": temperature, "lab_sample_kelvin": temperature + 273.15}


def mksg_script(port: str) -> dict[str, float]:
    mfc = MksGSeries(port)
    assert mfc.set_flow(5.0, addr=254) is True
    assert mfc.read_serial_number().isalnum()
    return {"lab_ar_flow": mfc.read_flow(), "lab_ar_setpoint": mfc.read_setpoint(254)}


def polyscience_script(port: str) -> dict[str, float]:
    chiller = Polyscience4100(port)
    assert chiller.read_status() == "On"
    assert f"{chiller.read_setpoint():.1f}" == "20.0"
    return {
        "lab_bath_temperature": chiller.read_temperature() + 1,
        "lab_chiller_flow": chiller.read_flow_rate(),
        "lab_chiller_pressure": chiller.read_pressure(),
    }


SCRIPTS: list[tuple[str, Callable[[str], dict[str, float]]]] = [
    ("tpg262", tpg262_script),
    ("tpg261", tpg261_script),
    ("mks925", mks925_script),
    ("mks937b", mks937b_script),
    ("omega", omega_script),
    ("mksg", mksg_script),
    ("polyscience", polyscience_script),
]


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_old_script_runs_unchanged_and_its_values_are_logged(name, script, mock_database):
    with start_simulator(name) as sim:
        points = script(sim.port)
    assert all(type(value) is float and math.isfinite(value) for value in points.values())
    mock_database.declare(*points)
    log_points(points)
    assert {codename: mock_database.values(codename) for codename in points} == {
        codename: [value] for codename, value in points.items()
    }


def test_a_reading_without_a_number_gives_pyexplabsys_sentinels_and_the_twin_the_status() -> None:
    with start_simulator("mks925") as sim, start_simulator("mks937b") as sim937:
        sim.reading = "OFF"
        gauge925 = Mks925(sim.port)
        assert gauge925.read_pressure() == -1.0
        assert gauge925.read_pressure_reading().status is Status.SENSOR_OFF
        gauge = Mks937b(sim937.port)
        assert gauge.read_pressure_gauge(3) == 0.0  # LO
        assert gauge.read_pressure_gauge_reading(3).status is Status.UNDERRANGE
        with pytest.raises(NoValue) as lo:  # this project's own read_pressure is strict
            gauge.read_pressure(3)
        assert lo.value.status is Status.UNDERRANGE
