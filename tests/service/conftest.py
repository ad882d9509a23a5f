"""Fixtures of the service tests: a notify socket to listen on, simulators, configs."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
