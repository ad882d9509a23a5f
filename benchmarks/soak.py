"""A randomised soak: a spooled logger at 200 Hz through a fault proxy while faults come
at random times, and every point counted in the table.

A lab script (a child process: ``--child``) logs 200 points/s (2 codenames at 100 Hz)
through the fault proxy (tests/support/fault_proxy.py) into a throw-away MariaDB,
with a durable spool. The parent draws, from ``--seed``, the times and kinds of faults:

* ``server kill``: kill -9 of mariadbd, restart after a few seconds (crash recovery);
* ``server stop``: SIGSTOP of mariadbd past the logger's query time-out, then SIGCONT;
* ``silent network``: the proxy forwards nothing either way (no RST, no FIN), healed;
* ``reset``: every connection reset (RST) on both sides;
* ``lost commit``: the next COMMIT reaches the server, its answer is lost;
* ``logger kill``: kill -9 of the lab script; a new one resumes from the spool.

Each incarnation of the lab script numbers its points in its own range and reports,
every 50 ms, how many of them are durable (in the spool). At the end the script stops
(delivering everything), and the table is counted: a point is lost when it is missing
below the durable count (or below the highest number stored), duplicated when stored
twice. The last line reads ``soak: N faults in M min, sent X, lost L, duplicated D``;
the exit status is non-zero unless both are 0.

    python benchmarks/soak.py --minutes 3 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loaddata import prepare_table, stored_values

from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

USER, PASSWORD, DATABASE, TABLE = "soak", "soak-Passw0rd", "soak", "soak_points"
CODENAMES = ["soak_a", "soak_b"]
RATE = 200.0  # points per second
#: Each incarnation of the lab script numbers its points from incarnation * SPAN.
SPAN = 100_000_000
#: The lab script's time-outs (seconds): short, so that faults are seen and healed often.
QUERY_TIMEOUT = 2.0
FAULTS = ("server kill", "server stop", "silent network", "reset", "lost commit", "logger kill")


# -- the lab script (child) --------------------------------------------------------------


def child_main(spec: dict[str, Any]) -> None:
    """Log RATE points/s numbered from ``first`` until stdin says stop; report durable
    counts; at stop, deliver everything and report."""
    from PyExpLabSys.common.loggers import ContinuousLogger
    from PyExpLabSys.datalog.policies import RetryPolicy, SpoolPolicy, Timeouts

    timeouts = Timeouts(connect=1, read=QUERY_TIMEOUT, write=QUERY_TIMEOUT, query=QUERY_TIMEOUT, startup=10)
    logger = ContinuousLogger(
        TABLE,
        USER,
        PASSWORD,
        CODENAMES,
        host=spec["host"],
        port=spec["port"],
        database=DATABASE,
        timeouts=timeouts,
        retry=RetryPolicy(first_delay=0.05, base_delay=0.2, max_delay=1.0),
        spool_path=spec["spool"],
        spool=SpoolPolicy(group_commit_interval=0.05),
        dead_letter_path=spec["dead_letters"],
    )
    logger.start()
    first, enqueued = spec["first"], 0
    stopping = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()
        stopping.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()

    intake = logger.intake()  # knows when the spool holds what was enqueued so far

    def report_durable() -> None:
        while not stopping.is_set():
            count = enqueued
            if intake.wait_durable(1.0):
                print(json.dumps({"durable": count}), flush=True)
            stopping.wait(0.05)

    threading.Thread(target=report_durable, daemon=True).start()
    started = time.monotonic()
    while not stopping.is_set():
        time.sleep(max(0.0, started + enqueued / RATE - time.monotonic()))
        logger.enqueue_point_now(CODENAMES[enqueued % 2], float(first + enqueued))
        enqueued += 1
    report = logger.stop(timeout=120)
    print(json.dumps({"durable": enqueued, "stopped": report.delivered_all}), flush=True)


# -- the parent ----------------------------------------------------------------------------


class LabScript:
    """One incarnation of the lab script, its durable count read from its stdout."""

    def __init__(self, incarnation: int, spec: dict[str, Any]) -> None:
        self.first = incarnation * SPAN
        self.durable = 0
        self.stopped: bool | None = None
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", json.dumps(dict(spec, first=self.first))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            self.durable = max(self.durable, message["durable"])
            if "stopped" in message:
                self.stopped = message["stopped"]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._reader.join()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        self.process.wait(timeout=300)
        self._reader.join()


def plan(seed: int, minutes: float) -> list[tuple[float, str]]:
    """(second, fault) pairs from ``seed``: 6 to 9 s apart at random, the first six
    faults each kind once (in a random order), then kinds at random; the last 10 s
    stay calm, so that everything can be delivered."""
    rng = random.Random(seed)
    end = minutes * 60 - 10
    times, at = [], 3.0
    while (at := at + rng.uniform(6.0, 9.0)) <= end:
        times.append(at)
    kinds = rng.sample(FAULTS, len(FAULTS))
    kinds += [rng.choice(FAULTS) for _ in range(len(times) - len(kinds))]
    return list(zip(times, kinds, strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    ensure_mariadb_installed()
    rng = random.Random(args.seed + 1)  # the faults' durations
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    with MariaDBServer() as server, FaultProxy(server.host, server.port) as proxy:
        server.create_database(DATABASE)
        for host in ("127.0.0.1", "localhost"):
            server.query(f"CREATE USER IF NOT EXISTS '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
            server.query(f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'{host}'")
        prepare_table(server.connect(DATABASE), TABLE, dict.fromkeys(CODENAMES, "soak"))
        proxy.pass_through()
        spec = {
            "host": proxy.listen_host,
            "port": proxy.port,
            "spool": str(workdir / "spool.sqlite"),
            "dead_letters": str(workdir / "dead.jsonl"),
        }
        scripts = [LabScript(0, spec)]
        began = time.monotonic()
        faults = plan(args.seed, args.minutes)

        def pause(low: float, high: float) -> None:
            time.sleep(rng.uniform(low, high))

        def server_kill() -> None:
            server.kill()
            pause(1.0, 4.0)
            server.restart()

        def server_stop() -> None:
            server.pause()
            pause(QUERY_TIMEOUT + 0.5, QUERY_TIMEOUT + 3.0)
            server.resume()

        def silent_network() -> None:
            proxy.hold()
            pause(1.0, QUERY_TIMEOUT + 3.0)
            proxy.release()

        def lost_commit() -> None:
            proxy.cut_after_next("COMMIT")
            proxy.cut_happened.wait(10)
            proxy.pass_through()

        def logger_kill() -> None:
            scripts[-1].kill()
            scripts.append(LabScript(len(scripts), spec))

        actions: dict[str, Callable[[], None]] = {
            "server kill": server_kill,
            "server stop": server_stop,
            "silent network": silent_network,
            "reset": proxy.reset_all,
            "lost commit": lost_commit,
            "logger kill": logger_kill,
        }
        for at, kind in faults:
            time.sleep(max(0.0, began + at - time.monotonic()))
            print(f"{time.monotonic() - began:7.1f} s  {kind}", flush=True)
            actions[kind]()
        time.sleep(max(0.0, began + args.minutes * 60 - time.monotonic()))
        scripts[-1].stop()
        seen = stored_values(server, DATABASE, TABLE)
    sent = lost = 0
    for script in scripts:
        mine = sorted(n - script.first for n in seen if script.first <= n < script.first + SPAN)
        upto = max(script.durable, (mine[-1] + 1) if mine else 0)
        sent += upto
        lost += upto - len(mine)
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    stray = sum(1 for n in seen if n // SPAN >= len(scripts))
    if stray:
        print(f"{stray} value(s) in the table that no lab script sent")
    if scripts[-1].stopped is not True:
        print("the last lab script did not deliver everything at stop")
    minutes = (time.monotonic() - began) / 60
    print(
        f"soak: {len(faults)} faults in {minutes:.0f} min, sent {sent}, lost {lost}, duplicated {duplicated}"
    )
    if lost or duplicated or scripts[-1].stopped is not True:
        sys.exit(1)


if __name__ == "__main__":
    main()
