"""A service for scripts only: no [[instruments]], a points socket, client codenames.

The example in config/ (the one docs/points-socket.rst shows) loads and passes
``check``; ``init-db`` registers the client codenames with their descriptions; the
status snapshot, ``status``, the page and ``/status.json`` show each client codename's
newest value and age and the connected clients.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from PyExpLabSys.common.loggers import ContinuousLogger
from PyExpLabSys.datalog.policies import RetryPolicy, Timeouts
from PyExpLabSys.service.cli import format_status, main
from PyExpLabSys.service.config import ClientCodename, ConfigError, load_config
from PyExpLabSys.service.health import FRESH, STALE
from PyExpLabSys.service.runner import Service

from . import test_points_e2e as e2e
from .conftest import wait_until

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "scripts-only.toml"
DOC = REPO / "docs" / "points-socket.rst"
FAST = Timeouts(connect=0.5, read=0.5, write=0.5, query=0.5, startup=0.5)
RETRY = RetryPolicy(first_delay=0.01, base_delay=0.02, max_delay=0.1)


def with_database(text: str, database: str) -> str:
    """The config ``text`` with its ``[database]`` tables replaced by ``database`` (TOML
    lines): the example run against a test database, the rest of it unchanged."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.startswith("[database")
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n[database]\n" + database + "\n"


def example_with(tmp_path: Path, database: str) -> Path:
    """The example config on ``database`` (TOML lines), its state in ``tmp_path``/state,
    its page on a free port."""
    text = EXAMPLE.read_text()
    assert 'http = "127.0.0.1:8080"' in text
    text = text.replace('http = "127.0.0.1:8080"', 'http = "127.0.0.1:0"\nstate_directory = "state"')
    path = tmp_path / "scripts-only.toml"
    path.write_text(with_database(text, database))
    return path


def example_on_sqlite(tmp_path: Path) -> Path:
    return example_with(tmp_path, 'backend = "sqlite"\npath = "lab.sqlite"\ntable = "dateplots_uhv"')


def descriptions(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT codename, description FROM dateplots_descriptions").fetchall())


# --------------------------------------------------------------------------- config
def test_the_example_is_a_service_for_clients_only():
    config = load_config(EXAMPLE)
    assert config.instruments == () and config.clients_only
    assert config.service.clients == (
        ClientCodename("uhv_ion_gauge"),
        ClientCodename("uhv_pirani", "UHV chamber Pirani gauge"),
        ClientCodename("uhv_sample_temperature", "Sample thermocouple (K)"),
    )
    assert config.codenames == ["uhv_ion_gauge", "uhv_pirani", "uhv_sample_temperature"]
    assert config.descriptions()["uhv_ion_gauge"] == "uhv_ion_gauge"  # its own name without one


def test_the_docs_show_the_example_whole():
    """The page about clients includes the very file the tests load (no second copy)."""
    text = DOC.read_text()
    assert ".. literalinclude:: ../config/scripts-only.toml" in text


def test_the_example_passes_check(capsys):
    assert main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "ok: serves clients only (3 client codename(s), no instruments)" in out


def _write(tmp_path: Path, service: str) -> Path:
    path = tmp_path / "clients.toml"
    path.write_text(
        '[database]\npath = "x.sqlite"\ntable = "t"\n[spool]\npath = "spool"\n[service]\n'
        'socket = "points.sock"\n' + service + "\n"
    )
    return path


def _problems(tmp_path: Path, service: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, service))
    return caught.value.problems


def test_client_codenames_as_a_table_alone(tmp_path):
    config = load_config(_write(tmp_path, '[service.client_codenames]\na = "A gauge"\nb = "B gauge"'))
    assert config.service.clients == (ClientCodename("a", "A gauge"), ClientCodename("b", "B gauge"))
    assert config.service.client_codenames == ("a", "b")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("client_codenames = [3]", "service.client_codenames[0]: must be a codename or a table"),
        ("client_codenames = [{ a = 3 }]", "service.client_codenames[0].a: the description must be a string"),
        ('client_codenames = [""]', "service.client_codenames[0]: must be 1 to 128 printable characters"),
        (
            'client_codenames = [{ codename = "a", descripton = "x" }]',
            "service.client_codenames[0].descripton: unknown key (did you mean 'description'?)",
        ),
        ('client_codenames = ["a", { a = "again" }]', "service.client_codenames: duplicate codename 'a'"),
        ("client_codenames = []", "service.client_codenames: missing: the socket needs the codenames"),
    ],
)
def test_each_client_codename_mistake_is_named(tmp_path, text, problem):
    found = _problems(tmp_path, text)
    assert any(p.startswith(problem) for p in found), found


