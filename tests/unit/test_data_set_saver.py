"""DataSetSaver and CustomColumn on the mock database: upstream's names and results."""

from __future__ import annotations

import contextlib
import io
import math

import numpy
import pytest

from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.backends.rows import DATA_SET
from PyExpLabSys.common.database_saver import CustomColumn, DataSetSaver
from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts

from ..scripts import data_set_spectra, value_logger_pressures

FAST = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=0.5)


def saver(db: MemoryDatabase, specs=None, **kw) -> DataSetSaver:
    return DataSetSaver(
        "measurements_x",
        "xy_values_x",
        "user",
        "secret",
        specs,
        backend=MemoryBackend(db, timeout=0.2, rows=DATA_SET),
        timeouts=FAST,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
        **kw,
    )


def test_upstream_data_set_script_runs_unchanged_on_the_mock(mock_database):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        data_set_spectra.main()
    rows = mock_database.measurements("measurements_dummy")
    assert [row["comment"] for row in rows] == ["Test sine1", "Test sine2"]
    assert rows[0]["time"] == "FROM_UNIXTIME(1700000000.0)" and rows[0]["sem_voltage"] == 47
    x = numpy.arange(0, 3, 0.03)
    one, two = mock_database.xy_values(rows[0]["id"]), mock_database.xy_values(rows[1]["id"])
    assert one == [(float(a), float(b)) for a, b in zip(x, numpy.sin(x), strict=True)]
    assert two == [(float(a), float(b) + 0.3) for a, b in zip(x, numpy.sin(x), strict=True)]
    assert "not committed: 0\n" in out.getvalue()
    assert "comments: ['Test sine1', 'Test sine2']" in out.getvalue()


def test_upstream_value_logger_script_runs_unchanged_on_the_mock(mock_database, capsys):
    mock_database.declare(*value_logger_pressures.CODENAMES)
    value_logger_pressures.main()
    assert mock_database.values("dummy_pressure") == [1e-7, 1e-6]
    assert mock_database.values("dummy_temperature") == [300.0]
    assert "saved: 2 1" in capsys.readouterr().out


def test_measurement_specs_ids_and_a_codename_used_again():
    db = MemoryDatabase()
    s = saver(db, [("M2", {"type": 5, "mass_label": "M2M"}), ("M28", {"type": 5})])
    assert s.measurement_ids == {"M2": 1, "M28": 2}
    s.start()
    s.save_point("M2", (1.0, 2.0))
    s.add_measurement("M2", {"type": 5, "mass_label": "next scan"})  # a new scan, same codename
    s.save_point("M2", [1.0, 3.0])
    s.measurement_ids["M2"] = 1  # scripts may continue an existing measurement
    s.save_point("M2", (2.0, 4.0))
    s.wait_for_queue_to_empty()
    assert s.sql_saver.queue.qsize() == 0 and s.sql_saver.commits >= 1
    assert db.xy_values(1) == [(1.0, 2.0), (2.0, 4.0)] and db.xy_values(3) == [(1.0, 3.0)]
    assert s.stop().delivered_all


