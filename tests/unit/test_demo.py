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


def test_demo_switches_the_ion_gauge_off_for_a_while(tmp_path):
    """The demo shows a bad state: the 937B channel reads OFF mid-run; the reader counts
    those readings as not OK and logs none of them, and the channel comes back."""
    started = {}

    def on_start(service, sims):
        started.update(service=service, gauge=sims["mks937b"])

    summary = run_demo(seconds=2.5, path=tmp_path / "demo.sqlite", progress=False, on_start=on_start)
    assert summary.undelivered == 0
    assert started["gauge"].channels[0] != "OFF"  # switched back on
    snapshot = started["service"].snapshot()
    (channel,) = [
        c
        for i in snapshot["instruments"]
        for c in i["channels"]
        if c["codename"] == "demo_ion_gauge_pressure"
    ]
    assert channel["not_ok"] >= 1 and channel["points"] >= 1
