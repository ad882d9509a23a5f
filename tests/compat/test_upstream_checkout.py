"""An upstream checkout beside this package: this package's modules wherever it has them,
the checkout's for the rest, an ImportError that says what to do without one.

The fast tests run the source tree (``PYTHONPATH`` = this checkout first). The slow one
does what a lab PC does: a wheel installed into a venv of Debian's ``/usr/bin/python3``,
the checkout on ``PYTHONPATH`` after it (upstream's bootstrap), or named by
``PYEXPLABSYS_UPSTREAM``, and a script run with the venv's interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from PyExpLabSys import upstream

from .standin import FROM_CHECKOUT, MODULES, SCRIPT, make_checkout, origins

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def run(python: str, script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", upstream.ENV)}
    env.update(extra)
    return env


def assert_sides(found: dict[str, str], package_dir: Path, checkout: Path) -> None:
    assert set(found) == set(MODULES)
    for name, file in found.items():
        side = checkout if name in FROM_CHECKOUT else package_dir
        assert Path(file).resolve().is_relative_to(side.resolve()), f"{name} came from {file}"


def test_source_tree_with_a_checkout_on_pythonpath(tmp_path):
    checkout = make_checkout(tmp_path)
    done = run(sys.executable, SCRIPT, clean_env(PYTHONPATH=f"{ROOT}{os.pathsep}{checkout}"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert_sides(origins(done.stdout), ROOT / "PyExpLabSys", checkout)


def test_source_tree_with_the_checkout_named_by_the_environment(tmp_path):
    checkout = make_checkout(tmp_path)
    env = clean_env(PYTHONPATH=str(ROOT), **{upstream.ENV: str(checkout)})
    done = run(sys.executable, SCRIPT, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert_sides(origins(done.stdout), ROOT / "PyExpLabSys", checkout)


def test_without_a_checkout_a_missing_module_says_how_to_add_one(tmp_path):
    script = "import PyExpLabSys.drivers.cpx400dp"
    done = run(sys.executable, script, clean_env(PYTHONPATH=str(ROOT)), tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: No module named 'PyExpLabSys.drivers.cpx400dp'")
    assert "PYTHONPATH" in last and upstream.ENV in last and "github.com/CINF/PyExpLabSys" in last


def test_origin_and_own_modules_list_the_package_files(tmp_path, monkeypatch):
    checkout = make_checkout(tmp_path)
    monkeypatch.setenv(upstream.ENV, str(checkout))
    own = upstream.own_modules()
    assert "PyExpLabSys.common.database_saver" in own and "PyExpLabSys.drivers.xgs600" in own
    assert all(upstream.origin(name)[0] == "package" for name in own)
    assert upstream.origin("PyExpLabSys.auxiliary.pid") == (
        "checkout",
        str(checkout / "PyExpLabSys/auxiliary/pid.py"),
    )
    kind, why = upstream.origin("PyExpLabSys.drivers.cpx400dp")
    assert kind == "missing" and "neither pyexplabsys-logger nor the upstream checkout" in why


def _lab_pc_venv(tmp_path: Path) -> Path:
    """A wheel of this checkout installed into a venv of Debian's Python; its python."""
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("pyexplabsys_logger-*.whl")
    venv = tmp_path / "venv"
    made = subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} -m venv failed (python3-venv missing?): {made.stderr.strip()[-200:]}")
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_lab_pc_wheel_in_a_debian_venv_beside_a_checkout(tmp_path):
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} (Debian's Python, the one of a lab PC) is not installed")
    venv = _lab_pc_venv(tmp_path)
    python = str(venv / "bin" / "python")
    (site,) = venv.glob("lib/python3*/site-packages")
    package_dir = site / "PyExpLabSys"
    assert (site / "pyexplabsys_logger.pth").is_file() and package_dir.is_dir()
    home = tmp_path / "home"
    checkout = make_checkout(home)
    bootstrap = {"HOME": str(home), "PATH": "/usr/bin:/bin"}

    # upstream's bootstrap: PYTHONPATH=$PYTHONPATH:$HOME/PyExpLabSys
    done = run(python, SCRIPT, clean_env(PYTHONPATH=f":{checkout}", **bootstrap), tmp_path)
    assert done.returncode == 0, done.stderr
    assert_sides(origins(done.stdout), package_dir, checkout)

    # the checkout named by PYEXPLABSYS_UPSTREAM instead
    done = run(python, SCRIPT, clean_env(**bootstrap, **{upstream.ENV: str(checkout)}), tmp_path)
    assert done.returncode == 0, done.stderr
    assert_sides(origins(done.stdout), package_dir, checkout)

    # no second copy of upstream in the venv: one PyExpLabSys package, this one
    assert [p.parent.name for p in site.glob("*/__init__.py") if p.parent.name == "PyExpLabSys"] == [
        "PyExpLabSys"
    ]
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True)
    assert not any(line.lower().startswith("pyexplabsys==") for line in listed.stdout.splitlines())

    # the installed command works with the checkout on PYTHONPATH (not a mixed package)
    command = subprocess.run(
        [str(venv / "bin" / "pyexplabsys-logger"), "--help"],
        env=clean_env(PYTHONPATH=f":{checkout}", **bootstrap),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert command.returncode == 0, command.stderr

    # without a checkout: the error names the module and says how to add one
    done = run(python, "import PyExpLabSys.drivers.some_driver", clean_env(**bootstrap), tmp_path)
    assert done.returncode == 1 and "No module named 'PyExpLabSys.drivers.some_driver'" in done.stderr
    assert upstream.ENV in done.stderr
