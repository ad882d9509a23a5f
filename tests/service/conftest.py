"""Fixtures of the service tests: a notify socket to listen on, simulators, configs."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


class NotifyListener:
    """A real unix datagram socket standing in for systemd's ``$NOTIFY_SOCKET``; a
    thread reads it promptly, as systemd does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while True:
            try:
                self._queue.put(self.sock.recv(4096).decode())
            except OSError:
                return

    def receive(self, timeout: float = 5.0) -> str:
        """The next datagram."""
        message = self._queue.get(timeout=timeout)
        self.messages.append(message)
        return message

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:
        """The first message (already received or arriving) that ``predicate`` accepts."""
        for message in self.messages:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self.receive(remaining)
            except queue.Empty:
                break
            if predicate(message):
                return message
        raise AssertionError(f"no matching notify message in {timeout} s; got {self.messages[-5:]}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll ``condition`` (cheap, side-effect free) until true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where the test run keeps what a person may want to look at afterwards
    (``test-artifacts/`` in the repository, git-ignored)."""
    path = request.config.rootpath / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's headless Chromium, installed with apt-get when it is missing."""
    import shutil

    from tests.support.debian import DebianInstallError, apt_install

    binary = shutil.which("chromium")
    if binary is None:
        try:
            apt_install(["chromium"], "the live page's browser test")
        except DebianInstallError as error:
            pytest.fail(str(error))
        binary = shutil.which("chromium")
        if binary is None:
            pytest.fail("chromium installed but not on PATH")
    return binary


@pytest.fixture
def browser(chromium_binary: str, tmp_path: Path, artifacts: Path) -> Iterator[Any]:
    """A fresh headless Chromium (new profile); its log goes to the artefacts."""
    from .browser import Chromium

    chromium = Chromium(chromium_binary, tmp_path / "chromium-profile", artifacts / "chromium.log")
    yield chromium
    chromium.close()


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Iterator[Path]:
    """A service configuration: SQLite, state in tmp_path, metrics on a free port, one
    MFC simulator (codename bench_flow, table dateplots_bench; run init-db first)."""
    from PyExpLabSys.simulators import start_simulator

    with start_simulator("mksg") as sim:
        path = tmp_path / "bench.toml"
        path.write_text(f"""
[database]
path = "bench.sqlite"
table = "dateplots_bench"
[service]
state_directory = "state"
status_interval = 0.1
metrics_port = 0
[[instruments]]
name = "mfc"
driver = "mksg"
port = "{sim.port}"
[[instruments.channels]]
codename = "bench_flow"
interval = 0.02
""")
        yield path
