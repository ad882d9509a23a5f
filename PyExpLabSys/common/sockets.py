"""PyExpLabSys's UDP socket servers under their old names (a façade over :mod:`PyExpLabSys.udp`).

* :class:`DateDataPullSocket` (port 9000): the current value of each codename, as
  ``(unix time, value)``; :class:`DataPullSocket` (port 9010): the current ``(x, y)``.
* :class:`DataPushSocket` (port 8500): receives data sets; stores, queues or calls back.
* :class:`LiveSocket`: sends points to the live server (plus an internal DataPullSocket
  on port 8000).

They speak upstream's wire protocol unchanged (see docs/sockets.rst). :data:`DATA` holds
the state of every socket server of this process, by port, as upstream lays it out.
Extensions, all keyword-only: ``host=`` (the address to bind, default all interfaces as
upstream) and ``limits=`` (:class:`~PyExpLabSys.udp.limits.DatagramLimits`), and a
``stats`` property counting datagrams answered, refused and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..udp.limits import DatagramLimits
from ..udp.live import LiveSocket
from ..udp.pull import PullSocket, Timeouts
from ..udp.push import CallBackThread, PushSocket
from ..udp.rawcodec import TYPE_FROM_STRING, bool_translate
from ..udp.registry import DATA, socket_server_status
from ..udp.server import PortStillReserved
from ..udp.wire import (
    BAD_CHARS,
    OLD_DATA,
    PUSH_ACK,
    PUSH_ERROR,
    PUSH_EXCEP,
    PUSH_RET,
    UNKNOWN_COMMAND,
)

__all__ = [
    "BAD_CHARS",
    "DATA",
    "OLD_DATA",
    "PUSH_ACK",
    "PUSH_ERROR",
    "PUSH_EXCEP",
    "PUSH_RET",
    "TYPE_FROM_STRING",
    "UNKNOWN_COMMAND",
    "CallBackThread",
    "CommonDataPullSocket",
    "DataPullSocket",
    "DataPushSocket",
    "DateDataPullSocket",
    "LiveSocket",
    "PortStillReserved",
    "bool_translate",
    "socket_server_status",
]

#: Upstream's name for the common base of the two pull sockets.
CommonDataPullSocket = PullSocket


class DataPullSocket(PullSocket):
    """Serves the current ``(x, y)`` point of each codename (default port 9010); a
    time-out counts from when the point was set."""

    def __init__(
        self,
        name: str,
        codenames: Iterable[str],
        port: int = 9010,
        default_x: Any = 0.0,
        default_y: Any = 0.0,
        timeouts: Timeouts = None,
        check_activity: bool = True,
        activity_timeout: float = 900,
        poke_on_set: bool = True,
        *,
        host: str = "",
        limits: DatagramLimits = DatagramLimits(),
    ) -> None:
        super().__init__(
            name,
            codenames,
            kind="data",
            port=port,
            default_x=default_x,
            default_y=default_y,
            timeouts=timeouts,
            check_activity=check_activity,
            activity_timeout=activity_timeout,
            poke_on_set=poke_on_set,
            host=host,
            limits=limits,
        )

    def set_point(self, codename: str, point: Iterable[Any], timestamp: float | None = None) -> None:
        """Make ``point`` (x, y) current; ``timestamp`` (default now) is when it was measured."""
        self.put_point(codename, point, timestamp)


class DateDataPullSocket(PullSocket):
    """Serves the current ``(unix time, value)`` of each codename (default port 9000);
    a value older than its codename's time-out is served as ``OLD_DATA``."""

    def __init__(
        self,
        name: str,
        codenames: Iterable[str],
        port: int = 9000,
        default_x: Any = 0.0,
        default_y: Any = 0.0,
        timeouts: Timeouts = None,
        check_activity: bool = True,
        activity_timeout: float = 900,
        poke_on_set: bool = True,
        *,
        host: str = "",
        limits: DatagramLimits = DatagramLimits(),
    ) -> None:
        super().__init__(
            name,
            codenames,
            kind="date",
            port=port,
            default_x=default_x,
            default_y=default_y,
            timeouts=timeouts,
            check_activity=check_activity,
            activity_timeout=activity_timeout,
            poke_on_set=poke_on_set,
            host=host,
            limits=limits,
        )

    def set_point_now(self, codename: str, value: Any) -> None:
        """Make ``value`` current, stamped with the time now."""
        self.put_point(codename, (time.time(), value))

    def set_point(self, codename: str, point: Iterable[Any]) -> None:
        """Make ``point`` (unix time, value) current."""
        self.put_point(codename, point)


class DataPushSocket(PushSocket):
    """Receives data sets from clients (default port 8500); ``action`` is
    ``'store_last'``, ``'enqueue'``, ``'callback_async'`` or ``'callback_direct'``
    (upstream's constructor: ``name, port, action, queue, callback, return_format,
    check_activity, activity_timeout``)."""