def test_a_codenames_own_table_takes_a_description_and_one_owner(tmp_path):
    """The one parser: the owners of the points socket and the descriptions of init-db
    in the same tables."""
    config = load_config(
        _write(
            tmp_path,
            'client_codenames = ["a", { b = "B gauge", c = "C gauge" },'
            ' { codename = "d", description = "D gauge", user = "labuser" },'
            ' { codename = "e", client = "x" }]',
        )
    )
    assert config.service.clients == (
        ClientCodename("a"),
        ClientCodename("b", "B gauge"),
        ClientCodename("c", "C gauge"),
        ClientCodename("d", "D gauge", ("user", "labuser")),
        ClientCodename("e", None, ("client", "x")),
    )
    assert config.service.client_codename_owners == (("d", "user", "labuser"), ("e", "client", "x"))
    assert config.descriptions()["d"] == "D gauge" and config.descriptions()["e"] == "e"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'client_codenames = [{ codename = "a", usr = "lab" }]',
            "service.client_codenames[0].usr: unknown key (did you mean 'user'?)",
        ),
        (
            'client_codenames = [{ codenam = "a", user = "lab" }]',
            "service.client_codenames[0].codenam: unknown key (did you mean 'codename'?)",
        ),
        ('client_codenames = [{ description = "x" }]', "service.client_codenames[0].codename: missing"),
        (
            'client_codenames = [{ codename = "a", user = "lab", client = "x" }]',
            "service.client_codenames[0].client: one owner: user (a Unix user) or client",
        ),
        (
            'client_codenames = [{ codename = "a", user = "" }]',
            "service.client_codenames[0].user: must be 1 to",
        ),
        (
            'client_codenames = [{ codename = "a", client = 3 }]',
            "service.client_codenames[0].client: must be a",
        ),
    ],
)
def test_each_owner_mistake_is_named(tmp_path, text, problem):
    found = _problems(tmp_path, text)
    assert any(p.startswith(problem) for p in found), found


