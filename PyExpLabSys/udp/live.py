"""The live socket: sends each new point to the lab's live server (which feeds the live
web pages) as one UDP datagram of JSON::

    {"host": "<this PC's hostname>", "data": {"codename": [x, y], ...}}

``y`` may be any JSON value (a number, text, a status); ``"RESET"`` in place of a point
tells the live pages to clear that codename. Sending is fire-and-forget, as upstream's:
nothing comes back. A send that fails (no route, message too long) is logged and
counted, not raised: a live page must not stop a logging script.

By default a live socket also serves its points on an internal DataPullSocket (port 8000),
so that the PC still answers ``status`` and pull commands there.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..settings import Settings, user_settings_path
from .pull import PullSocket, dumps

LOG = logging.getLogger(__name__)

__all__ = ["LiveSender", "LiveSocket", "live_server_from_settings", "parse_live_server"]

#: The user-settings keys naming the live server (upstream's names).
HOST_KEY, PORT_KEY = "common_liveserver_host", "common_liveserver_port"


def live_server_from_settings() -> tuple[str, int]:
    """``(host, port)`` of the live server from the settings (what a script assigned to
    :class:`~PyExpLabSys.settings.Settings`, else the user settings file), as upstream;
    ValueError naming the file and keys when they are not set."""
    settings = Settings()
    host, port = (getattr(settings, key, None) for key in (HOST_KEY, PORT_KEY))
    if not host or port is None:
        raise ValueError(
            f"no live server given: pass live_server=(host, port), or set {HOST_KEY} and "
            f"{PORT_KEY} in {user_settings_path()}"
        )
    return str(host), int(port)


def parse_live_server(text: str) -> tuple[str, int]:
    """``"host:port"`` as ``(host, port)``; ValueError saying what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be 'host:port' with a UDP port 1..65535, not {text!r}")
    return host, int(port)


class LiveSender:
    """Sends live messages to ``live_server`` (host looked up once, here: a bad name is
    an error at construction, and no DNS query is made per message)."""

    def __init__(self, live_server: tuple[str, int], hostname: str | None = None) -> None:
        host, self.port = live_server[0], int(live_server[1])
        self.ip = socket.gethostbyname(host)
        self.hostname = socket.gethostname() if hostname is None else hostname
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0
        self.failed = 0

    def message(self, data: Mapping[str, Any]) -> bytes:
        """The datagram for ``data`` (TypeError for a value JSON cannot carry)."""
        return dumps({"host": self.hostname, "data": data}).encode("utf-8")

    def send(self, data: Mapping[str, Any]) -> bool:
        """Send one message; False (logged, counted) if the system would not send it."""
        datagram = self.message(data)
        try:
            self.socket.sendto(datagram, (self.ip, self.port))
        except OSError as error:
            self.failed += 1
            level = logging.WARNING if self.failed == 1 else logging.DEBUG
            LOG.log(
                level, "live server %s:%d: cannot send %d bytes: %s", self.ip, self.port, len(datagram), error
            )
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        self.socket.close()


class LiveSocket:
    """Upstream's LiveSocket: ``set_point``/``set_point_now``/``set_batch``/
    ``set_batch_now``/``reset`` send to the live server; ``start``/``stop`` run the
    internal DataPullSocket (unless ``no_internal_data_pull_socket``)."""

    def __init__(
        self,
        name: str,
        codenames: Iterable[str],
        live_server: tuple[str, int] | None = None,
        no_internal_data_pull_socket: bool = False,
        internal_data_pull_socket_port: int = 8000,
    ) -> None:
        codenames = list(codenames)
        self.name = name
        self.codename_set = set(codenames)
        self._sender = LiveSender(live_server_from_settings() if live_server is None else live_server)
        self.liveserver_ip, self.liveserver_port = self._sender.ip, self._sender.port
        self.hostname = self._sender.hostname
        self.socket = self._sender.socket
        self._internal_pull_socket: PullSocket | None = None
        if not no_internal_data_pull_socket:
            self._internal_pull_socket = PullSocket(
                name, codenames, kind="data", port=internal_data_pull_socket_port
            )

    @property
    def stats(self) -> dict[str, int]:
        """Messages sent, and sends that failed."""
        return {"sent": self._sender.sent, "failed": self._sender.failed}

    @property
    def internal_port(self) -> int | None:
        """The port of the internal DataPullSocket (None without one)."""
        return None if self._internal_pull_socket is None else self._internal_pull_socket.port

    def start(self) -> None:
        if self._internal_pull_socket is not None:
            self._internal_pull_socket.start()

    def stop(self) -> None:
        if self._internal_pull_socket is not None:
            self._internal_pull_socket.stop()

    def set_batch(self, data: Mapping[str, Any]) -> None:
        """Send ``{codename: (x, y), ...}`` as one message (and set the internal pull
        socket's points). RuntimeError for a codename not given at construction."""
        for codename, point in data.items():
            if codename not in self.codename_set:
                raise RuntimeError(f"The codename: '{codename}' is not registered")
            if self._internal_pull_socket is not None and not isinstance(point, str):  # not "RESET"
                self._internal_pull_socket.put_point(codename, point)
        self._sender.send(data)

    def set_batch_now(self, data: Mapping[str, Any]) -> None:
        """``{codename: value}``, all stamped with the time now."""
        now = time.time()
        self.set_batch({codename: (now, value) for codename, value in data.items()})

    def set_point_now(self, codename: str, value: Any) -> None:
        self.set_batch({codename: (time.time(), value)})

    def set_point(self, codename: str, point: Any) -> None:
        self.set_batch({codename: point})

    def reset(self, codenames: Iterable[str]) -> None:
        """Tell the live pages to clear ``codenames``."""
        self.set_batch(dict.fromkeys(codenames, "RESET"))
