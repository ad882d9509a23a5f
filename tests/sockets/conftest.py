"""Fixtures of the socket tests: the independent client and a live-server stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from PyExpLabSys.udp.registry import DATA

from .udp_client import Client, LiveServer


@pytest.fixture
def client() -> Iterator[Client]:
    udp = Client()
    yield udp
    udp.close()


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_sockets_left() -> Iterator[None]:
    """Each test stops what it starts: DATA is empty after it."""
    before = set(DATA)
    yield
    assert set(DATA) == before, f"socket servers left running on ports {set(DATA) - before}"
