"""Tests of the throw-away Galera cluster (tests.support.galera_cluster).

One 3-node cluster serves the module (the session's ``galera`` fixture); each test
that breaks it heals it afterwards.  The times the fail-over work depends on (cluster
start, eviction of a dead or frozen node, rejoin by IST) are printed as ``galera:``
lines, also under ``-q``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from tests.support import galera_cluster
from tests.support.galera_cluster import GaleraCluster, GaleraNode
from tests.support.mariadb_server import MariaDBUnavailable

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER

pytestmark = [pytest.mark.mariadb, pytest.mark.galera]

ER_WSREP_NOT_PREPARED = 1047  # "WSREP has not yet prepared node for application use"
_rows = itertools.count(1)


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """``report(what, seconds)`` prints a measured time past pytest's capture."""

    def _report(what: str, seconds: float) -> None:
        with capsys.disabled():
            print(f"\ngalera: {what}: {seconds:.2f} s", end="")

    return _report


@pytest.fixture
def cluster(galera: GaleraCluster, report: object) -> Iterator[GaleraCluster]:
    """The session's cluster with 3 Synced nodes, healed again after the test."""
    galera.heal()
    yield galera
    report("heal after the test", galera.heal())


def labuser(node: GaleraNode) -> pymysql.connections.Connection:
    """A connection to ``node`` as the logger user, with a causal read session."""
    conn = node.connect(DATABASE, user=LOGGER_USER, password=LOGGER_PASSWORD, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SET SESSION wsrep_sync_wait = 1")
    return conn


def write_row(node: GaleraNode) -> int:
    """Insert a fresh row through ``node``; returns its id."""
    row = next(_rows)
    conn = labuser(node)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY, origin VARCHAR(16)) ENGINE=InnoDB"
            )
            cur.execute("INSERT INTO probe VALUES (%s, %s)", (row, node.name))
    finally:
        conn.close()
    return row


def read_row(node: GaleraNode, row: int) -> tuple[object, ...] | None:
    """Read row ``row`` on ``node`` causally (after everything committed before)."""
    conn = labuser(node)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, origin FROM probe WHERE id = %s", (row,))
            return cur.fetchone()
    finally:
        conn.close()


