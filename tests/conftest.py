"""Shared fixtures: a throw-away MariaDB server and the classic dateplots tables.

The server is a private ``mariadbd`` started for the test session (installed with
apt-get when missing and running as root); the shared server on port 3306 is never
touched. Tables are made fresh for each test, in InnoDB and in MyISAM.

Tests that take the ``backend_kind`` fixture run once through PyMySQL and once through
ODBC: unixODBC and MariaDB's ODBC driver (installed with apt-get when missing, pyodbc
with pip), with a DSN for the session's server in an ``odbc.ini`` of its own
(``ODBCSYSINI``/``ODBCINI`` point at it; the machine's ODBC set-up is not touched).
"""

from __future__ import annotations

import glob
import importlib
import itertools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.datalog.policies import Timeouts
from PyExpLabSys.settings import Settings
from tests.support.debian import DebianInstallError, apt_install
from tests.support.galera_cluster import GaleraCluster
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

DATABASE = "loggertest"
#: The smallest [[instruments]] part of a service configuration (one gauge, one channel).
ONE_GAUGE_TOML = """
[[instruments]]
name = "gauge"
driver = "mks925"
port = "/dev/ttyUSB0"
[[instruments.channels]]
codename = "{codename}"
interval = 1.0
"""
LOGGER_USER = "labuser"
LOGGER_PASSWORD = "Sekr1t-Passw0rd!"  # tests assert it never shows up anywhere
FAST_TIMEOUTS = Timeouts(connect=2.0, read=3.0, write=3.0, query=3.0, startup=3.0)
ODBC_DSN = "pyexplabsys_test"
BACKEND_KINDS = ["pymysql", "odbc"]

_table_numbers = itertools.count(1)


#: The environment variables that name the server (they win over the user settings file).
SETTINGS_ENV = ("PYEXPLABSYS_SQL_SERVER_HOST", "PYEXPLABSYS_SQL_SERVER_PORT", "PYEXPLABSYS_SQL_DATABASE")


@pytest.fixture
def settings_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A user settings folder of the test's own; the shared Settings state is forgotten
    before and after."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "PyExpLabSys").mkdir()
    Settings.settings = None
    yield tmp_path / "PyExpLabSys" / "user_settings.yaml"
    Settings.settings = None


