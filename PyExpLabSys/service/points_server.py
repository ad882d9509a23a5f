"""The service's points socket: scripts on this PC hand their points to the service.

One thread accepts, one thread per client reads its frames (see
:mod:`~..backends.points_protocol`). A client says hello with its id and codenames
(each must be in ``[service] client_codenames``), then sends numbered batches; the
server puts their points into the service's logger and, once the spool has written them
(with the client's position, in the same transaction), acknowledges. After a restart
the positions come back from the spool, so a batch the client sends again is dropped
(or its new tail kept): nothing is stored twice, and nothing acknowledged is lost.

A client that breaks the protocol (garbage, an oversized frame, a batch too large, more
points per second than :class:`ClientLimits` allows, a codename not allowed) is cut off
and counted; the others, the readers and the queue go on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..backends.points_protocol import MAX_FRAME, FrameError, FrameReader, encode
from ..datalog.logger import DataLogger, LoggerStoppedError

LOG = logging.getLogger(__name__)

__all__ = ["ClientLimits", "PointsServer"]


@dataclass(frozen=True)
class ClientLimits:
    """What one client may send before it is cut off."""

    max_frame: int = MAX_FRAME
    #: Far above a client catching up after an outage (one batch of up to 20,000 points
    #: per group commit, about 100,000 points/s): only a broken client gets there.
    max_points_per_second: float = 1_000_000.0
    #: How long the spool may take to make a batch durable before the client is told
    #: nothing (it sends the batch again later).
    durable_wait: float = 5.0


class ClientRefused(Exception):
    """The client broke the protocol or the rules; the message says how."""


class PointsServer:
    """Listens on ``path`` and feeds clients' points into ``logger`` (which must have a
    spool: an acknowledgement promises the points survive a crash of the service)."""

    def __init__(
        self,
        path: str | Path,
        logger: DataLogger,
        allowed_codenames: Iterable[str],
        limits: ClientLimits = ClientLimits(),
        mode: int = 0o660,
        group: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.logger = logger
        self.allowed = frozenset(allowed_codenames)
        self.limits = limits
        self.mode, self.group = mode, group
        # Each client's position: points before it are in the logger (durable once the
        # spool says so). Starts from what the spool kept.
        self._positions: dict[str, int] = logger.durable_sources()
        self._positions_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.stats = {"clients": 0, "connected": 0, "refused": 0, "cut_off": 0, "points": 0, "duplicates": 0}
        # For the status page: per codename [points, newest time, its value] (under the
        # positions lock), and the clients that said hello and are still connected.
        self._codenames: dict[str, list[Any]] = {}
        self._sessions: set[_Session] = set()

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> PointsServer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            self.path.unlink()  # left by a killed service
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        os.chmod(self.path, self.mode)
        if self.group is not None:
            import grp

            os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)
        listener.listen(64)
        self._listener = listener
        thread = threading.Thread(target=self._accept, name="points-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        LOG.info("points socket %s (codenames %s)", self.path, ", ".join(sorted(self.allowed)))
        return self

    def stop(self) -> None:
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        try:
            self.path.unlink()
        except OSError:
            pass

    def snapshot(self) -> dict[str, Any]:
        """The counters, each codename's points and newest point (``last_time``,
        ``last_value``) since the start, and the connected clients."""
        with self._positions_lock:
            codenames = {
                name: {"points": n, "last_time": t, "last_value": v}
                for name, (n, t, v) in self._codenames.items()
            }
            connected = [
                {
                    "client": session.client,
                    "codenames": list(session.codenames),
                    "since": session.since,
                    "points": session.points,
                    "position": self._positions.get(session.client or "", 0),
                }
                for session in self._sessions
            ]
        connected.sort(key=lambda c: (c["client"], c["since"]))
        return {
            "socket": str(self.path),
            **self.stats,
            "codenames": codenames,
            "connected_clients": connected,
        }

    # -- clients ----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            self.stats["clients"] += 1
            thread = threading.Thread(target=self._serve, args=(conn,), name="points-client", daemon=True)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        self.stats["connected"] += 1
        client = "?"
        session = _Session(self, conn)
        try:
            conn.settimeout(None)
            reader = FrameReader(self.limits.max_frame)
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                for message in reader.feed(data):
                    session.handle(message)
                    client = session.client or client
        except ClientRefused as error:
            self.stats["refused" if "codename" in str(error) else "cut_off"] += 1
            LOG.warning("points client %s cut off: %s", client, error)
            _try_send(conn, {"refused": str(error)})
        except FrameError as error:
            self.stats["cut_off"] += 1
            LOG.warning("points client %s cut off: %s", client, error)
        except OSError as error:
            LOG.info("points client %s gone: %s", client, error)
        finally:
            self.stats["connected"] -= 1
            with self._positions_lock:
                self._sessions.discard(session)
            conn.close()

    def accept_batch(self, client: str, codenames: list[str], first: int, points: list[Any]) -> int:
        """Put a client's batch into the logger (dropping what it already holds); the
        client's position after it."""
        with self._positions_lock:
            position = self._positions.get(client, 0)
            skip = max(0, position - first)
            if first > position:
                LOG.warning(
                    "client %s continues at %d; its points %d to %d never arrived",
                    client,
                    first,
                    position,
                    first - 1,
                )
            fresh = points[skip:]
            self.stats["duplicates"] += min(skip, len(points))
            end = max(position, first + len(points))
            self.logger.enqueue_from(client, end, [(codenames[i], t, v) for i, t, v in fresh])
            self._positions[client] = end
            self._note(codenames, fresh)
        self.stats["points"] += len(fresh)
        return end

    def _note(self, codenames: list[str], points: list[Any]) -> None:
        """Count each codename's points and keep its newest (under the positions lock);
        cheap for the usual client, whose codenames all appear near a batch's end."""
        if not points:
            return
        newest: dict[int, tuple[float, Any]] = {}
        for index, when, value in reversed(points):
            if index not in newest:
                newest[index] = (when, value)
                if len(newest) == len(codenames):
                    break
        counts = Counter(map(itemgetter(0), points)) if len(codenames) > 1 else {0: len(points)}
        for index, (when, value) in newest.items():
            entry = self._codenames.setdefault(codenames[index], [0, when, value])
            entry[0] += counts[index]
            if when >= entry[1]:
                entry[1], entry[2] = when, value


