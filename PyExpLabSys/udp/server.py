"""One UDP port, answered on a thread: the datagram loop every socket of this package uses.

It is the standard library's :class:`socketserver.UDPServer`, as upstream used, so
``serve_forever``/``shutdown`` keep their meaning and a script that sets
``socketserver.UDPServer.allow_reuse_address = True`` (upstream's advice for fast
restarts) still has that effect. What it adds: a datagram longer than the limit is
refused whole (socketserver would cut it short and answer the rest), one that is not
UTF-8 text is refused, a sender over its rate is dropped without a reply, and whatever
goes wrong while answering is counted and logged, never raised into the owning script.
"""

from __future__ import annotations

import errno
import logging
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from typing import Any, Protocol

from .limits import DatagramLimits, FloodGate

LOG = logging.getLogger(__name__)

__all__ = ["Answerer", "DatagramServer", "PortStillReserved", "Refused", "ServingThread"]


class Refused(Exception):
    """A request the socket will not carry out; ``reply`` is what the sender is told."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class PortStillReserved(Exception):
    """The UDP port is taken (another socket, in this process or another, holds it)."""

    def __init__(self, port: int | None = None) -> None:
        where = "" if port is None else f" {port}"
        super().__init__(
            f"The UDP port{where} is still reserved: another socket server holds it. Stop that "
            "one first (its stop() frees the port at once), or pick another port. To share "
            "a port on purpose, set socketserver.UDPServer.allow_reuse_address = True before "
            "the socket server is made."
        )


class Answerer(Protocol):
    """What a socket says: the reply to a request, and the reply to a refused datagram."""

    def answer(self, request: str) -> str: ...

    def refusal(self, reason: str) -> str: ...


class DatagramServer(socketserver.UDPServer):
    """Binds ``(host, port)`` at once (port 0: a free one, see :attr:`port`) and answers
    with ``answerer`` while :meth:`serve_forever` runs.

    ``stats`` counts: received, answered, refused (bad requests, answered with an error),
    oversized, undecodable, flood_dropped (no reply), errors (a bug or a failing callback
    while answering) and reply_failed (the reply could not be sent, e.g. too large).
    """

    def __init__(self, host: str, port: int, answerer: Answerer, limits: DatagramLimits) -> None:
        self.answerer = answerer
        self.limits = limits
        self.gate = FloodGate(limits)
        self.stats: Counter[str] = Counter()
        self._reply_failures_logged = False
        self._next_flood_log = 0.0
        try:
            super().__init__((host, port), socketserver.BaseRequestHandler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortStillReserved(port) from error
            raise

    @property
    def port(self) -> int:
        """The port bound (the free one the system chose when asked for port 0)."""
        return int(self.server_address[1])

    # -- socketserver's hooks ---------------------------------------------------------
    def get_request(self) -> tuple[tuple[bytes, socket.socket], Any]:  # type: ignore[override]  # UDPServer's request is (data, socket); typeshed types TCPServer's
        # One byte more than the limit: a datagram that fills it is too long.
        data, address = self.socket.recvfrom(self.limits.max_datagram + 1)
        return (data, self.socket), address

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.stats["received"] += 1
        if self.gate.admit(str(client_address[0])):
            return True
        self.stats["flood_dropped"] += 1
        now = time.monotonic()
        if now >= self._next_flood_log:  # the first drop, then at most once a minute
            self._next_flood_log = now + 60.0
            LOG.warning(
                "UDP port %d: dropping datagrams over the rate limit (%d so far, the latest from %s)",
                self.port,
                self.stats["flood_dropped"],
                client_address[0],
            )
        return False

    def process_request(self, request: Any, client_address: Any) -> None:
        data, sock = request
        reply = self._reply_to(data)
        if reply is None:
            return
        try:
            sock.sendto(reply.encode("utf-8"), client_address)
        except OSError as error:
            self.stats["reply_failed"] += 1
            level = logging.DEBUG if self._reply_failures_logged else logging.WARNING
            self._reply_failures_logged = True
            LOG.log(level, "UDP port %d: cannot send a %d-byte reply: %s", self.port, len(reply), error)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver calls this from its except clause (process_request catches its own).
        self.stats["errors"] += 1
        LOG.error("UDP port %d: error while serving %s: %r", self.port, client_address, sys.exc_info()[1])

    # -- answering --------------------------------------------------------------------
    def _reply_to(self, data: bytes) -> str | None:
        answerer = self.answerer
        if len(data) > self.limits.max_datagram:
            self.stats["oversized"] += 1
            return answerer.refusal(f"datagram longer than {self.limits.max_datagram} bytes")
        try:
            request = data.decode("utf-8")
        except UnicodeDecodeError:
            self.stats["undecodable"] += 1
            return answerer.refusal("datagram is not UTF-8 text")
        try:
            reply = answerer.answer(request)
        except Refused as refused:
            self.stats["refused"] += 1
            return refused.reply
        except Exception:  # a bug, or a value that cannot be encoded: answered, counted
            self.stats["errors"] += 1
            LOG.exception("UDP port %d: cannot answer %.80r", self.port, request)
            return answerer.refusal("the request could not be answered")
        self.stats["answered"] += 1
        return reply


class ServingThread(threading.Thread):
    """A daemon thread that runs ``server.serve_forever`` (upstream's sockets are such
    threads: ``start()``, then ``stop()``), and stops it without ever hanging."""

    #: How often the loop looks for a stop request (seconds): the most stop() waits.
    poll_interval = 0.1

    def __init__(self, server: DatagramServer, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.server = server
        self._closed = False

    def run(self) -> None:
        LOG.debug("serving UDP port %d", self.server.port)
        self.server.serve_forever(poll_interval=self.poll_interval)

    def close_server(self) -> None:
        """Stop serving and free the port (shutdown() alone would wait forever for a
        loop that was never started, or for its own loop when called from a callback)."""
        if self._closed:
            return
        self._closed = True
        if self is threading.current_thread():  # a callback stops its own socket
            threading.Thread(target=self._shut_down, name=f"{self.name}-stop", daemon=True).start()
            return
        self._shut_down()

    def _shut_down(self) -> None:
        if self.ident is not None:
            self.server.shutdown()
        self.server.server_close()
