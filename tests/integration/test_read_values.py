"""Reading stored values back (``Backend.read_values``, used by ``plot``) through the
MySQL and ODBC backends, on InnoDB and MyISAM tables."""

from __future__ import annotations

import time

import pytest

from PyExpLabSys.backends.base import BackendSettings
from PyExpLabSys.backends.registry import build
from PyExpLabSys.common.loggers import ContinuousLogger

from ..conftest import DATABASE, FAST_TIMEOUTS, LOGGER_PASSWORD, LOGGER_USER, ODBC_DSN

pytestmark = pytest.mark.mariadb


def test_read_values_gives_what_was_stored_in_time_order(classic):
    pressure, temperature = classic.codenames
    logger = ContinuousLogger(
        classic.table, LOGGER_USER, LOGGER_PASSWORD, [pressure, temperature], **classic.logger_kwargs()
    )
    logger.start()
    now = time.time()
    for index in range(5):
        logger.enqueue_point(pressure, (now - 100 + index, 1e-6 * (index + 1)))
        logger.enqueue_point(temperature, (now - 100 + index, 20.0 + index))
    logger.enqueue_point(pressure, (now - 5000, 9.9))  # before `since`: left out
    assert logger.stop(timeout=10).delivered_all

    options = {"host": classic.server.host, "port": classic.server.port, "database": DATABASE}
    if classic.kind == "odbc":
        name, options = "odbc", {**options, "dsn": ODBC_DSN, "user": LOGGER_USER}
    else:
        name, options = "mysql", {**options, "user": LOGGER_USER}
    backend = build(name, BackendSettings(classic.table, options, LOGGER_PASSWORD, FAST_TIMEOUTS))
    backend.connect()
    try:
        series = backend.read_values([pressure, temperature], since=now - 1000)
    finally:
        backend.close()
    assert [v for _, v in series[pressure]] == pytest.approx([1e-6 * (i + 1) for i in range(5)])
    assert [v for _, v in series[temperature]] == [20.0 + i for i in range(5)]
    times = [t for t, _ in series[pressure]]
    assert times == sorted(times) and all(abs(t - (now - 100 + i)) <= 0.51 for i, t in enumerate(times))
