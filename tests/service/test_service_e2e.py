"""The whole service end to end: simulated instruments on real ptys, the service in a
subprocess with a config, a real MariaDB; rows asserted, an instrument unplugged and
back, then SIGTERM: a clean exit with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from PyExpLabSys.simulators import start_simulator

from ..conftest import DATABASE, LOGGER_PASSWORD, LOGGER_USER, ClassicTable
from .conftest import wait_until

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = {"tpg26x": "pressure", "omega": "temperature", "mksg": "flow"}

pytestmark = pytest.mark.mariadb


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "PyExpLabSys.service.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )


def write_config(tmp_path: Path, server, table: str, sims) -> Path:
    (tmp_path / "db.password").write_text(LOGGER_PASSWORD + "\n")
    lines = [
        "[database]",
        'backend = "mysql"',
        f'host = "{server.host}"',
        f"port = {server.port}",
        f'database = "{DATABASE}"',
        f'user = "{LOGGER_USER}"',
        f'table = "{table}"',
        'password_file = "db.password"',
        "[database.timeouts]",
        "connect = 2",
        "read = 3",
        "write = 3",
        "query = 3",
        "startup = 5",
        "[service]",
        'state_directory = "state"',
        "status_interval = 0.2",
        "stop_timeout = 10",
    ]
    for sim, quantity in INSTRUMENTS.items():
        lines += [
            "[[instruments]]",
            f'name = "{sim}"',
            f'driver = "{sim}"',
            f'port = "{sims[sim].port}"',
            "timeout = 0.3",
            "[[instruments.channels]]",
            f'codename = "{table}_{quantity}"',
            "interval = 0.05",
            'criterion = "always"',
        ]
    path = tmp_path / "e2e.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def status(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "state" / "status.json").read_text())


def test_service_end_to_end(mariadb, tmp_path, notify_socket):
    table_name = f"dateplots_service_{os.getpid()}"
    with ExitStack() as stack:
        sims = {name: stack.enter_context(start_simulator(name)) for name in INSTRUMENTS}
        config = write_config(tmp_path, mariadb, table_name, sims)
        codenames = [f"{table_name}_{q}" for q in INSTRUMENTS.values()]

        # init-db makes the table (microsecond time column) and registers the codenames.
        result = cli("init-db", str(config))
        assert result.returncode == 0, result.stderr
        conn = mariadb.connect(DATABASE)
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT DATETIME_PRECISION FROM information_schema.COLUMNS WHERE "
                "TABLE_SCHEMA=%s AND TABLE_NAME=%s AND COLUMN_NAME='time'",
                (DATABASE, table_name),
            )
            assert cursor.fetchone()[0] == 6
            cursor.execute("SELECT codename, id FROM dateplots_descriptions")
            ids = {c: i for c, i in cursor.fetchall() if c in codenames}
        conn.close()
        table = ClassicTable(mariadb, table_name, "InnoDB", ids)
        assert set(ids) == set(codenames)

        result = cli("check", str(config), "--connect")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all checks passed" in result.stdout
        # pyserial cannot reopen a pty it left in 7-bit mode (tcsetattr: EINVAL), which
        # real adapters do not share: give the 7-bit omega a fresh pty after the check.
        sims["omega"].vanish()
        sims["omega"].reappear()

        env = dict(
            os.environ, NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="2000000", PYTHONPATH=str(REPO)
        )
        log = (tmp_path / "service.log").open("w+")
        proc = subprocess.Popen(
            [sys.executable, "-m", "PyExpLabSys.service.cli", "run", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        stack.callback(lambda: proc.poll() is None and proc.kill())
        notify_socket.wait_for(lambda m: m.startswith("READY=1"))
        notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
        notify_socket.wait_for(lambda m: m.startswith("STATUS=running: 3/3 instruments reading"))

        def stored() -> dict[str, int]:
            counts = dict.fromkeys(codenames, 0)
            for codename, _, _ in table.rows():
                counts[codename] += 1
            return counts

        wait_until(lambda: min(stored().values()) >= 5, what="rows for every codename")

        # `status` reads the running service's status file.
        shown = cli("status", "--state-dir", str(tmp_path / "state"))
        assert shown.returncode == 0, shown.stderr
        assert all(c in shown.stdout for c in codenames) and "3/3 instruments" in shown.stdout

        # Unplug the flow controller: the others keep logging; it comes back with the simulator.
        sims["mksg"].vanish()
        wait_until(lambda: not status(tmp_path)["instruments"][2]["connected"], what="mksg gone")
        gone = stored()
        wait_until(lambda: all(stored()[c] >= gone[c] + 5 for c in codenames[:2]), what="others")
        sims["mksg"].reappear()
        wait_until(lambda: stored()[codenames[2]] >= gone[codenames[2]] + 5, what="mksg back")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        notify_socket.wait_for(lambda m: m.startswith("STOPPING=1"))

    final = status(tmp_path)
    assert final["state"] == "stopped" and final["stop_report"]["delivered_all"]
    points = {c["codename"]: c["points"] for i in final["instruments"] for c in i["channels"]}
    assert stored() == points  # every point the readers logged is in the table, once
    assert final["logger"]["committed"] == sum(points.values())
    errors = final["instruments"][2]["errors"]
    assert errors.get("PortGone", 0) >= 1
    log.seek(0)
    text = log.read()
    assert "stopped cleanly; all points delivered" in text
    for where in (
        text,
        (tmp_path / "state" / "status.json").read_text(),
        shown.stdout,
        "\n".join(notify_socket.messages),
    ):
        assert LOGGER_PASSWORD not in where
