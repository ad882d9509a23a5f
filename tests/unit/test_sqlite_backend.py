"""The SQLite backend's ledger: a batch sent again after a kill is not stored twice."""

from __future__ import annotations

import sqlite3

import pytest

from PyExpLabSys.backends.base import OutcomeUnknown
from PyExpLabSys.backends.sqlite import SQLiteBackend, create_tables


def test_a_batch_committed_before_a_restart_is_recognised(tmp_path):
    path = tmp_path / "lab.sqlite"
    ids = create_tables(path, "dateplots_lab", ["gauge"])
    points = [(ids["gauge"], 1.7e9 + i, float(i)) for i in range(5)]
    first = SQLiteBackend(path, "dateplots_lab")
    first.resume("spool:abc", {})
    first.connect()
    first.insert_batch(100, points)
    first.close()  # killed before its spool learnt of the commit
    again = SQLiteBackend(path, "dateplots_lab")
    again.resume("spool:abc", {})  # the next run, on the same spool
    again.connect()
    with pytest.raises(OutcomeUnknown, match="batch 100 is already in the ledger"):
        again.insert_batch(100, points)
    assert again.reconcile(100, points) == 5
    assert again.reconcile(105, points) == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dateplots_lab").fetchone() == (5,)
