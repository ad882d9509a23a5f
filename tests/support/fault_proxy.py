"""A small TCP fault proxy for the MySQL protocol, commanded by tests.

It sits between a client (the logger) and a MariaDB server and can make the
network go silent (:meth:`FaultProxy.hold` / :meth:`FaultProxy.release`),
reset every connection (:meth:`FaultProxy.reset_all`), or let one statement
execute on the server while its reply is lost (:meth:`FaultProxy.cut_after_next`).

Design: one thread runs a ``selectors`` loop that owns every socket; the
public methods hand a small function to that thread and wait until it has run,
so when ``hold()`` returns no further byte is forwarded.  Bytes are forwarded
as soon as they are read; the client→server stream is followed packet by
packet only to recognise COM_QUERY commands.
"""

from __future__ import annotations

import errno
import logging
import queue
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from typing import TypeVar

LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE
_RECV_SIZE = 256 * 1024
#: Stop reading a side while this much is still waiting to go to the other side.
_HIGH_WATER = 4 * 1024 * 1024
#: How much of a command's payload is kept for matching (leading comments included).
_PREFIX_LIMIT = 4096
#: The end of a longer COM_QUERY kept too: a multi-statement packet's last statement.
_TAIL_LIMIT = 256
_HEADER_SIZE = 4
_MAX_PAYLOAD = 0xFFFFFF  # a packet of this length continues in the next one
_COM_QUERY = 0x03
_CLIENT_COMPRESS = 0x00000020
_CLIENT_SSL = 0x00000800
_LINGER_RESET = struct.pack("ii", 1, 0)
_COMMAND_TIMEOUT = 10.0


def _skip_leading_comments(sql: str) -> str | None:
    """Return ``sql`` without leading whitespace and comments, None if a comment
    is not closed within the text we have."""
    pos = 0
    while True:
        while pos < len(sql) and sql[pos].isspace():
            pos += 1
        if sql.startswith("/*", pos):
            end = sql.find("*/", pos + 2)
            if end < 0:
                return None
            pos = end + 2
        elif sql.startswith("#", pos) or (sql.startswith("--", pos) and sql[pos + 2 : pos + 3].isspace()):
            end = sql.find("\n", pos)
            if end < 0:
                return None
            pos = end + 1
        else:
            return sql[pos:]


def sql_starts_with(sql: str, keyword: str) -> bool:
    """True if ``sql`` begins, after whitespace and comments, with the word ``keyword``
    (case-insensitive; ``INSERT`` matches ``insert into`` but not ``INSERTX``)."""
    rest = _skip_leading_comments(sql)
    if rest is None or rest[: len(keyword)].upper() != keyword.upper():
        return False
    following = rest[len(keyword) : len(keyword) + 1]
    return not (following.isalnum() or following in ("_", "$"))


def last_statement_starts_with(sql: str, keyword: str) -> bool:
    """True if ``sql`` holds several statements and the last begins with ``keyword``
    (a batch sent as ``INSERT ...;INSERT ...;COMMIT`` in one packet)."""
    return ";" in sql and sql_starts_with(sql.rsplit(";", 1)[1], keyword)


