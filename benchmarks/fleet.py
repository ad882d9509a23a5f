"""A fleet of lab PCs logging into one database server, and into a Galera cluster.

Each lab PC is a separate Python process running a ContinuousLogger with ``--codenames``
codenames, enqueueing one sweep of all of them ``--rate`` times a second (the way a lab
PC reads its instruments). The fleet writes for ``--seconds`` into (a) one throw-away
MariaDB and (b) a throw-away 3-node Galera cluster whose node in use is killed (kill -9)
half-way; the loggers fail over to the next node by themselves. The killed node is
restarted after the run has drained (outside the measured window; it rejoins by IST) so
that the next run starts with three nodes again. Each server is measured with the
default BatchPolicy.flush_interval (the latency budget; that run comes first and is
labelled "default") and with a larger one, or with those given (``--flush-intervals``).

Printed per run, all measured in that run: points committed per second, commits per
second (the loggers' ``status().batches``; Com_commit of the single server next to it),
the server's CPU time per 1,000 points (utime + stime of the mariadbd process(es) from
/proc, summed over the three nodes of the cluster) next to LOAD DATA LOCAL INFILE's for
the same rows (in one transaction, the yardstick, and in pieces of the run's points per
commit, each committed: LOAD DATA at the logger's cadence), enqueue-to-commit time
(p50/p99/max: per point from the children's own polling every 10 ms, and per batch from
``status()``), connections held (Threads_connected), and lost and duplicated points,
counted exactly from the table: each value encodes (PC, sequence number). Stored time
stamps are compared with the enqueue times. Asserts nothing.

Of the single server also: its CPU per COMMIT and its SHOW GLOBAL STATUS counters per
COMMIT (statements, handler calls, redo-log writes and syncs: what the loggers send it
per batch), and, over runs of different flush intervals, a fit of its CPU per commit as
a fixed price per commit plus a price per row. ``--perf DIR`` records the server with
``perf`` during each run and splits its CPU by what it was doing (perfsplit.py), per
commit and in the fit. ``--pin`` runs the server on CPU 0 and the lab PCs on the other
CPUs, so that the server's caches are its own, as on a server of its own.

    python benchmarks/fleet.py [--pcs 50] [--rate 10] [--seconds 30] [--quick]
    python benchmarks/fleet.py --only single --flush-intervals 0.25,0.5,2 --perf /tmp/perf

Children report through their stdout, one JSON object a line; the parent gives each its
settings on stdin, waits until each is connected, then gives the common start time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loaddata import cpu_seconds, load_data_rate, prepare_table
from perfsplit import fit, split

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import BatchPolicy, Timeouts
from tests.support.galera_cluster import GaleraCluster
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

USER = "fleet"
PASSWORD = "fleet-Passw0rd"
#: A value is PC * SEQ_SPAN + sequence number: exact in a double, decoded from the table.
SEQ_SPAN = 10_000_000
#: The library's time-outs, as a lab PC has them (``--timeout`` overrides read, write and
#: query). Galera stalls writes on the survivors until it has evicted a killed node
#: (~0.7 s with the test cluster's failure detection, ~2 s with Galera's slower
#: settings); time-outs shorter than that make PCs leave the healthy node too, spreading
#: the fleet over two nodes, where their commits conflict (1213).
TIMEOUTS = Timeouts()
#: How often a child checks what has been committed (the resolution of its latencies).
POLL = 0.01
#: How often the parent samples Threads_connected and the servers' CPU.
SAMPLE = 0.5
DEFAULT_FLUSH_INTERVALS = (BatchPolicy().flush_interval, 1.0)


@dataclass
class Target:
    """Where the fleet logs: the server processes (one, or a cluster's nodes), the host
    list the loggers are given, and a login allowed to write to ``database``."""

    nodes: Sequence[MariaDBServer]
    hosts: str
    database: str
    user: str = USER
    password: str = PASSWORD
    #: Galera: waits until every live node has applied everything (before counting).
    sync: Callable[[], None] = lambda: None


@dataclass
class FleetOptions:
    pcs: int = 50
    rate: float = 10.0
    codenames: int = 10
    seconds: float = 30.0
    flush_interval: float = DEFAULT_FLUSH_INTERVALS[0]
    timeout: float = TIMEOUTS.query  # read, write and query time-outs of the loggers
    per_process: int = 1  # lab PCs (loggers, each with its connection and thread) per process
    perf: str = ""  # a folder: perf record of the single server per run (--perf)
    pin: bool = False  # the single server on CPU 0, the lab PCs on the others (--pin)

    def timeouts(self) -> Timeouts:
        return dataclasses.replace(TIMEOUTS, read=self.timeout, write=self.timeout, query=self.timeout)


@dataclass
class FleetResult:
    """The figures of one run (see the module docstring)."""

    label: str
    options: FleetOptions
    sent: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_type: int = 0
    time_error_max: float = 0.0  # seconds, |stored time stamp - enqueue time|
    window: float = 0.0  # go to last commit, seconds
    batches: int = 0
    com_commit: int | None = None
    #: The single server's SHOW GLOBAL STATUS deltas over the run (STATUS_KEYS).
    status: dict[str, int] = field(default_factory=dict)
    #: --perf: the single server's CPU by category (perfsplit.split), shares.
    perf: dict[str, float] = field(default_factory=dict)
    server_cpu: float = 0.0
    load_data_cpu: float = 0.0
    load_data_rate: float = 0.0
    #: LOAD DATA in pieces of the run's points per commit, each committed
    load_data_batched_cpu: float = 0.0
    latency_point: tuple[float, float, float] = (0.0, 0.0, 0.0)
    latency_batch: tuple[float, float, float] = (0.0, 0.0, 0.0)
    threads_connected: list[int] = field(default_factory=list)
    reconnects: int = 0
    failover: list[float] = field(default_factory=list)  # per PC: kill to first commit elsewhere
    notes: list[str] = field(default_factory=list)
    delivered_all: bool = True

    @property
    def points_per_s(self) -> float:
        return self.stored / self.window if self.window else 0.0

    @property
    def commits_per_s(self) -> float:
        return self.batches / self.window if self.window else 0.0

    def cpu_per_1000(self, cpu: float) -> float:
        return cpu / self.sent * 1000 if self.sent else 0.0

    @property
    def cpu_per_commit(self) -> float | None:
        """The single server's CPU µs per COMMIT it counted."""
        return self.server_cpu / self.com_commit * 1e6 if self.com_commit else None

    @property
    def rows_per_commit(self) -> float | None:
        """Rows the single server wrote per COMMIT (the points and the ledger row)."""
        commits = self.status.get("Com_commit")
        return self.status["Handler_write"] / commits if commits and "Handler_write" in self.status else None


# -- a lab PC (child process) -----------------------------------------------------------


def codenames_of(pc: int, count: int) -> list[str]:
    return [f"fleet_pc{pc:03d}_{n}" for n in range(count)]


def emit(message: dict[str, Any]) -> None:
    """One JSON line to the parent."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class LabPC:
    """One lab PC inside a child process: its logger (own connection and drain thread),
    what it enqueued and when each point was seen committed."""

    def __init__(self, pc: int, spec: dict[str, Any]) -> None:
        self.pc = pc
        self.codenames = codenames_of(pc, spec["codenames"])
        self.logger = ContinuousLogger(
            spec["table"],
            spec["user"],
            spec["password"],
            self.codenames,
            host=spec["hosts"],
            database=spec["database"],
            batch=BatchPolicy(flush_interval=spec["flush_interval"]),
            timeouts=Timeouts(**spec["timeouts"]),
            dead_letter_path=Path(tempfile.gettempdir()) / f"fleet-dead-letters-{spec['table']}-{pc}.jsonl",
        )
        self.logger.start()
        self.first_node = self.logger.backend.current_node()
        self.drain = self.logger._drain  # the committed count without status(), which sorts its window
        self.times: list[float] = []
        self.latencies: list[float] = []
        self.moved_at: float | None = None

    def sweep(self) -> None:
        base = self.pc * SEQ_SPAN + len(self.times)
        for offset, codename in enumerate(self.codenames):
            self.times.append(self.logger.enqueue_point_now(codename, float(base + offset)))

    def note_commits(self, kill_at: float | None) -> None:
        """Points are committed in order: the first ``committed`` are done by now."""
        committed = self.drain.committed
        if committed > len(self.latencies):
            now = time.time()
            self.latencies.extend(now - t for t in self.times[len(self.latencies) : committed])
            if (
                self.moved_at is None
                and kill_at is not None
                and now > kill_at
                and self.logger.backend.current_node() != self.first_node
            ):
                self.moved_at = now

    def report(self, start: float, kill_at: float | None) -> dict[str, Any]:
        status = self.logger.status()
        report = self.logger.stop(timeout=30)
        return {
            "done": self.pc,
            "start": start,
            "times_us": [round((t - start) * 1e6) for t in self.times],
            "latencies_ms": [round(x * 1000, 1) for x in self.latencies],
            "batches": status.batches,
            "committed": status.committed,
            "reconnects": status.reconnects,
            "last_commit_time": status.last_commit_time,
            "latency_batch": [
                status.commit_latency_p50,
                status.commit_latency_p99,
                status.commit_latency_max,
            ],
            "moved_after": None if self.moved_at is None or kill_at is None else self.moved_at - kill_at,
            "node": status.node,
            "delivered_all": report.delivered_all,
        }


def child_main(spec: dict[str, Any]) -> None:
    """Run one process's lab PCs (``spec["pcs"]``, each its own logger): connect, wait
    for the start time, log a sweep of all codenames ``rate`` times a second until the
    end, wait until all is committed, report one line per PC."""
    # fail-over warnings x 50 PCs would drown the figures (FLEET_LOG=WARNING shows them)
    logging.basicConfig(
        level=os.environ.get("FLEET_LOG", "ERROR"), format=f"PCs {spec['pcs']} %(asctime)s %(message)s"
    )
    pcs = [LabPC(pc, spec) for pc in spec["pcs"]]
    emit({"ready": spec["pcs"], "node": pcs[0].first_node})
    go = json.loads(sys.stdin.readline())
    start, end, kill_at = go["start"], go["start"] + go["seconds"], go.get("kill_at")
    period = 1.0 / spec["rate"]
    sweeps = 0
    time.sleep(max(0.0, start - time.time()))
    while (now := time.time()) < end:
        while start + sweeps * period <= now:  # a late sweep is caught up, not skipped
            for lab_pc in pcs:
                lab_pc.sweep()
            sweeps += 1
        for lab_pc in pcs:
            lab_pc.note_commits(kill_at)
        time.sleep(max(0.0, min(POLL, start + sweeps * period - time.time())))
    deadline = time.monotonic() + 120
    while any(len(p.latencies) < len(p.times) for p in pcs) and time.monotonic() < deadline:
        for lab_pc in pcs:
            lab_pc.note_commits(kill_at)
        time.sleep(POLL)
    for lab_pc in pcs:
        emit(lab_pc.report(start, kill_at))


# -- the parent ---------------------------------------------------------------------------


class ServerSampler:
    """Samples the servers' CPU (per process id, so a killed or restarted node's share
    is kept) and Threads_connected (summed over the live nodes) in a thread."""

    def __init__(self, nodes: Sequence[MariaDBServer]) -> None:
        self.nodes = nodes
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.threads_connected: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def cpu(self, new_processes_from_zero: bool = True) -> None:
        """Take a CPU sample now (e.g. just before a kill)."""
        for node in self.nodes:
            pid = node.pid
            used = None if pid is None else cpu_seconds(pid)
            if pid is not None and used is not None:
                self.first.setdefault(pid, 0.0 if new_processes_from_zero else used)
                self.last[pid] = used

    def cpu_used(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)

    def start(self) -> None:
        self.cpu(new_processes_from_zero=False)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the CPU seconds the servers used since :meth:`start`."""
        self._stop.set()
        self._thread.join()
        self.cpu()
        return self.cpu_used()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE):
            self.cpu()
            connected = 0
            for node in self.nodes:
                if node.running and not node.paused:
                    try:
                        # minus the sampling connection itself
                        connected += int(node.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'")[0][1]) - 1
                    except Exception:  # a node dying under the sampler: skip this sample
                        pass
            self.threads_connected.append(connected)


#: Server counters printed per commit (single server): what each commit costs it.
STATUS_KEYS = (
    "Com_commit",
    "Com_insert",
    "Com_select",
    "Com_set_option",
    "Com_rollback",
    "Com_delete",
    "Questions",
    "Handler_commit",
    "Handler_write",
    "Innodb_log_writes",
    "Innodb_os_log_written",
    "Innodb_data_fsyncs",
    "Bytes_received",
    "Connections",
)


def server_status(node: MariaDBServer) -> dict[str, int]:
    """The counters of STATUS_KEYS now."""
    rows = node.query("SHOW GLOBAL STATUS")
    return {str(name): int(value) for name, value in rows if name in STATUS_KEYS}


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, 99th percentile, maximum), 0s for no values."""
    ordered = sorted(values)
    if not ordered:
        return (0.0, 0.0, 0.0)
    return (ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], ordered[-1])


def groups(options: FleetOptions) -> list[list[int]]:
    """The lab PCs of each child process (``per_process`` of them)."""
    every = range(options.pcs)
    return [list(every[i : i + options.per_process]) for i in range(0, options.pcs, options.per_process)]


def start_children(target: Target, table: str, options: FleetOptions) -> list[subprocess.Popen[str]]:
    children = []
    for pcs in groups(options):
        spec = {
            "pcs": pcs,
            "table": table,
            "user": target.user,
            "password": target.password,
            "hosts": target.hosts,
            "database": target.database,
            "codenames": options.codenames,
            "rate": options.rate,
            "flush_interval": options.flush_interval,
            "timeouts": dataclasses.asdict(options.timeouts()),
        }
        child = subprocess.Popen(
            [sys.executable, __file__, "--child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        send(child, spec)  # on stdin, not argv: no password in ps
        children.append(child)
    return children


def send(child: subprocess.Popen[str], message: dict[str, Any]) -> None:
    """One JSON line to a child."""
    assert child.stdin is not None
    child.stdin.write(json.dumps(message) + "\n")
    child.stdin.flush()


def read_message(child: subprocess.Popen[str]) -> dict[str, Any]:
    line = child.stdout.readline() if child.stdout else ""
    if not line:
        raise RuntimeError(f"lab PC process {child.pid} ended (code {child.wait()}) without reporting")
    return json.loads(line)


def prepare_fleet_table(target: Target, table: str, options: FleetOptions) -> dict[str, int]:
    """A fresh data table (µs time stamps, so they can be compared with the enqueue
    times) and every PC's codenames registered; returns codename → type id."""
    names = {
        name: "fleet benchmark" for pc in range(options.pcs) for name in codenames_of(pc, options.codenames)
    }
    ids = prepare_table(target.nodes[0].connect(target.database), table, names)
    target.sync()
    return ids


