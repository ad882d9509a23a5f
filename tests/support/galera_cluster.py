"""A throw-away MariaDB Galera cluster on loopback for tests and benchmarks.

Why: fail-over tests need a real multi-master cluster whose nodes can be crashed
(SIGKILL), frozen (SIGSTOP/SIGCONT) and restarted on the same data directory and
ports, so that a restarted node rejoins by incremental state transfer (IST) as a
production node would.  Each node is a :class:`~.mariadb_server.MariaDBServer`
with the wsrep options added, run as the ``mysql`` user (the rsync state transfer
fails in root-owned directories), in its own folder under one temporary directory.

The Galera time-outs are shortened (see :data:`FAST_FAILURE_DETECTION`) so that a
dead or frozen node is evicted in about 2-3 s instead of the default 5-15 s.

Typical use::

    with GaleraCluster(size=3) as cluster:
        cluster.create_database("loggertest")
        cluster.create_user("labuser", "secret", "loggertest")
        cluster.nodes[0].kill()
        cluster.wait_synced(2)            # the two others stay Primary
        cluster.nodes[0].restart()        # rejoins by IST
        cluster.wait_synced(3)
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from .mariadb_server import (
    MariaDBServer,
    MariaDBUnavailable,
    StartedInWith,
    _kill_leftover,
    _read_tail,
    ensure_mariadb_installed,
    free_port,
    install_packages,
)

LOG = logging.getLogger(__name__)

#: The Galera 4 provider as Debian's ``galera-4`` package installs it.
PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
_GALERA_PACKAGES = ("galera-4", "rsync")

#: Failure detection in ~0.5-0.8 s on loopback (defaults: keepalive 1 s, suspect 5 s,
#: inactive 15 s, install 7.5 s, wait_prim 30 s), so that a logger's fail-over after a
#: kill -9 takes less than a second (benchmarks/failover.py; docs/capacity.rst).  Galera
#: 26.4 checks the ranges at start-up: install_timeout must lie in
#: [inactive_check_period, inactive_timeout) ("out of range" and the node aborts), and
#: keepalive_period < suspect_timeout < inactive_timeout is the documented order.
FAST_FAILURE_DETECTION: dict[str, str] = {
    "evs.keepalive_period": "PT0.1S",  # heartbeat on an idle link
    "evs.inactive_check_period": "PT0.1S",  # how often peers' silence is checked
    "evs.suspect_timeout": "PT0.5S",  # silence after which a peer is suspected (evicted by consensus)
    "evs.inactive_timeout": "PT1S",  # silence after which a peer is dropped without consensus
    "evs.install_timeout": "PT0.9S",  # how long to wait for a new view's install messages
    "evs.join_retrans_period": "PT0.2S",  # resend join messages sooner while views form
    "pc.wait_prim_timeout": "PT10S",  # a starting node that finds no Primary gives up after this
    "gcache.size": "64M",  # preallocated per node; enough for IST after a short outage
}

_POLL_INTERVAL = 0.1
_STATUS_TIMEOUTS: dict[str, Any] = {"connect_timeout": 1, "read_timeout": 2, "write_timeout": 2}
_STATUS_SQL = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', "
    "'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_ready', 'wsrep_last_committed')"
)


class GaleraError(MariaDBUnavailable):
    """The cluster cannot be set up, or did not reach the wanted state in time."""


def ensure_galera_installed() -> None:
    """Make sure MariaDB, the Galera 4 provider and rsync (the state transfer) exist.

    ``galera-4`` comes with ``mariadb-server`` on Debian; when the provider or rsync
    is missing and we are root, install them with apt-get, otherwise raise
    :class:`~.mariadb_server.MariaDBUnavailable` with the reason.
    """
    ensure_mariadb_installed()
    missing = [str(PROVIDER)] if not PROVIDER.is_file() else []
    missing += ["rsync"] if shutil.which("rsync") is None else []
    if missing:
        install_packages(_GALERA_PACKAGES, missing)
    if not PROVIDER.is_file():
        raise GaleraError(f"{' '.join(_GALERA_PACKAGES)} installed but {PROVIDER} is still missing")


@dataclass(frozen=True)
class WsrepStatus:
    """What a node says about itself and its cluster (SHOW GLOBAL STATUS wsrep_*)."""

    cluster_status: str  # Primary, non-Primary, Disconnected
    local_state: str  # Synced, Donor/Desynced, Joining, Joined, Initialized, ...
    cluster_size: int
    ready: bool  # accepts queries (wsrep_ready)
    last_committed: int

    @property
    def synced_primary(self) -> bool:
        """True when the node serves reads and writes in a Primary component."""
        return self.cluster_status == "Primary" and self.local_state == "Synced" and self.ready


class GaleraNode(MariaDBServer):
    """One Galera node: a MariaDBServer with wsrep options, its own Galera, IST and
    SST ports on 127.0.0.1, run as ``run_as`` (``mysql``) when we are root.

    :meth:`start` returns once the node is Synced in a Primary component; the
    inherited :meth:`kill`, :meth:`pause`, :meth:`resume` and :meth:`restart` work
    on the node's own mariadbd (a restart rejoins the cluster by IST or SST).
    """

    def __init__(
        self,
        name: str,
        basedir: Path,
        peers: Callable[[], Sequence[str]],
        cluster_name: str,
        provider_options: Mapping[str, str],
        extra_args: Sequence[str] = (),
        run_as: str | None = "mysql",
    ) -> None:
        super().__init__(basedir, extra_args=extra_args, run_as=run_as)
        self.name = name
        taken = {self.port}
        self.galera_port, self.ist_port, self.sst_port = (_unique_port(taken) for _ in range(3))
        self._peers = peers
        self.cluster_name = cluster_name
        self.provider_options = dict(provider_options)
        self._bootstrap = False
        self._start_position: str | None = None
        self._log_offset = 0

    def __repr__(self) -> str:
        return f"<GaleraNode {self.name} {self.host}:{self.port} pid={self.pid}>"

    @property
    def address(self) -> str:
        """``host:port`` of the node's SQL port."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 60.0, bootstrap: bool = False) -> None:
        """Start mariadbd and wait until the node is Synced in a Primary component.

        ``bootstrap`` starts a new cluster (``--wsrep-new-cluster``), for the first
        node only; otherwise the node joins its peers (SST the first time, IST after
        a restart when the donor's gcache still holds what it missed).
        """
        began = time.monotonic()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._bootstrap = bootstrap
        try:
            super().start(timeout)
        finally:
            self._bootstrap = False
        self.wait_for(
            lambda s: s.synced_primary, "Synced in a Primary component", began + timeout - time.monotonic()
        )
        self.start_seconds = time.monotonic() - began
        LOG.info("Galera node %s Synced after %.2f s", self.name, self.start_seconds)

    def status(self) -> WsrepStatus | None:
        """The node's wsrep status, or None when it does not answer within ~2 s."""
        if not self.running or self.paused:
            return None
        try:
            conn = self.connect(autocommit=True, **_STATUS_TIMEOUTS)
        except pymysql.err.MySQLError:
            return None
        try:
            with conn.cursor() as cur:
                cur.execute(_STATUS_SQL)
                values = dict(cur.fetchall())
        except pymysql.err.MySQLError:
            return None
        finally:
            conn.close()
        return WsrepStatus(
            cluster_status=values.get("wsrep_cluster_status", ""),
            local_state=values.get("wsrep_local_state_comment", ""),
            cluster_size=int(values.get("wsrep_cluster_size") or 0),
            ready=values.get("wsrep_ready") == "ON",
            last_committed=int(values.get("wsrep_last_committed") or -1),
        )

    def wait_for(self, condition: Callable[[WsrepStatus], bool], what: str, timeout: float = 30.0) -> float:
        """Poll :meth:`status` until ``condition`` holds; return the seconds it took.

        Raises :class:`GaleraError` (with the last status and the log's tail) when
        the deadline passes or the process exits.
        """
        began = time.monotonic()
        deadline = began + max(timeout, 0.0)
        last: WsrepStatus | None = None
        while True:
            if not self.running:
                raise GaleraError(
                    f"node {self.name} exited while waiting to be {what}; log:\n{self.log_tail()}"
                )
            last = self.status()
            if last is not None and condition(last):
                return time.monotonic() - began
            if time.monotonic() >= deadline:
                raise GaleraError(
                    f"node {self.name} not {what} within {timeout:.1f} s (last status {last}); "
                    f"log:\n{self.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)

    def log_since_start(self) -> str:
        """The error log written since the last :meth:`start` (e.g. to tell IST from SST)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def last_state_transfer(self) -> str | None:
        """How the last :meth:`start` got its data: "SST" (full copy by rsync), "IST"
        (the missed write-sets from a donor's gcache) or None (bootstrap, or no
        transfer logged)."""
        text = self.log_since_start()
        if "rsync SST completed" in text:
            return "SST"
        if "IST received" in text:
            return "IST"
        return None

    def log_tail(self) -> str:
        """The last lines of the node's error log."""
        return _read_tail(self.log_path)

    def bootstrap_primary(self) -> None:
        """Declare this node's component Primary (``pc.bootstrap=YES``): the operator's
        way out when a partition lost quorum and the missing nodes are not coming back."""
        LOG.warning("pc.bootstrap=YES on Galera node %s", self.name)
        self.query("SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'")

    def allow_bootstrap(self) -> None:
        """Mark the node's saved state safe to bootstrap from (after all nodes were
        killed Galera refuses ``--wsrep-new-cluster`` until an operator does this)."""
        grastate = self.datadir / "grastate.dat"
        if grastate.exists():
            text = re.sub(r"safe_to_bootstrap:\s*0", "safe_to_bootstrap: 1", grastate.read_text())
            grastate.write_text(text)

    # -- MariaDBServer hooks -----------------------------------------------

    def _server_args(self) -> list[str]:
        options = {
            "base_port": str(self.galera_port),
            "gmcast.listen_addr": f"tcp://{self.host}:{self.galera_port}",
            "ist.recv_addr": f"{self.host}:{self.ist_port}",
            **self.provider_options,
        }
        args = [
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            f"--wsrep-cluster-name={self.cluster_name}",
            f"--wsrep-cluster-address=gcomm://{','.join(self._peers())}",
            f"--wsrep-node-name={self.name}",
            f"--wsrep-node-address={self.host}:{self.galera_port}",
            f"--wsrep-node-incoming-address={self.host}:{self.port}",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address={self.host}:{self.sst_port}",
            "--wsrep-provider-options=" + ";".join(f"{k}={v}" for k, v in options.items()),
            "--binlog-format=ROW",  # Galera replicates row events only
            "--innodb-autoinc-lock-mode=2",  # interleaved: required by Galera
            "--default-storage-engine=InnoDB",  # Galera replicates InnoDB only
            "--innodb-buffer-pool-size=64M",  # three servers on a small test machine
        ]
        if self._bootstrap:
            args.append("--wsrep-new-cluster")
        if self._start_position is not None:
            args.append(f"--wsrep-start-position={self._start_position}")
        return args + super()._server_args()

    def _prepare_datadir(self) -> None:
        """System tables for the bootstrap node only; a joiner gets its data by SST.
        After a crash, recover the node's position so that it can rejoin by IST."""
        self._start_position = None
        if self._bootstrap:
            super()._prepare_datadir()
        else:
            self.datadir.mkdir(parents=True, exist_ok=True)
        if (self.datadir / "grastate.dat").exists() and _saved_seqno(self) == -1:
            self._start_position = self._recover_position()

    def _recover_position(self) -> str | None:
        """Ask InnoDB for the last applied write-set (``mariadbd --wsrep-recover``), as
        mariadbd-safe and the systemd unit do: a killed node's grastate.dat says
        seqno -1, and without the position a restart would take a full SST."""
        recover_log = self.basedir / "wsrep-recover.err"
        recover_log.unlink(missing_ok=True)
        command = [*self._command(), "--wsrep-recover", f"--log-error={recover_log}"]
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        text = _read_tail(recover_log, 200)
        match = re.search(r"Recovered position:\s*([0-9a-f-]{36}:-?\d+)", text)
        if result.returncode != 0 or match is None:
            LOG.warning(
                "node %s: --wsrep-recover found no position (code %d); it will rejoin by SST:\n%s",
                self.name,
                result.returncode,
                _read_tail(recover_log, 10),
            )
            return None
        LOG.info("node %s recovered position %s", self.name, match.group(1))
        return match.group(1)


def _unique_port(taken: set[int]) -> int:
    """A free port not yet handed out in ``taken`` (which it joins)."""
    while True:
        port = free_port()
        if port not in taken:
            taken.add(port)
            return port


class GaleraCluster(StartedInWith):
    """``size`` Galera nodes on 127.0.0.1 under one temporary directory.

    :meth:`start` bootstraps the first node and starts the others one after the
    other; :meth:`cleanup` stops them all and deletes the directory (also after a
    failed start; a finalizer kills nodes of a forgotten cluster at exit).
    ``provider_options`` are added to (and override) :data:`FAST_FAILURE_DETECTION`.
    """

    def __init__(
        self,
        size: int = 3,
        basedir: Path | None = None,
        provider_options: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        run_as: str | None = "mysql",
        cluster_name: str = "pyexplabsys_test",
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self._owns_basedir = basedir is None
        self.basedir = Path(tempfile.mkdtemp(prefix="galera-")) if basedir is None else Path(basedir)
        self.basedir.mkdir(parents=True, exist_ok=True)
        self.basedir.chmod(0o755)  # the nodes' user must reach its own folder
        options = {**FAST_FAILURE_DETECTION, **(provider_options or {})}
        self.nodes: list[GaleraNode] = [
            GaleraNode(
                f"node{i + 1}",
                self.basedir / f"node{i + 1}",
                self._peer_addresses,
                cluster_name,
                options,
                extra_args=extra_args,
                run_as=run_as,
            )
            for i in range(size)
        ]
        self.start_seconds: float | None = None
        # A cluster nobody cleaned up is killed and deleted at interpreter exit
        # (this runs before the nodes' own finalizers: reverse order of creation).
        self._finalizer = weakref.finalize(
            self,
            _remove_leftovers,
            [node._procs for node in self.nodes],
            self.basedir if self._owns_basedir else None,
        )

    @property
    def hosts(self) -> str:
        """The nodes' SQL addresses as ``127.0.0.1:p1,127.0.0.1:p2,...`` (node order)."""
        return ",".join(node.address for node in self.nodes)

    def start(self, timeout: float = 120.0) -> float:
        """Bootstrap node 1, drop the anonymous users, start the others one after the
        other, and wait until all are Synced in one Primary component; returns (and
        keeps in ``start_seconds``) the seconds it took."""
        ensure_galera_installed()
        self._check_run_as()
        began = time.monotonic()
        deadline = began + timeout
        first, *others = self.nodes
        first.start(timeout, bootstrap=True)
        # mariadb-install-db makes ''@localhost (and ''@hostname): a TCP login as
        # user@127.0.0.1 then fails with 1045 until they are gone.
        for (host,) in first.query("SELECT Host FROM mysql.global_priv WHERE User = ''"):
            first.query("DROP USER ''@%s", (host,))
        for node in others:
            node.start(deadline - time.monotonic())
        self.wait_synced(len(self.nodes), timeout=deadline - time.monotonic())
        self.start_seconds = time.monotonic() - began
        LOG.info(
            "Galera cluster of %d nodes up in %.2f s: %s", len(self.nodes), self.start_seconds, self.hosts
        )
        return self.start_seconds

    def live_nodes(self) -> list[GaleraNode]:
        """Nodes whose process runs and is not paused."""
        return [node for node in self.nodes if node.running and not node.paused]

    def statuses(self) -> dict[str, WsrepStatus | None]:
        """Each node's wsrep status by name (None: not running, paused or not answering)."""
        return {node.name: node.status() for node in self.nodes}

    def wait_synced(
        self, size: int | None = None, nodes: Sequence[GaleraNode] | None = None, timeout: float = 60.0
    ) -> float:
        """Poll until each of ``nodes`` (default: the live ones) is Synced in a Primary
        component of ``size`` nodes (default: as many as were given); returns the
        seconds it took, raises :class:`GaleraError` after ``timeout``."""
        nodes = list(nodes) if nodes is not None else self.live_nodes()
        size = len(nodes) if size is None else size
        if not nodes:
            raise GaleraError("no live node to wait for")
        began = time.monotonic()
        deadline = began + max(timeout, 0.0)
        while True:
            found = {node.name: node.status() for node in nodes}
            if all(s is not None and s.synced_primary and s.cluster_size == size for s in found.values()):
                return time.monotonic() - began
            if time.monotonic() >= deadline:
                tails = "\n".join(f"--- {n.name}:\n{n.log_tail()}" for n in nodes)
                raise GaleraError(f"not {size} nodes Synced/Primary within {timeout:.1f} s: {found}\n{tails}")
            time.sleep(_POLL_INTERVAL)

    def primary_node(self) -> GaleraNode:
        """A live node that is Synced in a Primary component (first in node order)."""
        for node in self.live_nodes():
            status = node.status()
            if status is not None and status.synced_primary:
                return node
        raise GaleraError(f"no node is Synced in a Primary component: {self.statuses()}")

    def query(self, sql: str, args: Any = None, database: str | None = None) -> tuple[tuple[Any, ...], ...]:
        """Run one statement on a healthy node (DDL and grants replicate to all)."""
        return self.primary_node().query(sql, args, database)

    def create_database(self, name: str) -> None:
        """CREATE DATABASE IF NOT EXISTS ``name``, seen by every live node on return."""
        self.primary_node().create_database(name)
        self.sync_all()

    def create_user(
        self, user: str, password: str, database: str, hosts: Sequence[str] = ("127.0.0.1", "localhost")
    ) -> None:
        """Create ``user`` with ``password`` for each of ``hosts`` and GRANT ALL on
        ``database``; every live node knows the user when this returns."""
        node = self.primary_node()
        quoted_db = database.replace("`", "``")
        for host in hosts:
            node.query("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
            node.query(f"GRANT ALL ON `{quoted_db}`.* TO %s@%s", (user, host))
        self.sync_all()
        LOG.info("Galera user %s created for %s on database %s", user, ", ".join(hosts), database)

    def sync_all(self) -> None:
        """Causal read on every live node: return once each has applied everything
        committed in the cluster so far (``wsrep_sync_wait=1``)."""
        for node in self.live_nodes():
            conn = node.connect(autocommit=True)
            try:
                with conn.cursor() as cur:
                    cur.execute("SET SESSION wsrep_sync_wait = 1")
                    cur.execute("SELECT COUNT(*) FROM mysql.global_priv")
            finally:
                conn.close()

    def heal(self, timeout: float = 90.0) -> float:
        """Bring all nodes back (SIGCONT the paused, restart the dead one after the
        other, bootstrap a Primary component when none is left) and wait until all
        are Synced; returns the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        for node in self.nodes:
            if node.paused:
                node.resume()
        alive = [node for node in self.nodes if node.running]
        if not alive:
            first = max(self.nodes, key=_saved_seqno)
            first.allow_bootstrap()
            first.start(deadline - time.monotonic(), bootstrap=True)
        elif not self._some_primary(alive, deadline):
            best = max(alive, key=lambda n: (n.status() or WsrepStatus("", "", 0, False, -1)).last_committed)
            best.bootstrap_primary()
        for node in self.nodes:
            if not node.running:
                node.start(deadline - time.monotonic())
        self.wait_synced(len(self.nodes), timeout=deadline - time.monotonic())
        return time.monotonic() - began

    def restart_together(self, nodes: Sequence[GaleraNode], timeout: float = 60.0) -> float:
        """Restart ``nodes`` at the same time and wait until each is Synced; returns
        the seconds it took.  This is how a component that lost quorum gets it back
        without ``pc.bootstrap``: one killed node restarted alone next to a
        non-Primary survivor stays outside a Primary component (and its start times
        out), while all missing members of the last Primary component back at once
        restore it."""
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(len(nodes), 1)) as pool:
            list(pool.map(lambda node: node.restart(timeout), nodes))
        return time.monotonic() - began

    def stop(self) -> None:
        """Stop all nodes at once (SIGTERM each; a node that ignores it is killed)."""
        running = [node for node in self.nodes if node.running]
        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                list(pool.map(lambda node: node.stop(), running))

    def cleanup(self) -> None:
        """Stop every node and delete the cluster's directory (if we made it)."""
        try:
            self.stop()
        finally:
            for node in self.nodes:
                node.kill()
                node.cleanup()
            self._finalizer()  # deletes the directory (if ours) once

    def _check_run_as(self) -> None:
        """As root the nodes must run as another user (rsync SST fails in root-owned
        directories): say so clearly when that user does not exist."""
        user = self.nodes[0].run_as
        if os.geteuid() != 0 or user in (None, "root"):
            return
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise GaleraError(
                f"the Galera nodes should run as user {user!r}, which does not exist "
                "(Debian's mariadb-server package creates 'mysql')"
            ) from None

    def _peer_addresses(self) -> list[str]:
        return [f"{node.host}:{node.galera_port}" for node in self.nodes]

    def _some_primary(self, nodes: Sequence[GaleraNode], deadline: float) -> bool:
        """Wait (at most until ``deadline`` or ~2 inactive time-outs) for any node in a
        Primary component; False when the survivors stay non-Primary."""
        give_up = min(deadline, time.monotonic() + 8.0)
        while time.monotonic() < give_up:
            for node in nodes:
                status = node.status()
                if status is not None and status.cluster_status == "Primary":
                    return True
            time.sleep(_POLL_INTERVAL)
        return False


def _remove_leftovers(procs: list[list[subprocess.Popen[bytes]]], basedir: Path | None) -> None:
    """Finalizer: kill the nodes' processes, then delete the cluster's directory."""
    for holder in procs:
        _kill_leftover(holder)
    if basedir is not None:
        shutil.rmtree(basedir, ignore_errors=True)


def _saved_seqno(node: GaleraNode) -> int:
    """The seqno in a stopped node's grastate.dat (-1 when unknown or after a crash)."""
    try:
        match = re.search(r"seqno:\s*(-?\d+)", (node.datadir / "grastate.dat").read_text())
    except OSError:
        return -1
    return int(match.group(1)) if match else -1


__all__ = [
    "FAST_FAILURE_DETECTION",
    "GaleraCluster",
    "GaleraError",
    "GaleraNode",
    "WsrepStatus",
    "ensure_galera_installed",
]