def test_bad_input_is_an_error_at_the_call_and_nothing_queued_is_lost():
    db = MemoryDatabase()
    s = saver(db, [("a", {"type": 1})])
    s.save_points_batch("a", [1.0, 2.0], [10.0, 20.0])
    with pytest.raises(ValueError, match="invalid column name 'bad name'"):
        s.add_measurement("b", {"bad name": 1})
    with pytest.raises(ValueError, match="invalid column name"):
        s.add_measurement("b", {"time`; DROP TABLE x; --": 1})
    with pytest.raises(ValueError, match="exactly one %s"):
        s.add_measurement("b", {"time": CustomColumn(1.0, "FROM_UNIXTIME(x)")})
    assert db.measurements("measurements_x") == [{"id": 1, "type": 1}]  # nothing inserted
    with pytest.raises(ValueError, match="No entry in measurement_ids for codename: 'nope'"):
        s.save_point("nope", (1.0, 2.0))
    with pytest.raises(ValueError, match="must be the same"):
        s.save_points_batch("a", [1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="point 2: value must be a real number"):
        s.save_points_batch("a", [3.0, 4.0, 5.0], [1.0, 2.0, "x"])  # none of the three queued
    with pytest.raises(ValueError, match="pair"):
        s.save_point("a", (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="invalid column"):
        s.get_unique_values_from_measurements("type; DELETE FROM x")
    with pytest.raises(ValueError, match="not a valid table name"):
        DataSetSaver("measurements x", "xy", "u", "p", backend=MemoryBackend(db, rows=DATA_SET))
    s.start()
    assert s.stop().delivered_all
    assert db.xy_values(1) == [(1.0, 10.0), (2.0, 20.0)]


def test_numpy_values_negative_x_and_nan_y():
    db = MemoryDatabase()
    s = saver(
        db,
        [("scan", {"type": numpy.int64(3), "time": CustomColumn(numpy.float64(17e8), "FROM_UNIXTIME(%s)")})],
    )
    assert db.measurements("measurements_x")[0]["type"] == 3
    assert type(db.measurements("measurements_x")[0]["type"]) is int
    xs = numpy.linspace(-5.0, 5.0, 11, dtype=numpy.float32)
    ys = numpy.array([math.nan if i == 3 else i for i in range(11)], dtype=numpy.float64)
    assert s.save_points_batch("scan", xs, ys) == 11
    s.start()
    s.wait_for_queue_to_empty()
    got = db.xy_values(1)
    assert [x for x, _ in got] == [float(x) for x in xs] and got[3][1] is None and got[4][1] == 4.0
    with pytest.raises(ValueError, match="outside"):
        s.save_point("scan", (math.inf, 1.0))
    s.stop()


def test_an_outage_waits_and_the_points_arrive_once():
    db = MemoryDatabase()
    s = saver(db, [("a", {"type": 1})])
    s.start()
    with db.outage():
        s.save_points_batch("a", list(range(100)), list(range(100)))
        assert s.sql_saver.queue.qsize() == 100  # not committed: still counted
    db.lose_next_commit_answer()
    s.save_points_batch("a", list(range(100, 150)), list(range(100, 150)))
    s.wait_for_queue_to_empty()
    assert [y for _, y in db.xy_values(1)] == [float(v) for v in range(150)]
    assert s.stop().delivered_all


def test_status_has_no_ages_made_of_x_values():
    db = MemoryDatabase()
    s = saver(db, [("a", {"type": 1})])
    s.save_points_batch("a", [0.5, 1.5], [1.0, 2.0])
    assert s.status().queued == 2 and s.status().oldest_queued_age is None
    s.start()
    s.wait_for_queue_to_empty()
    status = s.status()
    assert status.committed == 2 and status.commit_latency_max is None
    s.stop()


def test_continuous_data_saver_has_the_sql_saver_queue_too():
    from PyExpLabSys.common.database_saver import ContinuousDataSaver

    db = MemoryDatabase(["p"])
    s = ContinuousDataSaver("dateplots_x", "u", "p", ["p"], backend=MemoryBackend(db), timeouts=FAST)
    s.save_point_now("p", 1.0)
    assert s.sql_saver.queue.qsize() == 1
    s.start()
    s.sql_saver.wait_for_queue_to_empty()
    assert s.sql_saver.queue.qsize() == 0 and s.sql_saver.queue.empty() and db.values("p") == [1.0]
    s.stop()


def test_add_measurement_waits_out_a_short_outage_and_reports_a_long_one():
    from PyExpLabSys.backends.base import ConnectionFailed

    db = MemoryDatabase()
    s = saver(db, [("a", {"type": 1})])
    s.start()
    s.save_points_batch("a", [1.0, 2.0], [1.0, 2.0])
    db.unreachable_for(0.2)  # shorter than timeouts.startup (0.5 s)
    assert s.add_measurement("b", {"type": 2}) == 2
    with db.outage(), pytest.raises(ConnectionFailed):
        s.add_measurement("c", {"type": 3})
    assert [row["type"] for row in db.measurements("measurements_x")] == [1, 2]
    assert "c" not in s.measurement_ids
    s.save_point("b", (5.0, 6.0))
    s.wait_for_queue_to_empty()
    assert db.xy_values(1) == [(1.0, 1.0), (2.0, 2.0)] and db.xy_values(2) == [(5.0, 6.0)]
    assert s.stop().delivered_all
