"""PyMySQL's connection as the MySQL backend opens it calls back once a statement has
reached the server (the drain then starts preparing the next batch), once, and a
failing callback does not cost the statement its answer."""

from __future__ import annotations

import time

import pytest
from pymysql.constants import CLIENT

from PyExpLabSys.backends.mysql import SentCallbackConnection

from ..conftest import DATABASE

pytestmark = pytest.mark.mariadb


def open_connection(server) -> SentCallbackConnection:
    return SentCallbackConnection(**server.connection_kwargs(DATABASE, client_flag=CLIENT.MULTI_STATEMENTS))


def running_statements(server, connection_id: int) -> list[str]:
    rows = server.query("SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = %s", (connection_id,))
    return [str(info) for (info,) in rows if info]


def test_called_once_while_the_server_runs_the_statement(mariadb):
    conn = open_connection(mariadb)
    seen: list[list[str]] = []

    def sent() -> None:  # the server has the statement: it shows in the process list
        deadline = time.monotonic() + 5
        while not (running := running_statements(mariadb, conn.thread_id())) and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the server's process list with a deadline
        seen.append(running)

    try:
        conn.call_when_sent(sent)
        with conn.cursor() as cursor:
            cursor.execute("SELECT SLEEP(0.5), 7")
            assert cursor.fetchone() == (0, 7)
            cursor.execute("SELECT 8")  # not called again
            assert cursor.fetchone() == (8,)
    finally:
        conn.close()
    assert seen == [["SELECT SLEEP(0.5), 7"]]


def test_a_failing_callback_leaves_the_answer_readable(mariadb):
    conn = open_connection(mariadb)
    try:
        conn.call_when_sent(lambda: 1 / 0)
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1;SELECT 2")
            assert cursor.fetchone() == (1,)
            assert cursor.nextset() and cursor.fetchone() == (2,)
    finally:
        conn.close()


def test_a_forgotten_callback_is_not_called(mariadb):
    conn = open_connection(mariadb)
    called = []
    try:
        conn.call_when_sent(lambda: called.append(1))
        conn.call_when_sent(None)
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        conn.close()
    assert called == []