class MySQLCommandScanner:
    """Follows the MySQL packet framing of a client→server byte stream.

    :meth:`feed` takes the bytes in whatever pieces TCP delivers them and
    returns the SQL text (its first ``prefix_limit`` bytes, and of a longer first
    packet also its last few hundred) of every COM_QUERY command whose first packet
    completed.  A command is a packet with sequence
    id 0 that does not continue a 0xFFFFFF-long packet; the handshake, auth
    and LOAD DATA LOCAL file packets have other sequence ids.  After a
    handshake that asks for TLS or compression the framing is no longer
    visible and the scanner goes quiet (:attr:`opaque`).
    """

    def __init__(self, prefix_limit: int = _PREFIX_LIMIT) -> None:
        self._prefix_limit = prefix_limit
        self._header = bytearray()
        self._prefix = bytearray()
        self._tail = bytearray()
        self._seen = 0  # payload bytes of the current packet so far
        self._remaining = 0  # payload bytes of the current packet not yet seen
        self._in_payload = False
        self._seq = 0
        self._continuation = False  # the current packet continues the previous one
        self._next_is_continuation = False
        self.packets = 0
        self.opaque = False

    def feed(self, data: bytes) -> list[str]:
        """Consume ``data``; return the SQL of COM_QUERY commands completed in it."""
        found: list[str] = []
        view = memoryview(data)
        pos = 0
        while pos < len(view) and not self.opaque:
            if not self._in_payload:
                taken = view[pos : pos + _HEADER_SIZE - len(self._header)]
                self._header += taken
                pos += len(taken)
                if len(self._header) < _HEADER_SIZE:
                    break
                self._start_packet()
            size = min(self._remaining, len(view) - pos)
            room = self._prefix_limit - len(self._prefix)
            if room > 0 and not self._continuation:
                self._prefix += view[pos : pos + min(size, room)]
            if not self._continuation:
                self._seen += size
                self._tail += view[max(pos, pos + size - _TAIL_LIMIT) : pos + size]
                del self._tail[:-_TAIL_LIMIT]
            pos += size
            self._remaining -= size
            if self._remaining == 0:
                sql = self._end_packet()
                if sql is not None:
                    found.append(sql)
        return found

    def _start_packet(self) -> None:
        length = int.from_bytes(self._header[:3], "little")
        self._seq = self._header[3]
        self._header.clear()
        self._prefix.clear()
        self._tail.clear()
        self._seen = 0
        self._remaining = length
        self._in_payload = True
        self._continuation = self._next_is_continuation
        self._next_is_continuation = length == _MAX_PAYLOAD

    def _end_packet(self) -> str | None:
        self._in_payload = False
        self.packets += 1
        prefix = self._prefix
        if self.packets == 1:  # handshake response (or TLS request)
            flags = int.from_bytes(prefix[:4], "little")
            self.opaque = bool(flags & (_CLIENT_SSL | _CLIENT_COMPRESS))
            return None
        if self._continuation or self._seq != 0 or prefix[:1] != bytes([_COM_QUERY]):
            return None
        text = bytes(prefix[1:]).decode("utf-8", errors="replace")
        if self._seen > len(prefix):  # a longer packet: its end too
            text += " /* ... */ " + bytes(self._tail).decode("utf-8", errors="replace")
        return text


