"""Shared fixtures: a throw-away MariaDB server and the classic dateplots tables.

The server is a private ``mariadbd`` started for the test session (installed with
apt-get when missing and running as root); the shared server on port 3306 is never
touched. Tables are made fresh for each test, in InnoDB and in MyISAM.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from PyExpLabSys.backends.mysql import create_tables
from PyExpLabSys.datalog.policies import Timeouts
from PyExpLabSys.testing.mariadb_server import MariaDBServer, ensure_mariadb_installed

DATABASE = "loggertest"
LOGGER_USER = "labuser"
LOGGER_PASSWORD = "Sekr1t-Passw0rd!"  # tests assert it never shows up anywhere
FAST_TIMEOUTS = Timeouts(connect=2.0, read=3.0, write=3.0, query=3.0, startup=3.0)

_table_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A private MariaDB server for the whole test session, with a logger user."""
    ensure_mariadb_installed()
    server = MariaDBServer()
    server.start()
    try:
        server.create_database(DATABASE)
        conn = server.connect()
        with conn.cursor() as cursor:
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(
                    f"CREATE USER IF NOT EXISTS '{LOGGER_USER}'@'{host}' "
                    f"IDENTIFIED BY '{LOGGER_PASSWORD}'"
                )
                cursor.execute(f"GRANT ALL ON {DATABASE}.* TO '{LOGGER_USER}'@'{host}'")
                # The logger kills its own stale connections; reading PROCESSLIST of
                # its own user needs no extra privilege.
        conn.close()
        yield server
    finally:
        server.cleanup()


@dataclass
class ClassicTable:
    """A fresh ``dateplots_<setup>`` table with registered codenames."""

    server: MariaDBServer
    table: str
    engine: str
    codenames: dict[str, int] = field(default_factory=dict)

    def connect(self) -> Any:
        return self.server.connect(DATABASE)

    def logger_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments that point a ContinuousLogger at this server."""
        kwargs: dict[str, Any] = dict(
            host=self.server.host, port=self.server.port, database=DATABASE, timeouts=FAST_TIMEOUTS
        )
        kwargs.update(overrides)
        return kwargs

    def rows(self) -> list[tuple[str, float, float | None]]:
        """Every stored row as (codename, unix time, value), in id order."""
        names = {v: k for k, v in self.codenames.items()}
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute(
                    f"SELECT type, UNIX_TIMESTAMP(time), value FROM {self.table} ORDER BY id"
                )
                return [(names.get(t, str(t)), float(ts), v) for t, ts, v in cursor.fetchall()]
        finally:
            conn.close()

    def values(self, codename: str) -> list[float | None]:
        return [v for name, _, v in self.rows() if name == codename]

    def add_codename(self, codename: str) -> int:
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO dateplots_descriptions (codename, description) VALUES (%s, %s)",
                    (codename, f"test codename {codename}"),
                )
                type_id = cursor.lastrowid
            conn.commit()
        finally:
            conn.close()
        self.codenames[codename] = type_id
        return type_id


def make_classic_table(
    server: MariaDBServer, engine: str, codenames: tuple[str, ...] = (), time_precision: int = 0
) -> ClassicTable:
    number = next(_table_numbers)
    table = ClassicTable(server, f"dateplots_t{number}_{engine.lower()}", engine)
    conn = table.connect()
    try:
        create_tables(conn, table.table, engine=engine, time_precision=time_precision)
    finally:
        conn.close()
    for codename in codenames:
        table.add_codename(f"{codename}_{number}")
    return table


@pytest.fixture(params=["InnoDB", "MyISAM"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def classic(mariadb: MariaDBServer, engine: str) -> ClassicTable:
    """A fresh classic table (InnoDB and MyISAM) with two codenames registered."""
    return make_classic_table(mariadb, engine, ("pressure", "temperature"))


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test: the logger's password never appears in any log record."""
    caplog.set_level(logging.DEBUG, logger="PyExpLabSys")
    yield
    leaked = [r.getMessage() for r in caplog.records if LOGGER_PASSWORD in r.getMessage()]
    assert not leaked, f"password leaked into logs: {leaked[:3]}"
