"""The table of every socket server of this process: upstream's module variable ``DATA``.

``DATA[port]`` is the state of the socket on that port, laid out as upstream lays it out
(``name``, ``type``, ``codenames``, ``data``, ``timeouts``, ``activity`` ...), because
scripts and their tests look into it. The sockets read and write their entry; a stopped
socket removes it, which frees the port number for a new one.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = [
    "DATA",
    "activity_entry",
    "activity_status",
    "check_free",
    "poke",
    "register",
    "release",
    "socket_server_status",
]

#: Port → that socket server's state (see :mod:`PyExpLabSys.common.sockets`).
DATA: dict[int, dict[str, Any]] = {}


def check_free(port: int) -> None:
    """ValueError if a socket of this process already serves ``port`` (0: any port)."""
    if port and port in DATA:
        raise ValueError(f"A UDP server already exists on port: {port}")


def register(port: int, entry: dict[str, Any]) -> None:
    check_free(port)
    DATA[port] = entry


def release(port: int, entry: dict[str, Any]) -> None:
    """Remove ``entry`` (only if it still is the one on ``port``)."""
    if DATA.get(port) is entry:
        del DATA[port]


def activity_entry(check_activity: bool, activity_timeout: float) -> dict[str, Any]:
    return {
        "check_activity": check_activity,
        "activity_timeout": activity_timeout,
        "last_activity": time.time(),
    }


def poke(entry: dict[str, Any]) -> None:
    """Note activity on a socket (when it watches for activity)."""
    activity = entry["activity"]
    if activity["check_activity"]:
        activity["last_activity"] = time.time()


def activity_status(entry: dict[str, Any], now: float) -> tuple[str, float | None]:
    """``('OK' | 'INACTIVE' | 'DISABLED', seconds since the last activity or None)``."""
    activity = entry["activity"]
    if not activity["check_activity"]:
        return "DISABLED", None
    since = now - activity["last_activity"]
    return ("OK" if since < activity["activity_timeout"] else "INACTIVE"), since


def socket_server_status() -> dict[int, dict[str, Any]]:
    """Per port: ``name``, ``type``, ``status`` and ``since_last_activity``."""
    now = time.time()
    status: dict[int, dict[str, Any]] = {}
    for port, entry in list(DATA.items()):
        state, since = activity_status(entry, now)
        status[port] = {
            "name": entry["name"],
            "type": entry["type"],
            "status": state,
            "since_last_activity": since,
        }
    return status
