"""Instrument simulators on pseudo-terminals (see :mod:`.pty_device`).

with start_simulator("tpg26x") as sim:
    gauge = TPG262(sim.port)
"""

from .pty_device import Fault, PtySimulator
from .registry import SIMULATORS, simulator_class, start_simulator

__all__ = ["SIMULATORS", "Fault", "PtySimulator", "simulator_class", "start_simulator"]
