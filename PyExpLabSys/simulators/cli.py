"""``pyexplabsys-sim NAME``: serve a simulated instrument until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .registry import SIMULATORS, simulator_class

LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, print the device path it serves, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="pyexplabsys-sim", description=__doc__)
    parser.add_argument("name", choices=sorted(SIMULATORS), help="instrument to simulate")
    parser.add_argument(
        "--link", help="stable path (symlink) to serve on (default: a new temporary directory)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each event")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)

    simulator = simulator_class(args.name)(link=args.link).start()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sys.stdout.write(f"{simulator.port}\n")
    sys.stdout.write(f"# {args.name} simulator on {simulator.device}; Ctrl-C to stop\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
