"""The demo: simulated instruments on pseudo-terminals, logged by the real service.

Five instrument simulators serve real ptys; the service (:class:`~.runner.Service`, the
same code ``pyexplabsys-logger run`` uses) reads them through the real drivers, applies
the logging criteria and commits the points into an SQLite file. Half-way through, one
instrument is unplugged and plugged back in, another answers garbage once and the ion
gauge's channel is switched off for a while (readings without a number: counted as not
OK, not logged), so the live table shows the readers surviving. The summary is read
back from the file itself.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..assembly import create_tables
from ..simulators import PtySimulator, start_simulator
from .config import ServiceConfig, parse_config
from .runner import Service

LOG = logging.getLogger(__name__)

__all__ = ["SIGNALS", "DemoSummary", "demo_config", "run_demo"]

TABLE = "dateplots_demo"

#: codename → (simulator/driver, read method, args, poll interval, criterion, threshold)
SIGNALS: dict[str, tuple[str, str, list[Any], float, str, float]] = {
    "demo_chamber_pressure": ("tpg26x", "pressure_gauge", [1], 0.1, "relative", 0.001),
    "demo_ion_gauge_pressure": ("mks937b", "read_pressure", [1], 0.2, "relative", 0.001),
    "demo_sample_temperature": ("omega", "read_temperature", [], 0.1, "linear", 0.05),
    "demo_ar_flow": ("mksg", "read_flow", [], 0.1, "always", 0.0),
    "demo_bath_temperature": ("polyscience", "read_temperature", [], 0.25, "linear", 0.01),
}
UNITS = {
    "demo_chamber_pressure": "mbar",
    "demo_ion_gauge_pressure": "mbar",
    "demo_sample_temperature": "°C",
    "demo_ar_flow": "sccm",
    "demo_bath_temperature": "°C",
}
DESCRIPTIONS = {
    "demo_chamber_pressure": "Chamber pressure (Pfeiffer TPG 26x, gauge 1)",
    "demo_ion_gauge_pressure": "Ion gauge (MKS 937B, channel 1)",
    "demo_sample_temperature": "Sample temperature (Omega CNi)",
    "demo_ar_flow": "Argon flow (MKS G-series MFC)",
    "demo_bath_temperature": "Cooling bath (PolyScience 4100)",
}
#: Heartbeat of the demo channels: a flat signal still shows up every so often.
MAX_INTERVAL = 2.0


def demo_config(
    ports: dict[str, str], path: Path, state_dir: Path, http: tuple[str, int] | None = None
) -> ServiceConfig:
    """The demo's configuration, validated like a file (ports: simulator → device;
    ``http``: where to serve the live page, if at all)."""
    instruments = [
        {
            "name": sim,
            "driver": sim,
            "port": ports[sim],
            "timeout": 0.3,
            "channels": [
                {
                    "codename": codename,
                    "read": read,
                    "args": args,
                    "interval": interval,
                    "criterion": kind,
                    "threshold": threshold,
                    "max_interval": MAX_INTERVAL,
                    "unit": UNITS[codename],
                    "description": DESCRIPTIONS[codename],
                }
            ],
        }
        for codename, (sim, read, args, interval, kind, threshold) in SIGNALS.items()
    ]
    service: dict[str, Any] = {
        "state_directory": str(state_dir),
        "status_interval": 0.5,
        "stop_timeout": 10.0,
    }
    if http is not None:
        service["http"] = f"[{http[0]}]:{http[1]}" if ":" in http[0] else f"{http[0]}:{http[1]}"
    return parse_config(
        {
            "name": "demo",
            "database": {"backend": "sqlite", "path": str(path), "table": TABLE},
            "service": service,
            "instruments": instruments,
        },
        "<demo>",
    )


@dataclass(frozen=True)
class DemoSummary:
    """What the demo logged and what the SQLite file holds afterwards."""

    path: Path
    seconds: float
    enqueued: int
    stored: dict[str, int]
    batches: int
    undelivered: int
    reads: int = 0
    reader_errors: int = 0

    def lines(self) -> list[str]:
        rows = [f"  {name:<26} {count:>7} rows" for name, count in sorted(self.stored.items())]
        return [
            f"Read {self.reads} values from {len(SIGNALS)} simulated instruments in "
            f"{self.seconds:.1f} s ({self.reader_errors} driver errors survived); logged "
            f"{self.enqueued} points into {self.path} (table {TABLE}), "
            f"{self.batches} batched commits.",
            *rows,
            "All points delivered." if self.undelivered == 0 else f"{self.undelivered} points NOT delivered.",
        ]


@contextmanager
def _simulators() -> Iterator[dict[str, PtySimulator]]:
    with ExitStack() as stack:
        yield {sim: stack.enter_context(start_simulator(sim)) for sim, *_ in SIGNALS.values()}


def _fault_script(sims: dict[str, PtySimulator], seconds: float, stop: threading.Event) -> threading.Thread:
    """Unplug the temperature controller and switch the ion gauge's channel off for a
    fifth of the run; garble one flow reply."""
    gauge: Any = sims["mks937b"]

    def play() -> None:
        if stop.wait(seconds * 0.4):
            return
        sims["mksg"].inject("corrupt")
        sims["omega"].vanish()
        channel, gauge.channels[0] = gauge.channels[0], "OFF"
        stop.wait(seconds * 0.2)
        gauge.channels[0] = channel
        sims["omega"].reappear()

    thread = threading.Thread(target=play, name="demo-faults", daemon=True)
    thread.start()
    return thread


def run_demo(
    seconds: float = 10.0,
    path: str | Path = "demo.sqlite",
    progress: bool | Callable[[dict[str, Any]], None] = True,
    stop: threading.Event | None = None,
    http: tuple[str, int] | None = None,
    on_start: Callable[[Service, dict[str, PtySimulator]], None] | None = None,
) -> DemoSummary:
    """Run the demo for ``seconds`` (or until ``stop`` is set) and summarise.

    ``progress``: a callable given each status snapshot (the CLI's live table), True
    to log a summary line per tick, False for silence. ``http``: serve the live page
    there; ``on_start`` is called with the running service and the simulators.
    """
    path = Path(path)
    stop = stop or threading.Event()
    on_tick: Callable[[dict[str, Any]], None] | None
    if callable(progress):
        on_tick = progress
    elif progress:
        on_tick = lambda snap: LOG.info("%s", snap["summary"])  # noqa: E731
    else:
        on_tick = None
    with tempfile.TemporaryDirectory(prefix="pyexplabsys-demo-") as state, _simulators() as sims:
        config = demo_config({name: sim.port for name, sim in sims.items()}, path, Path(state), http)
        # the unit in brackets, for `plot` of the file
        create_tables(config.database, {c: f"{DESCRIPTIONS[c]} [{UNITS[c]}]" for c in SIGNALS}, {})
        service = Service(config, environ={})
        started = time.monotonic()
        try:
            service.start()
        except Exception:  # e.g. the page's address taken: stop what had started
            if service.logger is not None:
                service.stop()
            raise
        if on_start is not None:
            on_start(service, sims)
        faults = _fault_script(sims, seconds, stop)
        try:
            service.serve(stop, seconds=seconds, on_tick=on_tick)
        finally:
            stop.set()
            faults.join()
            report = service.stop()
        elapsed = time.monotonic() - started
        snapshot = service.snapshot()
    channels = [c for i in snapshot["instruments"] for c in i["channels"]]
    with sqlite3.connect(path) as conn:
        ids = dict(conn.execute("SELECT codename, id FROM dateplots_descriptions"))
        stored = {
            name: conn.execute(
                f"SELECT COUNT(*) FROM {TABLE} WHERE type = ? AND time >= ?", (ids[name], service.started - 1)
            ).fetchone()[0]
            for name in SIGNALS
        }
    conn.close()
    return DemoSummary(
        path,
        elapsed,
        sum(c["points"] for c in channels),
        stored,
        snapshot["logger"]["batches"],
        report.undelivered,
        sum(c["reads"] for c in channels),
        sum(sum(i["errors"].values()) for i in snapshot["instruments"]),
    )
