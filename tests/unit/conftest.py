"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

#: Where a lab script's logger finds its server, or the service's socket, outside its arguments.
ENV = (
    "PYEXPLABSYS_SQL_SERVER_HOST",
    "PYEXPLABSYS_SQL_SERVER_PORT",
    "PYEXPLABSYS_SQL_DATABASE",
    "PYEXPLABSYS_LOGGER_SOCKET",
)


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No server settings from the environment or a user settings file (its folder)."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path
