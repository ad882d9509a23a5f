"""What the benchmarks compare the logger with: LOAD DATA LOCAL INFILE of the same rows,
and the CPU time a server process has used (to put a price on each).

Shared by throughput.py, outage.py and fleet.py so that they all measure LOAD DATA the
same way.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

DATABASE = "bench"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def prepare_table(conn: Any, table: str, descriptions: Mapping[str, str]) -> dict[str, int]:
    """A fresh classic table with µs time stamps (to compare with enqueue times) and its
    codenames registered, on ``conn``, which is closed; returns codename → type id."""
    from PyExpLabSys.backends.schema import create_tables, register_codenames

    try:
        create_tables(conn, table, time_precision=6)
        return register_codenames(conn, dict(descriptions))
    finally:
        conn.close()


def stored_values(node: Any, database: str, table: str) -> Counter[int]:
    """How often each value is in ``table`` on ``node`` (a MariaDBServer or Galera node):
    the benchmarks encode every point they send as a distinct integer value, so a count
    of 0 is a lost point and more than 1 a duplicate."""
    conn = node.connect(database, read_timeout=300)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table}")
            return Counter(int(value) for (value,) in cursor.fetchall())
    finally:
        conn.close()


def load_data_rate(
    server: Any,
    table: str,
    rows: Sequence[tuple[float, int, float]],
    database: str = DATABASE,
    batch: int | None = None,
) -> float:
    """Rows per second for LOAD DATA LOCAL INFILE of ``rows`` (time, type, value) into
    ``table`` of ``database`` on ``server`` (a MariaDBServer or Galera node): in one
    statement and one transaction, or (``batch``) in pieces of that many rows, each
    committed, one after the other on one connection, as a writer that must commit
    within a latency budget would."""
    size = batch or max(1, len(rows))
    folder = tempfile.mkdtemp()
    paths = []
    for number, start in enumerate(range(0, len(rows), size)):
        paths.append(os.path.join(folder, f"{number}.tsv"))
        with open(paths[-1], "w") as handle:
            for stamp, type_id, value in rows[start : start + size]:
                handle.write(f"{stamp!r}\t{type_id}\t{value!r}\n")
    conn = server.connect(database, local_infile=True, read_timeout=600, write_timeout=600)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")
            started = time.perf_counter()
            for path in paths:
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} (@t, type, value) "
                    "SET time = FROM_UNIXTIME(@t)",
                    (path,),
                )
                conn.commit()
            elapsed = time.perf_counter() - started
    finally:
        conn.close()
        for path in paths:
            os.unlink(path)
        os.rmdir(folder)
    return len(rows) / elapsed


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (/proc/<pid>/stat);
    None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14, 15)