class _Link:
    """One client connection and the proxy's connection to the server for it."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.to_client = bytearray()
        self.to_server = bytearray()
        self.connected = False  # the non-blocking connect to the server has completed
        self.client_eof = False
        self.server_eof = False
        self.cut_armed = False  # the matched statement went out: swallow its reply
        self.closed = False
        self.scanner = MySQLCommandScanner()
        self.masks = {client: 0, server: 0}

    def pending_for(self, sock: socket.socket) -> bytearray:
        """The bytes waiting to be written to ``sock``."""
        return self.to_client if sock is self.client else self.to_server


class FaultProxy:
    """TCP proxy in front of a MySQL/MariaDB server that injects network faults.

    ``connections_accepted`` counts connections the proxy has taken up (ones
    made during :meth:`hold` are counted after :meth:`release`);
    ``active_connections`` the ones currently forwarded.
    """

    def __init__(
        self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", listen_port: int = 0
    ) -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.port = listen_port
        self.cut_happened = threading.Event()
        self.connections_accepted = 0
        self.active_connections = 0
        self._links: set[_Link] = set()
        self._held = False
        self._cut_keyword: str | None = None
        self._listening = False
        self._stopping = False
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_reader: socket.socket | None = None
        self._wake_writer: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._commands: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = queue.SimpleQueue()
        self._counts_changed = threading.Condition()

    # -- life cycle ------------------------------------------------------

    def start(self) -> None:
        """Listen and start forwarding in a background thread."""
        if self._thread is not None:
            raise RuntimeError("FaultProxy already started")
        self._listener = socket.create_server((self.listen_host, self.port), backlog=128)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._wake_reader, self._wake_writer = socket.socketpair()
        for sock in (self._wake_reader, self._wake_writer):
            sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_reader, _READ, None)
        self._set_listening(not self._held)
        self._thread = threading.Thread(target=self._loop, name=f"FaultProxy:{self.port}", daemon=True)
        self._thread.start()
        LOG.info("fault proxy %s:%d -> %s:%d", self.listen_host, self.port, *self.target)

    def close(self) -> None:
        """Stop the loop and close every socket (gracefully); safe to call twice."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._call(self._request_stop)
        thread.join(_COMMAND_TIMEOUT)

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- commands --------------------------------------------------------

    def pass_through(self) -> None:
        """Normal forwarding: disarm a pending cut and end a hold (delivering held bytes)."""

        def apply() -> None:
            self._cut_keyword = None
            self._set_held(False)

        self._call(apply)

    def hold(self) -> None:
        """Network goes silent: nothing is forwarded either way, nothing is dropped,
        no RST or FIN is sent; new connections wait in the kernel's backlog."""
        self._call(lambda: self._set_held(True))

    def release(self) -> None:
        """Heal a hold: deliver everything held, in order, then pass through again."""
        self._call(lambda: self._set_held(False))

    def reset_all(self) -> None:
        """Reset (RST) every current connection on both sides; new ones still pass."""

        def apply() -> None:
            for link in list(self._links):
                self._close_link(link, reset_client=True, reset_server=True)

        self._call(apply)

    def cut_after_next(self, keyword: str = "COMMIT") -> None:
        """Arm a cut: the next COM_QUERY starting with ``keyword`` (or whose last
        statement does, in a multi-statement packet) reaches the server,
        its reply is swallowed and the client is reset, so the client cannot
        know that the statement ran.  Clears :attr:`cut_happened`."""
        if not keyword.strip():
            raise ValueError("keyword must not be empty")
        self.cut_happened.clear()

        def apply() -> None:
            self._cut_keyword = keyword.strip()

        self._call(apply)

    def wait_for_connections(self, n: int, timeout: float) -> bool:
        """Wait until at least ``n`` connections have been accepted in total."""
        with self._counts_changed:
            return self._counts_changed.wait_for(lambda: self.connections_accepted >= n, timeout)

    def wait_for_active(self, n: int, timeout: float) -> bool:
        """Wait until exactly ``n`` connections are being forwarded (e.g. 0: all closed)."""
        with self._counts_changed:
            return self._counts_changed.wait_for(lambda: self.active_connections == n, timeout)

    def _call(self, func: Callable[[], None]) -> None:
        """Run ``func`` in the loop thread and wait for it (directly if no loop runs)."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            func()
            return
        done = threading.Event()
        self._commands.put((func, done))
        self._wake()
        if not done.wait(_COMMAND_TIMEOUT):
            raise RuntimeError("fault proxy loop did not answer (see log)")

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b"!")  # type: ignore[union-attr]  # set up by start() before the loop runs
        except BlockingIOError:
            pass  # already woken

    # -- the loop (runs in the proxy thread) -----------------------------

    def _loop(self) -> None:
        selector = self._selector
        assert selector is not None
        try:
            while not self._stopping:
                for key, events in selector.select():
                    if key.fileobj is self._wake_reader:
                        self._run_commands()
                    elif key.fileobj is self._listener:
                        self._accept_all()
                    else:
                        self._on_event(key.data, key.fileobj, events)  # type: ignore[arg-type]  # set up by start() before the loop runs
        except Exception:  # pragma: no cover - a bug here must be visible
            LOG.exception("fault proxy loop crashed")
        finally:
            self._shutdown()

    def _run_commands(self) -> None:
        try:
            while self._wake_reader.recv(4096):  # type: ignore[union-attr]  # set up by start() before the loop runs
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                func, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                func()
            except Exception:
                LOG.exception("fault proxy command failed")
            finally:
                done.set()

    def _request_stop(self) -> None:
        self._stopping = True

    def _shutdown(self) -> None:
        for link in list(self._links):
            self._close_link(link)
        for sock in (self._listener, self._wake_reader, self._wake_writer):
            if sock is not None:
                sock.close()
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        self._run_commands_left()

    def _run_commands_left(self) -> None:
        """Release callers still waiting when the loop ends."""
        while True:
            try:
                _, done = self._commands.get_nowait()
            except queue.Empty:
                return
            done.set()

    def _set_held(self, held: bool) -> None:
        self._held = held
        self._set_listening(not held)
        for link in list(self._links):
            self._update(link)

    def _set_listening(self, on: bool) -> None:
        """While held the listener is not watched: connections queue in the backlog."""
        if self._selector is None or on == self._listening:
            return
        if on:
            self._selector.register(self._listener, _READ, None)  # type: ignore[arg-type]  # set up by start() before the loop runs
        else:
            self._selector.unregister(self._listener)  # type: ignore[arg-type]  # set up by start() before the loop runs
        self._listening = on

    def _accept_all(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()  # type: ignore[union-attr]  # set up by start() before the loop runs
            except BlockingIOError:
                return
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            for sock in (client, server):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            self._links.add(link)
            self._count_links(accepted=1)
            error = server.connect_ex(self.target)
            if error not in (0, errno.EINPROGRESS):
                self._connect_failed(link, error)
                continue
            self._update(link)

    def _connect_failed(self, link: _Link, error: int) -> None:
        """The server cannot be reached: the client gets an RST, as from a refusing server."""
        LOG.info("proxy: connect to %s:%d failed: %s", *self.target, errno.errorcode.get(error, error))
        self._close_link(link, reset_client=True)

    def _on_event(self, link: _Link, sock: socket.socket, events: int) -> None:
        if events & _WRITE and not link.closed:
            self._on_writable(link, sock)
        if events & _READ and not link.closed:
            self._on_readable(link, sock)
        self._update(link)

    def _on_writable(self, link: _Link, sock: socket.socket) -> None:
        if sock is link.server and not link.connected:
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                self._connect_failed(link, error)
            else:
                link.connected = True
            return
        pending = link.pending_for(sock)
        sent = self._attempt(link, sock, lambda: sock.send(pending))
        if sent is not None:
            del pending[:sent]

    def _on_readable(self, link: _Link, sock: socket.socket) -> None:
        data = self._attempt(link, sock, lambda: sock.recv(_RECV_SIZE))
        if data is None:
            return
        if sock is link.client:
            if not data:
                link.client_eof = True
                return
            for sql in link.scanner.feed(data):
                self._match_cut(link, sql)
            link.to_server += data
        elif link.cut_armed:
            self._fire_cut(link)  # the reply (or EOF) is swallowed
        elif not data:
            link.server_eof = True
        else:
            link.to_client += data

    def _match_cut(self, link: _Link, sql: str) -> None:
        keyword = self._cut_keyword
        if keyword is not None and (
            sql_starts_with(sql, keyword) or last_statement_starts_with(sql, keyword)
        ):
            LOG.info("proxy: cutting the reply to %.60r", sql)
            self._cut_keyword = None
            link.cut_armed = True

    def _fire_cut(self, link: _Link) -> None:
        self.cut_happened.set()  # before the RST, so the client's error implies the event
        self._close_link(link, reset_client=True)

    def _attempt(self, link: _Link, sock: socket.socket, operation: Callable[[], _T]) -> _T | None:
        """Run a non-blocking send/recv; None when it would block or the side failed."""
        try:
            return operation()
        except BlockingIOError:
            return None
        except OSError as exc:
            self._lost(link, sock, exc)
            return None

    def _lost(self, link: _Link, sock: socket.socket, exc: OSError) -> None:
        """A side failed (e.g. ECONNRESET): pass the reset on to the other side."""
        side = "client" if sock is link.client else "server"
        LOG.debug("proxy: %s side lost: %s", side, exc)
        if link.cut_armed:
            self.cut_happened.set()
        self._close_link(link, reset_client=sock is link.server, reset_server=sock is link.client)

    def _update(self, link: _Link) -> None:
        """Close a finished link, else watch exactly the events it can act on."""
        if link.closed:
            return
        if (link.client_eof and not link.to_server) or (link.server_eof and not link.to_client):
            self._close_link(link)
            return
        flowing = not self._held
        client_mask = (
            _READ if flowing and not link.client_eof and len(link.to_server) < _HIGH_WATER else 0
        ) | (_WRITE if flowing and link.to_client else 0)
        server_mask = (
            _READ
            if flowing and link.connected and not link.server_eof and len(link.to_client) < _HIGH_WATER
            else 0
        ) | (_WRITE if not link.connected or (flowing and link.to_server) else 0)
        self._watch(link, link.client, client_mask)
        self._watch(link, link.server, server_mask)

    def _watch(self, link: _Link, sock: socket.socket, mask: int) -> None:
        current = link.masks[sock]
        if mask == current:
            return
        assert self._selector is not None
        if current == 0:
            self._selector.register(sock, mask, link)
        elif mask == 0:
            self._selector.unregister(sock)
        else:
            self._selector.modify(sock, mask, link)
        link.masks[sock] = mask

    def _close_link(self, link: _Link, reset_client: bool = False, reset_server: bool = False) -> None:
        """Close both sockets; a reset side gets an RST (SO_LINGER 0) instead of a FIN."""
        if link.closed:
            return
        link.closed = True
        for sock, reset in ((link.client, reset_client), (link.server, reset_server)):
            self._watch(link, sock, 0)
            if reset:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                except OSError:
                    pass
            sock.close()
        self._links.discard(link)
        self._count_links()

    def _count_links(self, accepted: int = 0) -> None:
        with self._counts_changed:
            self.connections_accepted += accepted
            self.active_connections = len(self._links)
            self._counts_changed.notify_all()
