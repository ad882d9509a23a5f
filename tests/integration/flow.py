"""A logger fed at 100 Hz through a fault, and the count of the table afterwards.

Shared by the fault tests (one server behind a fault proxy) and the fail-over tests
(several nodes): zero points lost, zero stored twice, per-codename order kept, no
enqueue call slower than 50 ms.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from PyExpLabSys.common.database_saver import CustomColumn, DataSetSaver
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import BatchPolicy, RetryPolicy, Timeouts
from tests.support.fault_proxy import FaultProxy

from ..conftest import LOGGER_PASSWORD, LOGGER_USER, ClassicTable, DataSetTables, connection_kwargs

FAULT_TIMEOUTS = Timeouts(connect=1.0, read=1.0, write=1.0, query=1.0, startup=5.0)
FAULT_RETRY = RetryPolicy(first_delay=0.05, base_delay=0.1, max_delay=0.5)
#: A short latency budget, as the short time-outs: the faults, not the batching, are
#: under test (a batch is still held until its oldest point is this old).
FAULT_BATCH = BatchPolicy(flush_interval=0.05)
POISON = -666.0


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Run:
    """A logger fed at 100 Hz through the proxy, and the accounting afterwards."""

    def __init__(
        self, table: ClassicTable, proxy: FaultProxy | None, tmp_path, host: str | None = None, **options: Any
    ) -> None:
        """Through ``proxy``, or through the nodes of ``host`` ("h1:p1,h2:p2") when given;
        ``options`` go to the logger (e.g. TLS)."""
        self.table = table
        where = self._where(table, proxy, host, options)
        self.logger = self._make_logger(table, where, tmp_path)
        self.codenames = list(table.codenames)
        self.sent: dict[str, list[float]] = {name: [] for name in self.codenames}
        self.poison_at: int | None = None
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self.logger.start()
        self._thread.start()

    @staticmethod
    def _where(
        table: Any, proxy: FaultProxy | None, host: str | None, options: dict[str, Any]
    ) -> dict[str, Any]:
        if proxy is not None:
            where = connection_kwargs(table.kind, proxy.listen_host, proxy.port, **options)
        else:  # the nodes of ``host``
            where = connection_kwargs(table.kind, "", 0, **options)
            del where["port"]
        if host is not None:
            where["host"] = host
        return where

    def _make_logger(self, table: Any, where: dict[str, Any], tmp_path) -> Any:
        return ContinuousLogger(
            table.table,
            LOGGER_USER,
            LOGGER_PASSWORD,
            list(table.codenames),
            **where,
            timeouts=FAULT_TIMEOUTS,
            retry=FAULT_RETRY,
            batch=FAULT_BATCH,
            dead_letter_path=tmp_path / "dead_letters.jsonl",
        )

    def _produce(self) -> None:
        started = time.monotonic()
        index = 0
        while not self._stop.wait(max(0.0, started + index * 0.01 - time.monotonic())):
            codename = self.codenames[index % 2]
            value = POISON if index == self.poison_at else float(index)
            before = time.perf_counter()
            self.put(codename, value)
            self.slowest = max(self.slowest, time.perf_counter() - before)
            self.sent[codename].append(value)
            index += 1

    def put(self, codename: str, value: float) -> None:
        """Queue one point (the producer thread, 100 times a second)."""
        self.logger.enqueue_point_now(codename, value)

    def committed_more(self, count: int = 20, timeout: float = 20) -> None:
        """Wait until ``count`` more points are committed (the flow is healthy)."""
        target = self.logger.status().committed + count
        wait_for(lambda: self.logger.status().committed >= target, timeout, f"{count} commits")

    def status(self):
        return self.logger.status()

    def finish(self, dead_lettered: int = 0, read_from: ClassicTable | None = None) -> None:
        """Stop producing, let the backlog drain by itself, then count the table (as
        ``read_from`` sees it: the same table on another node of a cluster)."""
        self._stop.set()
        self._thread.join()
        wait_for(lambda: self.logger.status().queued == 0, 60, "the backlog to drain")
        report = self.logger.stop(timeout=10)
        assert report.delivered_all, report
        stored: dict[str, list[float | None]] = {name: [] for name in self.codenames}
        for name, _, value in (read_from or self.table).rows():
            stored[name].append(value)
        for name in self.codenames:
            want = [v for v in self.sent[name] if v != POISON]
            got = stored[name]
            duplicated = {v: n for v, n in Counter(got).items() if n > 1}
            lost = sorted(set(want) - set(got))
            assert not duplicated, f"{name}: {len(duplicated)} point(s) stored twice: {duplicated}"
            assert not lost, f"{name}: {len(lost)} point(s) lost: {lost[:10]}"
            assert got == want, f"{name}: order not kept"
        assert self.logger.status().dead_lettered == dead_lettered
        assert self.slowest < 0.05, f"an enqueue call took {self.slowest * 1000:.1f} ms"


class DataSetRun(Run):
    """The same flow through a DataSetSaver: two measurements (rows of the measurements
    table, CustomColumn time), their points ``(unix time, value)`` through ``save_point``
    into the x-y values table."""

    def _make_logger(self, table: Any, where: dict[str, Any], tmp_path) -> Any:
        self.saver = DataSetSaver(
            table.measurements,
            table.table,
            LOGGER_USER,
            LOGGER_PASSWORD,
            [
                (name, {"type": 7, "comment": name, "time": CustomColumn(time.time(), "FROM_UNIXTIME(%s)")})
                for name in ("ion_gauge", "flow")
            ],
            **where,
            timeouts=FAULT_TIMEOUTS,
            retry=FAULT_RETRY,
            batch=FAULT_BATCH,
            dead_letter_path=tmp_path / "dead_letters.jsonl",
        )
        table.codenames.update(self.saver.measurement_ids)
        return self.saver.logger

    def put(self, codename: str, value: float) -> None:
        self.saver.save_point(codename, (time.time(), value))


def make_run(table: ClassicTable | DataSetTables, proxy: FaultProxy | None, tmp_path, **kw: Any) -> Run:
    """The flow that fits the table: a ContinuousLogger, or a DataSetSaver."""
    kind = DataSetRun if isinstance(table, DataSetTables) else Run
    return kind(table, proxy, tmp_path, **kw)
