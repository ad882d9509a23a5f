"""Fail-over across a real 3-node Galera cluster: nothing lost, nothing twice.

The logger is given the nodes in order and writes to one at a time. Each fault hits the
node in use (or the cluster's quorum) while a producer enqueues at 100 Hz; afterwards
the table is counted on a surviving node after a causal read. The fail-over time is the
time from the fault to the first commit on another node; the tests print it (-s).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.galera_cluster import GaleraCluster, GaleraNode

from ..conftest import ClassicTable, make_classic_table
from .flow import Run, wait_for

pytestmark = [pytest.mark.mariadb, pytest.mark.galera]


@pytest.fixture
def cluster(galera: GaleraCluster) -> Iterator[GaleraCluster]:
    """The session's cluster, healthy before and after each test."""
    galera.heal()
    yield galera
    galera.heal()


@pytest.fixture
def table(cluster: GaleraCluster) -> ClassicTable:
    table = make_classic_table(cluster.nodes[0], "InnoDB", ("gauge", "flow"))
    cluster.sync_all()
    return table


def on(table: ClassicTable, node: GaleraNode) -> ClassicTable:
    """The same table as ``node`` sees it (after a causal read on every live node)."""
    return dataclasses.replace(table, server=node)


def start(table: ClassicTable, cluster: GaleraCluster, tmp_path, hosts: str | None = None, **options) -> Run:
    run = Run(table, None, tmp_path, host=hosts or cluster.hosts, **options)
    run.committed_more()
    return run


def moved_off(run: Run, node: GaleraNode, since: float) -> float:
    """Wait for a commit on another node than ``node``; seconds from ``since``."""
    wait_for(
        lambda: run.status().node not in (None, node.address) and run.status().connected,
        30,
        f"a move off {node.name}",
    )
    committed = run.status().committed
    wait_for(lambda: run.status().committed > committed, 30, "a commit on another node")
    return time.monotonic() - since


@pytest.mark.parametrize("backend_kind", ["pymysql", "odbc"], indirect=True)
def test_kill_9_of_the_node_in_use(cluster, table, tmp_path, backend_kind):
    if backend_kind == "odbc":
        table = dataclasses.replace(table, kind="odbc")
    run = start(table, cluster, tmp_path)
    first = cluster.nodes[0]
    assert run.status().node == first.address
    fault = time.monotonic()
    first.kill()
    print(f"\n[{backend_kind}] fail-over after kill -9: {moved_off(run, first, fault):.2f} s")
    cluster.sync_all()
    run.finish(read_from=on(table, cluster.nodes[1]))


def test_sigstop_of_the_node_in_use_then_sigcont(cluster, table, tmp_path):
    run = start(table, cluster, tmp_path)
    first = cluster.nodes[0]
    fault = time.monotonic()
    first.pause()
    try:
        print(f"\nfail-over after SIGSTOP: {moved_off(run, first, fault):.2f} s")
        run.committed_more()
    finally:
        first.resume()
    cluster.wait_synced(3, timeout=60)  # it rejoins; what it held must not land twice
    run.committed_more()
    cluster.sync_all()
    run.finish(read_from=on(table, first))


def test_a_lost_commit_answer_while_the_node_stays(cluster, table, tmp_path):
    first, second, third = cluster.nodes
    with FaultProxy(first.host, first.port) as proxy:
        hosts = f"{proxy.listen_host}:{proxy.port},{second.address},{third.address}"
        run = start(table, cluster, tmp_path, hosts=hosts)
        reconciled = run.status().reconciled_batches
        proxy.cut_after_next("COMMIT")
        assert proxy.cut_happened.wait(15), "the cut did not happen"
        wait_for(lambda: run.status().reconciled_batches > reconciled, 20, "reconciliation")
        run.committed_more()
        assert run.status().node != f"{proxy.listen_host}:{proxy.port}"
        cluster.sync_all()
        run.finish(read_from=on(table, third))


def test_loss_of_quorum_and_its_return(cluster, table, tmp_path):
    """Two of three nodes gone: the survivor refuses (1047), points wait; when both
    come back, the backlog drains."""
    first, second, third = cluster.nodes
    run = start(table, cluster, tmp_path)
    second.kill()
    third.kill()
    first.wait_for(lambda s: s.cluster_status != "Primary", "non-Primary", timeout=20)
    failures = run.logger._drain.failures
    wait_for(lambda: run.logger._drain.failures > failures, 20, "refused writes")
    assert run.status().queued > 0
    cluster.restart_together([second, third])
    cluster.wait_synced(3, timeout=60)
    run.committed_more()
    cluster.sync_all()
    run.finish(read_from=on(table, third))


def test_a_node_rejoins_by_ist_while_the_logger_writes(cluster, table, tmp_path):
    _first, _second, third = cluster.nodes
    run = start(table, cluster, tmp_path)
    third.kill()
    run.committed_more()
    third.restart()
    cluster.wait_synced(3, timeout=60)
    assert third.last_state_transfer() == "IST"
    run.committed_more()
    cluster.sync_all()
    run.finish(read_from=on(table, third))
