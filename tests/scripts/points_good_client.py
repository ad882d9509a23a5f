"""A well-behaved lab script logging its running index through the points socket.

    python points_good_client.py SOCKET CODENAME

Prints its client id as one JSON line once connected, then enqueues 0, 1, 2, … at
50 Hz until a line arrives on stdin; then waits for the commit (flush) and prints one
JSON line: how many it sent, whether flush() said all is committed, and the stop report.
"""

import json
import sys
import threading
import time

from points_client import script_logger


def main(path, codename):
    logger = script_logger(path, codename)
    logger.start()
    print(json.dumps({"id": logger.backend.logger_id}), flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    started = time.monotonic()
    sent = 0
    while not stop.is_set():
        logger.enqueue_point_now(codename, float(sent))
        sent += 1
        stop.wait(max(0.0, started + sent * 0.02 - time.monotonic()))  # the 50 Hz pacing
    flushed = logger.flush(timeout=60)
    report = logger.stop(timeout=10)
    print(json.dumps({"sent": sent, "flushed": flushed, "delivered_all": report.delivered_all}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
