"""Tests of the throw-away MariaDB server used by the integration tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pymysql
import pytest

from tests.support.mariadb_server import MariaDBServer, MariaDBUnavailable, ensure_mariadb_installed

pytestmark = pytest.mark.mariadb

CR_SERVER_LOST = 2013


@pytest.fixture(scope="module")
def module_server() -> Iterator[MariaDBServer]:
    """One server for the whole module (start-up costs about a second)."""
    try:
        ensure_mariadb_installed()
    except MariaDBUnavailable as exc:
        pytest.skip(str(exc))
    with MariaDBServer() as server:
        server.create_database("t")
        yield server


@pytest.fixture
def server(module_server: MariaDBServer) -> MariaDBServer:
    """The module's server, running and not paused, whatever the last test did."""
    if module_server.running:
        module_server.resume()
    else:
        module_server.restart()
    return module_server


def scalar(conn: pymysql.connections.Connection, sql: str) -> object:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_start_and_query(server: MariaDBServer) -> None:
    assert server.pid is not None and server.port > 0
    assert server.socket_path.exists() and server.datadir.is_dir()
    conn = server.connect("t")
    try:
        assert scalar(conn, "SELECT 1 + 1") == 2
        assert scalar(conn, "SELECT @@local_infile") == 1
        assert scalar(conn, "SELECT @@port") == server.port
    finally:
        conn.close()


def test_pause_makes_clients_time_out_and_resume_heals(server: MariaDBServer) -> None:
    conn = server.connect(read_timeout=1)
    server.pause()
    began = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as caught:
        scalar(conn, "SELECT 1")
    assert caught.value.args[0] == CR_SERVER_LOST
    assert 0.9 < time.monotonic() - began < 5
    # A new client hangs too: the kernel accepts, the server never greets.
    with pytest.raises(pymysql.err.OperationalError):
        server.connect(connect_timeout=1, read_timeout=1)
    server.resume()
    assert server.query("SELECT 1")[0][0] == 1


def test_kill_and_restart_keeps_committed_data_and_port(server: MariaDBServer) -> None:
    port, old_pid = server.port, server.pid
    conn = server.connect("t")
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS survivor (id INT PRIMARY KEY, v DOUBLE) ENGINE=InnoDB")
        cur.execute("REPLACE INTO survivor VALUES (1, 2.5)")
    conn.commit()
    server.kill()
    assert not server.running and server.pid is None
    with pytest.raises(pymysql.err.OperationalError):
        scalar(conn, "SELECT 1")
    server.kill()  # idempotent
    server.restart()
    assert server.port == port and server.pid != old_pid
    assert server.query("SELECT v FROM survivor WHERE id = 1", database="t")[0][0] == 2.5


def test_stop_is_idempotent_and_restart_works(server: MariaDBServer) -> None:
    server.stop()
    server.stop()
    assert not server.running
    server.restart()
    assert server.query("SELECT 1")[0][0] == 1


def test_stop_of_a_paused_server(server: MariaDBServer) -> None:
    server.pause()
    server.stop()
    assert not server.running


def test_failed_start_reports_the_error_log() -> None:
    bad = MariaDBServer(extra_args=["--no-such-option-at-all"])
    try:
        with pytest.raises(MariaDBUnavailable, match="no-such-option-at-all"):
            bad.start(timeout=20)
        assert not bad.running
    finally:
        bad.cleanup()
    assert not bad.basedir.exists()


def test_no_orphan_server_after_interpreter_exit(module_server: MariaDBServer) -> None:
    """A script that forgets cleanup() must not leave a mariadbd behind."""
    script = textwrap.dedent(
        """
        from tests.support.mariadb_server import MariaDBServer
        server = MariaDBServer()
        server.start()
        print(server.pid, server.basedir, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pid_text, basedir = done.stdout.split()
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        os.kill(pid, 9)
        pytest.fail(f"mariadbd {pid} outlived its interpreter")
    finally:
        shutil.rmtree(basedir, ignore_errors=True)
