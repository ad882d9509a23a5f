"""The composition root: which backend a lab script's logger gets, and the documented
parameter that routes unchanged scripts into a test's database."""

from __future__ import annotations

import pytest

from PyExpLabSys import assembly
from PyExpLabSys.backends import registry
from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.common.loggers import ContinuousLogger, StartupException
from PyExpLabSys.datalog.policies import Timeouts

FAST = Timeouts(connect=0.2, read=0.2, write=0.2, query=0.2, startup=0.3)


def test_backends_from_routes_scripts_nests_and_ends_with_the_block(clean):
    outer, inner = MemoryDatabase(["a"]), MemoryDatabase(["a"])
    tables: list[str] = []

    def into(database):
        def factory(table):
            tables.append(table)
            return MemoryBackend(database)

        return factory

    with assembly.backends_from(into(outer)):
        with assembly.backends_from(into(inner)):
            logger = ContinuousLogger("dateplots_inner", "user", "pw", ["a"], timeouts=FAST)
            logger.start()
            logger.enqueue_point_now("a", 1.0)
            assert logger.stop(timeout=2).delivered_all
        logger = ContinuousLogger("dateplots_outer", "user", "pw", ["a"], timeouts=FAST)
        logger.start()
        logger.enqueue_point_now("a", 2.0)
        assert logger.stop(timeout=2).delivered_all
    assert (inner.values("a"), outer.values("a")) == ([1.0], [2.0])
    assert tables == ["dateplots_inner", "dateplots_outer"]
    backend = assembly.script_backend("t", "user", "pw")  # the block is over: MySQL again
    assert backend.describe() == "MySQL user@localhost:3306/cinfdata.t"


def test_a_script_backend_comes_from_the_registry_in_the_documented_order(clean, monkeypatch):
    service = registry.entry("service").backend_class()
    assert isinstance(assembly.script_backend("t", "u", "pw", service="/run/x.sock", dsn="lab"), service)
    monkeypatch.setenv(assembly.SERVICE_SOCKET_ENV, "/run/y.sock")
    backend = assembly.script_backend("t", "u", "pw")
    assert isinstance(backend, service) and backend.describe() == "logging service at /run/y.sock"
    with assembly.backends_from(lambda table: MemoryBackend(MemoryDatabase())):
        assert isinstance(assembly.script_backend("t", "u", "pw"), MemoryBackend)


def test_a_host_list_reaches_the_backend_as_its_nodes(clean):
    backend = assembly.script_backend("t", "u", "pw", host=["db2", "db1:3307"], port=3310)
    assert backend.current_node() == "db2:3310"
    backend = assembly.script_backend("t", "u", "pw", host=("db1:3307", "db2"))
    assert backend.current_node() == "db1:3307"
    with pytest.raises(StartupException, match=r"not a database host: 'db2:x'"):
        assembly.script_backend("t", "u", "pw", host=["db1", "db2:x"])
