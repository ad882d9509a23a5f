"""Throughput of the ContinuousLogger against a throw-away MariaDB, next to LOAD DATA.

One thread enqueues N points as fast as it can; the benchmark reports the enqueue cost
(µs/point), the rate at which they are committed (points/s, from the first enqueue until
the last commit), and, in the same run on the same server, the rate of
``LOAD DATA LOCAL INFILE`` for the same rows, with the ratio; and for each the server's
CPU time per point (mariadbd's utime + stime, which bounds the rate: one connection is
served by one server thread). The speed of this kind of
machine drifts by tens of per cent from minute to minute, so both are measured in
several rounds, in alternating order, and the medians are reported. Prints figures,
asserts nothing: see README.rst for the targets.

    python benchmarks/throughput.py [--points 300000] [--engine InnoDB] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loaddata import DATABASE, cpu_seconds, load_data_rate

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.common.loggers import ContinuousLogger
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed


def server_cpu(server: MariaDBServer) -> float:
    """CPU seconds the server process has used so far."""
    assert server.pid is not None
    used = cpu_seconds(server.pid)
    assert used is not None
    return used


def logger_run(server: MariaDBServer, table: str, points: int) -> tuple[float, float, int, float]:
    """Enqueue ``points`` from one thread; (µs per enqueue, committed points/s, batches,
    server CPU µs per point)."""
    logger = ContinuousLogger(
        table,
        server.user,
        server.password,
        ["bench_a", "bench_b"],
        host=server.host,
        port=server.port,
        database=DATABASE,
    )
    logger.start()
    enqueue = logger.enqueue_point_now
    cpu = server_cpu(server)
    started = time.perf_counter()
    for index in range(points):
        enqueue("bench_a" if index & 1 else "bench_b", 1.0 + index * 1e-3)
    enqueued = time.perf_counter()
    assert logger.flush(timeout=120), "not committed within 2 minutes"
    committed = time.perf_counter()
    cpu = server_cpu(server) - cpu
    report = logger.stop(timeout=30)
    assert report.delivered_all, report
    return (
        (enqueued - started) / points * 1e6,
        points / (committed - started),
        logger.status().batches,
        cpu / points * 1e6,
    )


def load_run(server: MariaDBServer, table: str, rows: list) -> tuple[float, float]:
    """LOAD DATA of ``rows``: (rows/s, server CPU µs per row)."""
    cpu = server_cpu(server)
    rate = load_data_rate(server, table, rows)
    return rate, (server_cpu(server) - cpu) / len(rows) * 1e6


def run(points: int, engine: str, rounds: int) -> None:
    ensure_mariadb_installed()
    results = []
    with MariaDBServer() as server:
        server.create_database(DATABASE)
        conn = server.connect(DATABASE)
        for number in range(rounds):
            create_tables(conn, f"dateplots_bench{number}", engine=engine)
            create_tables(conn, f"dateplots_loaddata{number}", engine=engine)
        with conn.cursor() as cursor:
            for name in ("bench_a", "bench_b"):
                cursor.execute("INSERT INTO dateplots_descriptions (codename) VALUES (%s)", (name,))
        conn.commit()
        conn.close()
        now = time.time()
        rows = [(now + i * 1e-3, 1 + (i & 1), 1.0 + i * 1e-3) for i in range(points)]
        for number in range(rounds):  # alternate the order: the machine's speed drifts
            if number % 2:
                load, load_cpu = load_run(server, f"dateplots_loaddata{number}", rows)
                enqueue_us, rate, batches, cpu = logger_run(server, f"dateplots_bench{number}", points)
            else:
                enqueue_us, rate, batches, cpu = logger_run(server, f"dateplots_bench{number}", points)
                load, load_cpu = load_run(server, f"dateplots_loaddata{number}", rows)
            results.append((enqueue_us, rate, load, rate / load, cpu, load_cpu))
            print(
                f"round {number + 1}: enqueue {enqueue_us:.2f} us/point, committed "
                f"{rate:,.0f} points/s in {batches} batches, LOAD DATA {load:,.0f} rows/s, "
                f"ratio {rate / load:.2f}; server CPU {cpu:.2f} against {load_cpu:.2f} us/point"
            )

    medians = [statistics.median(column) for column in zip(*results, strict=True)]
    enqueue_us, rate, load, ratio, cpu, load_cpu = medians
    print(f"engine                      {engine}")
    print(f"points                      {points} per round, {rounds} rounds (medians below)")
    print(f"enqueue cost                {enqueue_us:.2f} us/point (target <= 1.5)")
    print(f"committed rate              {rate:,.0f} points/s")
    print(f"LOAD DATA LOCAL INFILE rate {load:,.0f} rows/s")
    print(f"ratio committed / LOAD DATA {ratio:.2f} (target >= 0.6, aim 0.8)")
    print(
        f"server CPU per point        {cpu:.2f} us logger, {load_cpu:.2f} us LOAD DATA "
        f"(ratio {load_cpu / cpu:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--engine", default="InnoDB", choices=["InnoDB", "MyISAM"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.points, args.engine, args.rounds)


if __name__ == "__main__":
    main()
