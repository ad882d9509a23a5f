"""Pull sockets: the current point of each codename, for clients to ask for over UDP.

Commands (one datagram each; replies in the same order as the codenames were given):

``name``, ``status``, ``codenames_raw`` (``a,b``), ``codenames_json``, ``raw``
(``x1,y1;x2,y2``), ``json`` (``[[x1, y1], [x2, y2]]``), ``raw_wn`` (``a:x1,y1;b:x2,y2``),
``json_wn`` (``{"a": [x1, y1], ...}``), ``codename#raw`` (``x,y``), ``codename#json``
(``[x, y]``). A point older than its codename's time-out is served as ``OLD_DATA``;
anything else gets ``UNKNOWN_COMMMAND``.

Of a ``date`` socket (DateDataPullSocket) the point's x is its Unix time, and the time-out
counts from it; of a ``data`` socket (DataPullSocket) the time-out counts from when the
point was set (or the time stamp given with it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from . import registry
from .limits import DatagramLimits
from .server import DatagramServer, Refused, ServingThread
from .system_status import status_text
from .wire import OLD_DATA, UNKNOWN_COMMAND, check_codenames

LOG = logging.getLogger(__name__)

__all__ = ["PullAnswerer", "PullSocket", "dumps", "jsonable"]

Timeouts = float | Sequence[float | None] | None


def jsonable(value: Any) -> Any:
    """``json.dumps``'s fallback: numpy numbers (and anything with ``item()``) as Python
    numbers; TypeError for the rest."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: json.dumps's own output (same separators), made once: dumps(default=...) builds an
#: encoder per call.
_ENCODER = json.JSONEncoder(default=jsonable)


def dumps(value: Any) -> str:
    """``value`` as JSON text, as ``json.dumps`` writes it; numpy numbers as numbers."""
    return _ENCODER.encode(value)


class PullAnswerer:
    """Answers pull commands from a socket's :data:`~.registry.DATA` entry."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry

    def refusal(self, reason: str) -> str:
        return UNKNOWN_COMMAND

    def answer(self, request: str) -> str:
        if request.count("#") == 1:
            return self._single(*request.split("#"))
        return self._all(request)

    def _single(self, codename: str, form: str) -> str:
        data = self.entry["data"]
        if codename not in data or form not in ("raw", "json"):
            raise Refused(UNKNOWN_COMMAND)
        old = self._old(codename)
        if form == "raw":
            return OLD_DATA if old else _raw_point(data[codename])
        return dumps(OLD_DATA if old else data[codename])

    def _all(self, command: str) -> str:
        entry = self.entry
        data, codenames = entry["data"], entry["codenames"]
        if command == "raw":
            return ";".join(OLD_DATA if self._old(c) else _raw_point(data[c]) for c in codenames)
        if command == "json":
            return dumps([OLD_DATA if self._old(c) else data[c] for c in codenames])
        if command == "raw_wn":
            return ";".join(f"{c}:{OLD_DATA if self._old(c) else _raw_point(data[c])}" for c in codenames)
        if command == "json_wn":
            copy = dict(data)
            for codename in codenames:
                if self._old(codename):
                    copy[codename] = OLD_DATA
            return dumps(copy)
        if command == "codenames_raw":
            return ",".join(codenames)
        if command == "codenames_json":
            return dumps(codenames)
        if command == "name":
            return str(entry["name"])
        if command == "status":
            return status_text()
        raise Refused(UNKNOWN_COMMAND)

    def _old(self, codename: str) -> bool:
        entry = self.entry
        timeout = entry["timeouts"].get(codename)
        if timeout is None:
            return False
        # A date socket's x is the time measured; a data socket keeps that apart.
        since = entry["data"][codename][0] if entry["type"] == "date" else entry["timestamps"][codename]
        return bool(time.time() - since > timeout)


def _raw_point(point: Sequence[Any]) -> str:
    return "{},{}".format(*point)


def _timeout_list(timeouts: Timeouts, count: int) -> list[float | None]:
    if isinstance(timeouts, Sequence) and not isinstance(timeouts, str):
        if len(timeouts) != count:
            raise ValueError(
                "If a list of timeouts is supplied, it must have as many items as there are in codenames"
            )
        return list(timeouts)
    return [timeouts] * count  # one number (or None) for all


class PullSocket(ServingThread):
    """A pull socket server on ``(host, port)``: ``start()`` serves, ``stop()`` frees the
    port; ``set_point`` makes a point available. ``kind`` is ``"date"`` or ``"data"``."""

    def __init__(
        self,
        name: str,
        codenames: Iterable[str],
        *,
        kind: str,
        port: int,
        default_x: Any = 0.0,
        default_y: Any = 0.0,
        timeouts: Timeouts = None,
        check_activity: bool = True,
        activity_timeout: float = 900,
        poke_on_set: bool = True,
        host: str = "",
        limits: DatagramLimits = DatagramLimits(),
    ) -> None:
        names = check_codenames(codenames)
        timeout_list = _timeout_list(timeouts, len(names))
        registry.check_free(port)
        entry: dict[str, Any] = {
            "codenames": names,
            "data": dict.fromkeys(names, (default_x, default_y)),
            "name": name,
            "activity": registry.activity_entry(check_activity, activity_timeout),
            "timeouts": dict(zip(names, timeout_list, strict=True)),
            "type": kind,
        }
        if kind == "data":
            entry["timestamps"] = dict.fromkeys(names, 0.0)
        elif kind != "date":
            raise ValueError(f"kind must be 'date' or 'data', not {kind!r}")
        server = DatagramServer(host, port, PullAnswerer(entry), limits)
        super().__init__(server, name=f"pull-socket-{server.port}")
        self.port = server.port
        self.poke_on_set = poke_on_set
        self._entry = entry
        self._warned: set[str] = set()
        registry.register(self.port, entry)
        LOG.info("pull socket %r on UDP port %d (%d codenames)", name, self.port, len(names))

    @property
    def stats(self) -> dict[str, int]:
        """Datagrams received, answered, refused, dropped ... (see DatagramServer)."""
        return dict(self.server.stats)

    @property
    def codenames(self) -> list[str]:
        """The codenames served, in their order."""
        return list(self._entry["codenames"])

    def stop(self) -> None:
        """Stop serving, free the port and remove this socket from DATA."""
        self.close_server()
        registry.release(self.port, self._entry)
        LOG.info("pull socket on UDP port %d stopped", self.port)

    def poke(self) -> None:
        """Tell the socket there is activity (the ``status`` command reports it)."""
        registry.poke(self._entry)

    def put_point(self, codename: str, point: Iterable[Any], timestamp: float | None = None) -> None:
        """Make ``point`` (x, y) the current point of ``codename``; for a ``data`` socket
        ``timestamp`` (default now) is when it was measured, for its time-out."""
        entry = self._entry
        if codename not in entry["timeouts"] and codename not in self._warned:
            # Upstream stores it anyway (json_wn then lists it); a typo should be seen.
            self._warned.add(codename)
            LOG.warning("pull socket %d: '%s' is not one of its codenames", self.port, codename)
        entry["data"][codename] = tuple(point)
        if "timestamps" in entry:
            entry["timestamps"][codename] = time.time() if timestamp is None else timestamp
        if self.poke_on_set:
            registry.poke(entry)
