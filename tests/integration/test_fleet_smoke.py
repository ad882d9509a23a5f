"""benchmarks/fleet.py's accounting on a small fleet (2 lab PCs for 2 s) against the
session's MariaDB, so that the benchmark's lost/duplicated counts cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER

pytestmark = pytest.mark.mariadb

FLEET_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "fleet.py"


def load_fleet():
    spec = importlib.util.spec_from_file_location("fleet_benchmark", FLEET_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_two_lab_pcs_for_two_seconds_are_counted_exactly(mariadb):
    fleet = load_fleet()
    target = fleet.Target(
        [mariadb], f"{mariadb.host}:{mariadb.port}", DATABASE, user=LOGGER_USER, password=LOGGER_PASSWORD
    )
    options = fleet.FleetOptions(pcs=2, rate=10, codenames=3, seconds=2)
    result = fleet.run_fleet(target, "smoke", options, table="fleet_smoke")
    assert result.sent == 2 * 3 * 10 * 2
    assert (result.stored, result.lost, result.duplicated, result.wrong_type) == (result.sent, 0, 0, 0)
    assert result.notes == []  # no value in the table that no PC sent
    assert result.time_error_max < 1e-5  # µs time stamps stored as enqueued
    assert result.delivered_all and result.batches > 0
    assert result.latency_point[0] > 0 and result.server_cpu >= 0 and result.load_data_rate > 0
