"""The pytest plugin as labs use it: the docs' example script and its tests (docs/testing.rst),
run by pytest."""

from __future__ import annotations

import importlib.metadata
import os
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "testing.rst"


def literal_block(text: str, header: str) -> str:
    """The indented literal block that follows the line starting with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) + 1
    block = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() + "\n"


def plugin_args() -> list[str]:
    """``-p`` the plugin unless its entry point is installed (then pytest loads it)."""
    installed = any(e.name == "pyexplabsys" for e in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "PyExpLabSys.testing.plugin"]


def test_docs_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    pytester.makepyfile(
        my_setup=literal_block(text, "``my_setup.py``"),
        test_my_setup=literal_block(text, "``test_my_setup.py``"),
    )
    monkeypatch.setenv("HOME", str(pytester.path))  # dead letters go under $HOME
    # the package as the lab has it installed (also from a source tree without pip install)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_faults_of_the_fixture(mock_database, tmp_path) -> None:
    """hang, reject and outage as a lab's test would use them."""
    from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts

    logger = mock_database.logger(
        ["gauge"],
        timeouts=Timeouts(connect=0.2, read=0.2, write=0.2, query=0.2, startup=1),
        retry=RetryPolicy(first_delay=0.001, base_delay=0.005, max_delay=0.02),
        dead_letter_path=tmp_path / "dead.jsonl",
    )
    mock_database.reject(-1.0)
    logger.start()
    with mock_database.outage():
        logger.enqueue_point_now("gauge", 1.0)
    logger.enqueue_point_now("gauge", -1.0)
    mock_database.hang()
    logger.enqueue_point_now("gauge", 2.0)
    mock_database.unhang()
    assert logger.stop(timeout=5).delivered_all
    assert mock_database.values("gauge") == [1.0, 2.0]
    assert logger.status().dead_lettered == 1
