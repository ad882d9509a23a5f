"""The command line without a database server: check, init-db, status, metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from PyExpLabSys.drivers.base import Reading, Status
from PyExpLabSys.service.cli import main
from PyExpLabSys.service.config import load_config
from PyExpLabSys.service.runner import Service

from .conftest import wait_until


def test_check_reports_each_problem_and_exit_code(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[database]\ntable="t"\npath="x"\n[[instruments]]\nname="a"\ndriver="nope"\n'
        'port="/dev/x"\n[[instruments.channels]]\ncodename="c"\ninterval=0\n'
    )
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: instruments[0].driver: unknown driver 'nope'" in err
    assert f"{bad}: instruments[0].channels[0].interval: must be > 0 seconds" in err


def test_check_connect_init_db_and_a_missing_codename(sqlite_config, capsys):
    assert main(["check", str(sqlite_config), "--connect"]) == 1
    assert "FAIL database" in capsys.readouterr().out
    assert main(["init-db", str(sqlite_config)]) == 0
    assert main(["check", str(sqlite_config), "--connect"]) == 0
    out = capsys.readouterr().out
    assert "ok   database" in out and "ok   mfc bench_flow" in out and "all checks passed" in out


def test_status_and_metrics_of_a_running_service(sqlite_config, capsys):
    assert main(["init-db", str(sqlite_config)]) == 0
    service = Service(load_config(sqlite_config), environ={})
    service.start()
    stop = threading.Event()
    ticker = threading.Thread(target=service.serve, args=(stop,))
    ticker.start()
    try:
        wait_until(lambda: service.snapshot()["logger"]["committed"] >= 3, what="commits")
        assert main(["status", str(sqlite_config)]) == 0
        out = capsys.readouterr().out
        assert "bench_flow" in out and "1/1 instruments reading" in out
        url = f"http://127.0.0.1:{service.metrics.port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        assert 'pyexplabsys_channel_points_total{codename="bench_flow",instrument="mfc"}' in text
        assert "pyexplabsys_logger_committed_total" in text
        assert 'pyexplabsys_channel_last_reading_age_seconds{codename="bench_flow"' in text
    finally:
        stop.set()
        ticker.join(5)
        report = service.stop()
    assert report.delivered_all
    status = json.loads(service.status_path.read_text())
    assert status["state"] == "stopped"
    # A stopped service's status is shown but reported as not running (exit 3).
    assert main(["status", "--state-dir", str(service.state_dir)]) == 3
    assert "NOT RUNNING: stopped" in capsys.readouterr().out


def test_status_without_a_service(tmp_path, capsys):
    assert main(["status", "--state-dir", str(tmp_path)]) == 3
    assert "is the service running?" in capsys.readouterr().err


def test_check_connect_reads_as_a_person_reads_and_ends_with_the_summary(tmp_path):
    """Each channel as ``= value unit (status)``; the simulators behind ``sim://`` are
    closed before the summary, so nothing follows it (stdout and stderr together)."""
    config = tmp_path / "chk.toml"
    config.write_text(
        '[database]\npath = "chk.sqlite"\ntable = "dateplots_chk"\n'
        '[[instruments]]\nname = "gauge"\ndriver = "tpg26x"\nport = "sim://"\n'
        '[[instruments.channels]]\ncodename = "chk_pressure"\nread = "pressure_gauge"\nargs = [1]\n'
        'unit = "mbar"\ninterval = 1\n'
        '[[instruments]]\nname = "bath"\ndriver = "polyscience"\nport = "sim://"\n'
        '[[instruments.channels]]\ncodename = "chk_bath"\ninterval = 1\n'
    )
    assert main(["init-db", str(config)]) == 0
    run = subprocess.run(
        [sys.executable, "-m", "PyExpLabSys.service.cli", "check", str(config), "--connect"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout
    assert re.fullmatch(r"ok   gauge chk_pressure = -?\d[\d.]*(e-?\d+)? mbar \(ok\)", lines[2]), lines
    assert re.fullmatch(r"ok   bath chk_bath = -?\d[\d.]*(e-?\d+)? \(ok\)", lines[3]), lines
    assert lines[4:] == ["all checks passed"], lines


@pytest.mark.parametrize(
    ("reading", "line"),
    [
        (Reading(0.00123), "ok   gauge p = 1.23e-3 mbar (ok)"),
        (Reading(1.0e3, Status.OVERRANGE), "warn gauge p = 1000 mbar (overrange)"),
        (Reading(None, Status.SENSOR_OFF), "warn gauge p = no value (sensor off)"),
        (Reading(-2.5e-7, Status.UNDERRANGE), "warn gauge p = -2.5e-7 mbar (underrange)"),
    ],
)
def test_a_reading_line_names_the_status_in_words(reading, line):
    from PyExpLabSys.service.cli import _reading_line

    channel = SimpleNamespace(codename="p", unit="mbar")
    assert _reading_line("gauge", channel, reading) == line