def pytest_configure(config: pytest.Config) -> None:
    """Load the project's pytest plugin when the package's entry point is not installed
    (running from a source tree without ``pip install -e .``)."""
    if not config.pluginmanager.has_plugin("pyexplabsys"):
        from PyExpLabSys.testing import plugin

        config.pluginmanager.register(plugin, "pyexplabsys")


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A private MariaDB server for the whole test session, with a logger user."""
    ensure_mariadb_installed()
    server = MariaDBServer()
    server.start()
    try:
        prepare_logger_database(server)
        yield server
    finally:
        server.cleanup()


def prepare_logger_database(server: MariaDBServer) -> None:
    """The test database and the logger's user, allowed everything in it (and nothing
    more: the logger kills its own stale connections, and reading PROCESSLIST of its
    own user needs no extra privilege)."""
    server.create_database(DATABASE)
    for host in ("127.0.0.1", "localhost"):
        server.query(f"CREATE USER IF NOT EXISTS '{LOGGER_USER}'@'{host}' IDENTIFIED BY '{LOGGER_PASSWORD}'")
        server.query(f"GRANT ALL ON {DATABASE}.* TO '{LOGGER_USER}'@'{host}'")


@pytest.fixture(scope="session")
def galera() -> Iterator[GaleraCluster]:
    """A throw-away 3-node Galera cluster on loopback for the whole session, with the
    database and the logger user of ``mariadb`` (tests that break it heal it after)."""
    with GaleraCluster(size=3) as cluster:
        cluster.create_database(DATABASE)
        cluster.create_user(LOGGER_USER, LOGGER_PASSWORD, DATABASE)
        yield cluster


# -- ODBC: unixODBC, MariaDB's driver and a DSN of the session's own -----------------------

_ODBC_PACKAGES = ("unixodbc", "odbc-mariadb")
_DRIVER_GLOBS = ("/usr/lib/*/odbc/libmaodbc.so", "/usr/lib*/libmaodbc.so", "/usr/local/lib*/libmaodbc.so")


def _odbc_driver_path() -> str | None:
    for pattern in _DRIVER_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def ensure_odbc_installed() -> str:
    """unixODBC, MariaDB's ODBC driver and pyodbc; returns the driver's path.

    Installs the Debian packages with apt-get (``apt-get update`` first, no questions)
    and pyodbc with pip when they are missing; fails with the reason when it cannot.
    """
    if _odbc_driver_path() is None or shutil.which("odbcinst") is None:
        try:
            apt_install(_ODBC_PACKAGES, "the ODBC tests")
        except DebianInstallError as error:
            pytest.fail(str(error))
    try:
        importlib.import_module("pyodbc")
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pyodbc>=5"],
            check=True,
            timeout=600,
        )
        importlib.invalidate_caches()
        importlib.import_module("pyodbc")
    driver = _odbc_driver_path()
    if driver is None:
        pytest.fail("MariaDB's ODBC driver (libmaodbc.so) not found after installing")
    return driver


@dataclass
class OdbcConfig:
    """An ``odbcinst.ini`` and ``odbc.ini`` of the session's own, used through env."""

    folder: Path
    driver_path: str
    dsns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_dsn(self, name: str, **settings: Any) -> str:
        """Define (or redefine) the DSN ``name`` (keys Server, Port, Database, ...)."""
        self.dsns[name] = settings
        text = "".join(
            f"[{dsn}]\nDriver=PyExpLabSysMariaDB\n"
            + "".join(f"{key}={value}\n" for key, value in values.items())
            for dsn, values in self.dsns.items()
        )
        (self.folder / "odbc.ini").write_text(text)
        return name


@pytest.fixture(scope="session")
def odbc_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdbcConfig]:
    """unixODBC pointed (ODBCSYSINI, ODBCINI) at configuration files in a temp dir."""
    driver = ensure_odbc_installed()
    folder = tmp_path_factory.mktemp("odbc")
    (folder / "odbcinst.ini").write_text(
        f"[PyExpLabSysMariaDB]\nDescription=MariaDB Connector/ODBC\nDriver={driver}\n"
    )
    (folder / "odbc.ini").write_text("")
    saved = {key: os.environ.get(key) for key in ("ODBCSYSINI", "ODBCINI")}
    os.environ["ODBCSYSINI"] = str(folder)
    os.environ["ODBCINI"] = str(folder / "odbc.ini")
    try:
        yield OdbcConfig(folder, driver)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def odbc_dsn(odbc_config: OdbcConfig, mariadb: MariaDBServer) -> str:
    """The name of a DSN that points at the session's MariaDB, database loggertest."""
    return odbc_config.add_dsn(ODBC_DSN, Server=mariadb.host, Port=mariadb.port, Database=DATABASE)