def run_fleet(
    target: Target,
    label: str,
    options: FleetOptions,
    kill: Callable[[], None] | None = None,
    table: str | None = None,
) -> FleetResult:
    """One run of the fleet against ``target``; ``kill`` is called half-way."""
    table = table or f"fleet_{label.lower().replace(' ', '_').replace('.', '')}"
    ids = prepare_fleet_table(target, table, options)
    result = FleetResult(label, options)
    children = start_children(target, table, options)
    try:
        for child in children:
            read_message(child)
        sampler = ServerSampler(target.nodes)
        status_before = server_status(target.nodes[0]) if kill is None else None
        start = time.time() + 0.2
        kill_at = start + options.seconds / 2 if kill else None
        for child in children:
            send(child, {"start": start, "seconds": options.seconds, "kill_at": kill_at})
        sampler.start()
        profiler = start_perf(target.nodes[0], options.perf, table) if kill is None else None
        if kill is not None and kill_at is not None:
            time.sleep(max(0.0, kill_at - time.time()))
            sampler.cpu()  # the node's CPU up to its death
            kill()
        reports = [
            read_message(child) for child, pcs in zip(children, groups(options), strict=True) for _ in pcs
        ]
        result.server_cpu = sampler.stop()
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
            result.perf = split(str(Path(options.perf) / f"{table}.data"))
        if status_before is not None:
            after = server_status(target.nodes[0])
            result.status = {k: after[k] - status_before[k] for k in status_before if k in after}
            result.com_commit = result.status.get("Com_commit")
        result.threads_connected = sampler.threads_connected
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
    summarise(result, reports, start)
    target.sync()
    count_table(result, target, table, reports, ids)
    measure_load_data(result, target, table, reports, ids)
    return result


