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
import time
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
    and sets ``status['trigged']`` when a reading should be logged (PyExpLabSys API).

    ``comp_type`` (``'lin'``/``'log'``), ``comp_val``, ``maximumtime`` and ``low_comp``
    are the logging criterion (see :mod:`PyExpLabSys.datalog.criteria`). Each logged
    reading is appended to ``saved_points`` as ``(unix time, value)``. When a reading
    triggers on a change and more than ``maximumtime * pre_trig_value`` seconds have
    passed since the last logged point, the reading just before it is saved too (when the
    new value moved by more than ``comp_val * pre_trig_value``), so that the onset of a
    step shows in ``saved_points``. ``status['quit'] = True`` (or :meth:`stop`) ends the
    thread; ``interval`` (default 1 s, as upstream polls) is keyword-only.
    """

    def __init__(
        self,
        value_reader: Any,
        maximumtime: float = 600,
        low_comp: float | None = None,
        comp_type: str = "lin",
        comp_val: float = 1,
        channel: Any = None,
        pre_trig: Any = None,
        pre_trig_value: float = 0.1,
        *,
        interval: float = 1.0,
    ) -> None:
        super().__init__(name="ValueLogger", daemon=True)
        self.valuereader = value_reader
        self.channel = channel
        self.interval = interval
        self.maximumtime = maximumtime
        self.value: float | None = None
        self.criterion = make_criterion(comp_type, comp_val, maximumtime, low_comp)
        # The smaller move that makes the reading before a trigger worth saving.
        self._onset = make_criterion(comp_type, comp_val * pre_trig_value, None, None)
        self.status: dict[str, bool] = {"quit": False, "trigged": False}
        self.compare = {
            "type": comp_type,
            "val": comp_val,
            "low_comp": low_comp,
            "low val": comp_val * pre_trig_value,
        }
        self.last: dict[str, float] = {"time": 0, "val": 0}
        self.pre_trig = pre_trig
        self.low_time = maximumtime * pre_trig_value
        self.saved_points: list[tuple[float, float]] = []
        self.pre_trig_queue: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._quit = threading.Event()

    def read_value(self) -> float | None:
        """The latest reading."""
        return self.value

    def read_trigged(self) -> bool:
        """Whether a reading since the last :meth:`clear_trigged` should be logged."""
        return self.status["trigged"]

    def clear_trigged(self) -> None:
        """Clear the trigger and the saved points (after logging them)."""
        with self._lock:
            self.status["trigged"] = False
            if self.pre_trig is not None:
                self.pre_trig = False
            self.saved_points = []

    def stop(self) -> None:
        self.status["quit"] = True
        self._quit.set()

    def run(self) -> None:
        while not self.status["quit"] and not self._quit.wait(self.interval):
            try:
                args = () if self.channel is None else (self.channel,)
                self.value = self.valuereader.value(*args)
            except Exception:  # a failing reader must not end the thread
                LOG.warning("ValueLogger: reading failed", exc_info=True)
                continue
            self.consider(self.value, time.time())

    def consider(self, value: float | None, now: float) -> bool:
        """Decide about one reading taken at ``now`` (the thread calls this); whether
        it triggered."""
        criterion = self.criterion
        if value is None or not criterion.should_log(value, now):
            if value is not None:
                self.pre_trig_queue.append((now, value))
            return False
        last_time, last_value = criterion.last_time, criterion.last_value
        on_change = last_time is not None and not (
            criterion.max_interval is not None and now - last_time >= criterion.max_interval
        )
        with self._lock:
            if (
                on_change
                and self.pre_trig_queue
                and now - (last_time or 0.0) > self.low_time
                and last_value is not None
                and self._onset.moved(last_value, value)
            ):
                self.saved_points.append(self.pre_trig_queue[-1])
            criterion.logged(value, now)
            self.last = {"time": now, "val": value}
            self.saved_points.append((now, value))
            self.pre_trig_queue = []
            self.status["trigged"] = True
        return True
