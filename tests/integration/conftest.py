"""Fixtures of the integration tests that hang, kill and restart their own server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from PyExpLabSys.testing.mariadb_server import MariaDBServer, ensure_mariadb_installed

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDBServer]:
    """A server of this module's own: the tests hang, kill and restart it."""
    ensure_mariadb_installed()
    with MariaDBServer() as db:
        db.create_database(DATABASE)
        for host in ("127.0.0.1", "localhost"):
            db.query(f"CREATE USER IF NOT EXISTS '{LOGGER_USER}'@'{host}' "
                     f"IDENTIFIED BY '{LOGGER_PASSWORD}'")
            db.query(f"GRANT ALL ON {DATABASE}.* TO '{LOGGER_USER}'@'{host}'")
        yield db
