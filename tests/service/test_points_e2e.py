"""Scripts log through the service, and the service is killed with SIGKILL mid-stream.

Five client processes at 100 Hz hand their points to the service over its socket; the
service (a subprocess, on SQLite and on MariaDB) is killed and started again while they
run. Counted from the table: every point of every client exactly once, in order.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from PyExpLabSys.backends.schema import create_tables, register_codenames

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER
from .conftest import wait_until

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "tests" / "scripts" / "points_client.py"
CLIENTS = 5
SECONDS = 6.0
CODENAMES = [f"script_{n}" for n in range(CLIENTS)]


def write_config(
    tmp_path: Path, database: list[str], codenames: list[str] = CODENAMES, service: tuple[str, ...] = ()
) -> Path:
    """A service configuration with the points socket; ``service``: more lines of
    ``[service]`` (and its sub-tables)."""
    config = tmp_path / "points.toml"
    config.write_text(
        "\n".join(
            [
                "[database]",
                *database,
                "[spool]",
                'path = "spool.sqlite"',
                "group_commit_interval = 0.05",
                "[service]",
                'state_directory = "state"',
                "status_interval = 0.2",
                "stop_timeout = 10",
                'socket = "points.sock"',
                f"client_codenames = {json.dumps(codenames)}",
                *service,
                "[[instruments]]",
                'name = "bath"',
                'driver = "polyscience"',
                'port = "sim://"',
                "[[instruments.channels]]",
                'codename = "bath_temperature"',
                "interval = 0.5",
            ]
        )
        + "\n"
    )
    return config


class ServiceProcess:
    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "PyExpLabSys.service.cli", "run", str(self.config)],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        socket_path = self.config.parent / "state" / "points.sock"
        assert wait_until(socket_path.exists, 20), "the service did not open its socket"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        return self.proc.stderr.read() if self.proc.stderr else ""


def run_clients_through_a_kill(tmp_path: Path, config: Path, rows, codenames: list[str] = CODENAMES) -> None:
    """One client process per codename through the service at ``config``, which is
    killed and started again mid-stream; ``rows()`` counts (codename, value) in the table."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYEXPLABSYS_LOGGER_SOCKET", None)
    service = ServiceProcess(config, env)
    service.start()
    socket_path = config.parent / "state" / "points.sock"
    clients = [
        subprocess.Popen(
            [sys.executable, str(CLIENT), str(socket_path), codename, str(n * 1_000_000), str(SECONDS)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, codename in enumerate(codenames)
    ]
    try:
        assert wait_until(lambda: len(rows()) >= len(codenames) * 50, 20), "the clients' points do not arrive"
        service.kill()  # mid-stream: some points in the spool, some in flight, some not sent
        time.sleep(0.5)  # the outage lasts a while: part of the fault, not a sync
        service.start()
        results = []
        for proc in clients:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in clients:
            proc.kill()
        log = service.stop()
    stored = Counter(value for codename, value in rows() if codename in codenames)
    for n, result in enumerate(results):
        assert result["flushed"] is True, log[-2000:]
        want = [float(n * 1_000_000 + i) for i in range(result["sent"])]
        got = [value for codename, value in rows() if codename == codenames[n]]
        twice = [v for v in want if stored[v] > 1]
        lost = [v for v in want if stored[v] == 0]
        assert not twice, f"{codenames[n]}: {len(twice)} stored twice, e.g. {twice[:5]}"
        assert not lost, f"{codenames[n]}: {len(lost)} lost, e.g. {lost[:5]}"
        assert got == want, f"{codenames[n]}: order not kept"
        assert result["slowest"] < 0.05, f"an enqueue took {result['slowest'] * 1000:.1f} ms"
        assert result["sent"] >= SECONDS * 100 * 0.8


ROWS = (
    "SELECT d.codename, t.value FROM {table} t JOIN dateplots_descriptions d ON d.id = t.type ORDER BY t.id"
)


def sqlite_rows(db: Path, table: str):
    """``rows()`` for :func:`run_clients_through_a_kill`: (codename, value) from an SQLite table."""

    def rows():
        with sqlite3.connect(db) as conn:
            return conn.execute(ROWS.format(table=table)).fetchall()

    return rows


def mariadb_database(tmp_path: Path, mariadb, table: str) -> list[str]:
    """The ``[database]`` lines for ``table`` on the session's MariaDB as the logger user
    (its password in a file in ``tmp_path``)."""
    (tmp_path / "db.password").write_text(LOGGER_PASSWORD + "\n")
    return [
        'backend = "mysql"',
        f'host = "{mariadb.host}"',
        f"port = {mariadb.port}",
        f'database = "{DATABASE}"',
        f'user = "{LOGGER_USER}"',
        f'table = "{table}"',
        'password_file = "db.password"',
    ]


def mariadb_rows(mariadb, table: str):
    """``rows()`` for :func:`run_clients_through_a_kill`: (codename, value) from a MariaDB table."""
    return lambda: mariadb.query(ROWS.format(table=table), database=DATABASE)


def test_clients_through_a_killed_service_on_sqlite(tmp_path):
    db = tmp_path / "lab.sqlite"
    config = write_config(tmp_path, ['backend = "sqlite"', f'path = "{db}"', 'table = "dateplots_lab"'])
    from PyExpLabSys.backends.sqlite import create_tables as create_sqlite

    create_sqlite(db, "dateplots_lab", ["bath_temperature", *CODENAMES])
    run_clients_through_a_kill(tmp_path, config, sqlite_rows(db, "dateplots_lab"))


@pytest.mark.mariadb
def test_clients_through_a_killed_service_on_mariadb(tmp_path, mariadb):
    table = f"dateplots_points_{os.getpid()}"
    with mariadb.connect(DATABASE) as conn:
        create_tables(conn, table)
        register_codenames(conn, {name: name for name in ["bath_temperature", *CODENAMES]})
    config = write_config(tmp_path, mariadb_database(tmp_path, mariadb, table))
    run_clients_through_a_kill(tmp_path, config, mariadb_rows(mariadb, table))
