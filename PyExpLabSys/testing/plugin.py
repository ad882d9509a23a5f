"""pytest plugin of PyExpLabSys (registered as the ``pytest11`` entry point ``pyexplabsys``).

Labs test their own instrument scripts in CI without a MySQL server: the
``mock_database`` fixture gives an in-memory database that the logger writes to exactly
as it writes to MySQL (batches, commits, the ledger that makes a lost COMMIT answer
harmless), with the codenames declared in the test, rows readable back as
``(codename, time, value)`` and switchable faults::

    def test_my_script(mock_database):
        mock_database.declare("mysetup_pressure")
        run_my_script()                     # builds ContinuousLogger(table, user, pw, ...)
        assert mock_database.values("mysetup_pressure") == [1.2e-7]

While the fixture is active, every ``ContinuousLogger`` and ``DataSetSaver`` built
without ``backend=`` writes into the mock, so scripts run unchanged: the fixture gives the
composition root its documented parameter :func:`PyExpLabSys.assembly.backends_from` for
the test's duration. A data set's rows are read back with ``measurements(table)`` and
``xy_values(measurement_id)``.
Faults: ``unreachable_for(seconds)``, ``with outage():``, ``hang()``/``unhang()``,
``lose_next_commit_answer()``, ``reject(value or function)``. The project's own fast
tests use the same fixture.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from ..assembly import backends_from
from ..backends.memory import MemoryBackend, MemoryDatabase
from ..backends.rows import CLASSIC, RowShape

LOG = logging.getLogger(__name__)

__all__ = ["MockDatabase", "mock_database"]


class MockDatabase(MemoryDatabase):
    """A :class:`MemoryDatabase` for tests, with helpers to make loggers bound to it.

    ``timeout`` is how long a statement waits on a hanging mock before it times out
    (the logger's query time-out plays that part against MySQL).
    """

    def __init__(self, codenames: Iterable[str] = (), timeout: float = 0.5) -> None:
        super().__init__(codenames)
        self.timeout = timeout
        self.backends: list[MemoryBackend] = []

    def backend(self, rows: RowShape = CLASSIC) -> MemoryBackend:
        """A new client of this database, for ``ContinuousLogger(..., backend=...)``
        (``rows=DATA_SET``: for ``DataSetSaver(..., backend=...)``)."""
        backend = MemoryBackend(self, timeout=self.timeout, rows=rows)
        self.backends.append(backend)
        return backend

    def logger(self, codenames: Iterable[str], table: str = "dateplots_mock", **kw: Any) -> Any:
        """A ``ContinuousLogger`` writing into this database (not started); the codenames
        are declared first. Keyword arguments go to ContinuousLogger."""
        from ..common.loggers import ContinuousLogger

        codenames = list(codenames)
        self.declare(*codenames)
        kw.setdefault("backend", self.backend())
        return ContinuousLogger(table, "mock", "mock", codenames, **kw)

    def backend_for(self, table: str, rows: RowShape = CLASSIC) -> MemoryBackend:
        """A new client for a script's logger of ``table``: every table of a script
        goes into this mock (a :data:`~PyExpLabSys.assembly.BackendFactory`)."""
        return self.backend(rows)


@pytest.fixture
def mock_database() -> Iterator[MockDatabase]:
    """An in-memory mock of the lab database; loggers built without ``backend=`` (lab
    scripts as they are) write into it while the test runs."""
    database = MockDatabase()
    try:
        with backends_from(database.backend_for):
            yield database
    finally:
        database.unhang()  # never leave a logger's thread blocked on the mock
