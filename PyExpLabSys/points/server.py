"""The service's points socket: scripts on this PC hand their points to the service.

A client says hello with its id, its secret and its codenames (each must be in
``[service] client_codenames``, and belong to the client's Unix user or id where the
entry names an owner), then sends numbered batches (see :mod:`.protocol`); the server
puts their points into the service's logger through its :class:`~..datalog.intake.Intake`
and, once the spool has written them (with the client's position, in the same
transaction), acknowledges. Batches may follow each other without waiting (the client
pipelines them); the acknowledgements come in order. After a restart the positions come
back from the spool, so a batch the client sends again is dropped (or its new tail
kept): nothing is stored twice, and nothing acknowledged is lost.

**Who a client is**: see :mod:`.identity`.

**Bad input.** A point that breaks the schema, or that the logger refuses, is
dead-lettered with its reason (as in-process) and the client is told (``rejected``);
the rest of its batch is stored and the position moves past it, so a refused point
never blocks the ones after it. A ``null`` value is a value that was not finite at the
client: it is stored under the service's non-finite policy (NULL by default). A client
that breaks the protocol itself (garbage, a frame too large, a malformed message, more
points per second than :class:`ClientLimits` allows, a codename not allowed, an
identity not its own) is refused, cut off and counted by reason; the others, the
readers and the queue go on.

**Bounded resources** (:class:`ClientLimits`). One thread serves every connection with
an event loop (:mod:`selectors`); a flush waits in a small pool. A connection must say
hello within ``hello_timeout``, finish a frame it has begun within ``frame_timeout``,
and send something (its heartbeat, every ``heartbeat`` seconds as the welcome tells
it) within ``idle_timeout``, else it is closed. At most ``max_clients`` connections are
served; one more is told so and closed. A frame is at most ``max_hello_frame`` bytes
before the hello and ``max_frame`` after it, and all connections together buffer at
most ``max_buffered`` bytes; answers a client does not read are bounded too. When the
process runs out of file descriptors, accepting backs off (logged once, counted, shown
in the status and by ``/healthz``) and resumes when descriptors come back.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import pwd
import selectors
import socket
import threading
import time
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
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
    parse_ping,
)

LOG = logging.getLogger(__name__)

__all__ = ["ClientLimits", "PointsServer"]

#: accept() failures that mean "no descriptor or memory now", not "the socket is gone".
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_RECV = 256 * 1024
#: A connection closed with this many bytes half-received: give freed memory back.
_TRIM_AFTER = 1024 * 1024


def _give_back_memory() -> None:
    """Return freed heap memory to the system (glibc keeps large freed blocks in the
    heap: without this, frames a hostile client left half-sent would keep the RSS up)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@dataclass(frozen=True)
class ClientLimits:
    """What one client may send before it is cut off, how long it may take, how many
    are served, and how long an identity is remembered (seconds, counts, bytes)."""

    max_frame: int = MAX_FRAME
    #: Before the hello (a hello of 1,000 codenames of 128 characters fits).
    max_hello_frame: int = 256 * 1024
    #: Far above a client catching up after an outage (one batch of up to 20,000 points
    #: per group commit, about 100,000 points/s): only a broken client gets there.
    max_points_per_second: float = 1_000_000.0
    #: An identity without traffic for this long is forgotten (seconds).
    identity_ttl: float = 24 * 3600.0
    #: Identities kept at most, and per Unix user (the longest idle one without a
    #: connection goes first).
    max_identities: int = 1024
    max_identities_per_user: int = 256
    #: Connections served at once; one more is refused with a message.
    max_clients: int = 64
    #: A hello must arrive this soon after connecting.
    hello_timeout: float = 10.0
    #: A frame begun must be finished this soon.
    frame_timeout: float = 30.0
    #: A connection that sends nothing for this long is closed; the welcome asks the
    #: client for a heartbeat four times as often.
    idle_timeout: float = 60.0
    #: Bytes all connections may hold in half-received frames together.
    max_buffered: int = 64 * 1024 * 1024
    #: Answers waiting for a client that does not read them (bytes), and batches
    #: waiting for their acknowledgement before the server stops reading a client.
    max_unread: int = 1024 * 1024
    max_pipelined: int = 64
    #: After running out of descriptors: how long accepting stays reported as failing
    #: after the last failure (so a monitor polling ``/healthz`` sees it).
    accept_error_hold: float = 10.0

    @property
    def heartbeat(self) -> float:
        return self.idle_timeout / 4


