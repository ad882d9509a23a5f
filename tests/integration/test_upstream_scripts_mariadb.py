"""Upstream-style scripts against the throw-away MariaDB, unchanged: a DataSetSaver run
with CustomColumn metadata, and ValueLoggers feeding a ContinuousDataSaver. The server
comes from PyExpLabSys's settings (here the environment), the user is ``dummy``. And the
DataSetSaver calls one by one through each client library (PyMySQL, ODBC)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from PyExpLabSys.backends.schema import create_tables, register_codenames
from PyExpLabSys.common.database_saver import CustomColumn, DataSetSaver

from ..conftest import (
    DATABASE,
    FAST_TIMEOUTS,
    LOGGER_PASSWORD,
    LOGGER_USER,
    connection_kwargs,
    create_data_set_tables,
    make_data_set_tables,
)

pytestmark = pytest.mark.mariadb

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dummy_user(mariadb):
    with mariadb.connect(DATABASE) as conn, conn.cursor() as cursor:
        for host in ("127.0.0.1", "localhost"):
            cursor.execute(f"CREATE USER IF NOT EXISTS 'dummy'@'{host}' IDENTIFIED BY 'dummy'")
            cursor.execute(f"GRANT ALL ON {DATABASE}.* TO 'dummy'@'{host}'")


def run_script(mariadb, name: str, tmp_path) -> str:
    env = dict(
        os.environ,
        PYEXPLABSYS_SQL_SERVER_HOST=mariadb.host,
        PYEXPLABSYS_SQL_SERVER_PORT=str(mariadb.port),
        PYEXPLABSYS_SQL_DATABASE=DATABASE,
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / name)],
        env=env,
        check=True,
        timeout=60,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_data_set_script_with_custom_column_runs_unchanged(mariadb, dummy_user, tmp_path):
    with mariadb.connect(DATABASE) as conn:
        create_data_set_tables(conn, "measurements_dummy", "xy_values_dummy")
    before = mariadb.query("SELECT COALESCE(MAX(id), 0) FROM measurements_dummy", database=DATABASE)[0][0]
    out = run_script(mariadb, "data_set_spectra.py", tmp_path)
    assert "not committed: 0\n" in out
    rows = mariadb.query(
        f"SELECT id, type, comment, sem_voltage FROM measurements_dummy WHERE id > {before} ORDER BY id",
        database=DATABASE,
    )
    assert [(r[1], r[2], r[3]) for r in rows] == [(4, "Test sine1", 47.0), (4, "Test sine2", 47.0)]
    one, two = rows[0][0], rows[1][0]
    assert f"ids: {one} {two}\n" in out
    # FROM_UNIXTIME(%s) ran on the server: the times are the script's
    stamps = mariadb.query(
        f"SELECT UNIX_TIMESTAMP(time) FROM measurements_dummy WHERE id IN ({one}, {two}) ORDER BY id",
        database=DATABASE,
    )
    assert [float(s[0]) for s in stamps] == [1700000000.0, 1700000060.0]
    x = numpy.arange(0, 3, 0.03)
    for measurement, offset in ((one, 0.0), (two, 0.3)):
        points = mariadb.query(
            f"SELECT x, y FROM xy_values_dummy WHERE measurement = {measurement} ORDER BY id",
            database=DATABASE,
        )
        want = [(float(a), float(b) + offset) for a, b in zip(x, numpy.sin(x), strict=True)]
        assert [tuple(point) for point in points] == want
    assert "'Test sine1'" in out and "'Test sine2'" in out  # get_unique_values_from_measurements


def test_value_logger_script_runs_unchanged(mariadb, dummy_user, tmp_path):
    with mariadb.connect(DATABASE) as conn:
        create_tables(conn, "dateplots_pressures")
        ids = register_codenames(conn, {"dummy_pressure": "pressure", "dummy_temperature": "temperature"})
    out = run_script(mariadb, "value_logger_pressures.py", tmp_path)
    assert "saved: 2 1\n" in out
    rows = mariadb.query(
        f"SELECT type, value FROM dateplots_pressures WHERE type IN ({ids['dummy_pressure']}, "
        f"{ids['dummy_temperature']}) ORDER BY id",
        database=DATABASE,
    )
    assert [v for t, v in rows if t == ids["dummy_pressure"]] == [1e-7, 1e-6]
    assert [v for t, v in rows if t == ids["dummy_temperature"]] == [300.0]


def test_data_set_saver_api_through_each_client(mariadb, backend_kind):
    """The DataSetSaver calls one by one, through PyMySQL and through ODBC."""
    tables = make_data_set_tables(mariadb, "InnoDB", kind=backend_kind)
    saver = DataSetSaver(
        tables.measurements,
        tables.table,
        LOGGER_USER,
        LOGGER_PASSWORD,
        [("first", {"type": 3, "comment": "one", "time": CustomColumn(1700000000, "FROM_UNIXTIME(%s)")})],
        **connection_kwargs(backend_kind, mariadb.host, mariadb.port),
        timeouts=FAST_TIMEOUTS,
    )
    saver.add_measurement(
        "second", {"type": 3, "comment": "two", "time": CustomColumn(1700000100, "FROM_UNIXTIME(%s)")}
    )
    tables.codenames.update(saver.measurement_ids)
    saver.start()
    x = numpy.linspace(-1.0, 1.0, 2001)
    assert saver.save_points_batch("first", x, x**2) == 2001
    saver.save_point("second", (numpy.float32(0.5), numpy.nan))
    saver.wait_for_queue_to_empty()
    assert saver.sql_saver.queue.qsize() == 0
    assert saver.get_unique_values_from_measurements("UNIX_TIMESTAMP(time)") == {1700000000, 1700000100}
    assert saver.get_unique_values_from_measurements("comment") == {"one", "two"}
    assert saver.stop().delivered_all
    rows = tables.rows()
    assert [(x_, y_) for name, x_, y_ in rows if name == "first"] == [(a, a**2) for a in x.tolist()]
    assert [(x_, y_) for name, x_, y_ in rows if name == "second"] == [(0.5, None)]
