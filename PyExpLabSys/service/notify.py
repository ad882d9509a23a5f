"""The systemd notify protocol, spoken directly: one datagram to ``$NOTIFY_SOCKET``.

``READY=1`` once the service logs, ``STATUS=<one line>`` as it goes, ``WATCHDOG=1``
while the logger thread is alive (the service decides; this module only sends), and
``STOPPING=1`` when it shuts down. A dozen lines of socket code, so no dependency.
Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

LOG = logging.getLogger(__name__)

__all__ = ["Notifier"]


class Notifier:
    """Sends notify messages to the socket systemd passed in the environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET") or None
        if address is not None and address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self.address = address
        self.watchdog_interval = self._watchdog_interval(environ)

    @staticmethod
    def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings: half of ``$WATCHDOG_USEC``, if it is ours."""
        usec = environ.get("WATCHDOG_USEC")
        pid = environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            value = int(usec)
        except ValueError:
            return None
        return value / 2e6 if value > 0 else None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, ...) as one datagram; False if it failed."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never block the service: a receiver whose queue is full loses a
                # message (the next STATUS=/WATCHDOG=1 follows within a tick).
                sock.setblocking(False)
                sock.connect(self.address)
                sock.send(message)
        except OSError as error:
            LOG.debug("sd_notify %r failed: %s", fields, error)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status(status))

    def status(self, text: str) -> bool:
        return self.send(*_status(text))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status(status))


def _status(text: str | None) -> tuple[str, ...]:
    """A STATUS= field on one line (systemd shows only one)."""
    return () if text is None else ("STATUS=" + " ".join(text.split()),)
