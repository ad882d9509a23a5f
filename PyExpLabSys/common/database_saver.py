"""PyExpLabSys's ``ContinuousDataSaver``, unchanged for lab scripts, over the logging core.

``ContinuousDataSaver(continuous_data_table, username, password, measurement_codenames=None)``
with ``add_continuous_measurement(codename)`` (also after ``start()``),
``save_point_now(codename, value)`` (returns the unix time used),
``save_point(codename, (unixtime, value))``, ``start()`` and ``stop()``. It is the same
logger as :class:`~.loggers.ContinuousLogger` under PyExpLabSys's other names, so it has
the same guarantees (batches committed exactly once, nothing lost in an outage, an
enqueue that never waits for the network), the same keyword options (``host``,
``spool_path``, the policies …) and the same ``mock_database`` fixture support.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .loggers import ContinuousLogger

__all__ = ["ContinuousDataSaver"]


class ContinuousDataSaver(ContinuousLogger):
    """Saves continuous measurements into ``continuous_data_table`` (PyExpLabSys-compatible).

    ``measurement_codenames`` may be left out and added later with
    :meth:`add_continuous_measurement`. Keyword options are those of
    :class:`~.loggers.ContinuousLogger` (``host``, ``port``, ``database``, ``dsn``,
    ``backend``, ``spool_path``, ``batch``, ``retry``, ``timeouts`` …).
    """

    def __init__(
        self,
        continuous_data_table: str,
        username: str,
        password: str,
        measurement_codenames: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        if measurement_codenames is None:
            measurement_codenames = ()
        super().__init__(continuous_data_table, username, password, measurement_codenames, **options)
        self.continuous_data_table = continuous_data_table
        self.username = username

    def add_continuous_measurement(self, codename: str) -> None:
        """Save points for ``codename`` too (any thread, also while running).

        Raises ``ValueError`` (a :class:`~..datalog.logger.CodenameLookupError`) when the
        codename does not have exactly one row in ``dateplots_descriptions``.
        """
        self.add_codenames([codename])

    @property
    def codename_translation(self) -> dict[str, int]:
        """Codename → type id of every codename this saver saves (a copy)."""
        return dict(self._codename_translation)

    #: Save ``value`` for ``codename`` at the current time; returns that unix time.
    save_point_now = ContinuousLogger.enqueue_point_now
    #: Save ``point``, a ``(unixtime, value)`` pair, for ``codename``.
    save_point = ContinuousLogger.enqueue_point
