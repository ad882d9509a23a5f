"""Tests of the MySQL fault proxy, against a real throw-away MariaDB."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator

import pymysql
import pytest

from tests.support.fault_proxy import (
    FaultProxy,
    MySQLCommandScanner,
    last_statement_starts_with,
    sql_starts_with,
)
from tests.support.mariadb_server import (
    MariaDBServer,
    MariaDBUnavailable,
    ensure_mariadb_installed,
    free_port,
)

DB = "proxytest"
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013


# -- helpers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDBServer]:
    """One server for the module; large packets allowed for the 16 MiB test."""
    try:
        ensure_mariadb_installed()
    except MariaDBUnavailable as exc:
        pytest.skip(str(exc))
    with MariaDBServer(extra_args=["--max-allowed-packet=64M"]) as srv:
        srv.create_database(DB)
        yield srv


@pytest.fixture
def proxy(server: MariaDBServer) -> Iterator[FaultProxy]:
    with FaultProxy(server.host, server.port) as fault_proxy:
        yield fault_proxy


def via(proxy: FaultProxy, server: MariaDBServer, **kw: object) -> pymysql.connections.Connection:
    """A client connection that goes through the proxy."""
    return server.connect(DB, port=proxy.port, **kw)


def scalar(conn: pymysql.connections.Connection, sql: str) -> object:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def make_table(server: MariaDBServer, name: str) -> None:
    server.query(f"DROP TABLE IF EXISTS {name}", database=DB)
    server.query(f"CREATE TABLE {name} (id INT PRIMARY KEY, note LONGTEXT) ENGINE=InnoDB", database=DB)


def count(server: MariaDBServer, table: str) -> int:
    return server.query(f"SELECT COUNT(*) FROM {table}", database=DB)[0][0]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` (a look at the database) until it holds or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


# -- the command scanner and matcher (no server needed) ----------------------


@pytest.mark.parametrize(
    ("sql", "keyword", "expected"),
    [
        ("COMMIT", "COMMIT", True),
        ("  commit", "COMMIT", True),
        ("/* batch 7 */\n -- note\n# more\nCommit;", "COMMIT", True),
        ("INSERT INTO t VALUES (1)", "INSERT", True),
        ("INSERTX", "INSERT", False),
        ("SELECT 'COMMIT'", "COMMIT", False),
        ("/* never closed COMMIT", "COMMIT", False),
        ("--COMMIT", "COMMIT", False),
    ],
)
def test_sql_starts_with(sql: str, keyword: str, expected: bool) -> None:
    assert sql_starts_with(sql, keyword) is expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("INSERT INTO l VALUES (1);INSERT INTO t VALUES (2);COMMIT", True),
        ("INSERT INTO t VALUES (2); commit", True),
        ("COMMIT", False),  # one statement: sql_starts_with's case
        ("INSERT INTO t VALUES (2);SELECT 1", False),
    ],
)
def test_last_statement_of_a_multi_statement_packet(sql: str, expected: bool) -> None:
    assert last_statement_starts_with(sql, "COMMIT") is expected


def test_scanner_keeps_the_end_of_a_long_command() -> None:
    """A batch sent as one packet (ledger row; rows; COMMIT) longer than the kept prefix:
    its last statement is still seen."""
    handshake = packet(1, struct.pack("<I", 0x000FA685) + b"\0" * 28 + b"root\0")
    rows = ",".join(f"({i},'x')" for i in range(2000)).encode()
    batch = b"\x03INSERT INTO l VALUES (1);INSERT INTO t VALUES " + rows + b";COMMIT"
    stream = handshake + packet(0, batch)
    scanner = MySQLCommandScanner()
    found = scanner.feed(stream[:3000]) + scanner.feed(stream[3000:])  # in two TCP reads
    assert len(found) == 1 and len(found[0]) < 5000
    assert found[0].startswith("INSERT INTO l") and last_statement_starts_with(found[0], "COMMIT")


def test_scanner_follows_framing_across_any_split() -> None:
    handshake = packet(1, struct.pack("<I", 0x000FA685) + b"\0" * 28 + b"root\0")
    head = b"\x03INSERT INTO t VALUES "
    big = head + b"x" * (0xFFFFFF - len(head))
    assert len(big) == 0xFFFFFF
    # A 0xFFFFFF packet whose continuation looks like a COMMIT with seq 0 must not count.
    stream = (
        handshake
        + packet(0, b"\x03SELECT 1")
        + packet(0, b"\x0e")  # COM_PING: not a query
        + b"\xff\xff\xff\x00"
        + big
        + packet(0, b"\x03COMMIT inside a continuation")
        + packet(0, b"")
        + packet(0, b"\x03/* c */ COMMIT")
    )
    scanner = MySQLCommandScanner()
    found: list[str] = []
    step, pos = 1, 0
    while pos < len(stream):  # pieces of 1, 2, 3, ... bytes, then large ones
        found += scanner.feed(stream[pos : pos + step])
        pos += step
        step = step + 1 if step < 64 else 1 << 20
    assert [sql[:14] for sql in found] == ["SELECT 1", "INSERT INTO t ", "/* c */ COMMIT"]
    assert len(found[1]) < 5000  # only a prefix of the 16 MiB payload is kept
    assert not scanner.opaque


def test_scanner_goes_quiet_after_tls_request() -> None:
    scanner = MySQLCommandScanner()
    tls_request = packet(1, struct.pack("<I", 0x000FAE85) + b"\0" * 28)
    assert scanner.feed(tls_request + packet(0, b"\x03COMMIT")) == []
    assert scanner.opaque


# -- the proxy against MariaDB -------------------------------------------------


def test_pass_through(server: MariaDBServer, proxy: FaultProxy) -> None:
    conn = via(proxy, server, read_timeout=5)
    assert proxy.wait_for_connections(1, timeout=5)
    assert scalar(conn, "SELECT @@port") == server.port
    assert proxy.active_connections == 1 and proxy.connections_accepted == 1
    conn.close()
    assert proxy.wait_for_active(0, timeout=5)


def test_hold_times_out_and_release_delivers_held_insert(server: MariaDBServer, proxy: FaultProxy) -> None:
    make_table(server, "held")
    conn = via(proxy, server, read_timeout=1, autocommit=True)
    proxy.hold()
    with pytest.raises(pymysql.err.OperationalError) as caught:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO held VALUES (1, 'sent during hold')")
    assert caught.value.args[0] == CR_SERVER_LOST
    with pytest.raises(pymysql.err.OperationalError):  # new connections hang too
        via(proxy, server, connect_timeout=1, read_timeout=1)
    assert count(server, "held") == 0
    proxy.release()
    assert wait_until(lambda: count(server, "held") == 1)
    conn = via(proxy, server, read_timeout=5)
    assert scalar(conn, "SELECT note FROM held") == "sent during hold"
    conn.close()


def test_hold_delays_the_server_reply(server: MariaDBServer, proxy: FaultProxy) -> None:
    """A reply the server sends during a hold arrives, late, after release."""
    owner = server.connect()
    assert scalar(owner, "SELECT GET_LOCK('proxy_hold', 10)") == 1
    client = via(proxy, server, read_timeout=10)
    client_id = scalar(client, "SELECT CONNECTION_ID()")
    result: list[object] = []
    answered = threading.Event()

    def wait_for_lock() -> None:
        result.append(scalar(client, "SELECT GET_LOCK('proxy_hold', 10)"))
        answered.set()

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    assert wait_until(
        lambda: (
            server.query(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                "WHERE ID = %s AND INFO LIKE 'SELECT GET_LOCK%%'",
                (client_id,),
            )[0][0]
            == 1
        )
    )
    proxy.hold()
    assert scalar(owner, "SELECT RELEASE_LOCK('proxy_hold')") == 1
    assert wait_until(lambda: server.query("SELECT IS_USED_LOCK('proxy_hold')")[0][0] == client_id)
    assert not answered.is_set()
    proxy.release()
    assert answered.wait(5)
    waiter.join()
    assert result == [1]
    owner.close()
    client.close()


def test_reset_all(server: MariaDBServer, proxy: FaultProxy) -> None:
    conn = via(proxy, server, read_timeout=5)
    assert scalar(conn, "SELECT 1") == 1
    proxy.reset_all()
    assert proxy.active_connections == 0
    with pytest.raises(pymysql.err.OperationalError) as caught:
        scalar(conn, "SELECT 1")
    assert caught.value.args[0] in (CR_SERVER_GONE, CR_SERVER_LOST)
    conn = via(proxy, server, read_timeout=5)
    assert scalar(conn, "SELECT 2") == 2
    conn.close()


def test_cut_after_commit_loses_only_the_reply(server: MariaDBServer, proxy: FaultProxy) -> None:
    make_table(server, "cut_commit")
    conn = via(proxy, server, read_timeout=5)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO cut_commit VALUES (1, 'committed but unconfirmed')")
    proxy.cut_after_next("COMMIT")
    assert not proxy.cut_happened.is_set()
    with pytest.raises(pymysql.err.OperationalError) as caught:
        conn.commit()
    assert caught.value.args[0] in (CR_SERVER_GONE, CR_SERVER_LOST)
    assert proxy.cut_happened.wait(5)
    assert count(server, "cut_commit") == 1


def test_cut_after_insert_with_leading_comment(server: MariaDBServer, proxy: FaultProxy) -> None:
    make_table(server, "cut_insert")
    conn = via(proxy, server, read_timeout=5, autocommit=True)
    proxy.cut_after_next("INSERT")
    with conn.cursor() as cur:
        cur.execute("SELECT 'INSERT'")  # not a match: passes
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("/* batch 1 */ insert INTO cut_insert VALUES (7, 'x')")
    assert proxy.cut_happened.is_set()
    assert count(server, "cut_insert") == 1
    conn = via(proxy, server, read_timeout=5)  # the cut fires once
    assert scalar(conn, "SELECT COUNT(*) FROM cut_insert") == 1
    conn.close()


def test_cut_after_an_insert_larger_than_one_packet(server: MariaDBServer, proxy: FaultProxy) -> None:
    """A >16 MiB INSERT spans many TCP reads and a 0xFFFFFF continuation; the
    word COMMIT inside its data must not fire the cut, the real COMMIT must."""
    make_table(server, "cut_big")
    conn = via(proxy, server, read_timeout=30, write_timeout=30, max_allowed_packet=64 * 1024 * 1024)
    filler = ("COMMIT " * 150_000)[:1_000_000]
    proxy.cut_after_next("COMMIT")
    with conn.cursor() as cur:
        values = ",".join(cur.mogrify("(%s, %s)", (i, filler)) for i in range(17))
        statement = "INSERT INTO cut_big VALUES " + values
        assert len(statement) > 0xFFFFFF  # PyMySQL sends it as two packets
        cur.execute(statement)
        cur.execute("SELECT COUNT(*) FROM cut_big")
        assert cur.fetchone()[0] == 17
    assert not proxy.cut_happened.is_set()
    with pytest.raises(pymysql.err.OperationalError):
        conn.commit()
    assert proxy.cut_happened.is_set()
    assert count(server, "cut_big") == 17


def test_unreachable_target_fails_the_client_fast() -> None:
    with FaultProxy("127.0.0.1", free_port()) as fault_proxy:
        began = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(
                host="127.0.0.1", port=fault_proxy.port, user="root", connect_timeout=5, read_timeout=5
            )
        assert time.monotonic() - began < 2
        assert fault_proxy.wait_for_connections(1, timeout=1)
        assert fault_proxy.wait_for_active(0, timeout=1)
