"""An independent client of PyExpLabSys's UDP sockets, written from the protocol's
description (docs/sockets.rst, upstream's socket documentation), with plain
``socket.sendto``/``recvfrom``: it imports nothing from PyExpLabSys, so a test that reads
a socket through it checks the bytes on the wire, not our own API.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

HOST = "127.0.0.1"


class Client:
    """One UDP socket; ``ask`` sends a command and returns the reply's bytes."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)

    def ask(self, port: int, command: str | bytes) -> bytes:
        data = command.encode("ascii") if isinstance(command, str) else command
        self.sock.sendto(data, (HOST, port))
        reply, _ = self.sock.recvfrom(65535)
        return reply

    def text(self, port: int, command: str | bytes) -> str:
        return self.ask(port, command).decode("ascii")

    def json(self, port: int, command: str) -> Any:
        return json.loads(self.text(port, command))

    def send_only(self, port: int, data: bytes) -> None:
        self.sock.sendto(data, (HOST, port))

    def no_reply(self, wait: float = 0.3) -> bool:
        """True if nothing arrives within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            self.sock.recvfrom(65535)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(5.0)
        return False

    def drain(self) -> int:
        """Read and count every reply already waiting."""
        self.sock.setblocking(False)
        count = 0
        try:
            while True:
                self.sock.recvfrom(65535)
                count += 1
        except BlockingIOError:
            return count
        finally:
            self.sock.setblocking(True)
            self.sock.settimeout(5.0)

    def close(self) -> None:
        self.sock.close()


class LiveServer:
    """A stand-in for the lab's live server: a UDP socket on a free loopback port that
    collects the JSON messages sent to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.raw: list[bytes] = []
        self.messages: list[Any] = []
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            with self._arrived:
                self.raw.append(data)
                self.messages.append(json.loads(data.decode("utf-8")))
                self._arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Any]:
        """Wait until ``predicate(messages)`` holds; the messages so far."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"live server: condition not met; got {self.messages[-5:]}")
                self._arrived.wait(left)
            return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