def processes_using(path: Path) -> list[int]:
    """PIDs whose command line mentions ``path`` (a node left behind would)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(path) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_cluster_forms_three_synced_primary_nodes(cluster: GaleraCluster, report: object) -> None:
    statuses = cluster.statuses()
    assert set(statuses) == {"node1", "node2", "node3"}
    for status in statuses.values():
        assert status is not None and status.synced_primary and status.cluster_size == 3
    ports = [p for n in cluster.nodes for p in (n.port, n.galera_port, n.ist_port, n.sst_port)]
    assert len(set(ports)) == 12
    assert cluster.hosts == ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)
    assert cluster.nodes[0].query("SELECT @@wsrep_on, @@binlog_format")[0] == (1, "ROW")
    assert cluster.start_seconds is not None
    report("cluster start (3 nodes, 2 joined by SST)", cluster.start_seconds)
    for node in cluster.nodes:
        report(f"  {node.name} start", node.start_seconds)


def test_row_written_on_node1_is_read_on_node3(cluster: GaleraCluster) -> None:
    first, _, third = cluster.nodes
    row = write_row(first)
    assert read_row(third, row) == (row, "node1")


def test_kill9_survivors_stay_primary_and_restart_rejoins_by_ist(
    cluster: GaleraCluster, report: object
) -> None:
    victim, *survivors = cluster.nodes  # node1 bootstrapped the cluster: it must rejoin, not bootstrap
    victim.kill()
    assert not victim.running
    report("kill -9: survivors Primary with size 2 after", cluster.wait_synced(2, survivors))
    row = write_row(survivors[0])  # something the victim has to catch up on
    victim.restart()
    assert victim.last_state_transfer() == "IST"
    report("restart after kill -9: Synced by IST in", victim.start_seconds)
    cluster.wait_synced(3)
    assert read_row(victim, row) == (row, survivors[0].name)


def test_sigstop_longer_than_eviction_then_sigcont_rejoins(cluster: GaleraCluster, report: object) -> None:
    *others, frozen = cluster.nodes
    frozen.pause()
    report("SIGSTOP: the others Primary with size 2 after", cluster.wait_synced(2, others))
    assert frozen.paused  # still frozen: it was evicted, not just slow
    row = write_row(others[0])
    frozen.resume()
    report("SIGCONT: 3 nodes Synced again after", cluster.wait_synced(3))
    assert read_row(frozen, row) == (row, others[0].name)


def lose_quorum(cluster: GaleraCluster, report: object) -> tuple[GaleraNode, list[GaleraNode]]:
    """Kill two nodes; return the survivor (checked non-Primary, refusing queries) and them."""
    survivor, *victims = cluster.nodes
    for node in victims:
        node.kill()
    seconds = survivor.wait_for(lambda s: s.cluster_status != "Primary", "non-Primary", timeout=20)
    report("two nodes killed: the survivor non-Primary after", seconds)
    with pytest.raises(pymysql.err.OperationalError) as caught:
        survivor.query("SELECT COUNT(*) FROM probe", database=DATABASE)
    assert caught.value.args[0] == ER_WSREP_NOT_PREPARED
    return survivor, victims


def test_quorum_returns_when_the_killed_nodes_restart_together(
    cluster: GaleraCluster, report: object
) -> None:
    survivor, victims = lose_quorum(cluster, report)
    report("both killed nodes restarted together: Synced in", cluster.restart_together(victims))
    cluster.wait_synced(3)
    row = write_row(survivor)
    assert read_row(victims[0], row) == (row, survivor.name)


def test_quorum_loss_and_pc_bootstrap(cluster: GaleraCluster, report: object) -> None:
    survivor, victims = lose_quorum(cluster, report)
    survivor.bootstrap_primary()
    report("pc.bootstrap=YES: Primary with size 1 after", cluster.wait_synced(1, [survivor]))
    row = write_row(survivor)
    report("then the two killed nodes restarted one after the other: 3 Synced after", cluster.heal())
    assert all(node.last_state_transfer() == "IST" for node in victims)
    assert read_row(victims[-1], row) == (row, survivor.name)


def test_cluster_teardown_leaves_no_process_or_directory() -> None:
    seen: list[Path] = []

    def fail_inside_the_cluster() -> None:
        with GaleraCluster(size=1) as small:
            seen.append(small.basedir)
            pid = small.nodes[0].pid
            assert pid is not None and processes_using(small.basedir) == [pid]
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside_the_cluster()
    (basedir,) = seen
    assert not basedir.exists()
    assert processes_using(basedir) == []


def test_forgotten_cluster_is_removed_at_interpreter_exit() -> None:
    """A script that never calls cleanup() leaves no mariadbd and no directory."""
    script = textwrap.dedent(
        """
        from tests.support.galera_cluster import GaleraCluster
        cluster = GaleraCluster(size=1)
        cluster.start()
        print(cluster.nodes[0].pid, cluster.basedir, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    pid_text, basedir_text = done.stdout.split()
    basedir = Path(basedir_text)
    leftovers = processes_using(basedir)
    for pid in leftovers:
        os.kill(pid, 9)
    assert leftovers == [] and not Path(f"/proc/{pid_text}").exists()
    assert not basedir.exists()


def test_failed_start_reports_the_log_and_leaves_nothing() -> None:
    bad = GaleraCluster(size=2, extra_args=["--no-such-option-at-all"])
    with pytest.raises(MariaDBUnavailable, match="no-such-option-at-all"):
        with bad:
            pass  # pragma: no cover - start fails
    assert not bad.basedir.exists()
    assert processes_using(bad.basedir) == []


def test_missing_provider_without_root_fails_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(galera_cluster, "PROVIDER", Path("/nonexistent/libgalera_smm.so"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(MariaDBUnavailable, match=r"libgalera_smm\.so.*galera-4"):
        galera_cluster.ensure_galera_installed()
