"""Nothing lost, nothing twice: the logger through real faults, on InnoDB and MyISAM,
through PyMySQL and through ODBC (``backend_kind``).

A private MariaDB server sits behind the fault proxy. For each fault, a producer thread
enqueues numbered points at 100 Hz for two codenames while the fault happens; after it
heals, the backlog must drain by itself, and the table itself is then counted: zero
points lost, zero stored twice, per-codename order kept, no enqueue call slower than
50 ms.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts
from PyExpLabSys.testing.fault_proxy import FaultProxy
from PyExpLabSys.testing.mariadb_server import MariaDBServer, ensure_mariadb_installed

from ..conftest import (
    DATABASE,
    LOGGER_PASSWORD,
    LOGGER_USER,
    ClassicTable,
    connection_kwargs,
    make_classic_table,
)

pytestmark = pytest.mark.mariadb

FAULT_TIMEOUTS = Timeouts(connect=1.0, read=1.0, write=1.0, query=1.0, startup=5.0)
FAULT_RETRY = RetryPolicy(first_delay=0.05, base_delay=0.1, max_delay=0.5)
POISON = -666.0


@pytest.fixture(scope="module")
def server() -> Iterator[MariaDBServer]:
    """A server of this module's own: the tests hang, kill and restart it."""
    ensure_mariadb_installed()
    with MariaDBServer() as db:
        db.create_database(DATABASE)
        for host in ("127.0.0.1", "localhost"):
            db.query(f"CREATE USER IF NOT EXISTS '{LOGGER_USER}'@'{host}' "
                     f"IDENTIFIED BY '{LOGGER_PASSWORD}'")
            db.query(f"GRANT ALL ON {DATABASE}.* TO '{LOGGER_USER}'@'{host}'")
        yield db


@pytest.fixture(scope="module")
def proxy(server: MariaDBServer) -> Iterator[FaultProxy]:
    with FaultProxy(server.host, server.port) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def table(server: MariaDBServer, proxy: FaultProxy, engine: str, backend_kind: str) -> ClassicTable:
    if not server.running:
        server.restart()
    proxy.pass_through()
    return make_classic_table(server, engine, ("ion_gauge", "flow"), kind=backend_kind)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Run:
    """A logger fed at 100 Hz through the proxy, and the accounting afterwards."""

    def __init__(self, table: ClassicTable, proxy: FaultProxy, tmp_path) -> None:
        self.table = table
        self.codenames = list(table.codenames)
        self.logger = ContinuousLogger(
            table.table, LOGGER_USER, LOGGER_PASSWORD, self.codenames,
            **connection_kwargs(table.kind, proxy.listen_host, proxy.port),
            timeouts=FAULT_TIMEOUTS, retry=FAULT_RETRY,
            dead_letter_path=tmp_path / "dead_letters.jsonl",
        )
        self.sent: dict[str, list[float]] = {name: [] for name in self.codenames}
        self.poison_at: int | None = None
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self.logger.start()
        self._thread.start()

    def _produce(self) -> None:
        started = time.monotonic()
        index = 0
        while not self._stop.wait(max(0.0, started + index * 0.01 - time.monotonic())):
            codename = self.codenames[index % 2]
            value = POISON if index == self.poison_at else float(index)
            before = time.perf_counter()
            self.logger.enqueue_point_now(codename, value)
            self.slowest = max(self.slowest, time.perf_counter() - before)
            self.sent[codename].append(value)
            index += 1

    def committed_more(self, count: int = 20, timeout: float = 20) -> None:
        """Wait until ``count`` more points are committed (the flow is healthy)."""
        target = self.logger.status().committed + count
        wait_for(lambda: self.logger.status().committed >= target, timeout, f"{count} commits")

    def status(self):
        return self.logger.status()

    def finish(self, dead_lettered: int = 0) -> None:
        """Stop producing, let the backlog drain by itself, then count the table."""
        self._stop.set()
        self._thread.join()
        wait_for(lambda: self.logger.status().queued == 0, 60, "the backlog to drain")
        report = self.logger.stop(timeout=10)
        assert report.delivered_all, report
        stored = {name: [] for name in self.codenames}
        for name, _, value in self.table.rows():
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


