"""Nothing lost, nothing twice: the logger through real faults, on InnoDB and MyISAM,
through PyMySQL and through ODBC (``backend_kind``).

A private MariaDB server sits behind the fault proxy. For each fault, a producer thread
enqueues numbered points at 100 Hz for two codenames while the fault happens; after it
heals, the backlog must drain by itself, and the table itself is then counted: zero
points lost, zero stored twice, per-codename order kept, no enqueue call slower than
50 ms.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer

from ..conftest import (
    DATABASE,
    LOGGER_USER,
    ClassicTable,
    DataSetTables,
    make_classic_table,
    make_data_set_tables,
)
from .flow import POISON, Run, make_run, wait_for

pytestmark = pytest.mark.mariadb


@pytest.fixture(scope="module")
def proxy(server: MariaDBServer) -> Iterator[FaultProxy]:
    with FaultProxy(server.host, server.port) as fault_proxy:
        yield fault_proxy


@pytest.fixture(params=["continuous", "data_set"])
def table(
    request: pytest.FixtureRequest, server: MariaDBServer, proxy: FaultProxy, engine: str, backend_kind: str
) -> ClassicTable | DataSetTables:
    """The continuous table (ContinuousLogger), or the data-set tables (DataSetSaver)."""
    if not server.running:
        server.restart()
    proxy.pass_through()
    if request.param == "data_set":
        return make_data_set_tables(server, engine, kind=backend_kind)
    return make_classic_table(server, engine, ("ion_gauge", "flow"), kind=backend_kind)


@pytest.fixture
def run(table, proxy, tmp_path) -> Iterator[Run]:
    flow = make_run(table, proxy, tmp_path)
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
        f"ALTER TABLE {run.table.table} ADD CONSTRAINT no_poison CHECK "
        f"({run.table.value_column} IS NULL OR {run.table.value_column} <> {POISON})",
        database=DATABASE,
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


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__[len("fault_") :])
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
