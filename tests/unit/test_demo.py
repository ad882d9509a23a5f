"""The README's first command: the demo logs through the real logger into SQLite."""

from __future__ import annotations

import subprocess
import sys

from PyExpLabSys.service.demo import SIGNALS, run_demo


def test_demo_stores_every_point_it_logged(tmp_path):
    summary = run_demo(seconds=1.0, path=tmp_path / "demo.sqlite", progress=False)
    assert summary.undelivered == 0
    assert set(summary.stored) == set(SIGNALS)
    assert sum(summary.stored.values()) == summary.enqueued > 0


def test_demo_command_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyExpLabSys.service.cli",
            "demo",
            "--seconds",
            "0.5",
            "--db",
            str(tmp_path / "d.sqlite"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "All points delivered." in result.stdout
