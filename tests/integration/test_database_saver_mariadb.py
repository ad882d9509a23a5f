"""ContinuousDataSaver against the throw-away MariaDB: upstream's example script, unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from PyExpLabSys.backends.schema import create_tables, register_codenames

from ..conftest import DATABASE

pytestmark = pytest.mark.mariadb

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "data_saver_sines.py"
ROOT = Path(__file__).resolve().parents[2]


def test_upstream_example_script_runs_unchanged(mariadb, tmp_path):
    """The script names user ``dummy`` and table ``dateplots_dummy``; the server comes
    from PyExpLabSys's settings, here the environment, as on a lab PC."""
    with mariadb.connect(DATABASE) as conn:
        create_tables(conn, "dateplots_dummy")
        ids = register_codenames(conn, {"dummy_sine_one": "sine", "dummy_sine_two": "sine"})
        with conn.cursor() as cursor:
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(f"CREATE USER IF NOT EXISTS 'dummy'@'{host}' IDENTIFIED BY 'dummy'")
                cursor.execute(f"GRANT ALL ON {DATABASE}.* TO 'dummy'@'{host}'")
    env = dict(
        os.environ,
        PYEXPLABSYS_SQL_SERVER_HOST=mariadb.host,
        PYEXPLABSYS_SQL_SERVER_PORT=str(mariadb.port),
        PYEXPLABSYS_SQL_DATABASE=DATABASE,
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, check=True, timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL
    )
    rows = mariadb.query("SELECT type, value FROM dateplots_dummy ORDER BY id", database=DATABASE)
    one = [v for t, v in rows if t == ids["dummy_sine_one"]]
    two = [v for t, v in rows if t == ids["dummy_sine_two"]]
    assert len(one) == len(two) == 10 and len(rows) == 20
    # sin(t) + sin(t' + pi) with t' read a moment after t: close to 0 (50 ms apart at most)
    assert all(abs(a + b) < 0.05 for a, b in zip(one, two, strict=True))
