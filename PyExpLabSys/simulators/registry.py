"""Name → simulator class registry and the :func:`start_simulator` context manager.

Simulators are registered under the names of the drivers they speak to (see
:mod:`PyExpLabSys.drivers.registry`); a driver without a simulator simply has no entry
here. Nothing outside the demo, the tests and ``sim://`` ports imports this package.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..drivers.registry import SIM_SCHEME
from .mks_925_pirani import Mks925Simulator
from .mks_937b import Mks937bSimulator
from .mks_g_series import MksGSeriesSimulator
from .omega_cn7800 import CN7800Simulator
from .omega_cni import ISeriesSimulator
from .pfeiffer import Tpg26xSimulator
from .polyscience_4100 import Polyscience4100Simulator
from .pty_device import PtySimulator
from .xgs600 import XGS600Simulator

LOG = logging.getLogger(__name__)

#: Driver name → the simulator that speaks its protocol.
SIMULATORS: dict[str, type[PtySimulator]] = {
    "tpg261": Tpg26xSimulator,
    "tpg262": Tpg26xSimulator,
    "tpg26x": Tpg26xSimulator,
    "mks925": Mks925Simulator,
    "mks937b": Mks937bSimulator,
    "omega": ISeriesSimulator,
    "mksg": MksGSeriesSimulator,
    "polyscience": Polyscience4100Simulator,
    "xgs600": XGS600Simulator,
    "cn7800": CN7800Simulator,
}


def simulator_class(name: str) -> type[PtySimulator]:
    """The simulator class registered under driver name ``name`` (e.g. ``tpg26x``)."""
    try:
        return SIMULATORS[name]
    except KeyError:
        raise KeyError(f"no simulator {name!r}; known: {', '.join(SIMULATORS)}") from None


def reading_args(name: str, read: str) -> tuple[object, ...]:
    """Arguments of driver reading ``read`` that fit simulator ``name`` (e.g. a gauge it
    has); ``()`` for readings that take none."""
    return simulator_class(name).reading_args.get(read, ())


@contextmanager
def start_simulator(name: str, **kwargs: Any) -> Iterator[PtySimulator]:
    """Run simulator ``name`` for the duration of the block; ``.port`` is its path."""
    simulator = simulator_class(name)(**kwargs).start()
    try:
        yield simulator
    finally:
        simulator.stop()


_served: dict[str, PtySimulator] = {}
_served_lock = threading.Lock()


def simulator_name(port: str, default: str) -> str:
    """The simulator a ``sim://NAME[/tag]`` port asks for (``sim://`` alone: ``default``,
    the instrument's driver name); ``KeyError`` naming the known simulators."""
    name = port[len(SIM_SCHEME) :].partition("/")[0] or default
    simulator_class(name)
    return name


def simulated_port(port: str, default: str) -> str:
    """The device path of the simulator serving ``port`` (``sim://NAME[/tag]``), started
    on first use and kept until the process exits; each distinct simulator and tag gets
    its own (two instruments of different drivers on ``sim://`` get one each)."""
    name = simulator_name(port, default)
    key = f"{name}/{port[len(SIM_SCHEME) :].partition('/')[2]}"
    with _served_lock:
        simulator = _served.get(key)
        if simulator is None:
            if not _served:
                atexit.register(stop_served)
            simulator = _served[key] = simulator_class(name)().start()
            LOG.info("%s: simulated %s on %s", port, name, simulator.port)
    return simulator.port


def stop_served() -> None:
    """Stop the simulators started for ``sim://`` ports."""
    with _served_lock:
        simulators = list(_served.values())
        _served.clear()
    for simulator in simulators:
        simulator.stop()