def _started_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool whose threads all run from the start: a steady thread count."""
    pool = ThreadPoolExecutor(workers, name)
    barrier = threading.Barrier(workers)
    for _ in range(workers):
        pool.submit(barrier.wait, 5.0)
    return pool


class ClientRefused(Exception):
    """The client broke the protocol or the rules; the message says how."""

    def __init__(self, message: str, kind: str = "protocol") -> None:
        super().__init__(message)
        self.kind = kind


class _Connection:
    """One client's socket, its buffers and its clocks (owned by the loop thread)."""

    def __init__(self, server: PointsServer, sock: socket.socket, peer: tuple[int, int]) -> None:
        self.sock = sock
        self.reader = FrameReader(server.limits.max_hello_frame)
        self.out = bytearray()
        now = time.monotonic()
        self.opened = self.last_frame = now
        self.frame_started: float | None = None
        self.acks: deque[tuple[int, int]] = deque()  # (durable ticket, position)
        self.flushing = False
        self.closing = 0.0  # when it was told why it is closed (closed once that is sent)
        self.events = 0  # what the selector watches for it
        self.buffered = 0  # bytes counted in the server's budget
        self.session = _Session(server, self, peer)

    def send(self, message: dict[str, Any]) -> None:
        self.out += encode(message)


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
        self.identities = Identities(
            self.intake, limits.identity_ttl, limits.max_identities, limits.max_identities_per_user
        )
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._flushes = _started_pool(2, "points-flush")
        self._posted: deque[Callable[[], None]] = deque()
        self._connections: dict[int, _Connection] = {}
        self._buffered = 0
        self._trim = False  # give memory back at the next sweep
        self._stopping = threading.Event()
        # Accepting: None while it works, else (since, error text); and the back-off.
        self._accept_failing: tuple[float, str] | None = None
        self._accept_failed_last = 0.0
        self._accept_resume = 0.0
        self._accept_backoff = 0.0
        self.stats = {
            "clients": 0,
            "connected": 0,
            "refused": 0,
            "cut_off": 0,
            "points": 0,
            "duplicates": 0,
            "rejected_points": 0,
            "accept_errors": 0,
            "timed_out": 0,
        }
        #: Refusals and cut-offs by reason (``codename``, ``identity``, ``schema``,
        #: ``capacity``, ``hello_timeout`` …).
        self.refusals: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        # For the status (under the stats lock): per codename [points, newest time, its
        # value] since the start, and the sessions that said hello and are connected.
        self._codenames: dict[str, list[Any]] = {}
        self._sessions: set[_Session] = set()

    def count(self, name: str, amount: int = 1) -> None:
        with self._stats_lock:
            self.stats[name] += amount

    def refuse(self, kind: str, cut_off: bool) -> None:
        """Count a client refused (or cut off) for ``kind`` of reason."""
        with self._stats_lock:
            self.stats["cut_off" if cut_off else "refused"] += 1
            self.refusals[kind] += 1

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
        listener.listen(1024)
        listener.setblocking(False)
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name="points-socket", daemon=True)
        self._thread.start()
        LOG.info("points socket %s (codenames %s)", self.path, ", ".join(sorted(self.allowed)))
        return self

    def stop(self) -> None:
        """Close the socket and every connection (clients keep their points)."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
        self._flushes.shutdown(wait=False, cancel_futures=True)
        try:
            self.path.unlink()
        except OSError:
            pass

    def snapshot(self) -> dict[str, Any]:
        """Counters and state for the status (the socket's path as configured), each
        codename's points and newest point (``last_time``, ``last_value``) since the
        start, and the connected clients."""
        failing = self.accept_failure()
        with self._stats_lock:
            snap: dict[str, Any] = {
                "socket": str(self.path),
                **self.stats,
                "identities": len(self.identities),
                "refusals": dict(self.refusals),
                "accepting": failing is None,
                "accept_error": failing,
                "codenames": {
                    name: {"points": n, "last_time": t, "last_value": v}
                    for name, (n, t, v) in self._codenames.items()
                },
            }
            sessions = list(self._sessions)
        connected = [session.describe() for session in sessions]
        snap["connected_clients"] = sorted(connected, key=lambda c: (c["client"], c["since"]))
        return snap

    def joined(self, session: _Session) -> None:
        """A client said hello: it is listed as connected until :meth:`left`."""
        with self._stats_lock:
            self._sessions.add(session)

    def left(self, session: _Session) -> None:
        with self._stats_lock:
            self._sessions.discard(session)

    def record(self, points: list[tuple[int, str, Any, Any]], codenames: int) -> None:
        """Count each codename's points (``(offset, codename, time, value)``, queued)
        and keep its newest, for the status. Cheap for the usual client: the scan from
        the batch's end stops once each of the client's ``codenames`` is seen, and one
        codename needs no count per point."""
        if not points:
            return
        newest: dict[str, tuple[Any, Any]] = {}
        for _, codename, when, value in reversed(points):
            if codename not in newest:
                newest[codename] = (when, value)
                if len(newest) == codenames:
                    break
        counts = Counter(map(itemgetter(1), points)) if codenames > 1 else {points[0][1]: len(points)}
        with self._stats_lock:
            for codename, (when, value) in newest.items():
                entry = self._codenames.setdefault(codename, [0, when, value])
                entry[0] += counts[codename]
                if when >= entry[1]:
                    entry[1], entry[2] = when, value

    def accept_failure(self) -> str | None:
        """Why new clients cannot be accepted now; None while they can."""
        failing = self._accept_failing
        if failing is None:
            return None
        return f"cannot accept new clients since {time.time() - failing[0]:.0f} s: {failing[1]}"

    # -- the loop ---------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass  # full: it wakes anyway

    def post(self, action: Callable[[], None]) -> None:
        """Run ``action`` in the loop thread (from any thread)."""
        self._posted.append(action)
        self._wake()

    def _loop(self) -> None:
        selector = self._selector
        assert selector is not None  # start() made it
        next_sweep = 0.0
        try:
            while not self._stopping.is_set():
                timeout = 0.01 if any(c.acks for c in self._connections.values()) else 0.25
                for key, mask in selector.select(timeout):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        self._ready(key.data, mask)
                while self._posted:
                    self._posted.popleft()()
                self._send_acks()
                now = time.monotonic()
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + 0.1
        except Exception:  # a bug: say so; the clients reconnect to the next start
            LOG.exception("points socket: the event loop failed")
        finally:
            for conn in list(self._connections.values()):
                self._close(conn)
            selector.close()
            for sock in (self._listener, self._wake_r, self._wake_w):
                if sock is not None:
                    sock.close()

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    # -- accepting --------------------------------------------------------------------

    def _accept(self) -> None:
        listener, selector = self._listener, self._selector
        assert listener is not None and selector is not None
        for _ in range(64):  # then let the others have their turn
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno not in _EXHAUSTED:
                    raise
                self._accept_exhausted(error)
                return
            self._accept_backoff = 0.0
            self.count("clients")
            if len(self._connections) >= self.limits.max_clients:
                self.refuse("capacity", False)
                LOG.log(
                    logging.WARNING if self.refusals["capacity"] == 1 else logging.DEBUG,
                    "points socket: %d clients connected, the limit; refusing more",
                    self.limits.max_clients,
                )
                sock.setblocking(False)
                try:
                    sock.send(encode({"busy": f"too many clients (the limit is {self.limits.max_clients})"}))
                except OSError:
                    pass
                sock.close()
                continue
            try:
                peer = peer_credentials(sock)
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            conn = _Connection(self, sock, peer)
            self._connections[sock.fileno()] = conn
            selector.register(sock, selectors.EVENT_READ, conn)
            conn.events = selectors.EVENT_READ
            self.count("connected")

    def _accept_exhausted(self, error: OSError) -> None:
        """Out of descriptors: stop watching the listener for a while (pending clients
        wait in its backlog), log once, count, report."""
        now = time.monotonic()
        self.count("accept_errors")
        self._accept_failed_last = now
        if self._accept_failing is None:
            self._accept_failing = (time.time(), error.strerror or str(error))
            LOG.error(
                "points socket: cannot accept new clients (%s); backing off until descriptors come back",
                error.strerror or error,
            )
        self._accept_backoff = min(1.0, max(0.05, self._accept_backoff * 2))
        self._accept_resume = now + self._accept_backoff
        assert self._selector is not None and self._listener is not None
        self._selector.unregister(self._listener)

    def _accepted_again(self) -> None:
        """Report accepting healthy again (the sweep, once the hold has passed)."""
        if self._accept_failing is not None:
            LOG.warning(
                "points socket: accepting new clients again (%d attempt(s) failed)",
                self.stats["accept_errors"],
            )
            self._accept_failing = None

    def _resume_accepting(self, now: float) -> None:
        """After the back-off: watch the listener again, and note whether a descriptor
        can be had now (the report clears ``accept_error_hold`` after the last failure)."""
        assert self._selector is not None and self._listener is not None
        self._accept_resume = 0.0
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        try:
            os.close(os.dup(self._listener.fileno()))
        except OSError:
            self._accept_failed_last = now

    # -- reading and writing ------------------------------------------------------------

    def _ready(self, conn: _Connection, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._write(conn)
        if mask & selectors.EVENT_READ and not conn.closing:
            self._read(conn)
        if conn.sock.fileno() >= 0:
            self._watch(conn)

    def _read(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError as error:
            LOG.info("points client %s gone: %s", conn.session.name, error)
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        try:
            conn.reader.add(data)
            while (message := conn.reader.pop()) is not None:
                conn.last_frame = time.monotonic()
                conn.session.handle(message)
                if conn.session.identity is not None:
                    conn.reader.max_frame = self.limits.max_frame
            self._account(conn)
        except ClientRefused as error:
            self.refuse(error.kind, error.kind not in ("codename", "identity"))
            LOG.warning("points client %s refused: %s", conn.session.name, error)
            self._end(conn, str(error))
        except FrameError as error:
            self.refuse("schema" if isinstance(error, SchemaError) else "frame", True)
            LOG.warning("points client %s cut off: %s", conn.session.name, error)
            self._end(conn, str(error))
        except IntakeClosedError:
            self._close(conn)  # the service is stopping: the client sends again later

    def _account(self, conn: _Connection) -> None:
        """Keep the bytes of half-received frames within the budget."""
        held = conn.reader.held
        self._buffered += held - conn.buffered
        conn.buffered = held
        if held:
            conn.frame_started = conn.frame_started or time.monotonic()
        else:
            conn.frame_started = None
        if self._buffered > self.limits.max_buffered:
            raise ClientRefused(
                "the service holds too many half-received frames; send again later", "buffers"
            )

    def _write(self, conn: _Connection) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        del conn.out[:sent]
        if conn.closing and not conn.out:
            self._close(conn)

    def _watch(self, conn: _Connection) -> None:
        """Read while the client's answers and acknowledgements are within bounds;
        write while answers wait; neither (unwatched) while it waits for its flush or
        acknowledgements, which watch it again."""
        if len(conn.out) > self.limits.max_unread:
            self.refuse("unread", True)
            LOG.warning("points client %s does not read its answers; cut off", conn.session.name)
            self._close(conn)
            return
        events = 0
        if not conn.closing and not conn.flushing and len(conn.acks) < self.limits.max_pipelined:
            events |= selectors.EVENT_READ
        if conn.out:
            events |= selectors.EVENT_WRITE
        if events == conn.events:
            return
        assert self._selector is not None
        if not events:
            self._selector.unregister(conn.sock)
        elif not conn.events:
            self._selector.register(conn.sock, events, conn)
        else:
            self._selector.modify(conn.sock, events, conn)
        conn.events = events

    def _end(self, conn: _Connection, reason: str) -> None:
        """Tell the client why, then close (once that is sent, or at the next sweep)."""
        conn.out.clear()
        conn.send({"refused": reason})
        conn.closing = time.monotonic()
        conn.acks.clear()
        self._write(conn)

    def _close(self, conn: _Connection) -> None:
        fileno = conn.sock.fileno()
        if fileno < 0:
            return
        self._connections.pop(fileno, None)
        assert self._selector is not None
        if conn.events:
            self._selector.unregister(conn.sock)
            conn.events = 0
        self._buffered -= conn.buffered
        if conn.buffered > _TRIM_AFTER or conn.reader.held > _TRIM_AFTER:
            self._trim = True
        conn.buffered = 0
        conn.reader.clear()  # now, not when the garbage collector finds the connection
        conn.out = bytearray()
        conn.session.close()
        conn.sock.close()
        self.count("connected", -1)

    # -- acknowledgements, flushes, clocks ------------------------------------------------

    def _send_acks(self) -> None:
        for conn in list(self._connections.values()):
            if not conn.acks:
                continue
            while conn.acks and self.intake.durable_past(conn.acks[0][0]):
                conn.send({"ack": conn.acks.popleft()[1]})
            if conn.out or not conn.acks:
                self._write(conn)
                if conn.sock.fileno() >= 0:
                    self._watch(conn)

    def flush_for(self, conn: _Connection, token: int, timeout: float | None) -> None:
        """Answer a flush from the pool (it waits for the database), then in the loop."""
        conn.flushing = True

        def done(ok: bool) -> None:
            conn.flushing = False
            if conn.sock.fileno() >= 0 and not conn.closing:
                conn.send({"flushed": {"token": token, "ok": ok}})
                self._write(conn)
                if conn.sock.fileno() >= 0:
                    self._watch(conn)

        def run() -> None:
            ok = self.logger.flush(timeout)
            self.post(lambda: done(ok))

        self._flushes.submit(run)

    def _sweep(self, now: float) -> None:
        """Close connections past their clocks; resume accepting after a back-off."""
        limits = self.limits
        for conn in list(self._connections.values()):
            reason = None
            if conn.closing:
                reason = "closing" if now - conn.closing > 1.0 else None
            elif conn.session.identity is None and now - conn.opened > limits.hello_timeout:
                reason = "hello_timeout"
            elif conn.frame_started is not None and now - conn.frame_started > limits.frame_timeout:
                reason = "frame_timeout"
            elif now - conn.last_frame > limits.idle_timeout and not conn.acks and not conn.flushing:
                reason = "idle_timeout"
            if reason is None:
                continue
            if reason != "closing":
                self.count("timed_out")
                self.refuse(reason, True)
                LOG.info("points client %s: %s, closed", conn.session.name, reason.replace("_", " "))
            self._close(conn)
        if self._trim and not self._buffered:
            self._trim = False
            _give_back_memory()
        if self._accept_resume and now >= self._accept_resume:
            self._resume_accepting(now)
        elif (
            self._accept_failing is not None
            and not self._accept_resume
            and now - self._accept_failed_last >= limits.accept_error_hold
        ):
            self._accepted_again()

    # -- rules ------------------------------------------------------------------------

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
    """One client's conversation: hello first, then batches, flushes and heartbeats."""

    def __init__(self, server: PointsServer, conn: _Connection, peer: tuple[int, int]) -> None:
        self.server, self.conn = server, conn
        self.pid, self.uid = peer
        self.identity: Identity | None = None
        self.codenames: tuple[str, ...] = ()
        self.since = time.time()  # of the connection
        self.points = 0  # taken on this connection (points it sent again included)
        self._window_start = time.monotonic()
        self._window_points = 0

    @property
    def name(self) -> str:
        return "?" if self.identity is None else self.identity.client

    def close(self) -> None:
        if self.identity is not None:
            self.server.left(self)
            self.server.identities.release(self.identity)
            self.identity = None

    def describe(self) -> dict[str, Any]:
        """The connected client as the status lists it (no pid: the page shows it)."""
        identity = self.identity  # read once: the loop thread may close it meanwhile
        return {
            "client": "?" if identity is None else identity.client,
            "codenames": list(self.codenames),
            "since": self.since,
            "points": self.points,
            "position": 0 if identity is None else self.server.identities.position(identity),
        }

    def handle(self, message: dict[str, Any]) -> None:
        ((kind, body),) = message.items()
        if kind == "hello":
            self._hello(body)
        elif self.identity is None:
            raise ClientRefused(f"{kind!r:.40} before hello")
        elif kind == "batch":
            self._batch(body)
        elif kind == "flush":
            token, timeout = parse_flush(body)
            self.server.flush_for(self.conn, token, timeout)
        elif kind == "ping":
            parse_ping(body)
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
        self.server.joined(self)
        position = self.server.identities.position(self.identity)
        LOG.info(
            "points client %s (uid %d, pid %d): %d codename(s), from %d",
            hello.client,
            self.uid,
            self.pid,
            len(hello.codenames),
            position,
        )
        self.conn.send({"welcome": {"next": position, "heartbeat": self.server.limits.heartbeat}})

    def _batch(self, body: Any) -> None:
        assert self.identity is not None  # handle() checks
        server = self.server
        batch = parse_batch(body, len(self.codenames))
        self._count(batch.count)
        codenames = self.codenames
        points = [(offset, codenames[index], stamp, value) for offset, index, stamp, value in batch.points]
        end, skip, fresh, refused = server.identities.advance(self.identity, batch.first, batch.count, points)
        self.points += len(points)
        self._record(points, skip, refused)
        schema_refused = [(o, reason, raw) for o, reason, raw in batch.refused if o >= skip]
        if schema_refused:
            server.intake.dead_letter(
                self.name, [("?", f"points socket: {reason}", raw) for _, reason, raw in schema_refused]
            )
        rejected = sorted([(o, r) for o, r, _ in schema_refused] + refused)
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
            self.conn.send(
                {
                    "rejected": {
                        "first": batch.first,
                        "count": len(rejected),
                        "points": [list(r) for r in rejected[:MAX_REASONS]],
                    }
                }
            )
        self.conn.acks.append((server.intake.durable_ticket(), end))

    def _record(
        self, points: list[tuple[int, str, Any, Any]], skip: int, refused: list[tuple[int, str]]
    ) -> None:
        """Hand the server the batch's points that were queued (offsets from ``skip``
        on, in order, less the ``refused`` ones) for its per-codename status."""
        if skip:
            points = points[bisect_left(points, skip, key=itemgetter(0)) :]
        if refused:
            gone = {offset for offset, _ in refused}
            points = [p for p in points if p[0] not in gone]
        self.server.record(points, len(self.codenames))

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
