"""Several database hosts: parsing, the ring, and every place a host list can come from."""

from __future__ import annotations

import pytest

from PyExpLabSys.assembly import database_backend
from PyExpLabSys.backends.mysql import MySQLBackend
from PyExpLabSys.backends.nodes import Node, NodeRing, parse_nodes
from PyExpLabSys.service.config import ConfigError, load_config
from PyExpLabSys.settings import resolve_server_location

from ..conftest import ONE_GAUGE_TOML


@pytest.mark.parametrize(
    ("hosts", "want"),
    [
        ("db1", [Node("db1", 3306)]),
        ("db1:3307,db2, db3:1", [Node("db1", 3307), Node("db2", 3306), Node("db3", 1)]),
        (["db1:3307", "db2"], [Node("db1", 3307), Node("db2", 3306)]),
        ("[::1]:3310,[fe80::1]", [Node("::1", 3310), Node("fe80::1", 3306)]),
    ],
)
def test_parse_nodes(hosts, want):
    assert list(parse_nodes(hosts, 3306)) == want


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ("db1,,db2", "not a database host: ''"),
        ("db1:port", "not a database host: 'db1:port'"),
        ("db1:70000", "port must be 1..65535"),
        (["db1", 7], "must be a string"),
        ([], "no database host given"),
    ],
)
def test_bad_hosts_are_named(hosts, message):
    with pytest.raises(ValueError, match=message):
        parse_nodes(hosts, 3306)


def test_the_ring_goes_round():
    ring = NodeRing(parse_nodes("a,b,c", 1))
    assert [str(ring.current), str(ring.advance()), str(ring.advance()), str(ring.advance())] == [
        "a:1",
        "b:1",
        "c:1",
        "a:1",
    ]
    assert str(Node("::1", 5)) == "[::1]:5"


def test_a_host_list_from_the_environment_or_a_list_argument(monkeypatch, tmp_path):
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_HOST", "db1:3306,db2:3307")
    assert resolve_server_location(settings_file=tmp_path / "none.yaml").host == "db1:3306,db2:3307"
    assert resolve_server_location(["x:1", "y"]).host == "x:1,y"


def test_the_backend_describes_the_node_in_use():
    backend = MySQLBackend("t", "u", "pw", host="db1:3307,db2", port=3310)
    assert backend.current_node() == "db1:3307" and "db1:3307" in backend.describe()
    assert (backend.host, backend.port) == ("db1", 3307)


def test_a_host_list_in_the_service_config(tmp_path):
    path = tmp_path / "setup.toml"
    body = (
        '[database]\nbackend = "mysql"\ntable = "t"\nuser = "lab"\npassword_credential = "pw"\nhost = {}\n'
        + ONE_GAUGE_TOML.format(codename="p")
    )
    path.write_text(body.format('["db1:3306", "db2:3307"]'))
    (tmp_path / "pw").write_text("secret")
    config = load_config(path)
    assert config.database.options["host"] == ["db1:3306", "db2:3307"]
    backend = database_backend(config.database, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert backend.current_node() == "db1:3306"
    path.write_text(body.format('"db1:3306,db2:x"'))
    with pytest.raises(ConfigError, match=r"database.host: not a database host: 'db2:x'"):
        load_config(path)
