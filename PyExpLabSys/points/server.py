"""The service's points socket: scripts on this PC hand their points to the service.

One thread accepts, one thread per client reads its frames (see :mod:`.protocol`). A
client says hello with its id, its secret and its codenames (each must be in
``[service] client_codenames``, and belong to the client's Unix user or id where the
entry names an owner), then sends numbered batches;
the server puts their points into the service's logger and, once the spool has written
them (with the client's position, in the same transaction), acknowledges. After a
restart the positions come back from the spool, so a batch the client sends again is
dropped (or its new tail kept): nothing is stored twice, and nothing acknowledged is
lost.

**Who a client is**: see :mod:`.identity`. An identity without traffic for
:attr:`ClientLimits.identity_ttl` seconds (7 days by default) is forgotten, and at most
:attr:`ClientLimits.max_identities` are kept.

**Bad input.** A point that breaks the schema, or that the logger refuses, is
dead-lettered with its reason (as in-process) and the client is told (``rejected``);
the rest of its batch is stored and the position moves past it, so a refused point
never blocks the ones after it. A ``null`` value is a value that was not finite at the
client: it is stored under the service's non-finite policy (NULL by default). A client
that breaks the protocol itself (garbage, a frame too large, a malformed message, more
points per second than :class:`ClientLimits` allows, a codename not allowed, an
identity not its own) is refused, cut off and counted by reason; the others, the
readers and the queue go on.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..datalog.intake import IntakeClosedError
from ..datalog.logger import DataLogger
from .identity import Identities, Identity, NotOwner, peer_credentials
from .protocol import (
    MAX_FRAME,
    MAX_REASONS,
    FrameError,
    FrameReader,
    SchemaError,
    encode,
    parse_batch,
    parse_flush,
    parse_hello,
)

LOG = logging.getLogger(__name__)

__all__ = ["ClientLimits", "PointsServer"]


@dataclass(frozen=True)
class ClientLimits:
    """What one client may send before it is cut off, and how long it is remembered."""

    max_frame: int = MAX_FRAME
    #: Far above a client catching up after an outage (one batch of up to 20,000 points
    #: per group commit, about 100,000 points/s): only a broken client gets there.
    max_points_per_second: float = 1_000_000.0
    #: How long the spool may take to make a batch durable before the client is told
    #: nothing (it sends the batch again later).
    durable_wait: float = 5.0
    #: An identity without traffic for this long is forgotten (seconds).
    identity_ttl: float = 7 * 24 * 3600.0
    #: Identities kept at most (the longest idle one without a connection goes first).
    max_identities: int = 4096


class ClientRefused(Exception):
    """The client broke the protocol or the rules; the message says how."""

    def __init__(self, message: str, kind: str = "protocol") -> None:
        super().__init__(message)
        self.kind = kind


class PointsServer:
    """Listens on ``path`` and feeds clients' points into ``logger`` (which must have a
    spool: an acknowledgement promises the points survive a crash of the service).

    ``owners`` maps a codename to who may send it: ``("user", name)`` (a Unix user) or
    ``("client", id)``; the others in ``allowed_codenames`` any client may send."""

    def __init__(
        self,
        path: str | Path,
        logger: DataLogger,
        allowed_codenames: Iterable[str],
        limits: ClientLimits = ClientLimits(),
        mode: int = 0o660,
        group: str | None = None,
        owners: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        self.path = Path(path)
        self.logger = logger
        self.allowed = frozenset(allowed_codenames)
        self.owners = {codename: (kind, name) for codename, kind, name in owners}
        self.limits = limits
        self.mode, self.group = mode, group
        self.intake = logger.intake()
        self.identities = Identities(self.intake, limits.identity_ttl, limits.max_identities)
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.stats = {
            "clients": 0,
            "connected": 0,
            "refused": 0,
            "cut_off": 0,
            "points": 0,
            "duplicates": 0,
            "rejected_points": 0,
        }
        #: Refusals and cut-offs by reason (``codename``, ``identity``, ``schema`` …).
        self.refusals: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    def count(self, name: str, amount: int = 1) -> None:
        with self._stats_lock:
            self.stats[name] += amount

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
        with self._stats_lock:
            return {
                "socket": str(self.path),
                **self.stats,
                "identities": len(self.identities),
                "refusals": dict(self.refusals),
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
            self.count("clients")
            thread = threading.Thread(target=self._serve, args=(conn,), name="points-client", daemon=True)
            thread.start()

    def refuse(self, kind: str, cut_off: bool) -> None:
        with self._stats_lock:
            self.stats["cut_off" if cut_off else "refused"] += 1
            self.refusals[kind] += 1

    def _serve(self, conn: socket.socket) -> None:
        self.count("connected")
        session: _Session | None = None
        try:
            conn.settimeout(None)
            reader = FrameReader(self.limits.max_frame)
            session = _Session(self, conn, peer_credentials(conn))
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                for message in reader.feed(data):
                    session.handle(message)
        except ClientRefused as error:
            self.refuse(error.kind, error.kind not in ("codename", "identity"))
            LOG.warning("points client %s refused: %s", session.name if session else "?", error)
            _try_send(conn, {"refused": str(error)})
        except FrameError as error:
            self.refuse("schema" if isinstance(error, SchemaError) else "frame", True)
            LOG.warning("points client %s cut off: %s", session.name if session else "?", error)
            _try_send(conn, {"refused": str(error)})
        except OSError as error:
            LOG.info("points client %s gone: %s", session.name if session else "?", error)
        finally:
            self.count("connected", -1)
            if session is not None:
                session.close()
            conn.close()

    def check_codenames(self, codenames: Iterable[str], client: str, uid: int) -> None:
        """ClientRefused unless each codename is allowed to this client."""
        unknown = sorted(set(codenames) - self.allowed)
        if unknown:
            raise ClientRefused(
                f"codename(s) {', '.join(map(repr, unknown))} not allowed "
                f"(client_codenames: {', '.join(sorted(self.allowed)) or 'none'})",
                "codename",
            )
        for codename in codenames:
            owner = self.owners.get(codename)
            if owner is None:
                continue
            kind, name = owner
            if kind == "client" and name != client:
                raise ClientRefused(f"codename {codename!r} belongs to another client", "codename")
            if kind == "user" and _uid_of(name) != uid:
                raise ClientRefused(f"codename {codename!r} belongs to the user {name!r}", "codename")


def _uid_of(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


class _Session:
    """One client's conversation: hello first, then batches and flushes."""

    def __init__(self, server: PointsServer, conn: socket.socket, peer: tuple[int, int]) -> None:
        self.server, self.conn = server, conn
        self.pid, self.uid = peer
        self.identity: Identity | None = None
        self.codenames: tuple[str, ...] = ()
        self._window_start = time.monotonic()
        self._window_points = 0

    @property
    def name(self) -> str:
        return "?" if self.identity is None else self.identity.client

    def close(self) -> None:
        if self.identity is not None:
            self.server.identities.release(self.identity)
            self.identity = None

    def handle(self, message: dict[str, Any]) -> None:
        ((kind, body),) = message.items()
        if kind == "hello":
            self._hello(body)
        elif self.identity is None:
            raise ClientRefused(f"{kind!r} before hello")
        elif kind == "batch":
            self._batch(body)
        elif kind == "flush":
            self._flush(body)
        else:
            raise ClientRefused(f"unknown message {kind!r:.40}")

    def _hello(self, body: Any) -> None:
        if self.identity is not None:
            raise ClientRefused("a second hello")
        hello = parse_hello(body)
        self.server.check_codenames(hello.codenames, hello.client, self.uid)
        try:
            self.identity = self.server.identities.claim(hello.client, self.uid, hello.secret)
        except NotOwner as error:
            raise ClientRefused(str(error), "identity") from None
        self.codenames = hello.codenames
        position = self.server.identities.position(self.identity)
        LOG.info(
            "points client %s (uid %d, pid %d): %d codename(s), from %d",
            hello.client,
            self.uid,
            self.pid,
            len(hello.codenames),
            position,
        )
        self.conn.sendall(encode({"welcome": {"next": position}}))

    def _batch(self, body: Any) -> None:
        assert self.identity is not None  # handle() checks
        batch = parse_batch(body, len(self.codenames))
        self._count(batch.count)
        codenames = self.codenames
        points = [(offset, codenames[index], stamp, value) for offset, index, stamp, value in batch.points]
        try:
            end, skip, fresh, refused = self.server.identities.advance(
                self.identity, batch.first, batch.count, points
            )
        except IntakeClosedError:
            raise OSError("the service is stopping") from None
        schema_refused = [(o, reason, raw) for o, reason, raw in batch.refused if o >= skip]
        if schema_refused:
            self.server.intake.dead_letter(
                self.name, [("?", f"points socket: {reason}", raw) for _, reason, raw in schema_refused]
            )
        rejected = sorted([(o, r) for o, r, _ in schema_refused] + refused)
        server = self.server
        server.count("points", fresh - len(refused))
        server.count("duplicates", min(skip, batch.count))
        if rejected:
            server.count("rejected_points", len(rejected))
            LOG.warning(
                "points client %s: %d point(s) of the batch at %d refused and dead-lettered (first: %s)",
                self.name,
                len(rejected),
                batch.first,
                rejected[0][1],
            )
            self.conn.sendall(
                encode(
                    {
                        "rejected": {
                            "first": batch.first,
                            "count": len(rejected),
                            "points": [list(r) for r in rejected[:MAX_REASONS]],
                        }
                    }
                )
            )
        if server.intake.wait_durable(server.limits.durable_wait):
            self.conn.sendall(encode({"ack": end}))

    def _flush(self, body: Any) -> None:
        token, timeout = parse_flush(body)
        ok = self.server.logger.flush(timeout)
        self.conn.sendall(encode({"flushed": {"token": token, "ok": ok}}))

    def _count(self, points: int) -> None:
        """Cut off a client that sends more points per second than allowed."""
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_points = now, 0
        self._window_points += points
        if self._window_points > self.server.limits.max_points_per_second:
            raise ClientRefused(
                f"flood: more than {self.server.limits.max_points_per_second:.0f} points per second", "flood"
            )


def _try_send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall(encode(message))
    except OSError:
        pass
