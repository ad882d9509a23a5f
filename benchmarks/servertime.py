"""Where the server's time goes for each way of committing a batch of points.

One client sends ``--batches`` batches of ``--rows`` points each into a throw-away
MariaDB (performance_schema on), one way after another, and for each way prints the
server's CPU per batch and per row (utime + stime of mariadbd from /proc), the
statements and handler calls per batch (``Com_*``, ``Handler_*`` deltas of SHOW GLOBAL
STATUS) and the server time by statement kind (performance_schema's digest summary).
The ways, all into the classic table with µs time stamps:

* ``logger``: the logger's transaction today: ledger INSERT, data INSERT, COMMIT, each
  its own round trip;
* ``no ledger``: data INSERT and COMMIT (what the ledger costs);
* ``one trip``: ledger INSERT, data INSERT and COMMIT in one multi-statement packet,
  the rows as the logger renders them (numeric date-time literals, DOUBLE literals);
* ``quoted``: as ``one trip``, the rows as the logger rendered them before: quoted
  date-time strings and plain numbers (``('2023-11-14 22:13:20.123457',1,1.5)``);
* ``LOAD DATA``: LOAD DATA LOCAL INFILE of the batch, and COMMIT;
* ``bulk`` (only when asked for with ``--ways``; needs MariaDB's own connector,
  ``pip install mariadb``, which builds against libmariadb-dev): ledger INSERT, then the
  rows through the binary protocol's bulk execution (one prepared INSERT, the rows as
  parameter arrays, ``executemany``), and COMMIT.

The machine is shared: run it twice and compare the ways within one run.

    python benchmarks/servertime.py [--rows 50] [--batches 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pymysql
from loaddata import cpu_seconds
from pymysql.constants import CLIENT

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.backends.sqltext import render_rows
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

DATABASE = "servertime"
LEDGER = (
    "CREATE TABLE IF NOT EXISTS ledger (logger_id VARCHAR(64) NOT NULL, first_seq BIGINT UNSIGNED "
    "NOT NULL, points INT UNSIGNED NOT NULL, committed_at TIMESTAMP NOT NULL DEFAULT "
    "CURRENT_TIMESTAMP, PRIMARY KEY (logger_id, first_seq)) ENGINE=InnoDB"
)
STATUS_KEYS = (
    "Com_insert",
    "Com_commit",
    "Com_load",
    "Com_select",
    "Questions",
    "Handler_write",
    "Handler_commit",
    "Handler_prepare",
    "Handler_read_key",
    "Innodb_log_writes",
    "Innodb_os_log_fsyncs",
    "Bytes_received",
)


def rows_of(batch: int, rows: int) -> list[tuple[int, float, float]]:
    base = 1_700_000_000.0 + batch * 0.1
    return [(1 + i % 10, base + i * 1e-3, batch * rows + i + 0.123456789) for i in range(rows)]


def quoted(points: list[tuple[int, float, float]]) -> str:
    """The rows as quoted UTC date-time strings (µs) and plain ``repr`` numbers."""
    rows = []
    for type_id, stamp, value in points:
        whole, fraction = divmod(round(stamp * 1e6), 10**6)
        rows.append(
            f"('{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(whole))}.{fraction:06d}',{type_id},{value!r})"
        )
    return ",".join(rows)


def status(cursor: Any) -> dict[str, int]:
    cursor.execute("SHOW GLOBAL STATUS")
    return {name: int(value) for name, value in cursor.fetchall() if name in STATUS_KEYS}


def digests(cursor: Any) -> dict[str, tuple[int, float]]:
    cursor.execute(
        "SELECT LEFT(DIGEST_TEXT, 40), COUNT_STAR, SUM_TIMER_WAIT / 1e12 FROM "
        "performance_schema.events_statements_summary_by_digest WHERE SCHEMA_NAME = %s",
        (DATABASE,),
    )
    return {str(text): (int(count), float(seconds)) for text, count, seconds in cursor.fetchall()}


def run_way(
    server: MariaDBServer, name: str, send: Callable[[Any, Any, int], None], batches: int, rows: int
) -> None:
    conn = pymysql.connect(
        **server.connection_kwargs(DATABASE),
        autocommit=False,
        client_flag=CLIENT.MULTI_STATEMENTS,
        local_infile=True,
    )
    admin = server.connect()
    table = "t_" + name.replace(" ", "_").replace("-", "_")
    with conn.cursor() as cursor:
        create_tables(conn, table, time_precision=6)
        cursor.execute("TRUNCATE ledger")
        cursor.execute("SET time_zone = '+00:00'")
    conn.commit()
    with admin.cursor() as acursor:
        acursor.execute("TRUNCATE performance_schema.events_statements_summary_by_digest")
        before = status(acursor)
        cpu0 = cpu_seconds(server.pid or 0) or 0.0
        wall0 = time.perf_counter()
        with conn.cursor() as cursor:
            for batch in range(batches):
                send(conn, cursor, batch)
        wall = time.perf_counter() - wall0
        cpu = (cpu_seconds(server.pid or 0) or 0.0) - cpu0
        after = status(acursor)
        spent = digests(acursor)
    conn.close()
    admin.close()
    per_batch = {k: (after[k] - before[k]) / batches for k in STATUS_KEYS if k in after}
    print(
        f"{name:12} CPU {cpu / batches * 1e6:7.0f} us/batch {cpu / (batches * rows) * 1e6:6.2f} us/row"
        f"  wall {wall / batches * 1e3:6.2f} ms/batch"
    )
    print("             per batch: " + ", ".join(f"{k} {v:.2f}" for k, v in per_batch.items() if v))
    total = sum(s for _, s in spent.values())
    for text, (count, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:5]:
        print(
            f"             {seconds / batches * 1e6:7.1f} us/batch ({seconds / total:4.0%}) "
            f"x{count / batches:.1f} {text}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50, help="points per batch")
    parser.add_argument("--batches", type=int, default=2000, help="batches per way")
    parser.add_argument("--ways", default="logger,no ledger,one trip,quoted,LOAD DATA")
    parser.add_argument("--server-args", default="", help="extra mariadbd options, space-separated")
    args = parser.parse_args()
    rows, logger_id = args.rows, "servertime:bench:0123456789ab"
    tsv = Path(tempfile.mkdtemp()) / "batch.tsv"

    def logger(conn: Any, cursor: Any, batch: int) -> None:
        cursor.execute(
            "INSERT INTO ledger (logger_id, first_seq, points) VALUES (%s, %s, %s)",
            (logger_id, batch * rows, rows),
        )
        cursor.execute(
            "INSERT INTO t_logger (time, type, value) VALUES " + render_rows(rows_of(batch, rows), 6)
        )
        conn.commit()

    def no_ledger(conn: Any, cursor: Any, batch: int) -> None:
        cursor.execute(
            "INSERT INTO t_no_ledger (time, type, value) VALUES " + render_rows(rows_of(batch, rows), 6)
        )
        conn.commit()

    def one_trip(table: str, render: Callable[[list], str]) -> Callable[[Any, Any, int], None]:
        def send(conn: Any, cursor: Any, batch: int) -> None:
            ledger = f"INSERT INTO ledger VALUES ('{logger_id}', {batch * rows}, {rows}, DEFAULT)"
            values = render(rows_of(batch, rows))
            cursor.execute(f"{ledger};INSERT INTO {table} (time, type, value) VALUES {values};COMMIT")
            while cursor.nextset():
                pass

        return send

    def load_data(conn: Any, cursor: Any, batch: int) -> None:
        with open(tsv, "w") as handle:
            for type_id, stamp, value in rows_of(batch, rows):
                handle.write(f"{stamp!r}\t{type_id}\t{value!r}\n")
        cursor.execute(
            f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE t_LOAD_DATA (@t, type, value) "
            "SET time = FROM_UNIXTIME(@t)"
        )
        conn.commit()

    bulk_state: dict[str, Any] = {}

    def bulk(conn: Any, cursor: Any, batch: int) -> None:
        if "conn" not in bulk_state:  # a connection of MariaDB's own connector, once
            import mariadb  # type: ignore[import-not-found,import-untyped,unused-ignore]  # optional, untyped: pip install mariadb (needs libmariadb-dev)

            kwargs = server.connection_kwargs(DATABASE)
            bulk_state["conn"] = mariadb.connect(
                host=kwargs["host"],
                port=kwargs["port"],
                user=kwargs["user"],
                password=kwargs["password"] or "",
                database=DATABASE,
                autocommit=False,
            )
            bulk_state["cursor"] = bulk_state["conn"].cursor()
            bulk_state["cursor"].execute("SET time_zone = '+00:00'")
        bulk_conn, bulk_cursor = bulk_state["conn"], bulk_state["cursor"]
        bulk_cursor.execute(
            "INSERT INTO ledger (logger_id, first_seq, points) VALUES (?, ?, ?)",
            (logger_id, batch * rows, rows),
        )
        bulk_cursor.executemany(  # COM_STMT_BULK_EXECUTE: the rows as binary parameter arrays
            "INSERT INTO t_bulk (time, type, value) VALUES (FROM_UNIXTIME(?), ?, ?)",
            [(stamp, type_id, value) for type_id, stamp, value in rows_of(batch, rows)],
        )
        bulk_conn.commit()

    ways = {
        "logger": logger,
        "no ledger": no_ledger,
        "one trip": one_trip("t_one_trip", lambda p: render_rows(p, 6)),
        "quoted": one_trip("t_quoted", quoted),
        "LOAD DATA": load_data,
        "bulk": bulk,
    }
    ensure_mariadb_installed()
    with MariaDBServer(extra_args=["--performance-schema=ON", *args.server_args.split()]) as server:
        server.create_database(DATABASE)
        server.query(LEDGER, database=DATABASE)
        print(f"{args.batches} batches of {rows} rows per way; load average {os.getloadavg()[0]:.1f}")
        for name in args.ways.split(","):
            run_way(server, name, ways[name], args.batches, rows)


if __name__ == "__main__":
    main()
