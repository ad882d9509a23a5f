"""Several database nodes: the logger writes to one, moves to the next when it fails,
and stores every point exactly once across the move.

Two fault proxies stand for two nodes in front of this module's private server (one
server, so the ledger is shared as in a Galera cluster, and every failure is the
proxy's). The Galera cluster itself is exercised in ``test_galera_failover``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer

from ..conftest import ClassicTable, make_classic_table
from .flow import Run, wait_for

pytestmark = pytest.mark.mariadb


@pytest.fixture
def nodes(server: MariaDBServer) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    if not server.running:
        server.restart()
    with FaultProxy(server.host, server.port) as first, FaultProxy(server.host, server.port) as second:
        yield first, second


@pytest.fixture
def table(server: MariaDBServer) -> ClassicTable:
    return make_classic_table(server, "InnoDB", ("ion_gauge", "flow"))


def start(table: ClassicTable, nodes: tuple[FaultProxy, FaultProxy], tmp_path) -> Run:
    first, second = nodes
    host = f"{first.listen_host}:{first.port},{second.listen_host}:{second.port}"
    run = Run(table, first, tmp_path, host=host)
    run.committed_more()
    assert run.status().node == f"{first.listen_host}:{first.port}"
    return run


def moved_to(run: Run, proxy: FaultProxy, since: float) -> float:
    """Wait for commits through ``proxy``'s node; seconds from ``since`` to the first."""
    node = f"{proxy.listen_host}:{proxy.port}"
    wait_for(lambda: run.status().node == node and run.status().connected, 20, f"a move to {node}")
    committed = run.status().committed
    wait_for(lambda: run.status().committed > committed, 20, f"a commit on {node}")
    return time.monotonic() - since


def test_a_node_that_goes_away_is_left_for_the_next(server, nodes, table, tmp_path):
    run = start(table, nodes, tmp_path)
    try:
        fault = time.monotonic()
        nodes[0].close()  # refuses connections from now on, like a killed node
        print(f"fail-over after the node vanished: {moved_to(run, nodes[1], fault):.2f} s")
    finally:
        run.finish()


def test_a_hanging_node_is_left_after_the_time_out(server, nodes, table, tmp_path):
    run = start(table, nodes, tmp_path)
    try:
        fault = time.monotonic()
        nodes[0].hold()  # answers nothing, closes nothing
        print(f"fail-over after the node hung: {moved_to(run, nodes[1], fault):.2f} s")
        assert run.status().timeouts >= 1
    finally:
        nodes[0].release()
        run.finish()


def test_a_lost_commit_answer_is_settled_on_the_next_node(server, nodes, table, tmp_path):
    run = start(table, nodes, tmp_path)
    try:
        reconciled = run.status().reconciled_batches
        nodes[0].cut_after_next("COMMIT")
        assert nodes[0].cut_happened.wait(15), "the cut did not happen"
        moved_to(run, nodes[1], time.monotonic())
        wait_for(lambda: run.status().reconciled_batches > reconciled, 15, "reconciliation")
    finally:
        run.finish()
