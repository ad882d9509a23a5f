"""``pyexplabsys-logger check-script``: each PyExpLabSys import of upstream-style scripts
and where it comes from, and what Python 3 no longer has."""

from __future__ import annotations

from pathlib import Path

import pytest

from PyExpLabSys import upstream
from PyExpLabSys.service.cli import main

SCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "upstream_scripts"

#: A stand-in checkout with the upstream modules the fixture scripts use.
CHECKOUT_FILES = {
    "PyExpLabSys/__init__.py": "",
    "PyExpLabSys/common/__init__.py": "",
    "PyExpLabSys/common/sockets.py": (
        "class DateDataPullSocket: pass\nclass DataPushSocket: pass\nclass LiveSocket: pass\n"
    ),
    "PyExpLabSys/drivers/__init__.py": "",
    "PyExpLabSys/drivers/cpx400dp.py": "class CPX400DPDriver: pass\n",
    "PyExpLabSys/drivers/honeywell_6000.py": "class HIH6000: pass\n",
    "PyExpLabSys/drivers/omegabus.py": "import serial\nclass OmegaBus: pass\n",
    "PyExpLabSys/auxiliary/__init__.py": "",
    "PyExpLabSys/auxiliary/pid.py": "class PID(object):\n    pass\n",
}


def line(script: str, text: str) -> int:
    """The number of the first line of a fixture script that holds ``text``."""
    lines = (SCRIPTS / script).read_text().splitlines()
    return next(number for number, content in enumerate(lines, 1) if text in content)


@pytest.fixture
def no_checkout(monkeypatch):
    monkeypatch.delenv(upstream.ENV, raising=False)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    for name, text in CHECKOUT_FILES.items():
        path = tmp_path / "PyExpLabSys" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setenv(upstream.ENV, str(tmp_path / "PyExpLabSys"))
    return tmp_path / "PyExpLabSys"


def test_without_a_checkout(no_checkout, capsys):
    code = main(["check-script", str(SCRIPTS / "psu_ramp.py"), str(SCRIPTS / "mass_spec_upload.py")])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"line {line('psu_ramp.py', 'cpx400dp')}: PyExpLabSys.drivers.cpx400dp (CPX400DPDriver): MISSING "
        "(not in this package, and no upstream checkout was found)" in out
    )
    assert f"line {line('psu_ramp.py', 'auxiliary')}: PyExpLabSys.auxiliary.pid (PID): MISSING" in out
    assert (
        f"line {line('psu_ramp.py', 'utilities')}: "
        "PyExpLabSys.common.utilities (get_logger, activate_library_logging): this package (" in out
    )
    assert (
        f"line {line('mass_spec_upload.py', 'DataSetSaver')}: "
        "PyExpLabSys.common.database_saver (DataSetSaver, CustomColumn): this package (" in out
    )
    assert (
        "3 PyExpLabSys import(s): 3 from this package, 0 from the checkout, 0 missing; 0 Python 3 problem(s)"
        in out
    )
    assert f"missing modules: {upstream.HOW_TO_ADD}" in out
    assert out.endswith("1 of 2 script(s) ready\n")


def test_with_a_checkout_and_python3_problems(checkout, capsys):
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.py"))
    code = main(["check-script", *scripts])
    out = capsys.readouterr().out
    assert "MISSING" not in out, out
    assert (
        "PyExpLabSys.drivers.cpx400dp (CPX400DPDriver): the upstream checkout "
        f"({checkout / 'PyExpLabSys/drivers/cpx400dp.py'})" in out
    )
    assert (
        "PyExpLabSys.auxiliary.pid (PID): the upstream checkout "
        f"({checkout / 'PyExpLabSys/auxiliary/pid.py'})" in out
    )
    assert "PyExpLabSys.drivers.xgs600 (XGS600Driver): this package (" in out
    # sockets: the checkout's until this package has its own, never missing
    assert "PyExpLabSys.common.sockets (DateDataPullSocket, LiveSocket): " in out
    assert (
        f"line {line('pressure_logger.py', 'isAlive')}: "
        "warning: Thread.isAlive() is gone since Python 3.9: use is_alive()" in out
    )
    assert (
        f"line {line('chiller_and_flow.py', 'import Queue')}: "
        "warning: module Queue is gone in Python 3: it is queue now" in out
    )
    assert "warning: time.clock() is gone since Python 3.8" in out
    assert code == 1 and out.endswith("3 of 6 script(s) ready\n")  # isAlive twice, Queue/clock once


def test_a_python2_script_and_a_name_this_package_lacks(no_checkout, tmp_path, capsys):
    script = tmp_path / "saver.py"
    script.write_text(
        "from PyExpLabSys.common.database_saver import ContinuousDataSaver, SqlSaver\n"
        "from PyExpLabSys.drivers import xgs600\nimport PyExpLabSys.common.loggers as loggers\n"
    )
    code = main(
        ["check-script", str(SCRIPTS / "py2_only_logger.py2"), str(script), str(tmp_path / "nope.py")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "cannot check: it does not parse as Python 3 (line 8: Missing parentheses in call to 'print'" in out
    )
    assert (
        "PyExpLabSys.common.database_saver (ContinuousDataSaver, SqlSaver): MISSING (this package's " in out
    )
    assert "has no SqlSaver)" in out
    assert "line 2: PyExpLabSys.drivers.xgs600: this package (" in out
    assert "line 3: PyExpLabSys.common.loggers: this package (" in out
    assert "cannot check: cannot read it: No such file or directory" in out


def test_a_script_that_marks_itself_python2_only(no_checkout, tmp_path, capsys):
    script = tmp_path / "old.py"
    script.write_text(
        "from PyExpLabSys.common.supported_versions import python2_only\npython2_only(__file__)\n"
        "d = {}\nif d.has_key('x'):\n    pass\n"
    )
    assert main(["check-script", str(script)]) == 1
    out = capsys.readouterr().out
    assert "line 2: warning: the script marks itself Python 2 only (python2_only)" in out
    assert "line 4: warning: dict.has_key() is gone in Python 3: use `key in d`" in out
    assert (
        "1 PyExpLabSys import(s): 1 from this package, 0 from the checkout, 0 missing; 2 Python 3 problem(s)"
        in out
    )
