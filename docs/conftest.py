"""The ``>>>`` examples of docs/*.rst run as pytest doctests (``--doctest-glob``), each
page in a temporary directory of its own, so the files an example writes go there."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # dead letters go under $HOME
