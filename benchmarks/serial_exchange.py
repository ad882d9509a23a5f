"""Median time of one driver exchange over a pseudo-terminal, per driver.

Each registered driver with a simulator (``PyExpLabSys.simulators``) talks to it over a
real pty and performs the status-rich twin of its default reading ``N`` times (with the
arguments the simulator declares, e.g. the XGS-600's gauge ``T1``).
Run: ``python benchmarks/serial_exchange.py``.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PyExpLabSys.drivers.base import reading_name
from PyExpLabSys.drivers.registry import DRIVERS
from PyExpLabSys.simulators import SIMULATORS, start_simulator
from PyExpLabSys.simulators.registry import reading_args

N = 500


def main() -> None:
    """Print the median µs per exchange for each registered driver with a simulator."""
    print(f"{'simulator':<12} {'driver':<16} {'median µs':>10} {'p90 µs':>8}")
    measured: set[type] = set()
    for name, entry in DRIVERS.items():
        driver_cls = entry.cls
        if name not in SIMULATORS or driver_cls in measured:  # no simulator, or an alias
            continue
        measured.add(driver_cls)
        with start_simulator(name) as sim, driver_cls(sim.port, timeout=1.0) as driver:
            read = functools.partial(
                getattr(driver, reading_name(entry.default_read)), *reading_args(name, entry.default_read)
            )
            for _ in range(20):
                read()
            samples = []
            for _ in range(N):
                start = time.perf_counter()
                read()
                samples.append((time.perf_counter() - start) * 1e6)
        samples.sort()
        print(
            f"{name:<12} {driver_cls.__name__:<16} {statistics.median(samples):>10.0f} "
            f"{samples[int(0.9 * N)]:>8.0f}"
        )


if __name__ == "__main__":
    main()
