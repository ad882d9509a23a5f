"""Fixtures of the integration tests that hang, kill and restart their own server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

from ..conftest import prepare_logger_database


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDBServer]:
    """A server of this module's own: the tests hang, kill and restart it."""
    ensure_mariadb_installed()
    with MariaDBServer() as db:
        prepare_logger_database(db)
        yield db
