"""A lab script for the kill tests: logs numbered points through a spooled logger.

    python spool_child.py CONFIG_JSON

CONFIG_JSON holds the logger's keyword arguments and the run: ``first`` (first number),
``count`` (how many points; 0 = until killed), ``rate`` (points per second). Every
enqueued point is printed as ``<number> <unix time>`` right after the call, so the test
knows when each point was enqueued; at the end (count reached) the logger is stopped
and ``STOPPED <delivered_all> <spooled>`` printed.
"""

from __future__ import annotations

import json
import sys
import time

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import RetryPolicy, SpoolPolicy, Timeouts


def main() -> None:
    config = json.loads(sys.argv[1])
    logger = ContinuousLogger(
        config["table"],
        config["user"],
        config["password"],
        config["codenames"],
        host=config["host"],
        port=config["port"],
        database=config["database"],
        timeouts=Timeouts(connect=1, read=1, write=1, query=1, startup=10),
        retry=RetryPolicy(first_delay=0.05, base_delay=0.1, max_delay=0.5),
        spool_path=config["spool"],
        spool=SpoolPolicy(group_commit_interval=0.2),
        dead_letter_path=config["dead_letters"],
    )
    logger.start()
    print("STARTED", flush=True)
    codenames, first, count, period = (
        config["codenames"],
        config["first"],
        config["count"],
        1.0 / config["rate"],
    )
    started = time.monotonic()
    number = first
    while count == 0 or number < first + count:
        time.sleep(max(0.0, started + (number - first) * period - time.monotonic()))
        stamp = logger.enqueue_point_now(codenames[number % 2], float(number))
        print(number, repr(stamp), flush=True)
        number += 1
    report = logger.stop(timeout=30)
    print("STOPPED", report.delivered_all, report.spooled, flush=True)


if __name__ == "__main__":
    main()
