"""A simulated 24-hour database outage at 100 Hz for 10 codenames, with the durable spool.

The logger starts against a throw-away MariaDB behind the fault proxy; the proxy then
holds all traffic (the outage), and 8.64 million points with time stamps spread over the
past 24 hours are enqueued. The day is compressed: points are enqueued in blocks of
100,000 (about 100 s of real data each) and each block is given time to reach the spool
before the next, as it would over a real day, so the run measures the design (bounded RAM,
spool size) rather than a flood thousands of times faster than real life. Then the outage
ends and the whole backlog drains. Printed: peak RSS, spool size on disk, enqueue cost
with the spool on, drain rate, and the LOAD DATA LOCAL INFILE rate measured in the same
run for the same kind of rows, with the ratio. Asserts nothing.

    python benchmarks/outage.py [--points 8640000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loaddata import DATABASE, load_data_rate

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import SpoolPolicy, Timeouts
from PyExpLabSys.datalog.spool import SpoolBuffer
from tests.support.fault_proxy import FaultProxy
from tests.support.mariadb_server import MariaDBServer, ensure_mariadb_installed

CODENAMES = [f"outage_{i}" for i in range(10)]
BLOCK = 100_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(points: int) -> None:
    ensure_mariadb_installed()
    workdir = Path(tempfile.mkdtemp(prefix="outage-"))
    spool_path = workdir / "spool.sqlite"
    with MariaDBServer() as server, FaultProxy(server.host, server.port) as proxy:
        server.create_database(DATABASE)
        conn = server.connect(DATABASE)
        create_tables(conn, "dateplots_outage")
        create_tables(conn, "dateplots_loaddata")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO dateplots_descriptions (codename) VALUES (%s)", CODENAMES)
        conn.commit()
        conn.close()

        logger = ContinuousLogger(
            "dateplots_outage",
            server.user,
            server.password,
            CODENAMES,
            host=proxy.listen_host,
            port=proxy.port,
            database=DATABASE,
            timeouts=Timeouts(connect=2, read=5, write=5, query=5, startup=10),
            reconnect_waittime=1.0,
            spool_path=spool_path,
            spool=SpoolPolicy(),
            dead_letter_path=workdir / "dead.jsonl",
        )
        logger.start()
        rss_before = peak_rss_mb()
        proxy.hold()  # the outage begins
        start_time = time.time() - 86_400
        enqueue = logger.enqueue_point
        spent = 0.0
        for block_start in range(0, points, BLOCK):
            block_end = min(points, block_start + BLOCK)
            started = time.perf_counter()
            for index in range(block_start, block_end):
                # 10 codenames at 100 Hz: point i is codename i % 10 at i / 1000 s
                enqueue(CODENAMES[index % 10], (start_time + index * 0.001, float(index)))
            spent += time.perf_counter() - started
            spool_buffer = logger._buffer
            assert isinstance(spool_buffer, SpoolBuffer)  # spool_path= was given
            spool_buffer.wait_flushed(60)
        status = logger.status()
        spool_bytes = sum(os.path.getsize(p) for p in workdir.glob("spool.sqlite*"))
        rss_outage = peak_rss_mb()

        drain_started = time.perf_counter()
        proxy.release()  # the outage ends
        proxy.pass_through()
        while logger.status().queued:
            time.sleep(0.1)
        drained = time.perf_counter() - drain_started
        report = logger.stop(timeout=60)

        sample = min(points, 1_000_000)
        rows = [(start_time + i * 0.001, (i % 10) + 1, float(i)) for i in range(sample)]
        load_rate = load_data_rate(server, "dateplots_loaddata", rows)
        del rows

    drain_rate = points / drained
    print(f"points                         {points:,} ({len(CODENAMES)} codenames)")
    print(f"enqueue cost, spool on         {spent / points * 1e6:.2f} us/point (target <= 2)")
    print(f"spooled during the outage      {status.spooled:,} points, overflowed {status.overflowed}")
    print(f"spool size on disk             {spool_bytes / 1024**2:.0f} MiB")
    print(
        f"peak RSS                       {rss_outage:.0f} MB (before the outage {rss_before:.0f} MB; "
        f"target < 100)"
    )
    print(f"drain after the outage         {drained:.1f} s = {drain_rate:,.0f} points/s")
    print(f"LOAD DATA LOCAL INFILE rate    {load_rate:,.0f} rows/s ({sample:,} rows)")
    print(f"ratio drain / LOAD DATA        {drain_rate / load_rate:.2f} (target >= 0.5)")
    print(f"all delivered                  {report.delivered_all}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=8_640_000)
    run(parser.parse_args().points)


if __name__ == "__main__":
    main()