@pytest.fixture(params=BACKEND_KINDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """How the logger reaches MariaDB: "pymysql" or "odbc" (through ``dsn=``)."""
    if request.param == "odbc":
        request.getfixturevalue("odbc_dsn")
    return request.param


def connection_kwargs(kind: str, server_host: str, server_port: int, **overrides: Any) -> dict[str, Any]:
    """ContinuousLogger keyword arguments for a server at host:port, through ``kind``.

    ODBC goes through the session's DSN, with host and port given in the connection
    string (they override the DSN's), so the same DSN serves the fault proxy too.
    """
    kwargs: dict[str, Any] = {"host": server_host, "port": server_port, "database": DATABASE}
    if kind == "odbc":
        kwargs["dsn"] = ODBC_DSN
    kwargs.update(overrides)
    return kwargs


@dataclass
class ClassicTable:
    """A fresh ``dateplots_<setup>`` table with registered codenames."""

    server: MariaDBServer
    table: str
    engine: str
    codenames: dict[str, int] = field(default_factory=dict)
    kind: str = "pymysql"
    value_column: str = "value"

    def connect(self) -> Any:
        return self.server.connect(DATABASE)

    def logger_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments that point a ContinuousLogger at this server."""
        overrides.setdefault("timeouts", FAST_TIMEOUTS)
        return connection_kwargs(self.kind, self.server.host, self.server.port, **overrides)

    def rows(self) -> list[tuple[str, float, float | None]]:
        """Every stored row as (codename, unix time, value), in id order."""
        names = {v: k for k, v in self.codenames.items()}
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute(f"SELECT type, UNIX_TIMESTAMP(time), value FROM {self.table} ORDER BY id")
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
    server: MariaDBServer,
    engine: str,
    codenames: tuple[str, ...] = (),
    time_precision: int = 0,
    kind: str = "pymysql",
) -> ClassicTable:
    number = next(_table_numbers)
    table = ClassicTable(server, f"dateplots_t{number}_{engine.lower()}", engine, kind=kind)
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
def classic(mariadb: MariaDBServer, engine: str, backend_kind: str) -> ClassicTable:
    """A fresh classic table (InnoDB and MyISAM) with two codenames registered, written
    through each backend kind."""
    return make_classic_table(mariadb, engine, ("pressure", "temperature"), kind=backend_kind)


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test: the logger's password never appears in any log record."""
    caplog.set_level(logging.DEBUG, logger="PyExpLabSys")
    yield
    leaked = [r.getMessage() for r in caplog.records if LOGGER_PASSWORD in r.getMessage()]
    assert not leaked, f"password leaked into logs: {leaked[:3]}"


@dataclass
class DataSetTables:
    """A fresh measurements table and x-y values table (upstream's data-set layout);
    ``codenames`` maps each data set's codename to its measurement id once added."""

    server: MariaDBServer
    measurements: str
    table: str  # the x-y values table: where the points go
    engine: str
    kind: str = "pymysql"
    codenames: dict[str, int] = field(default_factory=dict)
    value_column: str = "y"

    def connect(self) -> Any:
        return self.server.connect(DATABASE)

    def rows(self) -> list[tuple[str, float, float | None]]:
        """Every stored point as (codename, x, y), in id order."""
        names = {v: k for k, v in self.codenames.items()}
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"SELECT measurement, x, y FROM {self.table} ORDER BY id")
                return [(names.get(m, str(m)), x, y) for m, x, y in cursor.fetchall()]
        finally:
            conn.close()

    def measurement_rows(self) -> list[tuple[Any, ...]]:
        """``(id, type, comment, UNIX_TIMESTAMP(time))`` of each measurement, in id order."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute(
                    f"SELECT id, type, comment, UNIX_TIMESTAMP(time) FROM {self.measurements} ORDER BY id"
                )
                return list(cursor.fetchall())
        finally:
            conn.close()


def create_data_set_tables(conn: Any, measurements: str, xy_values: str, engine: str = "InnoDB") -> None:
    """Upstream's data-set layout: a measurements table (a few of the usual metadata
    columns) and an x-y values table of doubles."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {measurements} (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            " time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, type INT NOT NULL, comment VARCHAR(128),"
            " sem_voltage DOUBLE, mass_label VARCHAR(64), preamp_range INT) ENGINE=" + engine
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {xy_values} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            " measurement INT UNSIGNED NOT NULL, x DOUBLE NOT NULL, y DOUBLE, KEY (measurement)) ENGINE="
            + engine
        )
    conn.commit()


def make_data_set_tables(server: MariaDBServer, engine: str, kind: str = "pymysql") -> DataSetTables:
    number = next(_table_numbers)
    suffix = f"t{number}_{engine.lower()}"
    tables = DataSetTables(server, f"measurements_{suffix}", f"xy_values_{suffix}", engine, kind=kind)
    conn = tables.connect()
    try:
        create_data_set_tables(conn, tables.measurements, tables.table, engine)
    finally:
        conn.close()
    return tables