def test_without_instruments_a_socket_is_needed(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text('[database]\npath = "x.sqlite"\ntable = "t"\n')
    with pytest.raises(ConfigError, match=r"instruments: needs at least one \[\[instruments\]\] table"):
        load_config(path)


# --------------------------------------------------------------------------- init-db, check
def test_init_db_registers_the_client_codenames_then_check_connect_passes(tmp_path, capsys):
    config = example_on_sqlite(tmp_path)
    assert main(["check", str(config), "--connect"]) == 1  # no tables yet
    assert main(["init-db", str(config)]) == 0
    assert descriptions(tmp_path / "lab.sqlite") == {
        "uhv_ion_gauge": "uhv_ion_gauge",
        "uhv_pirani": "UHV chamber Pirani gauge",
        "uhv_sample_temperature": "Sample thermocouple (K)",
    }
    capsys.readouterr()
    assert main(["check", str(config), "--connect"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        f"ok   database SQLite {tmp_path / 'lab.sqlite'}:dateplots_uhv: 3 codename(s) known",
        f"ok   points socket {tmp_path / 'state' / 'points.sock'}: 3 client codename(s)",
        "all checks passed",
    ]


def test_check_connect_names_a_socket_group_that_does_not_exist(tmp_path, capsys):
    config = example_on_sqlite(tmp_path)
    config.write_text(
        config.read_text().replace('# socket_group = "lab"', 'socket_group = "no-such-group-x"')
    )
    assert main(["init-db", str(config)]) == 0
    assert main(["check", str(config), "--connect"]) == 1
    out = capsys.readouterr().out
    assert "FAIL points socket" in out and "socket_group 'no-such-group-x' is not a group on this PC" in out


# --------------------------------------------------------------------------- the running service
def client(path: Path, codenames: list[str]) -> ContinuousLogger:
    return ContinuousLogger(
        "dateplots_uhv", "user", "unused", codenames, service=str(path), timeouts=FAST, retry=RETRY
    )


@pytest.fixture
def running(tmp_path):
    """The example on SQLite, running in this process (tables made by init-db)."""
    path = example_on_sqlite(tmp_path)
    assert main(["init-db", str(path)]) == 0
    service = Service(load_config(path), environ={})
    service.start()
    stop = threading.Event()
    ticker = threading.Thread(target=service.serve, args=(stop,))
    ticker.start()
    yield service
    stop.set()
    ticker.join(5)
    service.stop()


def test_status_shows_client_codenames_and_connected_clients(running):
    socket_path = running.points.path
    gauge = client(socket_path, ["uhv_ion_gauge", "uhv_pirani"])
    gauge.start()
    try:
        for value in (1.0e-9, 2.0e-9, 3.0e-9):
            gauge.enqueue_point_now("uhv_ion_gauge", value)
        gauge.enqueue_point("uhv_pirani", (time.time() - 30.0, 5.0e-3))
        assert gauge.flush(timeout=10)

        def page_status() -> dict:
            with urllib.request.urlopen(f"{running.web.url}status.json", timeout=5) as reply:
                return json.loads(reply.read())

        # The page serves the newest snapshot (at most a status round old).
        status = wait_until(lambda: (s := page_status())["points_socket"]["points"] == 4 and s)
        cards = {card["codename"]: card for card in status["clients"]}
        ion, pirani, sample = cards["uhv_ion_gauge"], cards["uhv_pirani"], cards["uhv_sample_temperature"]
        assert (ion["last_value"], ion["points"], ion["state"]) == (3.0e-9, 3, FRESH)
        assert ion["age"] < 10 and pirani["age"] >= 30  # the point's own time stamp
        assert pirani["description"] == "UHV chamber Pirani gauge" and pirani["state"] == FRESH
        assert (sample["last_value"], sample["points"], sample["state"]) == (None, 0, STALE)
        (connected,) = status["points_socket"]["connected_clients"]
        assert connected["codenames"] == ["uhv_ion_gauge", "uhv_pirani"] and connected["points"] == 4
        assert ion["clients"] == [connected["client"]] and sample["clients"] == []
        assert status["summary"].startswith("running: 1 client(s) connected, 4 client points;")
        assert wait_until(lambda: "uhv_ion_gauge" in running.trend.series(time.time()), what="a trend")
        table = format_status(status)
        assert any(line.split()[:1] == ["uhv_ion_gauge"] and "3e-09" in line for line in table.splitlines())
    finally:
        assert gauge.stop(timeout=5).delivered_all
    assert wait_until(lambda: not running.snapshot()["points_socket"]["connected_clients"])
    after = {card["codename"]: card for card in running.snapshot()["clients"]}
    assert after["uhv_ion_gauge"]["state"] == STALE and after["uhv_ion_gauge"]["last_value"] == 3.0e-9


def test_the_page_shows_the_clients_codenames_and_who_is_connected(running, browser):
    """In a real browser: a card per client codename (value, state), the connected
    client, and no empty Instruments section."""
    gauge = client(running.points.path, ["uhv_pirani"])
    gauge.start()
    try:
        gauge.enqueue_point_now("uhv_pirani", 4.25e-3)
        assert gauge.flush(timeout=10)
        page = browser.open(running.web.url)
        cards = page.wait_for(
            "(() => { const c = [...document.querySelectorAll('#clients [data-codename]')];"
            " const v = c.map(n => [n.dataset.codename, n.dataset.state,"
            " n.querySelector('.value').textContent, n.querySelector('.counts').textContent]);"
            " return v.some(x => x[0] === 'uhv_pirani' && x[1] === 'fresh') ? v : null; })()",
            timeout=20,
            what="the client codename's card",
        )
        facts = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#connected dt')]"
            ".map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
        )
        hidden = page.evaluate(
            "[document.getElementById('channels-section').hidden,"
            " document.getElementById('clients-section').hidden]"
        )
    finally:
        gauge.stop(timeout=5)
    shown = {codename: (state, value, counts) for codename, state, value, counts in cards}
    assert set(shown) == {"uhv_ion_gauge", "uhv_pirani", "uhv_sample_temperature"}
    state, value, counts = shown["uhv_pirani"]
    assert (state, value) == ("fresh", "0.00425") and counts.startswith("from ") and "logged 1" in counts
    assert shown["uhv_ion_gauge"][:2] == ("stale", "–")
    (name,) = [key for key in facts if key.startswith("client ")]
    assert facts[name].startswith("uhv_pirani · since ")
    assert hidden == [True, False]


# --------------------------------------------------------------------------- killed mid-stream
def run_three_scripts_through_a_kill(tmp_path: Path, config: Path, rows) -> None:
    """``init-db``, then three client processes (one per client codename of the example)
    through the service, killed with SIGKILL and started again while they log."""
    assert main(["init-db", str(config)]) == 0
    codenames = list(load_config(config).service.client_codenames)
    assert len(codenames) == 3
    e2e.run_clients_through_a_kill(tmp_path, config, rows, codenames)
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["state"] == "stopped" and [c["codename"] for c in status["clients"]] == codenames


def test_three_scripts_through_a_killed_scripts_only_service_on_sqlite(tmp_path):
    config = example_on_sqlite(tmp_path)
    run_three_scripts_through_a_kill(
        tmp_path, config, e2e.sqlite_rows(tmp_path / "lab.sqlite", "dateplots_uhv")
    )


@pytest.mark.mariadb
def test_three_scripts_through_a_killed_scripts_only_service_on_mariadb(tmp_path, mariadb):
    table = f"dateplots_uhv_{os.getpid()}"
    config = example_with(tmp_path, "\n".join(e2e.mariadb_database(tmp_path, mariadb, table)))
    run_three_scripts_through_a_kill(tmp_path, config, e2e.mariadb_rows(mariadb, table))
