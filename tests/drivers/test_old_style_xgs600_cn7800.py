"""Lab scripts written against PyExpLabSys's xgs600 and omega_cn7800 drivers run
unchanged against the simulators and log their values through ContinuousLogger."""

from __future__ import annotations

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.simulators.registry import start_simulator


def xgs600_script(port: str) -> None:
    """In the style of upstream's XGS-600 logging scripts."""
    from PyExpLabSys.drivers.xgs600 import XGS600Driver

    xgs = XGS600Driver(port=port)
    pressures = xgs.read_all_pressures()
    db_logger = ContinuousLogger(
        table="dateplots_chamber",
        username="chamber",
        password="chamber",
        measurement_codenames=["chamber_ig", "chamber_cnv"],
    )
    db_logger.start()
    db_logger.enqueue_point_now("chamber_ig", pressures[0])
    db_logger.enqueue_point_now("chamber_cnv", xgs.read_pressure("T1"))
    if xgs.read_pressure_unit() == "Torr" and xgs.emission_status("I1"):
        db_logger.enqueue_point_now("chamber_ig", xgs.read_pressure("UIG1") * 1.33322)
    db_logger.stop()


def cn7800_script(port: str) -> None:
    """Upstream's CN7800 example, logging what it prints."""
    from PyExpLabSys.drivers.omega_cn7800 import CN7800

    omega = CN7800(port)
    db_logger = ContinuousLogger("dateplots_oven", "oven", "oven", ["oven_temperature"])
    db_logger.start()
    db_logger.enqueue_point_now("oven_temperature", omega.read_temperature())
    omega.write_setpoint(float(30))
    db_logger.enqueue_point_now("oven_temperature", omega.read_setpoint() + 0.0)
    db_logger.stop()


def test_xgs600_script(mock_database) -> None:
    mock_database.declare("chamber_ig", "chamber_cnv")
    with start_simulator("xgs600") as sim:
        xgs600_script(sim.port)
    ig = mock_database.values("chamber_ig")
    assert ig[0] == pytest.approx(2.3e-9, rel=0.03)
    assert ig[1] == pytest.approx(2.3e-9 * 1.33322, rel=0.03)
    assert mock_database.values("chamber_cnv") == [pytest.approx(1.2e-2, rel=0.03)]


def test_cn7800_script(mock_database) -> None:
    mock_database.declare("oven_temperature")
    with start_simulator("cn7800") as sim:
        cn7800_script(sim.port)
    assert mock_database.values("oven_temperature") == [pytest.approx(25.0, abs=0.2), 30.0]
