"""The ContinuousLogger against a real MariaDB server, on InnoDB and MyISAM tables,
through PyMySQL and through ODBC (the ``backend_kind`` of the ``classic`` fixture)."""

from __future__ import annotations

import logging
import math
import threading
import time

import pytest

from PyExpLabSys.common.loggers import (
    NONE_RESPONSE,
    ContinuousLogger,
    StartupException,
    timeout_query,
)
from PyExpLabSys.datalog.policies import Timeouts
from tests.support.mariadb_server import free_port

from ..conftest import DATABASE, FAST_TIMEOUTS, LOGGER_PASSWORD, LOGGER_USER, make_classic_table

pytestmark = pytest.mark.mariadb


def new_logger(classic, codenames=None, **overrides) -> ContinuousLogger:
    codenames = list(classic.codenames) if codenames is None else codenames
    return ContinuousLogger(
        classic.table, LOGGER_USER, LOGGER_PASSWORD, codenames, **classic.logger_kwargs(**overrides)
    )


def test_classic_usage_example(classic):
    """The flow of PyExpLabSys's own logger test: two codenames, read back, compare."""
    pressure, temperature = classic.codenames
    logger = new_logger(classic)
    logger.start()
    sent = []
    for index in range(20):
        value = 1.0e-6 * (index + 1)
        now = logger.enqueue_point_now(pressure, value)
        sent.append((pressure, now, value))
        stamp = time.time() - 3600 + index
        logger.enqueue_point(temperature, (stamp, 20.0 + index))
        sent.append((temperature, stamp, 20.0 + index))
    report = logger.stop(timeout=10)
    assert report.delivered_all and report.undelivered == 0

    stored = classic.rows()
    for codename in (pressure, temperature):
        want = [(t, v) for name, t, v in sent if name == codename]
        got = [(t, v) for name, t, v in stored if name == codename]
        assert [v for _, v in got] == [v for _, v in want]
        for (t_got, _), (t_want, _) in zip(got, want, strict=True):
            assert abs(t_got - t_want) <= 0.51  # TIMESTAMP(0): rounded, not truncated
    status = logger.status()
    assert status.committed == 40 and status.queued == 0


def test_commits_are_visible_to_other_connections_while_running(classic):
    """InnoDB needs an explicit COMMIT: rows must be visible before stop()."""
    pressure = next(iter(classic.codenames))
    logger = new_logger(classic)
    logger.start()
    try:
        for value in range(100):
            logger.enqueue_point_now(pressure, float(value))
        deadline = time.monotonic() + 10
        while logger.status().committed < 100 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the status counter with a deadline, not a fixed wait
        assert classic.values(pressure) == [float(v) for v in range(100)]
    finally:
        logger.stop(timeout=5)


def test_microsecond_column_keeps_microseconds(mariadb, engine, backend_kind):
    table = make_classic_table(mariadb, engine, ("fast",), time_precision=6, kind=backend_kind)
    (codename,) = table.codenames
    logger = new_logger(table)
    logger.start()
    stamps = [1700000000.123456 + i * 0.000101 for i in range(10)]
    for stamp in stamps:
        logger.enqueue_point(codename, (stamp, 1.0))
    assert logger.stop(timeout=5)
    got = [t for _, t, _ in table.rows()]
    assert got == pytest.approx(stamps, abs=1e-6)


