"""The demo: synthetic lab signals logged through the real logger into an SQLite file.

It shows the whole path a point travels (validation, buffer, drain, batched commits)
without any hardware or database server, and ends with a short summary read back from
the file itself.
"""

from __future__ import annotations

import logging
import math
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..backends.sqlite import SQLiteBackend, create_tables
from ..datalog.logger import DataLogger

LOG = logging.getLogger(__name__)

__all__ = ["DemoSummary", "run_demo", "SIGNALS"]

TABLE = "dateplots_demo"


def _pressure(t: float) -> float:
    """A chamber pumping down, with a leak check bump every 20 s."""
    return 1e-6 * (1 + 0.3 * math.sin(t / 3.0)) + (2e-7 if int(t) % 20 < 2 else 0.0)


def _temperature(t: float) -> float:
    return 21.5 + 0.4 * math.sin(t / 7.0) + random.gauss(0, 0.02)


def _flow(t: float) -> float:
    return 5.0 + (0.5 if int(t / 5) % 2 else 0.0) + random.gauss(0, 0.01)


#: codename → (signal function of elapsed seconds, samples per second)
SIGNALS = {
    "demo_chamber_pressure": (_pressure, 20.0),
    "demo_bath_temperature": (_temperature, 5.0),
    "demo_ar_flow": (_flow, 10.0),
}


@dataclass(frozen=True)
class DemoSummary:
    """What the demo logged and what the SQLite file holds afterwards."""

    path: Path
    seconds: float
    enqueued: int
    stored: dict[str, int]
    batches: int
    undelivered: int

    def lines(self) -> list[str]:
        rows = [f"  {name:<24} {count:>7} rows" for name, count in sorted(self.stored.items())]
        return [
            f"Logged {self.enqueued} points in {self.seconds:.1f} s into {self.path} "
            f"(table {TABLE}), {self.batches} batched commits.",
            *rows,
            "All points delivered." if self.undelivered == 0
            else f"{self.undelivered} points NOT delivered.",
        ]


def _produce(logger: DataLogger, codename: str, rate: float, stop: threading.Event,
             counts: dict[str, int]) -> None:
    signal, period = SIGNALS[codename][0], 1.0 / rate
    started = time.monotonic()
    count = 0
    while not stop.wait(max(0.0, started + count * period - time.monotonic())):
        logger.enqueue_point_now(codename, signal(time.monotonic() - started))
        count += 1
    counts[codename] = count


def run_demo(seconds: float = 10.0, path: str | Path = "demo.sqlite",
             progress: bool = True) -> DemoSummary:
    """Log the synthetic signals for ``seconds`` into ``path`` and summarise."""
    path = Path(path)
    create_tables(path, TABLE, SIGNALS)
    logger = DataLogger(SQLiteBackend(path, TABLE), SIGNALS, name="demo-logger")
    logger.start()
    stop = threading.Event()
    counts: dict[str, int] = {}
    producers = [
        threading.Thread(target=_produce, args=(logger, name, rate, stop, counts), daemon=True)
        for name, (_, rate) in SIGNALS.items()
    ]
    started = time.monotonic()
    for thread in producers:
        thread.start()
    deadline = started + seconds
    while not stop.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
        if progress:
            LOG.info("%5.1f s  %s", time.monotonic() - started, logger.status().summary())
        if time.monotonic() >= deadline:
            stop.set()
    for thread in producers:
        thread.join()
    report = logger.stop(timeout=10)
    elapsed = time.monotonic() - started
    ids = logger._codename_translation
    with sqlite3.connect(path) as conn:
        stored = {
            name: conn.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE type = ?", (ids[name],)).fetchone()[0]
            for name in SIGNALS
        }
    conn.close()
    return DemoSummary(path, elapsed, sum(counts.values()), stored, logger.status().batches,
                       report.undelivered)
