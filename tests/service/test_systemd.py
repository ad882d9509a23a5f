"""The template unit passes ``systemd-analyze verify`` and carries the required settings."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "pyexplabsys-logger@.service"


def exec_start(text: str) -> str:
    """The program that the unit *text* starts (the first word of ``ExecStart=``)."""
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").split()[0]


def systemd_analyze() -> str:
    """The path of ``systemd-analyze``, installed when missing and root; else skip."""
    found = shutil.which("systemd-analyze")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "systemd"], capture_output=True, timeout=300)
        found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed and cannot be installed")
    return found


def verify_unit(text: str, directory: Path) -> None:
    """``systemd-analyze verify`` an instance of the template unit *text*, written into
    *directory*; fails on any complaint."""
    analyze = systemd_analyze()
    template = directory / UNIT.name
    template.write_text(text)
    instance = directory / "pyexplabsys-logger@microreactor.service"
    instance.symlink_to(template.name)
    result = subprocess.run([analyze, "verify", str(instance)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr and "unknown" not in result.stderr.lower(), result.stderr


def test_unit_verifies(tmp_path):
    text = UNIT.read_text()
    program = exec_start(text)
    if not os.access(program, os.X_OK):
        # verify checks that ExecStart's program exists; stand in for the installed one.
        stub = tmp_path / "pyexplabsys-logger"
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
        text = text.replace(program, str(stub))
    verify_unit(text, tmp_path)


def test_unit_has_the_required_settings():
    lines = {line.split("=", 1)[0] for line in UNIT.read_text().splitlines() if "=" in line}
    for key in (
        "Type",
        "WatchdogSec",
        "Restart",
        "TimeoutStopSec",
        "SupplementaryGroups",
        "ProtectSystem",
        "NoNewPrivileges",
        "StateDirectory",
        "LoadCredential",
    ):
        assert key in lines, key
    text = UNIT.read_text()
    assert "Type=notify" in text and "Restart=on-failure" in text and "ProtectSystem=strict" in text
    # TimeoutStopSec must exceed the drain bound (service.stop_timeout, default 20 s).
    stop = int(text.split("TimeoutStopSec=")[1].split()[0])
    from PyExpLabSys.service.config import ServiceSettings

    assert stop > ServiceSettings().stop_timeout + 10
