"""Fail-over time on a 3-node Galera cluster after a kill -9 of the node in use, and
where it goes.

A ContinuousLogger writes 100 points/s (10 codenames at 10 Hz) into a throw-away
cluster; ``--kills`` times the node in use is killed with SIGKILL, and the time from
the kill to the first commit on another node is measured, with its phases taken from
the logger's own log records (their time stamps): the error seen, the connection to
the next node made (connect, handshake and session set-up), the ledger read
(reconciliation: a causal read, ``wsrep_sync_wait=1``), and the first commit. Next to
them, the time until a survivor reports a cluster of 2 (Galera evicted the dead node).
The killed node is restarted (IST) before the next kill, outside the measured time.
At the end every point is counted in the table: lost and duplicated must be 0.

    python benchmarks/failover.py [--kills 10] [--provider-options "evs.suspect_timeout=PT0.5S;..."]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loaddata import prepare_table, stored_values

from PyExpLabSys.common.loggers import ContinuousLogger
from tests.support.galera_cluster import GaleraCluster, GaleraNode

USER, PASSWORD, DATABASE, TABLE = "failover", "failover-Passw0rd", "failover", "failover_points"
CODENAMES = [f"failover_{n}" for n in range(10)]


class Phases(logging.Handler):
    """Keeps (time, message) of the logger's records after :meth:`arm`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[float, str]] = []
        self.armed = False

    def arm(self) -> None:
        self.records, self.armed = [], True

    def emit(self, record: logging.LogRecord) -> None:
        if self.armed:
            self.records.append((record.created, record.getMessage()))

    def first(self, text: str, since: float) -> float | None:
        return next((t - since for t, m in self.records if text in m and t >= since), None)


def evicted_after(survivor: GaleraNode, killed_at: float) -> float | None:
    """Seconds from the kill until ``survivor`` sees a cluster of 2 in a Primary component."""
    deadline = time.time() + 30
    while time.time() < deadline:
        status = survivor.status()
        if status is not None and status.cluster_size == 2 and status.synced_primary:
            return time.time() - killed_at
        time.sleep(0.02)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument(
        "--provider-options",
        default="",
        help="Galera provider options over the test cluster's, e.g. 'evs.suspect_timeout=PT0.5S;...'",
    )
    args = parser.parse_args()
    options = dict(item.split("=", 1) for item in args.provider_options.split(";") if item)
    phases = Phases()
    logging.getLogger("PyExpLabSys").addHandler(phases)
    logging.getLogger("PyExpLabSys").setLevel(logging.INFO)
    rows: list[dict[str, float | None]] = []
    with GaleraCluster(size=3, provider_options=options) as cluster:
        cluster.create_database(DATABASE)
        cluster.create_user(USER, PASSWORD, DATABASE)
        prepare_table(
            cluster.nodes[0].connect(DATABASE), TABLE, dict.fromkeys(CODENAMES, "fail-over benchmark")
        )
        cluster.sync_all()
        logger = ContinuousLogger(TABLE, USER, PASSWORD, CODENAMES, host=cluster.hosts, database=DATABASE)
        logger.start()
        sent = 0
        stop = threading.Event()

        def produce() -> None:
            nonlocal sent
            next_sweep = time.monotonic()
            while not stop.is_set():
                for name in CODENAMES:
                    logger.enqueue_point_now(name, float(sent))
                    sent += 1
                next_sweep += 0.1
                stop.wait(max(0.0, next_sweep - time.monotonic()))

        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        try:
            for kill in range(args.kills):
                time.sleep(2.0)  # steady logging on the node in use
                in_use = logger.status().node
                victim = next(n for n in cluster.nodes if n.address == in_use)
                survivor = next(n for n in cluster.nodes if n is not victim and n.running)
                committed = logger.status().committed
                phases.arm()
                killed_at = time.time()
                victim.kill()
                evicted = evicted_after(survivor, killed_at)
                deadline = time.time() + 60
                while time.time() < deadline:
                    status = logger.status()
                    if (
                        status.node not in (None, in_use)
                        and status.committed > committed
                        and status.connected
                    ):
                        break
                    time.sleep(0.005)
                moved = time.time() - killed_at
                # the first commit after the move: a commit's time is last_commit_time
                first_commit = None
                status = logger.status()
                if status.last_commit_time is not None:
                    first_commit = status.last_commit_time - killed_at
                row = {
                    "error seen": phases.first("retrying in", killed_at),
                    "connected": phases.first("connected to", killed_at),
                    "ledger read": phases.first("had an unknown outcome", killed_at),
                    "evicted": evicted,
                    "first commit": min(moved, first_commit) if first_commit else moved,
                }
                rows.append(row)
                print(
                    f"kill {kill + 1} of {victim.name}: "
                    + ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'} s" for k, v in row.items()),
                    flush=True,
                )
                began = time.monotonic()
                victim.restart(60)
                cluster.wait_synced(3, timeout=60)
                print(f"  {victim.name} rejoined in {time.monotonic() - began:.1f} s", flush=True)
        finally:
            stop.set()
            producer.join()
            report = logger.stop(timeout=60)
        cluster.sync_all()
        seen = stored_values(cluster.nodes[0], DATABASE, TABLE)
    lost = len(set(range(sent)) - set(seen))
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    firsts = sorted(float(r["first commit"] or 0.0) for r in rows)
    evictions = sorted(float(r["evicted"]) for r in rows if r["evicted"] is not None)
    print(f"provider options over the test cluster's: {options or 'none'}")
    print(
        f"fail-over (kill -9 to first commit on another node) median {statistics.median(firsts):.2f} s, "
        f"max {max(firsts):.2f} s over {len(firsts)} kills; eviction median "
        f"{statistics.median(evictions) if evictions else float('nan'):.2f} s"
    )
    print(f"sent {sent}, lost {lost}, duplicated {duplicated}, all delivered at stop {report.delivered_all}")
    if lost or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    main()
