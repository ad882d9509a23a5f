"""The row shapes: what a batch's VALUES list and read-back look like for each table."""

from __future__ import annotations

import sys

from PyExpLabSys.backends.rows import CLASSIC, DATA_SET
from PyExpLabSys.backends.sqltext import render_rows


def test_continuous_rows_are_the_classic_rendering():
    points = [(3, 1700000000.25, 1.5), (4, 1700000001.0, None)]
    assert CLASSIC.render(points, 3) == render_rows(points, 3)
    assert CLASSIC.insert_head("`dateplots_x`") == "INSERT INTO `dateplots_x` (time, type, value) VALUES "
    sql, args = CLASSIC.select_after("`dateplots_x`", 10, [3, 4])
    assert sql.startswith("SELECT id, type, UNIX_TIMESTAMP(time), value FROM `dateplots_x` WHERE id > %s")
    assert args == [10, 3, 4]


def test_data_set_rows_keep_x_and_y_exactly():
    points = [(7, -0.1, 0.30000000000000004), (7, 1e300, None), (8, 3.0, -2.5e-12)]
    assert DATA_SET.render(points, 17) == "(7,-0.1,0.30000000000000004),(7,1e+300,NULL),(8,3.0,-2.5e-12)"
    assert DATA_SET.insert_head("`xy_values_x`") == "INSERT INTO `xy_values_x` (measurement, x, y) VALUES "
    sql, args = DATA_SET.select_after("`xy_values_x`", 0, [7, 8])
    assert sql == (
        "SELECT id, measurement, x, y FROM `xy_values_x` WHERE id > %s AND measurement IN (%s,%s) ORDER BY id"
    )
    assert args == [0, 7, 8]
    assert DATA_SET.x_range == (-sys.float_info.max, sys.float_info.max) and not DATA_SET.timed
