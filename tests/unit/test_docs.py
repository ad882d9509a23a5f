"""README.rst as a newcomer reads it: short, and its tour's configuration is a valid one.

The reference under docs/ is built by ``make docs`` (warnings as errors) and its ``>>>``
examples run as doctests (``--doctest-glob=*.rst`` in pyproject.toml)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import docutils.core
import docutils.utils

from PyExpLabSys.service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.rst"


def test_readme_stays_short() -> None:
    """The two commands, what it is, the install and a tour; the reference is in docs/."""
    assert len(README.read_text(encoding="utf-8").splitlines()) < 300


def test_readme_is_valid_restructuredtext() -> None:
    """README is not part of the Sphinx build: docutils checks it (the index renders it)."""
    docutils.core.publish_doctree(
        README.read_text(encoding="utf-8"),
        source_path=str(README),
        settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL, "report_level": 5},
    )


def test_the_tours_configuration_is_valid(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("logs them through the same logger::\n", 1)[1].split(
        "\n\n``pyexplabsys-logger check", 1
    )[0]
    path = tmp_path / "setup.toml"
    path.write_text(textwrap.dedent(block), encoding="utf-8")
    config = load_config(path)
    assert config.database.backend == "mysql"
    assert config.database.options["host"] == "db.lab"
    (channel,) = config.channels
    assert (channel.codename, channel.read, channel.args) == (
        "microreactor_chamber_pressure",
        "pressure_gauge",
        (1,),
    )
    assert (channel.criterion, channel.threshold, channel.max_interval) == ("relative", 0.05, 600.0)
