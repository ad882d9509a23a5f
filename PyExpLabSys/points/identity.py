"""Who a points client is, and where its stream stands in the service's spool.

The kernel tells the server the peer's uid and pid (``SO_PEERCRED``). A client id is
bound, at its first hello, to that uid and to the client's secret: a random 128-bit
value the client draws once and keeps (in its spool's checkpoint, saved there before
its first hello, so no acknowledged point can come before the secret is safe). The
server keeps only the secret's SHA-256. A later hello under the same id must come from
the same uid with the same secret, else it is refused without learning anything (not
even whether the id exists): only the process that owns an identity can send under it
or learn its position.

Why the client draws the secret rather than the service issuing it at the first
hello: a secret issued by the service would reach the client's spool only after the
hello, and a client killed in between would come back without it and be locked out of
its own identity (or, if allowed a new one, resend points the service holds). A
client-drawn secret bound on first use is of equal strength (the first hello under an
id binds it either way) without that window.

The binding travels with the position: the identity's name in the logger's spool
(its *source*) is ``uid␟digest␟id``, saved in the same transaction as its points, so it
survives a restart of the service. An identity without traffic for ``ttl`` seconds is
forgotten, and at most ``capacity`` are kept, ``per_user`` per Unix user (the longest
idle without a connection goes first, so one user's many ids do not push out another
user's). Positions saved by an earlier version under the bare id are adopted by
the first hello under that id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..datalog.intake import Intake

LOG = logging.getLogger(__name__)

__all__ = ["Identities", "Identity", "NotOwner", "peer_credentials"]

_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_SEP = "\x1f"  # never in a client id (ids are printable)


class NotOwner(Exception):
    """The peer does not own the identity it claims."""


def peer_credentials(conn: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of a Unix socket, from the kernel."""
    pid, uid, _ = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return pid, uid


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()[:32]


@dataclass
class Identity:
    """A client id bound to a uid and a secret's digest."""

    client: str
    uid: int
    digest: str
    last_seen: float
    connections: int = 0

    @property
    def source(self) -> str:
        """Its name in the logger's spool: the binding travels with the position."""
        return f"{self.uid}{_SEP}{self.digest}{_SEP}{self.client}"

    @classmethod
    def parse(cls, source: str, now: float) -> Identity | None:
        """The identity a source name stands for; None for a name of another form."""
        parts = source.split(_SEP, 2)
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 32:
            return None
        return cls(parts[2], int(parts[0]), parts[1], now)


class Identities:
    """The clients the server knows: who owns each id, and each one's position."""

    def __init__(self, intake: Intake, ttl: float, capacity: int, per_user: int | None = None) -> None:
        self.intake = intake
        self.ttl, self.capacity = ttl, capacity
        self.per_user = capacity if per_user is None else per_user
        self.lock = threading.Lock()
        now = time.monotonic()
        self._bound: dict[str, Identity] = {}
        self._positions: dict[str, int] = {}  # by source
        self._legacy: dict[str, int] = {}  # positions of ids saved before identities
        for source, position in intake.positions().items():
            identity = Identity.parse(source, now)
            if identity is None:
                self._legacy[source] = position
            else:
                self._bound[identity.client] = identity
                self._positions[source] = position

    def __len__(self) -> int:
        return len(self._bound)

    def claim(self, client: str, uid: int, secret: str) -> Identity:
        """The identity ``client`` for a peer of ``uid`` holding ``secret``: bound now
        if new, else checked; NotOwner (saying nothing about it) if not the peer's."""
        digest = _digest(secret)
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            identity = self._bound.get(client)
            if identity is None:
                identity = Identity(client, uid, digest, now)
                self._make_room(uid)
                self._bound[client] = identity
                legacy = self._legacy.pop(client, None)
                if legacy is not None:  # saved by an earlier version: the first claim adopts it
                    self._positions[identity.source] = legacy
                    self.intake.forget([client])
                    self.intake.append(identity.source, legacy, [])
            elif identity.uid != uid or not hmac.compare_digest(identity.digest, digest):
                raise NotOwner(f"client id {client!r} is bound to another client (another user or secret)")
            identity.last_seen = now
            identity.connections += 1
            return identity

    def release(self, identity: Identity) -> None:
        """A connection of ``identity`` ended."""
        with self.lock:
            identity.connections -= 1
            identity.last_seen = time.monotonic()

    def position(self, identity: Identity) -> int:
        """Every point of ``identity`` before this position is in the logger."""
        with self.lock:
            return self._positions.get(identity.source, 0)

    def advance(
        self, identity: Identity, first: int, count: int, points: list[tuple[int, Any, Any, Any]]
    ) -> tuple[int, int, int, list[tuple[int, str]]]:
        """Queue the batch's ``(offset, codename, time, value)`` points that the
        logger does not hold yet; (new position, the offset before which the batch was
        held already, points queued or refused, refused ``(offset, reason)``)."""
        with self.lock:
            source = identity.source
            position = self._positions.get(source, 0)
            skip = max(0, position - first)
            if first > position:
                LOG.warning(
                    "client %s continues at %d; its points %d to %d never arrived",
                    identity.client,
                    first,
                    position,
                    first - 1,
                )
            fresh = [p for p in points if p[0] >= skip]
            end = max(position, first + count)
            refused = self.intake.append(source, end, [(c, t, v) for _, c, t, v in fresh])
            self._positions[source] = end
            identity.last_seen = time.monotonic()
        return end, skip, len(fresh), [(fresh[i][0], reason) for i, reason in refused]

    def _expire(self, now: float) -> None:
        """Forget identities idle for longer than the limit."""
        stale = [i for i in self._bound.values() if not i.connections and now - i.last_seen > self.ttl]
        self._forget(stale)

    def _make_room(self, uid: int) -> None:
        """Room for one more identity of ``uid``: the longest idle of that user goes
        first when the user has its share, else the longest idle of all."""
        mine = [i for i in self._bound.values() if i.uid == uid]
        for among, limit in ((mine, self.per_user), (list(self._bound.values()), self.capacity)):
            excess = len(among) + 1 - limit
            if excess > 0:
                idle = sorted((i for i in among if not i.connections), key=lambda i: i.last_seen)
                self._forget(idle[:excess])
                if len(idle) < excess:
                    raise NotOwner("too many client identities are connected; try again later")
                return

    def _forget(self, identities: list[Identity]) -> None:
        if not identities:
            return
        for identity in identities:
            del self._bound[identity.client]
            self._positions.pop(identity.source, None)
        self.intake.forget([i.source for i in identities])
        LOG.info("forgot %d idle client identit(y/ies)", len(identities))
