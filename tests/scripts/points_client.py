"""A lab script that logs through the service's points socket (run by the tests).

    python points_client.py SOCKET CODENAME FIRST_VALUE SECONDS

Enqueues FIRST_VALUE, FIRST_VALUE + 1, … at 100 Hz for SECONDS, then waits for the
commit (flush) and prints one JSON line: how many it sent, the slowest enqueue call in
seconds, and whether flush() said everything is committed.
"""

import json
import sys
import time

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import RetryPolicy


def script_logger(path, codename):
    """The logger as a lab script builds it, handing its points to the service."""
    return ContinuousLogger(
        "dateplots_lab",
        "user",
        "unused",
        [codename],
        service=path,
        retry=RetryPolicy(first_delay=0.05, base_delay=0.1, max_delay=0.5),
    )


def main(path, codename, first, seconds):
    logger = script_logger(path, codename)
    logger.start()
    started = time.monotonic()
    sent, slowest = 0, 0.0
    while time.monotonic() - started < seconds:
        before = time.perf_counter()
        logger.enqueue_point_now(codename, float(first + sent))
        slowest = max(slowest, time.perf_counter() - before)
        sent += 1
        time.sleep(max(0.0, started + sent * 0.01 - time.monotonic()))  # the 100 Hz pacing
    flushed = logger.flush(timeout=60)
    logger.stop(timeout=10)
    print(json.dumps({"sent": sent, "slowest": slowest, "flushed": flushed}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
