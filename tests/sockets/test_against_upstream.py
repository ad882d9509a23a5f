"""Differential test: the same datagrams to upstream's socket servers and to ours, the
replies compared byte for byte.

Needs an upstream PyExpLabSys checkout, named by ``PYEXPLABSYS_UPSTREAM`` (the directory
holding its ``PyExpLabSys`` package); skipped without one. Both run the same driver
script (tests/scripts/socket_server_driver.py) in a subprocess of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .udp_client import Client, LiveServer

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "tests" / "scripts" / "socket_server_driver.py"
UPSTREAM = os.environ.get("PYEXPLABSYS_UPSTREAM")

PULL = [
    "name",
    "codenames_raw",
    "codenames_json",
    "raw",
    "json",
    "raw_wn",
    "json_wn",
    "moon_laser_power#raw",
    "moon_laser_power#json",
    "old#raw",
    "old#json",
    "x1#raw",
    "x2#json",
    "nobody#json",
    "moon_laser_power#xml",
    "a#b#c",
    "",
    "bogus",
    "JSON",
    "json_wn#{}",
    "\x00\x01garbage",
]
PUSH = [
    "name",
    "commands",
    'json_wn#{"greeting": "Live long and prosper", "number": 47}',
    "raw_wn#greeting:str:Live long and prosper;number:int:47",
    "raw_wn#numbers:float:1.5,2.5;flag:bool:False",
    "raw_wn#number:88",
    "raw_wn#number:floats:88",
    "raw_wn#number:int:hh",
    "raw_wn#flag:bool:yes",
    "raw_wn#",
    "json_wn#nonsense",
    'json_wn#"nonsense"',
    "json_wn#[1, 2]",
    'json_wn#{"a#b": 1}',
    "bad bad command",
    "bad#nonsense",
    "",
]
CALLBACK = [
    'json_wn#{"ret": [[1.0, 42.0], [1.5, 45.6]]}',
    'json_wn#{"ret": {"answer": 42, "values": [42, 47], "good": false}}',
    'json_wn#{"ret": "text"}',
    'json_wn#{"ret": null}',
    'json_wn#{"ret": [1, "mixed"]}',
    'json_wn#{"raise": "the callback failed"}',
    "raw_wn#ret:int:1,2,3",
]


def start(pythonpath: str, home: Path, live_port: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": pythonpath, "HOME": str(home)}
    env.pop("PYEXPLABSYS_UPSTREAM", None)
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(live_port)],
        cwd=home,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the driver did not start"
    return proc, json.loads(line)


@pytest.fixture(scope="module")
def live_servers() -> Iterator[dict[str, LiveServer]]:
    servers = {"upstream": LiveServer(), "ours": LiveServer()}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, live_servers: dict[str, LiveServer]
) -> Iterator[dict[str, dict[str, Any]]]:
    if not UPSTREAM:
        pytest.skip("set PYEXPLABSYS_UPSTREAM to an upstream PyExpLabSys checkout")
    # Upstream's settings want these before its sockets module imports.
    home = tmp_path_factory.mktemp("home")
    (home / ".config" / "PyExpLabSys").mkdir(parents=True)
    (home / ".config" / "PyExpLabSys" / "user_settings.yaml").write_text(
        "util_log_warning_email: a@example.com\nutil_log_error_email: a@example.com\n"
        "util_log_mail_host: localhost\n"
    )
    procs = []
    ports = {}
    for name, path in (("upstream", UPSTREAM), ("ours", str(REPO))):
        proc, ports[name] = start(path, home, live_servers[name].port)
        procs.append(proc)
    try:
        yield ports
    finally:
        for proc in procs:
            proc.communicate("", timeout=20)


def replies(client: Client, port: int, commands: list[str]) -> list[Any]:
    return [client.ask(port, command.encode("ascii")) for command in commands]


@pytest.mark.parametrize(
    ("socket_kind", "commands"),
    [
        ("date", PULL),
        ("xy", PULL),
        ("store_last", PUSH),
        ("enqueue", PUSH),
        ("json", CALLBACK),
        ("raw", CALLBACK),
        ("string", CALLBACK),
    ],
)
def test_same_bytes_as_upstream(
    both: dict[str, dict[str, int]], client: Client, socket_kind: str, commands: list[str]
) -> None:
    upstream = replies(client, both["upstream"][socket_kind], commands)
    ours = replies(client, both["ours"][socket_kind], commands)
    for command, theirs, mine in zip(commands, upstream, ours, strict=True):
        assert mine == theirs, f"{socket_kind}: {command!r}"


def test_status_has_upstreams_layout(both: dict[str, dict[str, int]], client: Client) -> None:
    for kind in ("date", "store_last"):
        theirs = client.json(both["upstream"][kind], "status")
        mine = client.json(both["ours"][kind], "status")
        assert set(mine) == set(theirs) == {"system_status", "socket_server_status"}
        assert len(mine["socket_server_status"]) == len(theirs["socket_server_status"]) == 7
        their_entry = theirs["socket_server_status"][str(both["upstream"][kind])]
        my_entry = mine["socket_server_status"][str(both["ours"][kind])]
        assert set(my_entry) == set(their_entry)
        assert {k: v for k, v in my_entry.items() if k != "since_last_activity"} == {
            k: v for k, v in their_entry.items() if k != "since_last_activity"
        }
        shared = set(mine["system_status"]) & set(theirs["system_status"])
        assert {"number_of_python_threads", "uptime", "load_average", "filesystem_usage"} <= shared


def test_live_messages_are_upstreams(
    both: dict[str, dict[str, int]], live_servers: dict[str, LiveServer]
) -> None:
    for server in live_servers.values():
        server.wait_for(lambda messages: len(messages) == 3)
    assert live_servers["ours"].raw == live_servers["upstream"].raw


def test_data_entries_have_upstreams_keys(both: dict[str, Any]) -> None:
    assert both["ours"]["layout"] == both["upstream"]["layout"]
