"""PyExpLabSys's logging-criterion names over :mod:`PyExpLabSys.datalog.criteria`.

``LoggingCriteriumChecker(codenames, types, criteria, time_outs, low_compare_values)``
with ``check(codename, value)``, and the ``ValueLogger`` thread that polls
``value_reader.value([channel])`` and raises ``read_trigged()`` when a value should be
logged. The decisions are made by the criteria objects; this module only keeps the old
names and arguments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from ..datalog.criteria import LoggingCriterion, make_criterion

LOG = logging.getLogger(__name__)

__all__ = ["LoggingCriteriumChecker", "ValueLogger"]


class LoggingCriteriumChecker:
    """Keeps one criterion per codename; ``check(codename, value)`` says whether to log."""

    def __init__(
        self,
        codenames: Sequence[str] = (),
        types: Sequence[str] = (),
        criteria: Sequence[float] = (),
        time_outs: Sequence[float] | None = None,
        low_compare_values: Sequence[float | None] | None = None,
    ) -> None:
        count = len(codenames)
        for name, seq in (
            ("types", types),
            ("criteria", criteria),
            ("time_outs", time_outs),
            ("low_compare_values", low_compare_values),
        ):
            if seq is not None and len(seq) != count:
                raise ValueError(f"there must be exactly as many {name} as codenames")
        time_outs = time_outs if time_outs is not None else [600] * count
        lows = low_compare_values if low_compare_values is not None else [None] * count
        self.measurements: dict[str, LoggingCriterion] = {}
        for args in zip(codenames, types, criteria, time_outs, lows, strict=True):
            self.add_measurement(*args)

    @property
    def codenames(self) -> list[str]:
        return list(self.measurements)

    def add_measurement(
        self,
        codename: str,
        type_: str,
        criterium: float,
        time_out: float = 600,
        low_compare: float | None = None,
    ) -> None:
        """Add a channel: ``type_`` is ``'lin'`` or ``'log'``."""
        self.measurements[codename] = make_criterion(type_, criterium, time_out, low_compare)

    def check(self, codename: str, value: float | None) -> bool:
        """Whether ``value`` should be logged for ``codename`` (remembered if so)."""
        try:
            criterion = self.measurements[codename]
        except KeyError:
            raise KeyError(f"Codename {codename!r} is unknown") from None
        return criterion.check(value)


class ValueLogger(threading.Thread):
    """Polls ``value_reader.value()`` (or ``.value(channel)``) every ``interval`` seconds
    and sets ``read_trigged()`` when a reading should be logged (PyExpLabSys API)."""

    def __init__(
        self,
        value_reader: Any,
        maximumtime: float = 600,
        low_comp: float | None = None,
        comp_type: str = "lin",
        comp_val: float = 1,
        channel: Any = None,
        interval: float = 1.0,
    ) -> None:
        super().__init__(name="ValueLogger", daemon=True)
        self.valuereader = value_reader
        self.channel = channel
        self.interval = interval
        self.value: float | None = None
        self.criterion = make_criterion(comp_type, comp_val, maximumtime, low_comp)
        self._trigged = threading.Event()
        self._quit = threading.Event()

    def read_value(self) -> float | None:
        """The latest reading."""
        return self.value

    def read_trigged(self) -> bool:
        """Whether a reading since the last :meth:`clear_trigged` should be logged."""
        return self._trigged.is_set()

    def clear_trigged(self) -> None:
        self._trigged.clear()

    def stop(self) -> None:
        self._quit.set()

    def run(self) -> None:
        while not self._quit.wait(self.interval):
            try:
                args = () if self.channel is None else (self.channel,)
                self.value = self.valuereader.value(*args)
            except Exception:  # a failing reader must not end the thread
                LOG.warning("ValueLogger: reading failed", exc_info=True)
                continue
            if self.criterion.check(self.value):
                self._trigged.set()
