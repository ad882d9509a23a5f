"""The command line without a database server: check, init-db, status, metrics."""

from __future__ import annotations

import json
import threading
import urllib.request

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
