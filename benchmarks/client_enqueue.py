"""Enqueue cost of a script logging through the service's socket, next to in-process.

Both loggers are built as a lab script builds them: ``ContinuousLogger(...,
service=path)`` hands its points to a points server (here in this process, with a
logger and spool behind it on the in-memory database), and a plain in-process
``ContinuousLogger`` writes to the same kind of database. One thread enqueues N points
into each, in alternating rounds; the medians are printed with the time until every
point is committed (``flush()``). Prints figures, asserts nothing.

    python benchmarks/client_enqueue.py [--points 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.logger import DataLogger
from PyExpLabSys.points.server import PointsServer

CODENAMES = [f"bench_{i}" for i in range(10)]


def measure(logger: ContinuousLogger, points: int) -> tuple[float, float]:
    """(µs per enqueue, seconds from the first enqueue until flush() says committed)."""
    enqueue = logger.enqueue_point_now
    started = time.perf_counter()
    for index in range(points):
        enqueue(CODENAMES[index % 10], float(index))
    spent = time.perf_counter() - started
    if not logger.flush(timeout=600):
        raise SystemExit("flush() timed out")
    return spent / points * 1e6, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        database = MemoryDatabase(CODENAMES)
        service = DataLogger(MemoryBackend(database), CODENAMES, spool_path=Path(workdir) / "spool.sqlite")
        service.start()
        server = PointsServer(Path(workdir) / "points.sock", service, CODENAMES).start()
        loggers = {
            "in-process": ContinuousLogger("t", "u", "p", CODENAMES, backend=MemoryBackend(database)),
            "socket client": ContinuousLogger("t", "u", "p", CODENAMES, service=str(server.path)),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in loggers}
        for logger in loggers.values():
            logger.start()
        for round_ in range(args.rounds):
            order = list(loggers) if round_ % 2 == 0 else list(reversed(loggers))
            for name in order:
                results[name].append(measure(loggers[name], args.points))
        for logger in loggers.values():
            logger.stop()
        server.stop()
        service.stop()
    print(f"points per round            {args.points}, {args.rounds} rounds (medians)")
    for name, rows in results.items():
        cost = statistics.median(r[0] for r in rows)
        committed = statistics.median(r[1] for r in rows)
        print(f"{name:<27} enqueue {cost:.2f} us/point, all committed after {committed:.2f} s")
    ratio = statistics.median(r[0] for r in results["socket client"]) / statistics.median(
        r[0] for r in results["in-process"]
    )
    print(f"enqueue cost, socket client / in-process: {ratio:.2f}")


if __name__ == "__main__":
    main()
