"""The live table: redrawn in place on a terminal (a real pty here), plain lines into
a pipe; the page's address printed above it."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from PyExpLabSys.backends.sqlite import create_tables
from PyExpLabSys.service.terminal import LiveTable

HEADER = "  codename "  # the table header (not "1 codename(s)" in a log line)
ERASE = re.compile(r"\x1b\[(\d+)F\x1b\[J")


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    table = LiveTable(out)
    assert not table.tty
    table.show("a\nb\n")
    table.write_above("log line")
    table.show("c\nd\n")
    assert out.getvalue() == "a\nb\nlog line\nc\nd\n"


def test_in_place_on_a_terminal_moves_up_over_the_previous_table():
    out = io.StringIO()
    table = LiveTable(out, tty=True)
    table.show("one\ntwo\nthree\n")
    table.show("four\nfive\n")
    table.write_above("a log line")
    assert out.getvalue() == (
        "one\ntwo\nthree\n\x1b[3F\x1b[Jfour\nfive\n\x1b[2F\x1b[Ja log line\nfour\nfive\n"
    )


def _read_pty(master: int, until, timeout: float = 30.0) -> str:
    """Read a pty's output until ``until(text)`` or EOF; fail after ``timeout``."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while not until(b"".join(chunks).decode(errors="replace")):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out; got {b''.join(chunks)[-500:]!r}"
        if select.select([master], [], [], remaining)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def _in_pty(command: list[str]) -> tuple[subprocess.Popen, int]:
    master, slave = os.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    return process, master


def _check_redrawn(text: str) -> None:
    """Each table after the first is preceded by a move up over the one before."""
    tables = text.count(HEADER)
    assert tables >= 3, text
    moves = ERASE.findall(text)
    assert len(moves) >= tables - 1
    lines_of_first = text.split(HEADER, 1)[1].split("\x1b[", 1)[0].count("\n") + 1
    assert int(moves[0]) == lines_of_first, repr(text[:2000])


def test_demo_on_a_terminal_and_into_a_pipe(tmp_path):
    command = [
        sys.executable,
        "-m",
        "PyExpLabSys.service.cli",
        "demo",
        "--seconds",
        "2",
        "--db",
        str(tmp_path / "d.sqlite"),
        "--http",
        "127.0.0.1:0",
    ]
    process, master = _in_pty(command)
    try:
        text = _read_pty(master, lambda t: False if process.poll() is None else "delivered" in t)
    finally:
        os.close(master)
    assert process.wait(30) == 0
    assert re.search(r"Live page: http://127\.0\.0\.1:\d+/", text)
    _check_redrawn(text)
    piped = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0
    assert "\x1b" not in piped.stdout and piped.stdout.count(HEADER) >= 3
    assert re.search(r"^Live page: http://127\.0\.0\.1:\d+/$", piped.stdout, re.M)


def test_run_on_a_terminal_redraws_and_logs_above(sqlite_config):
    create_tables(sqlite_config.parent / "bench.sqlite", "dateplots_bench", ["bench_flow"])
    process, master = _in_pty(
        [sys.executable, "-m", "PyExpLabSys.service.cli", "run", str(sqlite_config), "--http", "127.0.0.1:0"]
    )
    try:
        text = _read_pty(master, lambda t: t.count(HEADER) >= 4)
        process.send_signal(signal.SIGTERM)
        text += _read_pty(master, lambda t: process.poll() is not None, timeout=30)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.wait(30) == 0
    assert re.search(r"Live page: http://127\.0\.0\.1:\d+/", text)
    assert "INFO" in text  # log lines still shown, written above the table
    _check_redrawn(text.split("received SIGTERM")[0])


def test_demo_says_when_the_page_address_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "PyExpLabSys.service.cli",
                "demo",
                "--seconds",
                "5",
                "-q",
                "--db",
                str(tmp_path / "d.sqlite"),
                "--http",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"demo: cannot serve the page on 127.0.0.1:{port}: Address already in use" in result.stderr


def test_http_option_errors_name_the_option(capsys):
    from PyExpLabSys.service.cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--http", "127.0.0.1:http"])
    assert "argument --http: must end in a TCP port" in capsys.readouterr().err