def test_many_threads_keep_per_codename_order(classic):
    names = list(classic.codenames)
    logger = new_logger(classic)
    logger.start()
    per_thread = 2000

    def produce(codename: str, offset: int) -> None:
        for index in range(per_thread):
            logger.enqueue_point_now(codename, float(offset + index))

    threads = [threading.Thread(target=produce, args=(names[i % 2], 0)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.stop(timeout=20)
    for name in names:
        assert classic.values(name) == [float(i) for i in range(per_thread)]


def test_non_finite_values_are_stored_as_null_and_counted(classic):
    codename = next(iter(classic.codenames))
    logger = new_logger(classic)
    logger.start()
    for value in (1.0, math.nan, math.inf, -math.inf, 2.0):
        logger.enqueue_point_now(codename, value)
    assert logger.stop(timeout=5)
    assert classic.values(codename) == [1.0, None, None, None, 2.0]
    assert logger.status().nonfinite_seen == 3


def test_unknown_codename_fails_start_up_naming_it(classic):
    known = next(iter(classic.codenames))
    with pytest.raises(StartupException, match="'no_such_codename' has no row"):
        new_logger(classic, [known, "no_such_codename"])


def test_duplicate_codename_fails_start_up(classic):
    known = next(iter(classic.codenames))
    classic.add_codename(known)  # a second row with the same codename
    with pytest.raises(StartupException, match=f"'{known}' has 2 rows"):
        new_logger(classic, [known])


def test_unreachable_server_fails_start_up_within_window(classic):
    timeouts = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=1.0)
    started = time.monotonic()
    with pytest.raises(StartupException, match="cannot reach") as caught:
        new_logger(classic, port=free_port(), timeouts=timeouts)
    assert time.monotonic() - started < 5
    assert LOGGER_PASSWORD not in str(caught.value)


def test_wrong_password_is_never_shown(classic, caplog):
    wrong = "Wr0ng-Secret-xyz"
    timeouts = Timeouts(connect=1, read=1, write=1, query=1, startup=0.5)
    with pytest.raises(StartupException) as caught:
        ContinuousLogger(
            classic.table,
            LOGGER_USER,
            wrong,
            list(classic.codenames),
            **classic.logger_kwargs(timeouts=timeouts),
        )
    assert "Access denied" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in caplog.text


def test_dropped_table_stop_reports_undelivered_points(classic, caplog):
    """stop() never drops silently: what it could not deliver is returned and logged."""
    codename = next(iter(classic.codenames))
    logger = new_logger(classic)
    conn = classic.connect()
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE {classic.table}")
    conn.close()
    logger.start()
    for value in range(7):
        logger.enqueue_point_now(codename, float(value))
    report = logger.stop(timeout=1.0)
    assert not report.delivered_all
    assert report.undelivered == 7 and report.per_codename == {codename: 7}
    assert "doesn't exist" in (report.reason or "") or "does not exist" in (report.reason or "")
    assert any("NOT delivered" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert LOGGER_PASSWORD not in repr(logger.status())


@pytest.mark.parametrize("backend_kind", ["pymysql"])  # the environment names a MySQL server
def test_location_from_environment(classic, monkeypatch):
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_HOST", classic.server.host)
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_PORT", str(classic.server.port))
    monkeypatch.setenv("PYEXPLABSYS_SQL_DATABASE", DATABASE)
    codename = next(iter(classic.codenames))
    logger = ContinuousLogger(classic.table, LOGGER_USER, LOGGER_PASSWORD, [codename], timeouts=FAST_TIMEOUTS)
    logger.start()
    logger.enqueue_point_now(codename, 42.0)
    assert logger.stop(timeout=5)
    assert classic.values(codename) == [42.0]


def test_timeout_query_really_interrupts(mariadb):
    conn = mariadb.connect(DATABASE, read_timeout=30)
    cursor = conn.cursor()
    assert timeout_query(cursor, "SELECT 1") == 1
    started = time.monotonic()
    assert timeout_query(cursor, "SELECT SLEEP(20)", timeout_duration=0.5) is NONE_RESPONSE
    assert time.monotonic() - started < 3
    conn.close()


def test_flush_returns_after_the_rows_are_in_the_table(classic):
    """Read back from another connection right after flush(): every row is there."""
    pressure = next(iter(classic.codenames))
    logger = new_logger(classic)
    logger.start()
    try:
        for value in range(1000):
            logger.enqueue_point_now(pressure, float(value))
        assert logger.flush(timeout=20) is True
        assert classic.values(pressure) == [float(v) for v in range(1000)]
    finally:
        logger.stop(timeout=5)
