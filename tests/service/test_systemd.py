"""The template unit passes ``systemd-analyze verify`` and carries the required settings."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "pyexplabsys-logger@.service"
EXEC = "/usr/local/bin/pyexplabsys-logger"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "systemd"], capture_output=True, timeout=300)
        found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed and cannot be installed")
    return found


def test_unit_verifies(tmp_path):
    analyze = systemd_analyze()
    text = UNIT.read_text()
    if not os.access(EXEC, os.X_OK):
        # verify checks that ExecStart's program exists; stand in for the installed one.
        stub = tmp_path / "pyexplabsys-logger"
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
        text = text.replace(EXEC, str(stub))
    template = tmp_path / UNIT.name
    template.write_text(text)
    instance = tmp_path / "pyexplabsys-logger@microreactor.service"
    instance.symlink_to(template.name)
    result = subprocess.run([analyze, "verify", str(instance)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr and "unknown" not in result.stderr.lower(), result.stderr


def test_unit_has_the_required_settings():
    lines = {line.split("=", 1)[0] for line in UNIT.read_text().splitlines() if "=" in line}
    for key in ("Type", "WatchdogSec", "Restart", "TimeoutStopSec", "SupplementaryGroups",
                "ProtectSystem", "NoNewPrivileges", "StateDirectory", "LoadCredential"):
        assert key in lines, key
    text = UNIT.read_text()
    assert "Type=notify" in text and "Restart=on-failure" in text and "ProtectSystem=strict" in text
    # TimeoutStopSec must exceed the drain bound (service.stop_timeout, default 20 s).
    stop = int(text.split("TimeoutStopSec=")[1].split()[0])
    from PyExpLabSys.service.config import ServiceSettings

    assert stop > ServiceSettings().stop_timeout + 10
