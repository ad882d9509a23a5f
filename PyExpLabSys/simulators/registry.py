"""Name → simulator class registry and the :func:`start_simulator` context manager."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..drivers.base import SerialInstrument
from ..drivers.mks_925_pirani import Mks925
from ..drivers.mks_937b import Mks937b
from ..drivers.mks_g_series import MksGSeries
from ..drivers.omega_cn7800 import CN7800
from ..drivers.omega_cni import ISeries
from ..drivers.pfeiffer import TPG262
from ..drivers.polyscience_4100 import Polyscience4100
from ..drivers.xgs600 import XGS600Driver
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

SIMULATORS: dict[str, type[PtySimulator]] = {
    cls.name: cls
    for cls in (Tpg26xSimulator, Mks925Simulator, Mks937bSimulator, ISeriesSimulator,
                MksGSeriesSimulator, Polyscience4100Simulator, XGS600Simulator,
                CN7800Simulator)
}

#: Simulator name → (driver class that speaks to it, its main reading method).
DRIVERS: dict[str, tuple[type[SerialInstrument], str]] = {
    "tpg26x": (TPG262, "pressure_gauge"),
    "mks925": (Mks925, "read_pressure"),
    "mks937b": (Mks937b, "read_pressure"),
    "omega": (ISeries, "read_temperature"),
    "mksg": (MksGSeries, "read_flow"),
    "polyscience": (Polyscience4100, "read_temperature"),
}


def simulator_class(name: str) -> type[PtySimulator]:
    """The simulator class registered under ``name`` (e.g. ``tpg26x``)."""
    try:
        return SIMULATORS[name]
    except KeyError:
        raise KeyError(f"no simulator {name!r}; known: {', '.join(SIMULATORS)}") from None


@contextmanager
def start_simulator(name: str, **kwargs: Any) -> Iterator[PtySimulator]:
    """Run simulator ``name`` for the duration of the block; ``.port`` is its path."""
    simulator = simulator_class(name)(**kwargs).start()
    try:
        yield simulator
    finally:
        simulator.stop()
