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
without ``backend=`` writes into the mock, so scripts run unchanged; a data set's rows
are read back with ``measurements(table)`` and ``xy_values(measurement_id)``.
Faults: ``unreachable_for(seconds)``, ``with outage():``, ``hang()``/``unhang()``,
``lose_next_commit_answer()``, ``reject(value or function)``. The project's own fast
tests use the same fixture.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from ..backends.memory import MemoryBackend, MemoryDatabase
from ..backends.rows import DATA_SET

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

    def backend(self) -> MemoryBackend:
        """A new client of this database, for ``ContinuousLogger(..., backend=...)``."""
        backend = MemoryBackend(self, timeout=self.timeout)
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

    def data_set_backend(self) -> MemoryBackend:
        """A new client that writes data sets (``DataSetSaver(..., backend=...)``)."""
        backend = MemoryBackend(self, timeout=self.timeout, rows=DATA_SET)
        self.backends.append(backend)
        return backend

    def _data_set_factory(self, table: str) -> MemoryBackend:
        """``database_saver.data_set_backend_factory``: every data-set saver of a script
        writes into this mock."""
        return self.data_set_backend()

    def _factory(self, table: str) -> MemoryBackend:
        """``loggers.backend_factory``: every table of a script goes into this mock."""
        return self.backend()


@pytest.fixture
def mock_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockDatabase]:
    """An in-memory mock of the lab database; loggers built without ``backend=`` (lab
    scripts as they are) write into it while the test runs."""
    from ..common import database_saver, loggers

    database = MockDatabase()
    monkeypatch.setattr(loggers, "backend_factory", database._factory)
    monkeypatch.setattr(database_saver, "data_set_backend_factory", database._data_set_factory)
    try:
        yield database
    finally:
        database.unhang()  # never leave a logger's thread blocked on the mock
