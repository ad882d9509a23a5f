"""README's lab-PC install, run for real on Debian's Python.

The shell lines of README's ``lab-pc-install`` block run as they stand (without sudo,
with the install prefix in a temporary directory) in a copy of this checkout, with
``PATH`` giving Debian's ``/usr/bin/python3``: ``make wheel``, a virtual environment from
that interpreter, the wheel installed into it from the package index. Then the installed
``pyexplabsys-logger check`` validates the example configuration, and the unit verifies
with ``ExecStart=`` pointing at the installed program.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from .test_systemd import UNIT, exec_start, verify_unit

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.rst"
EXAMPLE = REPO / "config" / "microreactor.toml"
SYSTEM_PYTHON = Path("/usr/bin/python3")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BEGIN = ".. lab-pc-install:"
END = ".. end of lab-pc-install"
NOT_COPIED = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.sqlite*",
)


def install_steps() -> list[str]:
    """The shell lines of README's lab-PC install block (the literal block between the
    ``lab-pc-install`` comment and its end comment)."""
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "README's lab-pc-install markers"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    literal = block.split("\n::\n", 1)[1]
    return [line.strip() for line in literal.splitlines() if line.strip()]


def install_prefix(steps: list[str]) -> str:
    """Where README installs: the directory its ``python3 -m venv`` line creates."""
    (prefix,) = [m.group(1) for step in steps if (m := re.search(r"python3 -m venv (\S+)", step))]
    return prefix


def system_environment() -> dict[str, str]:
    """A login-like environment whose ``python3`` is Debian's; pip's own settings and
    proxies pass through (HOME for pip's configuration file)."""
    env = {"PATH": SYSTEM_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    env.update(
        {
            key: value
            for key, value in os.environ.items()
            if key.startswith("PIP_") or key.lower() in ("http_proxy", "https_proxy", "no_proxy")
        }
    )
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run *args*, capturing its output as text."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_shipped_unit_starts_what_readme_installs():
    prefix = install_prefix(install_steps())
    assert exec_start(UNIT.read_text()) == f"{prefix}/bin/pyexplabsys-logger"


# Slow: builds a wheel and two virtual environments and installs from the package index
# (about 20-40 s here, more on a slow network).
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_lab_pc_install_runs_on_debians_python(tmp_path):
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} (Debian's Python, the one of a lab PC) is not installed")
    env = system_environment()
    assert Path(shutil.which("python3", path=SYSTEM_PATH) or "").resolve() == SYSTEM_PYTHON.resolve()

    steps = install_steps()
    prefix = install_prefix(steps)
    installed = tmp_path / "prefix"
    script = "\n".join(re.sub(r"^sudo ", "", step).replace(prefix, str(installed)) for step in steps)
    assert "sudo" not in script and prefix not in script
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO, checkout, ignore=shutil.ignore_patterns(*NOT_COPIED))
    done = run(["bash", "-euxo", "pipefail", "-c", script], cwd=checkout, env=env, timeout=540)
    assert done.returncode == 0, f"README's install steps failed:\n{done.stdout}\n{done.stderr}"

    # The environment comes from Debian's Python and holds this project, not upstream's.
    assert "home = /usr/bin\n" in (installed / "pyvenv.cfg").read_text()
    probe = run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, PyExpLabSys, prometheus_client\n"
            "print(PyExpLabSys.__file__)\n"
            "print(m.version('pyexplabsys-logger'))\n"
            "try:\n    m.distribution('PyExpLabSys')\nexcept m.PackageNotFoundError:\n"
            "    print('no upstream PyExpLabSys')\n",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    module, version, upstream = probe.stdout.splitlines()
    assert Path(module).is_relative_to(installed)
    assert version == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert upstream == "no upstream PyExpLabSys"
    # The wheel carries the users' test helpers (mock database, protocol scripts), not the
    # project's own throw-away servers, Galera cluster, fault proxy or apt-get installer.
    shipped = sorted(path.name for path in (Path(module).parent / "testing").glob("*.py"))
    assert shipped == ["__init__.py", "plugin.py", "protocol.py"]

    # The installed command checks the example configuration, and refuses a bad one.
    logger = installed / "bin" / "pyexplabsys-logger"
    example = tomllib.loads(EXAMPLE.read_text())
    codenames = sum(len(instrument["channels"]) for instrument in example["instruments"])
    checked = run([str(logger), "check", str(EXAMPLE)], cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    assert (
        f"{EXAMPLE}: ok: {len(example['instruments'])} instrument(s), {codenames} codename(s), "
        f"database {example['database']['backend']} "
    ) in checked.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('driver = "tpg26x"', 'driver = "tpg999"'))
    refused = run([str(logger), "check", str(bad)], cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert f"{bad}: instruments[0].driver: unknown driver 'tpg999'" in refused.stderr

    # The shipped unit, its ExecStart= moved to the installed program, verifies.
    unit = UNIT.read_text().replace(f"{prefix}/bin/", f"{installed}/bin/")
    assert exec_start(unit) == str(logger)
    (tmp_path / "unit").mkdir()
    verify_unit(unit, tmp_path / "unit")