def start_perf(node: MariaDBServer, folder: str, table: str) -> subprocess.Popen[bytes] | None:
    """``perf record`` of the server's threads with call graphs into
    ``folder/<table>.data`` while the fleet runs (nothing without a folder)."""
    if not folder or node.pid is None:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    command = ["perf", "record", "-q", "-F", "2000", "-g", "-p", str(node.pid)]
    return subprocess.Popen(
        [*command, "-o", str(Path(folder) / f"{table}.data")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise(result: FleetResult, reports: list[dict[str, Any]], start: float) -> None:
    """The figures the children reported, combined: sums, the exact per-point latency
    quantiles over all points, and per-batch ones (median of the PCs' medians, the
    largest of their p99 and max)."""
    result.sent = sum(len(r["times_us"]) for r in reports)
    result.batches = sum(r["batches"] for r in reports)
    result.reconnects = sum(r["reconnects"] for r in reports)
    result.delivered_all = all(r["delivered_all"] for r in reports)
    last = max((r["last_commit_time"] or start) for r in reports)
    result.window = last - start
    result.latency_point = quantiles([x / 1000 for r in reports for x in r["latencies_ms"]])
    batch = [r["latency_batch"] for r in reports if r["latency_batch"][0] is not None]
    if batch:
        result.latency_batch = (
            statistics.median(b[0] for b in batch),
            max(b[1] for b in batch),
            max(b[2] for b in batch),
        )
    result.failover = sorted(r["moved_after"] for r in reports if r["moved_after"] is not None)


def count_table(
    result: FleetResult, target: Target, table: str, reports: list[dict[str, Any]], ids: dict[str, int]
) -> None:
    """Lost, duplicated and mislabelled points and the time stamps, from the table on
    the first live node."""
    node = next(n for n in target.nodes if n.running and not n.paused)
    conn = node.connect(target.database, read_timeout=300)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")
            cursor.execute(f"SELECT type, UNIX_TIMESTAMP(time), value FROM {table}")
            rows = cursor.fetchall()
    finally:
        conn.close()
    sent = {r["done"]: r for r in reports}
    seen = Counter(int(value) for _, _, value in rows)
    result.stored = len(rows)
    result.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    wanted = {pc * SEQ_SPAN + seq for pc, r in sent.items() for seq in range(len(r["times_us"]))}
    result.lost = len(wanted - set(seen))
    stray = set(seen) - wanted
    if stray:
        result.notes.append(f"{len(stray)} value(s) in the table that no PC sent")
    codenames = {pc: [ids[name] for name in codenames_of(pc, result.options.codenames)] for pc in sent}
    for type_id, stamp, value in rows:
        pc, seq = divmod(int(value), SEQ_SPAN)
        report = sent.get(pc)
        if report is None or seq >= len(report["times_us"]):
            continue
        if codenames[pc][seq % result.options.codenames] != type_id:
            result.wrong_type += 1
        enqueued = report["start"] + report["times_us"][seq] / 1e6
        result.time_error_max = max(result.time_error_max, abs(float(stamp) - enqueued))


def measure_load_data(
    result: FleetResult, target: Target, table: str, reports: list[dict[str, Any]], ids: dict[str, int]
) -> None:
    """LOAD DATA LOCAL INFILE of the same rows into fresh tables of the same layout: its
    rate and the servers' CPU time for it, in one transaction (the issue's yardstick),
    and in pieces of the run's points per commit, each committed (what LOAD DATA costs
    at the logger's cadence; one connection, so without the fleet's concurrency)."""
    rows = []
    for report in reports:
        pc = report["done"]
        types = [ids[name] for name in codenames_of(pc, result.options.codenames)]
        for seq, offset in enumerate(report["times_us"]):
            rows.append((report["start"] + offset / 1e6, types[seq % len(types)], float(pc * SEQ_SPAN + seq)))
    node = next(n for n in target.nodes if n.running and not n.paused)
    ways: list[tuple[str, int | None]] = [("loaddata", None)]
    if result.batches:
        ways.append(("loaddata_batched", round(result.sent / result.batches)))
    for suffix, batch in ways:
        conn = node.connect(target.database)
        try:
            create_tables(conn, f"{table}_{suffix}", time_precision=6)
        finally:
            conn.close()
        target.sync()
        sampler = ServerSampler(target.nodes)
        sampler.cpu(new_processes_from_zero=False)
        rate = load_data_rate(node, f"{table}_{suffix}", rows, target.database, batch=batch)
        target.sync()  # every node has applied the rows: their CPU counts too
        sampler.cpu()
        if batch is None:
            result.load_data_rate, result.load_data_cpu = rate, sampler.cpu_used()
        else:
            result.load_data_batched_cpu = sampler.cpu_used()


# -- the two servers ------------------------------------------------------------------------


def single_server(database: str, server_args: Sequence[str] = ()) -> MariaDBServer:
    """A started throw-away MariaDB with ``database`` and the fleet's login."""
    server = MariaDBServer(extra_args=server_args)
    server.start()
    server.create_database(database)
    for host in ("127.0.0.1", "localhost"):
        server.query(f"CREATE USER IF NOT EXISTS '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
        server.query(f"GRANT ALL ON {database}.* TO '{USER}'@'{host}'")
    return server


def pin_server(server: MariaDBServer, cpus: set[int]) -> None:
    """Run every thread of ``server`` on ``cpus`` only (threads it starts later
    inherit it)."""
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


def run_single(
    options: FleetOptions,
    intervals: Sequence[float],
    database: str,
    server_args: Sequence[str] = (),
) -> list[FleetResult]:
    """The fleet into one server, once per interval in the order given (an interval
    may repeat: alternate them to compare within one server's run)."""
    ensure_mariadb_installed()
    server = single_server(database, server_args)
    if options.pin:
        pin_server(server, {0})
        os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))  # the lab PCs, started later
    try:
        target = Target([server], f"{server.host}:{server.port}", database)
        return [
            run_fleet(target, label_of("single", interval), _with(options, interval), table=f"fleet_{number}")
            for number, interval in enumerate(intervals)
        ]
    finally:
        server.cleanup()


def run_galera(
    options: FleetOptions, intervals: Sequence[float], database: str
) -> tuple[list[FleetResult], float]:
    """The fleet into a 3-node cluster, the node in use killed half-way through each
    run and restarted (by IST) after it; returns the results and the cluster's start
    time."""
    results = []
    with GaleraCluster(size=3, provider_options={"gcache.size": "256M"}) as cluster:
        cluster.create_database(database)
        cluster.create_user(USER, PASSWORD, database)
        target = Target(cluster.nodes, cluster.hosts, database, sync=cluster.sync_all)
        for interval in intervals:
            victim = cluster.nodes[0]  # the first host: where every logger starts
            result = run_fleet(
                target, label_of("galera", interval), _with(options, interval), kill=victim.kill
            )
            began = time.monotonic()
            victim.restart(60)
            cluster.wait_synced(3, timeout=60)
            result.notes.append(
                f"killed {victim.name} rejoined by {victim.last_state_transfer()} "
                f"in {time.monotonic() - began:.1f} s after the run"
            )
            results.append(result)
        return results, cluster.start_seconds or 0.0


def _with(options: FleetOptions, interval: float) -> FleetOptions:
    return dataclasses.replace(options, flush_interval=interval)


def label_of(server: str, interval: float) -> str:
    """A run's column heading; the logger's default batching says so."""
    default = " default" if interval == BatchPolicy().flush_interval else ""
    return f"{server}{default} {interval:g}s"


# -- printing ---------------------------------------------------------------------------------


def _ms(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v * 1000:.0f}" for v in values)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _perf_per_commit(result: FleetResult, name: str) -> str:
    cpu = result.cpu_per_commit
    return "-" if cpu is None or name not in result.perf else f"{result.perf[name] * cpu:.0f}"


def print_fit(results: Sequence[FleetResult]) -> None:
    """Over runs with different batch sizes (flush intervals): server CPU per commit
    as a fixed price per commit plus a price per row, fitted, in total and (--perf)
    per category."""
    runs = [r for r in results if r.cpu_per_commit is not None and r.rows_per_commit is not None]
    if len({round(r.rows_per_commit or 0) for r in runs}) < 2:
        return
    series = {"server CPU": [(r.rows_per_commit or 0.0, r.cpu_per_commit or 0.0) for r in runs]}
    for name in runs[0].perf:
        series[f"  perf: {name}"] = [
            (r.rows_per_commit or 0.0, r.perf.get(name, 0.0) * (r.cpu_per_commit or 0.0)) for r in runs
        ]
    print(f"fit over {len(runs)} runs (rows per commit include the ledger row):")
    print(f"{'':40}{'us per commit':>15}{'us per row':>12}")
    for name, points in series.items():
        per_row, per_commit = fit(points)
        print(f"{name:40}{per_commit:15.0f}{per_row:12.2f}")


def _per_commit(result: FleetResult, key: str) -> str:
    commits = result.status.get("Com_commit")
    return f"{result.status[key] / commits:.2f}" if commits and key in result.status else "-"


def print_results(results: Sequence[FleetResult]) -> None:
    """One column per run."""
    rows: list[tuple[str, Callable[[FleetResult], str]]] = [
        ("offered points/s", lambda r: f"{r.options.pcs * r.options.rate * r.options.codenames:,.0f}"),
        ("committed points/s", lambda r: f"{r.points_per_s:,.0f}"),
        ("commits/s (status batches)", lambda r: f"{r.commits_per_s:,.0f}"),
        (
            "commits/s (Com_commit)",
            lambda r: "-" if r.com_commit is None else f"{r.com_commit / r.window:,.0f}",
        ),
        ("points per commit", lambda r: f"{r.sent / r.batches:.0f}" if r.batches else "-"),
        ("server CPU s / 1000 points", lambda r: f"{r.cpu_per_1000(r.server_cpu):.4f}"),
        ("server CPU us / commit", lambda r: _number(r.cpu_per_commit, 0)),
        *([("  of which (perf):", lambda r: "")] if results and results[0].perf else []),
        *[
            (f"    {name}", lambda r, name=name: _perf_per_commit(r, name))
            for name in (results[0].perf if results else {})
        ],
        ("LOAD DATA CPU s / 1000 rows", lambda r: f"{r.cpu_per_1000(r.load_data_cpu):.4f}"),
        (
            "ratio logger / LOAD DATA CPU",
            lambda r: f"{r.server_cpu / r.load_data_cpu:.1f}" if r.load_data_cpu else "-",
        ),
        (
            "LOAD DATA in the run's batches CPU s / 1000",
            lambda r: f"{r.cpu_per_1000(r.load_data_batched_cpu):.4f}" if r.load_data_batched_cpu else "-",
        ),
        (
            "  ratio logger / LOAD DATA batched",
            lambda r: f"{r.server_cpu / r.load_data_batched_cpu:.1f}" if r.load_data_batched_cpu else "-",
        ),
        ("server CPU, % of one core", lambda r: f"{r.server_cpu / r.window * 100:.0f}" if r.window else "-"),
        ("LOAD DATA rows/s", lambda r: f"{r.load_data_rate:,.0f}"),
        *[
            (f"  {key} / commit", lambda r, key=key: _per_commit(r, key))
            for key in STATUS_KEYS
            if key != "Com_commit"
        ],
        ("enqueue->commit ms p50/p99/max", lambda r: _ms(r.latency_point)),
        ("  per batch (status) ms", lambda r: _ms(r.latency_batch)),
        (
            "Threads_connected max/median",
            lambda r: (
                f"{max(r.threads_connected, default=0)}/{statistics.median(r.threads_connected or [0]):.0f}"
            ),
        ),
        ("reconnects", lambda r: f"{r.reconnects}"),
        (
            "fail-over s median/max",
            lambda r: f"{statistics.median(r.failover):.2f}/{max(r.failover):.2f}" if r.failover else "-",
        ),
        ("points sent", lambda r: f"{r.sent:,}"),
        ("points stored", lambda r: f"{r.stored:,}"),
        ("lost", lambda r: f"{r.lost}"),
        ("duplicated", lambda r: f"{r.duplicated}"),
        ("wrong codename", lambda r: f"{r.wrong_type}"),
        ("time stamp error max, us", lambda r: f"{r.time_error_max * 1e6:.0f}"),
        ("all delivered (stop)", lambda r: f"{r.delivered_all}"),
    ]
    width = max(16, *(len(r.label) + 2 for r in results))
    first = max(32, *(len(name) + 2 for name, _ in rows))
    print(f"{'':{first}}" + "".join(f"{r.label:>{width}}" for r in results))
    for name, cell in rows:
        print(f"{name:{first}}" + "".join(f"{cell(r):>{width}}" for r in results))
    for r in results:
        for note in r.notes:
            print(f"{r.label}: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pcs", type=int, default=50, help="lab PCs (processes), default 50")
    parser.add_argument("--rate", type=float, default=10.0, help="sweeps per second per PC (Hz)")
    parser.add_argument("--codenames", type=int, default=10, help="codenames per PC")
    parser.add_argument("--seconds", type=float, default=30.0, help="logging time per run")
    parser.add_argument(
        "--flush-intervals",
        default=",".join(f"{f:g}" for f in DEFAULT_FLUSH_INTERVALS),
        help="BatchPolicy.flush_interval values to run, comma-separated",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUTS.query,
        help="the loggers' read, write and query time-outs (s)",
    )
    parser.add_argument(
        "--per-process",
        type=int,
        default=1,
        help="lab PCs per process, each its own logger, connection and thread (default 1)",
    )
    parser.add_argument(
        "--server-args",
        default="",
        help="extra options of the single server, space-separated (e.g. --thread-handling=pool-of-threads)",
    )
    parser.add_argument(
        "--perf",
        default="",
        help="a folder: perf record of the single server per run, its CPU split by category",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the single server on CPU 0 and the lab PCs on the other CPUs (no shared caches)",
    )
    parser.add_argument("--only", choices=["single", "galera"], help="one of the two servers")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 PCs, 5 s, one interval")
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(sys.stdin.readline()))
        return
    began = time.monotonic()
    intervals = [float(x) for x in args.flush_intervals.split(",")]
    options = FleetOptions(
        args.pcs,
        args.rate,
        args.codenames,
        args.seconds,
        timeout=args.timeout,
        per_process=args.per_process,
        perf=args.perf,
        pin=args.pin,
    )
    if args.quick:
        options = dataclasses.replace(options, pcs=4, seconds=5.0)
        intervals = intervals[:1]
    print(
        f"{options.pcs} lab PCs x {options.codenames} codenames x {options.rate:g} Hz for "
        f"{options.seconds:g} s per run; flush_interval {', '.join(f'{i:g}' for i in intervals)} s; "
        f"read/write/query time-outs {options.timeout:g} s; {options.per_process} PC(s) per process"
        + (f"; server options {args.server_args}" if args.server_args else "")
    )
    results: list[FleetResult] = []
    if args.only != "galera":
        results += run_single(options, intervals, "fleet", args.server_args.split())
    if args.only != "single":
        galera, cluster_start = run_galera(options, intervals, "fleet")
        results += galera
        print(f"Galera cluster start: {cluster_start:.1f} s")
    print_results(results)
    print_fit([r for r in results if r.label.startswith("single")])
    print(f"wall time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
