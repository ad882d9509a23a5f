"""The server stores the rendered VALUES list (numeric date-time literals, DOUBLE
literals) exactly as it stores the quoted date-time strings and plain numbers of
before, at each time precision."""

from __future__ import annotations

import contextlib
import time

import pytest

from PyExpLabSys.backends.schema import create_tables
from PyExpLabSys.backends.sqltext import render_rows

from ..conftest import DATABASE

pytestmark = pytest.mark.mariadb

STAMPS = [1700000000.4, 1700000000.6, 1700000000.1234567, 1700000000.9999996, 2147483646.5, 86400.25]
VALUES = [1e-07, 0.1, -2.5e300, 123456789.123456789, 1e16, -0.0, 5e-324, 1.7976931348623157e308, 3.0, None]


def quoted_rows(points: list[tuple[int, float, float | None]], precision: int) -> str:
    """The rows as quoted UTC date-time strings and plain ``repr`` numbers (the reference)."""
    rows = []
    for type_id, stamp, value in points:
        scale = 10**precision
        whole, fraction = divmod(round(stamp * scale), scale)
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
        if precision:
            text += f".{fraction:0{precision}d}"
        rows.append(f"('{text}',{type_id},{'NULL' if value is None else repr(value)})")
    return ",".join(rows)


@pytest.mark.parametrize("precision", [0, 3, 6])
def test_rendered_rows_are_stored_like_quoted_strings(mariadb, precision):
    points = [
        (1 + index % 3, stamp, value)
        for index, (stamp, value) in enumerate((s, v) for s in STAMPS for v in VALUES)
    ]
    stored = {}
    conn = mariadb.connect(DATABASE)
    try:
        for form, text in (
            ("quoted", quoted_rows(points, precision)),
            ("rendered", render_rows(points, precision)),
        ):
            table = f"render_{form}_{precision}"
            with contextlib.closing(conn.cursor()) as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            create_tables(conn, table, time_precision=precision)
            with contextlib.closing(conn.cursor()) as cursor:
                cursor.execute("SET time_zone = '+00:00'")
                cursor.execute(f"INSERT INTO {table} (time, type, value) VALUES {text}")
                conn.commit()
                cursor.execute(f"SELECT time, type, value FROM {table} ORDER BY id")
                # repr tells -0.0 from 0.0
                stored[form] = [(when, type_id, repr(value)) for when, type_id, value in cursor.fetchall()]
    finally:
        conn.close()
    assert len(stored["rendered"]) == len(points)
    assert stored["rendered"] == stored["quoted"]