@pytest.fixture
def run(table, proxy, tmp_path) -> Iterator[Run]:
    flow = Run(table, proxy, tmp_path)
    yield flow
    proxy.pass_through()
    flow._stop.set()
    flow.logger.stop(timeout=2)


# -- the six faults ---------------------------------------------------------------------------

def fault_server_hangs(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """1. SIGSTOP for longer than the query time-out, then SIGCONT."""
    run.committed_more()
    timeouts = run.status().timeouts
    server.pause()
    try:
        wait_for(lambda: run.status().timeouts > timeouts, 15, "a time-out")
    finally:
        server.resume()


def fault_partition(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """2. Packets held (no RST, no FIN), then delivered late."""
    run.committed_more()
    timeouts = run.status().timeouts
    proxy.hold()
    try:
        wait_for(lambda: run.status().timeouts > timeouts, 15, "a time-out")
        time.sleep(0.3)  # the partition lasts a while: part of the fault, not a sync
    finally:
        proxy.release()


def fault_killed_and_restarted(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """3. SIGKILL, restarted once the logger has failed to reconnect twice."""
    run.committed_more()
    server.kill()
    wait_for(lambda: run.logger._drain.failures >= 2, 15, "failed reconnection attempts")
    server.restart()


def fault_connections_reset(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """4. RST on every connection while batches are in flight, five times."""
    for _ in range(5):
        run.committed_more(10)
        proxy.reset_all()


def fault_lost_commit_answer(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """5. The COMMIT (MyISAM: the INSERT) executes, but its answer never arrives."""
    run.committed_more()
    reconciled = run.status().reconciled_batches
    proxy.cut_after_next("COMMIT" if run.table.engine == "InnoDB" else "INSERT")
    assert proxy.cut_happened.wait(15), "the cut did not happen"
    proxy.cut_happened.clear()
    wait_for(lambda: run.status().reconciled_batches > reconciled, 15, "reconciliation")


def fault_rejected_point(run: Run, server: MariaDBServer, proxy: FaultProxy) -> None:
    """6. One point the server rejects for good (a CHECK constraint), and a revoked
    privilege that is granted again (may heal: retried, nothing dropped)."""
    server.query(
        f"ALTER TABLE {run.table.table} ADD CONSTRAINT no_poison "
        f"CHECK (value IS NULL OR value <> {POISON})", database=DATABASE,
    )
    run.poison_at = len(run.sent[run.codenames[0]]) * 2 + 40
    wait_for(lambda: run.status().dead_lettered == 1, 15, "the poison point to be dead-lettered")
    run.committed_more()
    for host in ("127.0.0.1", "localhost"):
        server.query(f"REVOKE ALL ON {DATABASE}.* FROM '{LOGGER_USER}'@'{host}'")
    proxy.reset_all()  # database privileges are checked when a connection opens
    try:
        wait_for(lambda: "denied" in (run.status().last_error or ""), 15, "access denied")
    finally:
        for host in ("127.0.0.1", "localhost"):
            server.query(f"GRANT ALL ON {DATABASE}.* TO '{LOGGER_USER}'@'{host}'")
    run.committed_more()


FAULTS = [
    fault_server_hangs,
    fault_partition,
    fault_killed_and_restarted,
    fault_connections_reset,
    fault_lost_commit_answer,
    fault_rejected_point,
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__[len("fault_"):])
def test_fault(run, server, proxy, fault):
    fault(run, server, proxy)
    run.committed_more()  # after the fault, the flow resumes by itself
    run.finish(dead_lettered=1 if fault is fault_rejected_point else 0)


@pytest.mark.slow
def test_all_faults_in_a_chain(run, server, proxy):
    for fault in FAULTS:
        fault(run, server, proxy)
    run.committed_more()
    run.finish(dead_lettered=1)
    status = run.status()
    assert status.reconnects >= 4 and status.timeouts >= 2 and status.reconciled_batches >= 1
