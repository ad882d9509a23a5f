"""The one registry of instrument drivers: name → driver class, readings, port defaults.

A driver is registered by the dotted path of its class, so listing or validating names
imports nothing, and a driver whose module needs an optional library is imported only
when a configuration uses it. What the driver measures is declared by the driver
itself (its ``readings``); the port defaults are its class attributes.

Adding a driver is its module plus one line here::

    register("mydevice", "PyExpLabSys.drivers.my_device:MyDevice", "My lab's device")

Simulators register under the same names in :mod:`PyExpLabSys.simulators.registry`;
a driver without a simulator is registered all the same.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .base import SerialInstrument, reading_name

LOG = logging.getLogger(__name__)

__all__ = ["DRIVERS", "SIM_SCHEME", "DriverEntry", "driver_class", "driver_entry", "register"]

#: Ports served by the driver's simulator instead of an instrument: ``sim://`` (the
#: simulator registered under the driver's name) or ``sim://NAME[/tag]``.
SIM_SCHEME = "sim://"

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_entries: dict[str, DriverEntry] = {}
#: The registered drivers by name (read-only; add with :func:`register`).
DRIVERS: Mapping[str, DriverEntry] = MappingProxyType(_entries)


@dataclass(frozen=True)
class DriverEntry:
    """One registered driver. ``target`` is ``"package.module:Class"``; the class is
    imported on first use."""

    name: str
    target: str
    description: str = ""
    _cls: list[type[SerialInstrument]] = field(default_factory=list, repr=False, compare=False)

    @property
    def cls(self) -> type[SerialInstrument]:
        """The driver class (imports its module the first time)."""
        if not self._cls:
            module_name, _, class_name = self.target.partition(":")
            cls = getattr(importlib.import_module(module_name), class_name, None)
            if not (isinstance(cls, type) and issubclass(cls, SerialInstrument)):
                raise TypeError(f"driver {self.name!r}: {self.target} is not a SerialInstrument subclass")
            if not cls.readings:
                raise TypeError(f"driver {self.name!r}: {cls.__name__} declares no readings")
            self._cls.append(cls)
        return self._cls[0]

    @property
    def readings(self) -> tuple[str, ...]:
        """The measurement methods a channel may read (PyExpLabSys's names)."""
        return self.cls.readings

    @property
    def default_read(self) -> str:
        """The reading a channel takes when its config names none."""
        return self.readings[0]

    @property
    def port_defaults(self) -> dict[str, Any]:
        """Baud rate, byte size, parity, stop bits and time-out the driver opens with."""
        return self.cls.port_defaults()

    def reading_method(self, read: str) -> str:
        """The status-rich twin the service calls for channel reading ``read``;
        ``ValueError`` naming the readings when ``read`` is not one."""
        if read not in self.readings:
            raise ValueError(
                f"driver {self.cls.__name__} has no method {read!r} among its "
                f"declared readings: {', '.join(self.readings)}"
            )
        return reading_name(read)

    def check_arguments(self, read: str, args: tuple[Any, ...]) -> None:
        """``TypeError`` when reading ``read`` cannot be called with ``args``."""
        method = getattr(self.cls, self.reading_method(read))
        try:
            inspect.signature(method).bind(None, *args)
        except TypeError as error:
            raise TypeError(
                f"{read}{tuple(args)!r} does not fit {read}{_without_self(method)}: {error}"
            ) from None


def _without_self(method: Any) -> inspect.Signature:
    """The signature as a config writer needs it: no self, no annotations."""
    parameters = list(inspect.signature(method).parameters.values())[1:]
    return inspect.Signature([p.replace(annotation=inspect.Parameter.empty) for p in parameters])


def register(name: str, target: str, description: str = "") -> DriverEntry:
    """Register the driver class at ``target`` (``"module:Class"``) under ``name``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"driver name must be lower-case letters, digits and _: {name!r}")
    if name in _entries:
        raise ValueError(f"driver {name!r} is already registered ({_entries[name].target})")
    if target.count(":") != 1:
        raise ValueError(f"driver target must be 'package.module:Class', not {target!r}")
    entry = _entries[name] = DriverEntry(name, target, description)
    return entry


def driver_entry(name: str) -> DriverEntry:
    """The entry registered under ``name``; ``KeyError`` listing the known names."""
    try:
        return _entries[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(_entries))}") from None


def driver_class(name: str) -> type[SerialInstrument]:
    """The driver class registered under ``name``."""
    return driver_entry(name).cls


_HERE = __name__.rpartition(".")[0]
register("tpg261", f"{_HERE}.pfeiffer:TPG261", "Pfeiffer TPG 261 (one gauge)")
register("tpg262", f"{_HERE}.pfeiffer:TPG262", "Pfeiffer TPG 262 (two gauges)")
register("tpg26x", f"{_HERE}.pfeiffer:TPG262", "Pfeiffer TPG 261/262 (as tpg262)")
register("mks925", f"{_HERE}.mks_925_pirani:Mks925", "MKS 925 MicroPirani")
register("mks937b", f"{_HERE}.mks_937b:Mks937b", "MKS 937B gauge controller")
register("omega", f"{_HERE}.omega_cni:ISeries", "Omega iSeries (CNi) controller")
register("mksg", f"{_HERE}.mks_g_series:MksGSeries", "MKS G-series mass-flow controller")
register("polyscience", f"{_HERE}.polyscience_4100:Polyscience4100", "PolyScience 4100 chiller")
register("xgs600", f"{_HERE}.xgs600:XGS600Driver", "Agilent XGS-600 gauge controller")
register("cn7800", f"{_HERE}.omega_cn7800:CN7800", "Omega CN7800 temperature controller (Modbus RTU)")
