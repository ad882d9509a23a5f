"""Real process kills: a lab script logging through a spooled logger is SIGKILLed, in full
flow and during an outage, then restarted on the same spool; the MariaDB table itself is
counted. Every point enqueued more than the group-commit interval before the kill must be
stored exactly once, in order; none may be stored twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER, make_classic_table

pytestmark = pytest.mark.mariadb

CHILD = Path(__file__).with_name("spool_child.py")
ROOT = Path(__file__).resolve().parents[2]
GROUP_COMMIT = 0.2


class Child:
    """The lab script in a subprocess; its printed points are collected as they come."""

    def __init__(self, config: dict) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.enqueued: dict[int, float] = {}
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.strip())
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit():
                    self.enqueued[int(parts[0])] = float(parts[1])
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not predicate()):
                    stderr = self.proc.stderr.read() if self.proc.poll() is not None else ""
                    raise AssertionError(f"child did not get there; lines {self.lines[-5:]} {stderr}")
                self._changed.wait(min(remaining, 0.2))

    def kill(self) -> float:
        killed_at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)
        return killed_at

    def finish(self) -> str:
        """Wait for the child's end; its log (stderr)."""
        assert self.proc.wait(60) == 0, self.proc.stderr.read()
        self._reader.join(10)
        return self.proc.stderr.read()


@pytest.fixture(scope="module")
def proxy(mariadb: MariaDBServer) -> Iterator[FaultProxy]:
    with FaultProxy(mariadb.host, mariadb.port) as fault_proxy:
        yield fault_proxy


@pytest.mark.parametrize("during", ["full_flow", "outage"])
def test_killed_logger_loses_nothing_and_stores_nothing_twice(mariadb, proxy, engine, tmp_path, during):
    proxy.pass_through()
    table = make_classic_table(mariadb, engine, ("gauge", "thermo"))
    config = {
        "table": table.table,
        "user": LOGGER_USER,
        "password": LOGGER_PASSWORD,
        "codenames": list(table.codenames),
        "host": proxy.listen_host,
        "port": proxy.port,
        "database": DATABASE,
        "spool": str(tmp_path / "spool.sqlite"),
        "dead_letters": str(tmp_path / "dead.jsonl"),
        "first": 0,
        "count": 0,
        "rate": 200,
    }
    first = Child(config)
    first.wait_for(lambda: len(first.enqueued) >= 200)
    if during == "outage":
        proxy.hold()
        first.wait_for(lambda: len(first.enqueued) >= 400)
    killed_at = first.kill()
    proxy.release() if during == "outage" else None
    proxy.pass_through()

    second = Child(dict(config, first=100_000, count=50))
    second.wait_for(lambda: any(line.startswith("STOPPED") for line in second.lines), 60)
    log = second.finish()
    assert any(line == "STOPPED True 0" for line in second.lines), (second.lines[-3:], log[-3000:])

    stored = [int(value) for _, _, value in table.rows()]
    counts = Counter(stored)
    twice = sorted(n for n, c in counts.items() if c > 1)
    assert not twice, f"{len(twice)} point(s) stored twice: {twice[:10]}"
    must_have = {n for n, stamp in first.enqueued.items() if stamp < killed_at - GROUP_COMMIT}
    lost = sorted(must_have - counts.keys())
    assert not lost, f"{len(lost)} point(s) lost: {lost[:10]}"
    assert set(range(100_000, 100_050)) <= counts.keys()
    for codename in table.codenames:
        values = table.values(codename)
        assert values == sorted(values), f"{codename}: order not kept"
    assert len(must_have) >= 150  # the test did kill a logger with work to do