class _Session:
    """One client's conversation: hello first, then batches and flushes."""

    def __init__(self, server: PointsServer, conn: socket.socket) -> None:
        self.server, self.conn = server, conn
        self.client: str | None = None
        self.codenames: list[str] = []
        self.since = time.time()
        self.points = 0  # accepted on this connection (duplicates included)
        self._window_start = time.monotonic()
        self._window_points = 0

    def handle(self, message: dict[str, Any]) -> None:
        ((kind, body),) = message.items()
        if kind == "hello":
            self._hello(body)
        elif self.client is None:
            raise ClientRefused(f"{kind!r} before hello")
        elif kind == "batch":
            self._batch(body)
        elif kind == "flush":
            self._flush(body)
        else:
            raise ClientRefused(f"unknown message {kind!r}")

    def _hello(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("client"), str) or not body["client"]:
            raise ClientRefused("hello without a client id")
        codenames = body.get("codenames")
        if not isinstance(codenames, list) or not all(isinstance(c, str) for c in codenames):
            raise ClientRefused("hello without a list of codenames")
        unknown = sorted(set(codenames) - self.server.allowed)
        if unknown:
            raise ClientRefused(
                f"codename(s) {', '.join(map(repr, unknown))} not allowed "
                f"(client_codenames: {', '.join(sorted(self.server.allowed)) or 'none'})"
            )
        self.client, self.codenames = body["client"], codenames
        with self.server._positions_lock:
            position = self.server._positions.get(self.client, 0)
            self.server._sessions.add(self)
        LOG.info("points client %s: %d codename(s), from %d", self.client, len(codenames), position)
        self.conn.sendall(encode({"welcome": {"next": position}}))

    def _batch(self, body: Any) -> None:
        try:
            first, points = int(body["first"]), body["points"]
            points = [(int(i), float(t), None if v is None else float(v)) for i, t, v in points]
        except (KeyError, TypeError, ValueError) as error:
            raise ClientRefused(f"malformed batch: {error}") from None
        if any(not 0 <= index < len(self.codenames) for index, _, _ in points):
            raise ClientRefused("a point names a codename the hello did not")
        self._count(len(points))
        try:
            end = self.server.accept_batch(self.client or "?", self.codenames, first, points)
        except (TypeError, ValueError, KeyError) as error:
            raise ClientRefused(f"a point the logger refuses: {error}") from None
        except LoggerStoppedError:
            raise OSError("the service is stopping") from None
        self.points += len(points)
        if self.server.logger.wait_durable(self.server.limits.durable_wait):
            self.conn.sendall(encode({"ack": end}))

    def _flush(self, body: Any) -> None:
        token = body.get("token") if isinstance(body, dict) else None
        timeout = body.get("timeout") if isinstance(body, dict) else None
        ok = self.server.logger.flush(None if timeout is None else float(timeout))
        self.conn.sendall(encode({"flushed": {"token": token, "ok": ok}}))

    def _count(self, points: int) -> None:
        """Cut off a client that sends more points per second than allowed."""
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_points = now, 0
        self._window_points += points
        if self._window_points > self.server.limits.max_points_per_second:
            raise ClientRefused(
                f"flood: more than {self.server.limits.max_points_per_second:.0f} points per second"
            )


def _try_send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall(encode(message))
    except OSError:
        pass
