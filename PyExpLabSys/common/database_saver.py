"""PyExpLabSys's ``ContinuousDataSaver`` and ``DataSetSaver``, unchanged for lab scripts,
over the logging core.

``ContinuousDataSaver(continuous_data_table, username, password, measurement_codenames=None)``
with ``add_continuous_measurement(codename)`` (also after ``start()``),
``save_point_now(codename, value)`` (returns the unix time used),
``save_point(codename, (unixtime, value))``, ``start()`` and ``stop()``. It is the same
logger as :class:`~.loggers.ContinuousLogger` under PyExpLabSys's other names, so it has
the same guarantees (batches committed exactly once, nothing lost in an outage, an
enqueue that never waits for the network), the same keyword options (``host``,
``spool_path``, the policies …) and the same ``mock_database`` fixture support.

``DataSetSaver(measurements_table, xy_values_table, username, password,
measurement_specs=None)`` saves data sets (a spectrum, a sweep): ``add_measurement(codename,
metadata)`` inserts the measurement's row into ``measurements_table`` (``metadata`` maps
columns to values, or to :class:`CustomColumn` ``(value, format_string)`` for SQL around
the value, e.g. ``FROM_UNIXTIME(%s)``) and remembers its id in ``measurement_ids``; the
points, ``save_point(codename, (x, y))`` and ``save_points_batch(codename, xs, ys)``, go
into ``xy_values_table`` as ``(measurement, x, y)`` rows through the same core as the
continuous points (see :mod:`PyExpLabSys.backends.rows`): batched, committed exactly once,
time-outs that interrupt, reconnection, numpy values. ``sql_saver.queue.qsize()`` is the
number of points not yet committed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..assembly import script_backend
from ..backends.base import Backend
from ..backends.rows import DATA_SET
from ..backends.sqltext import quote_identifier
from ..datalog.deadletter import default_dead_letter_path
from ..datalog.logger import DataLogger
from ..datalog.policies import BatchPolicy, NonFinitePolicy, RetryPolicy, Timeouts
from ..datalog.status import LoggerStatus, StopReport
from .loggers import ContinuousLogger

LOG = logging.getLogger(__name__)

__all__ = ["COLUMN_NAME", "ContinuousDataSaver", "CustomColumn", "DataSetSaver"]

#: The column names a measurements row may name (no quoting needed, no injection).
COLUMN_NAME = re.compile(r"^[0-9a-zA-Z$_]+$")
#: What ``get_unique_values_from_measurements`` accepts: a column, or one SQL function
#: of one column (``UNIX_TIMESTAMP(time)``).
_COLUMN_EXPRESSION = re.compile(r"^(?:[0-9a-zA-Z$_]+|[A-Za-z_][A-Za-z0-9_]*\(\s*[0-9a-zA-Z$_]+\s*\))$")


class CustomColumn(NamedTuple):
    """A measurements-row value with the SQL it goes into: ``format_string`` holds one
    ``%s`` where the value goes, e.g. ``CustomColumn(unixtime, 'FROM_UNIXTIME(%s)')``."""

    value: Any
    format_string: str


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
        #: ``sql_saver.queue.qsize()``: the points not yet committed (as upstream's).
        self.sql_saver = _SqlSaver(self)

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


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (the database client's type)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value


def _column_values(metadata: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """Column → (value, SQL marker), checked: ValueError naming what is wrong."""
    if not isinstance(metadata, Mapping) or not metadata:
        raise ValueError(
            f"metadata must be a non-empty mapping of column names to values, not {metadata!r:.80}"
        )
    values: dict[str, tuple[Any, str]] = {}
    for column, value in metadata.items():
        if not isinstance(column, str) or not COLUMN_NAME.match(column) or len(column) > 64:
            raise ValueError(f"invalid column name {column!r}: only a-z, A-Z, 0-9, '_' and '$' are allowed")
        if isinstance(value, CustomColumn):
            marker = value.format_string
            if not isinstance(marker, str) or marker.count("%s") != 1 or marker.count("%") != 1:
                raise ValueError(
                    f"CustomColumn format string for {column!r} must hold exactly one %s "
                    f"(and no other %), got {marker!r}"
                )
            values[column] = (_plain(value.value), marker)
        else:
            values[column] = (_plain(value), "%s")
    return values


class _PointsQueue:
    """``sql_saver.queue``: ``qsize()`` is how many points are not yet committed."""

    def __init__(self, logger: DataLogger) -> None:
        self._logger = logger

    def qsize(self) -> int:
        return self._logger.queued()

    def empty(self) -> bool:
        return self._logger.queued() == 0


class _SqlSaver:
    """What scripts reach through ``DataSetSaver.sql_saver``: ``queue``, ``commits``,
    ``wait_for_queue_to_empty``."""

    def __init__(self, logger: DataLogger) -> None:
        self._logger = logger
        self.queue = _PointsQueue(logger)

    @property
    def commits(self) -> int:
        """How many batches were committed."""
        return self._logger.status().batches

    def wait_for_queue_to_empty(self) -> None:
        self._logger.flush()


class DataSetSaver:
    """Saves data sets: a row per measurement in ``measurements_table``, its points as
    ``(measurement, x, y)`` rows in ``xy_values_table`` (PyExpLabSys-compatible).

    ``measurement_specs`` is a sequence of ``(codename, metadata)`` pairs added at once
    (see :meth:`add_measurement`). The server is found as for
    :class:`~.loggers.ContinuousLogger` (``host``, ``port``, ``database`` or the
    settings); keyword options: ``dsn`` (ODBC), ``backend``, ``batch``, ``retry``,
    ``timeouts``, ``nonfinite``, ``stop_timeout``, ``dead_letter_path``, ``logger_id``
    and the ``ssl_*`` options. The constructor connects (StartupException when it
    cannot within ``timeouts.startup``).
    """

    def __init__(
        self,
        measurements_table: str,
        xy_values_table: str,
        username: str,
        password: str,
        measurement_specs: Iterable[tuple[str, Mapping[str, Any]]] | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        dsn: str | None = None,
        backend: Backend | None = None,
        batch: BatchPolicy = BatchPolicy(),
        retry: RetryPolicy = RetryPolicy(),
        timeouts: Timeouts = Timeouts(),
        nonfinite: NonFinitePolicy | str = NonFinitePolicy.NULL,
        stop_timeout: float = 30.0,
        dead_letter_path: str | Path | None = None,
        logger_id: str | None = None,
        **tls: Any,
    ) -> None:
        quote_identifier(measurements_table)  # ValueError now, not at the first row
        quote_identifier(xy_values_table)
        self.measurements_table = measurements_table
        self.xy_values_table = xy_values_table
        self.username = username
        if backend is None:  # chosen where every logger's backend is: PyExpLabSys.assembly
            backend = script_backend(
                xy_values_table,
                username,
                password,
                dsn=dsn,
                host=host,
                port=port,
                database=database,
                tls=tls,
                timeouts=timeouts,
                logger_id=logger_id,
                rows=DATA_SET,
            )
        #: The logging core that carries the points (status, flush, stop).
        self.logger = DataLogger(
            backend,
            [],
            batch=batch,
            retry=retry,
            timeouts=timeouts,
            nonfinite=nonfinite,
            stop_timeout=stop_timeout,
            dead_letter_path=dead_letter_path or default_dead_letter_path(xy_values_table),
            name=f"DataSetSaver({xy_values_table})",
        )
        self.sql_saver = _SqlSaver(self.logger)
        #: Codename → id of its row in the measurements table (the newest one added).
        self.measurement_ids: dict[str, int] = {}
        self._bound: dict[str, int] = {}
        for codename, metadata in measurement_specs or ():
            self.add_measurement(codename, metadata)

    def add_measurement(self, codename: str, metadata: Mapping[str, Any]) -> int:
        """Insert the measurement's row (``metadata``: column → value or
        :class:`CustomColumn`) and save points of ``codename`` under its id from now on;
        returns the id. A column name outside ``[0-9a-zA-Z$_]`` or a format string
        without exactly one ``%s`` is a ValueError, and nothing is inserted."""
        if not isinstance(codename, str):
            raise TypeError(f"codename must be a string, not {type(codename).__name__}")
        values = _column_values(metadata)
        table = self.measurements_table
        row_id = self.logger.with_backend(lambda backend: backend.insert_row(table, values))
        self.measurement_ids[codename] = row_id
        self._bind(codename, row_id)
        LOG.info("measurement %r is row %d of %s", codename, row_id, table)
        return row_id

    def _measurement(self, codename: str) -> None:
        """Make sure the core saves ``codename`` under ``measurement_ids[codename]`` (a
        script may set that entry itself, to continue an existing measurement)."""
        try:
            row_id = self.measurement_ids[codename]
        except (KeyError, TypeError):
            raise ValueError(f"No entry in measurement_ids for codename: {codename!r}") from None
        if self._bound.get(codename) != row_id:
            self._bind(codename, row_id)

    def _bind(self, codename: str, row_id: int) -> None:
        self.logger.bind_codenames({codename: int(row_id)})
        self._bound[codename] = int(row_id)

    def save_point(self, codename: str, point: Sequence[float]) -> None:
        """Queue one ``(x, y)`` point of the measurement ``codename``."""
        self._measurement(codename)
        self.logger.enqueue_point(codename, point)  # type: ignore[arg-type]  # any (x, y) pair is checked

    def save_points_batch(
        self, codename: str, x_values: Sequence[float], y_values: Sequence[float], batchsize: int = 1000
    ) -> int:
        """Queue the points ``zip(x_values, y_values)`` of ``codename``, all or none
        (a bad value raises naming its index); returns how many were queued. The core
        commits them in batches of its own batch policy: ``batchsize`` (upstream's
        statement size) is checked and otherwise has no effect."""
        if len(x_values) != len(y_values):
            raise ValueError(
                f"Number of x and y values must be the same. Values are {len(x_values)} and {len(y_values)}"
            )
        if isinstance(batchsize, bool) or not isinstance(batchsize, int) or batchsize < 1:
            raise ValueError(f"batchsize must be a positive integer, not {batchsize!r}")
        self._measurement(codename)
        return self.logger.enqueue_points(codename, zip(x_values, y_values, strict=True))

    def get_unique_values_from_measurements(self, column: str) -> set[Any]:
        """The distinct values of ``column`` in the measurements table; ``column`` may
        be one SQL function of a column, e.g. ``UNIX_TIMESTAMP(time)``."""
        if not isinstance(column, str) or not _COLUMN_EXPRESSION.match(column):
            raise ValueError(
                f"invalid column {column!r}: a column name (a-z, A-Z, 0-9, '_', '$') or one "
                "function of one, e.g. UNIX_TIMESTAMP(time)"
            )
        table = self.measurements_table
        return self.logger.with_backend(lambda backend: backend.distinct_values(table, column))

    def start(self) -> None:
        """Start committing the queued points."""
        self.logger.start()

    def stop(self, timeout: float | None = None) -> StopReport:
        """Commit what is queued (within ``timeout``, default ``stop_timeout``), stop,
        and report what could not be delivered."""
        return self.logger.stop(timeout)

    def wait_for_queue_to_empty(self) -> None:
        """Block until every point queued so far is committed."""
        self.logger.flush()

    def status(self) -> LoggerStatus:
        """The core's status: queued, committed, reconnects, time-outs …"""
        return self.logger.status()
