"""A script logging through the service's socket, next to the same script in-process.

Both loggers are built as a lab script builds them. ``in-process``: a plain
``ContinuousLogger`` writing to the database. ``socket client``: ``ContinuousLogger(...,
service=path)`` handing its points to a points server that runs, as in the lab, in
another process (a logger with its spool behind it, writing to the same kind of
database). One thread enqueues a burst of N points into each, in alternating rounds;
printed are the medians of the enqueue cost and of the committed rate: N divided by the
time from the first enqueue until ``flush()`` says every point is committed in the
database (through the service: acknowledged durable by it, then committed by it).
Prints figures and their ratio, asserts nothing.

    python benchmarks/client_enqueue.py [--points 300000] [--rounds 3] [--backend sqlite|mariadb|memory]
                                        [--catch-up]

``--catch-up``: the points wait first, then the committed rate is measured from the end
of the outage: in-process, the burst is enqueued before the logger's thread starts
(each round a new logger); through the socket, while the service's process is stopped
(SIGSTOP), and the clock starts at its SIGCONT.

``sqlite`` (default): each side writes its own SQLite file, as the service on a lab PC
does. ``mariadb``: each side its own table in the MariaDB server on 127.0.0.1:3306
(root, database ``test``), as a lab logs. ``memory``: the in-memory mock database (no
disk: what is left is the cost of the socket itself).
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PyExpLabSys.backends.base import Backend
from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.backends.sqlite import SQLiteBackend, create_tables
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.logger import DataLogger
from PyExpLabSys.points.server import PointsServer

CODENAMES = [f"bench_{i}" for i in range(10)]


def backend(kind: str, where: Path) -> Backend:
    """A database of ``kind`` at ``where`` (a new SQLite file, a new table in the
    MariaDB server on 127.0.0.1:3306 as root in ``test``, or the mock)."""
    if kind == "memory":
        return MemoryBackend(MemoryDatabase(CODENAMES))
    if kind == "mariadb":
        import pymysql

        from PyExpLabSys.backends.mysql import MySQLBackend
        from PyExpLabSys.backends.schema import create_tables as create_mysql_tables
        from PyExpLabSys.backends.schema import register_codenames

        table = f"dateplots_bench_{where.stem}_{os.getpid()}"
        with pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True) as conn:
            create_mysql_tables(conn, table)
            register_codenames(conn, {name: name for name in CODENAMES})
        return MySQLBackend(table, "root", "", host="127.0.0.1", database="test")
    create_tables(where, "dateplots_bench", CODENAMES)
    return SQLiteBackend(where, "dateplots_bench")


def serve(kind: str, workdir: Path) -> None:
    """The service's side, in its own process: logger, spool and points socket."""
    logger = DataLogger(
        backend(kind, workdir / "service.sqlite"), CODENAMES, spool_path=workdir / "spool.sqlite"
    )
    logger.start()
    PointsServer(workdir / "points.sock", logger, CODENAMES).start()
    sys.stdin.read()  # until the benchmark closes it
    logger.stop()


def measure(logger: ContinuousLogger, points: int) -> tuple[float, float]:
    """(µs per enqueue, committed points per second)."""
    enqueue = logger.enqueue_point_now
    started = time.perf_counter()
    for index in range(points):
        enqueue(CODENAMES[index % 10], float(index))
    spent = time.perf_counter() - started
    if not logger.flush(timeout=600):
        raise SystemExit("flush() timed out")
    return spent / points * 1e6, points / (time.perf_counter() - started)


def catch_up(logger: ContinuousLogger, points: int, service: int | None) -> tuple[float, float]:
    """(µs per enqueue, committed points per second from the end of the outage): a new
    logger not started yet (in-process), or the service's process ``service`` stopped."""
    outage_over: Callable[[], None]
    if service is None:
        outage_over = logger.start
    else:
        os.kill(service, signal.SIGSTOP)
        outage_over = functools.partial(os.kill, service, signal.SIGCONT)
    enqueue = logger.enqueue_point_now
    started = time.perf_counter()
    for index in range(points):
        enqueue(CODENAMES[index % 10], float(index))
    spent = time.perf_counter() - started
    time.sleep(0.3)  # the outage goes on a little after the last point
    ended = time.perf_counter()
    outage_over()
    if not logger.flush(timeout=600):
        raise SystemExit("flush() timed out")
    rate = points / (time.perf_counter() - ended)
    if service is None:
        logger.stop()
    return spent / points * 1e6, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "mariadb", "memory"), default="sqlite")
    parser.add_argument("--catch-up", action="store_true", help="measure from the end of an outage")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the service's process
    args = parser.parse_args()
    if args.serve:
        serve(args.backend, Path(args.serve))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        service = subprocess.Popen(
            [sys.executable, __file__, "--backend", args.backend, "--serve", tmp], stdin=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while not (workdir / "points.sock").exists():
            if time.monotonic() > deadline or service.poll() is not None:
                raise SystemExit("the service did not start")
            time.sleep(0.05)
        loggers = {
            "in-process": ContinuousLogger(
                "t", "u", "p", CODENAMES, backend=backend(args.backend, workdir / "direct.sqlite")
            ),
            "socket client": ContinuousLogger("t", "u", "p", CODENAMES, service=str(workdir / "points.sock")),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in loggers}
        if args.catch_up:
            loggers["socket client"].start()
        else:
            for logger in loggers.values():
                logger.start()
        for round_ in range(args.rounds):
            order = list(loggers) if round_ % 2 == 0 else list(reversed(loggers))
            for name in order:
                if not args.catch_up:
                    results[name].append(measure(loggers[name], args.points))
                elif name == "socket client":
                    results[name].append(catch_up(loggers[name], args.points, service.pid))
                else:
                    fresh = backend(args.backend, workdir / f"direct{round_}.sqlite")
                    logger = ContinuousLogger("t", "u", "p", CODENAMES, backend=fresh)
                    results[name].append(catch_up(logger, args.points, None))
        for logger in loggers.values():
            if logger.is_alive():
                logger.stop()
        assert service.stdin is not None
        service.stdin.close()
        service.wait(60)
    what = "after an outage of" if args.catch_up else "per burst"
    print(f"points {what:<20} {args.points}, {args.rounds} rounds (medians), backend {args.backend}")
    for name, rows in results.items():
        cost = statistics.median(r[0] for r in rows)
        rate = statistics.median(r[1] for r in rows)
        print(f"{name:<27} enqueue {cost:.2f} us/point, committed {rate:,.0f} points/s")
    rate_ratio = statistics.median(r[1] for r in results["socket client"]) / statistics.median(
        r[1] for r in results["in-process"]
    )
    cost_ratio = statistics.median(r[0] for r in results["socket client"]) / statistics.median(
        r[0] for r in results["in-process"]
    )
    print(f"committed rate, socket client / in-process: {rate_ratio:.2f} (goal: at least 0.8)")
    print(f"enqueue cost, socket client / in-process: {cost_ratio:.2f}")


if __name__ == "__main__":
    main()
