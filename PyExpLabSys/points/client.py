"""A backend that hands points to the logging service over its Unix socket.

``ContinuousLogger(..., service="/run/pyexplabsys-logger/<setup>/points.sock")`` (or the
environment variable ``PYEXPLABSYS_LOGGER_SOCKET``) builds a logger whose backend is
this one: the script keeps its code and its enqueue path (a ``deque.append``), and the
logger's thread sends batches to the service instead of a database. A batch counts as
delivered once the service says it is durable (in the service's spool), so the script
keeps every point until then and resends after the service restarts; the service drops
what it already holds (it keeps each client's position with its points).

The logger's thread sends up to :data:`PIPELINE` batches ahead of their
acknowledgements (``capabilities.pipeline``: see the drain), which come in order; after
a broken connection the service's position at the next hello says what it holds, and
the rest is sent again. While nothing is sent, a heartbeat keeps the connection (the
service closes silent ones). The client proves its identity with a secret it draws
once and keeps in its spool (see :mod:`.identity`).

A client started before the service waits for it: the codenames are numbered locally,
the points queue, and ``status().last_error`` says that the service is awaited. A
codename the service does not allow (``[service] client_codenames``) is refused at the
constructor when the service is up.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import select
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..backends.base import (
    Backend,
    BackendSettings,
    Capabilities,
    CodenameError,
    ConnectionFailed,
    OutcomeUnknown,
    Point,
)
from .protocol import MAX_ID, FrameError, FrameReader, encode

LOG = logging.getLogger(__name__)

__all__ = ["ServiceBackend"]

#: How long the service may take to make a batch durable (a group commit or two).
DURABLE_WAIT = 10.0
#: Batches sent ahead of their acknowledgement (the service reads at most 64 ahead).
PIPELINE = 8


class ServiceBackend(Backend):
    """The logging service on this PC, reached through its points socket."""

    capabilities = Capabilities(reconcile="the service's position", resolves_offline=True, pipeline=PIPELINE)

    def __init__(self, path: str, table: str = "", timeout: float = DURABLE_WAIT) -> None:
        self.path = str(path)
        self.table = table
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader = FrameReader()
        self._pending: deque[dict[str, Any]] = deque()
        self._inflight: deque[tuple[int, float]] = deque()  # (end position, sent at)
        self._send_lock = threading.Lock()  # the heartbeat sends from its own thread
        self._last_send = 0.0
        self._heartbeat = 15.0  # as the welcome asks
        self._beating: threading.Thread | None = None
        self._codenames: list[str] = []
        self._next_seq = 0  # the service's position in this client's stream
        self._tokens = itertools.count(1)
        # Names this client's stream at the service (a spool keeps a lasting one) …
        self._logger_id = f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        # … and proves that it is this client's: the service binds the id to it at the
        # first hello. Kept in the spool's checkpoint (saved before the first hello).
        self._secret = secrets.token_hex(16)
        #: Points the service refused (dead-lettered there, with the reason).
        self.rejected_points = 0

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> ServiceBackend:
        backend = cls(settings.options["socket"], settings.table)
        if settings.logger_id:
            backend.resume(settings.logger_id, {})
        return backend

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        """Continue as ``logger_id``, with the secret kept in ``checkpoint`` if any."""
        if not 0 < len(logger_id) <= MAX_ID:
            raise ValueError(f"logger_id must be 1 to {MAX_ID} characters for the points socket")
        self._logger_id = logger_id
        secret = checkpoint.get("secret")
        if isinstance(secret, str) and len(secret) == 32:
            self._secret = secret

    def checkpoint(self) -> dict:
        """The secret that proves this client's identity to the service."""
        return {"secret": self._secret}

    def describe(self) -> str:
        return f"logging service at {self.path}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    # -- the connection ---------------------------------------------------------------

    def connect(self) -> None:
        """Connect and say hello; CodenameError when the service refuses the codenames."""
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
            self._sock, self._reader = sock, FrameReader()
            self._pending.clear()
            self._inflight.clear()
            self._send(
                {"hello": {"client": self.logger_id, "secret": self._secret, "codenames": self._codenames}}
            )
            answer = self._receive()
        except OSError as error:
            self.close()
            sock.close()
            raise ConnectionFailed(
                f"waiting for the service at {self.path}: {error.strerror or error}"
            ) from None
        if "busy" in answer:
            self.close()
            raise ConnectionFailed(f"the service at {self.path} is busy: {answer['busy']}")
        if "refused" in answer:
            self.close()
            raise CodenameError(f"the service at {self.path} refused: {answer['refused']}")
        self._next_seq = int(answer["welcome"]["next"])
        self._heartbeat = float(answer["welcome"].get("heartbeat", self._heartbeat))
        if self._beating is None or not self._beating.is_alive():
            self._beating = threading.Thread(target=self._beat, name="points-heartbeat", daemon=True)
            self._beating.start()
        LOG.info(
            "connected to the service at %s (it holds this client's points before %d)",
            self.path,
            self._next_seq,
        )

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                LOG.debug("error while closing", exc_info=True)

    def interrupt(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _send(self, message: dict[str, Any]) -> None:
        sock = self._sock
        if sock is None:
            raise ConnectionFailed("not connected")
        data = encode(message)
        with self._send_lock:
            sock.sendall(data)
            self._last_send = time.monotonic()

    def _beat(self) -> None:
        """While connected: a heartbeat whenever nothing was sent for a while, so the
        service keeps the connection (it closes silent ones)."""
        while True:
            sock = self._sock
            if sock is None:
                return
            idle = time.monotonic() - self._last_send
            if idle >= self._heartbeat and not self._inflight:  # (with batches in flight the
                try:  # service keeps the connection anyway)
                    with self._send_lock:
                        if sock is self._sock:
                            sock.sendall(encode({"ping": {}}))
                            self._last_send = time.monotonic()
                except OSError:  # stuck or broken: the drain's next call reconnects
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                idle = 0.0
            time.sleep(max(0.05, self._heartbeat - idle))

    def _receive(self) -> dict[str, Any]:
        """The next message from the service (OSError when the line breaks)."""
        sock = self._sock
        if sock is None:
            raise ConnectionFailed("not connected")
        while not self._pending:
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("the service closed the connection")
            try:
                self._pending.extend(self._reader.feed(data))
            except FrameError as error:
                raise ConnectionResetError(f"the service sent a broken frame: {error}") from None
        return self._pending.popleft()

    # -- the logger's operations ------------------------------------------------------

    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        """Number the codenames locally; the service checks them at the hello (now, when
        it is up: CodenameError for one it does not allow)."""
        wanted = list(codenames)
        new = [name for name in dict.fromkeys(wanted) if name not in self._codenames]
        self._codenames.extend(new)
        if self._sock is None or new:  # a (new) hello names them all
            try:
                self.connect()
            except ConnectionFailed as error:
                LOG.warning("%s; points wait in this process until it answers", error)
            except CodenameError:
                del self._codenames[len(self._codenames) - len(new) :]
                raise
        return {name: self._codenames.index(name) for name in wanted}

    def send_batch(self, first_seq: int, points: Sequence[Point]) -> None:
        """Send a batch without waiting for its acknowledgement (pipelining: the drain
        sends up to ``capabilities.pipeline`` batches ahead; :meth:`acknowledged` tells
        how far the service holds them)."""
        try:
            self._send({"batch": {"first": first_seq, "points": points}})  # tuples are arrays
        except OSError as error:
            self.close()
            raise ConnectionFailed(f"service at {self.path}: {error}") from None
        self._inflight.append((first_seq + len(points), time.monotonic()))

    def acknowledged(self, wait: float) -> int:
        """The stream position before which the service holds every point (durable),
        after reading the acknowledgements that arrive within ``wait`` seconds (none
        while nothing is in flight). OutcomeUnknown when a batch waits longer than
        ``timeout`` (the connection is then closed; the service's position at the next
        hello settles what it holds)."""
        sock = self._sock
        if sock is None:
            raise ConnectionFailed("not connected")
        try:
            # Wait with select, not a shorter socket time-out: a heartbeat sent from its
            # own thread meanwhile must never be cut short half-way.
            if self._inflight and not self._pending and select.select([sock], [], [], wait)[0]:
                data = sock.recv(1 << 20)
                if not data:
                    raise ConnectionResetError("the service closed the connection")
                self._pending.extend(self._reader.feed(data))
            while self._pending:
                self._answer(self._pending.popleft())
        except (OSError, FrameError) as error:
            self.close()
            raise OutcomeUnknown(f"service at {self.path}: {error}") from None
        while self._inflight and self._inflight[0][0] <= self._next_seq:
            self._inflight.popleft()
        if self._inflight and time.monotonic() - self._inflight[0][1] > self.timeout:
            self.close()
            raise OutcomeUnknown(
                f"service at {self.path}: a batch was not acknowledged within {self.timeout:g} s",
                timed_out=True,
            )
        return self._next_seq

    def _answer(self, answer: dict[str, Any]) -> None:
        """Take an acknowledgement or a refusal of points; a closing word ends the line."""
        if "ack" in answer:
            self._next_seq = max(self._next_seq, int(answer["ack"]))
        elif "rejected" in answer:
            self._rejected(answer["rejected"])
        elif "refused" in answer or "busy" in answer:
            raise ConnectionResetError(f"the service closed the connection: {answer}")

    def insert_batch(self, first_seq: int, points: Sequence[Point], prepared: Any = None) -> None:
        """Send the batch; return once the service says it is durable (one batch at a
        time: the drain pipelines with :meth:`send_batch` instead)."""
        self.send_batch(first_seq, points)
        while self.acknowledged(self.timeout) < first_seq + len(points):
            pass

    def _rejected(self, body: Any) -> None:
        """The service dead-lettered points of a batch (the others are stored)."""
        count = int(body.get("count", 0)) if isinstance(body, dict) else 0
        self.rejected_points += count
        LOG.warning(
            "the service at %s refused %d point(s) of the batch at %s and dead-lettered them there: %s",
            self.path,
            count,
            body.get("first") if isinstance(body, dict) else "?",
            body.get("points", [])[:3] if isinstance(body, dict) else body,
        )

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """After a lost acknowledgement, on a new connection: how much of the batch the
        service holds (its position, told at the hello)."""
        return max(0, min(len(points), self._next_seq - first_seq))

    def settle(self, timeout: float | None) -> bool:
        """Ask the service to commit everything it holds; its answer. The client's
        logger calls it in its flush(), after every point is acknowledged durable (in
        the logger's thread, which owns the connection)."""
        token = next(self._tokens)
        try:
            self._send({"flush": {"token": token, "timeout": timeout}})
            if self._sock is not None:
                self._sock.settimeout(None if timeout is None else timeout + self.timeout)
            while True:
                answer = self._receive()
                if "flushed" in answer:
                    if answer["flushed"].get("token") == token:
                        return bool(answer["flushed"]["ok"])
                else:
                    self._answer(answer)
        except (OSError, TimeoutError):
            self.close()
            return False
        finally:
            if self._sock is not None:
                self._sock.settimeout(self.timeout)

    def create_tables(self, descriptions: Mapping[str, str], **layout: Any) -> dict[str, int]:
        raise CodenameError("the service's own init-db creates the tables")
