"""Opening a configured instrument: its driver on its port, or on a simulator.

The configuration only describes an instrument (:class:`~.config.InstrumentConfig`);
the readers, ``check --connect`` and tests open it here. A ``sim://`` port is served by
the driver's simulator, started on first use (the simulators are imported only then).
"""

from __future__ import annotations

from ..drivers.base import SerialInstrument
from ..drivers.registry import SIM_SCHEME, driver_entry
from .config import InstrumentConfig

__all__ = ["open_instrument"]


def open_instrument(instrument: InstrumentConfig) -> SerialInstrument:
    """Open the driver of ``instrument`` on its port, with its serial settings and
    time-out; raises :class:`~..drivers.base.PortGone` when the port cannot be opened."""
    kwargs = dict(instrument.serial)
    if instrument.timeout is not None:
        kwargs["timeout"] = instrument.timeout
    port = instrument.port
    if port.startswith(SIM_SCHEME):
        from ..simulators.registry import simulated_port

        port = simulated_port(port, instrument.driver)
    return driver_entry(instrument.driver).cls(port, **kwargs)
