"""benchmarks/soak.py as a test: one minute of randomised faults (each of the six kinds
once: server kill -9 and restart, SIGSTOP past the query time-out, a silent network, a
reset, a lost COMMIT answer, a logger kill -9 with the spool) at 200 points/s, and every
point counted in the table. One minute, not three, to keep ``make test`` short; longer
runs: ``python benchmarks/soak.py --minutes 30 --seed S``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mariadb_server import ensure_mariadb_installed

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

SOAK_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.mark.timeout(280)
def test_one_minute_of_random_faults_loses_nothing_and_stores_nothing_twice():
    ensure_mariadb_installed()
    done = subprocess.run(
        [sys.executable, str(SOAK_PY), "--minutes", "1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=260,
    )
    lines = done.stdout.strip().splitlines()
    faults = [line.split("s  ", 1)[1] for line in lines if "s  " in line]
    assert sorted(faults) == sorted(
        ["server kill", "server stop", "silent network", "reset", "lost commit", "logger kill"]
    ), done.stdout
    assert lines[-1].startswith("soak: 6 faults in "), done.stdout + done.stderr[-3000:]
    assert lines[-1].endswith(", lost 0, duplicated 0"), done.stdout + done.stderr[-3000:]
    sent = int(lines[-1].split("sent ", 1)[1].split(",", 1)[0])
    assert sent > 200 * 40  # it logged through the faults (200 points/s for a minute)
    assert done.returncode == 0
