"""The service's local web page: live values, trends, the database side, health.

A small read-only site on the standard library's :class:`~http.server.HTTPServer` with a
bounded pool of threads (no framework: six fixed routes, GET and HEAD only, served from
snapshots):

* ``/``: the page (``page/index.html`` with its script and style; everything it shows
  is fetched as JSON and put into the document as text, never as markup);
* ``/status.json``: the status snapshot, as the status file has it but without absolute
  paths or the pid (:mod:`.public`);
* ``/trend.json``: the last hour per codename from the service's in-memory ring;
* ``/healthz``: 200 ``ok`` or 503 with the reasons (:mod:`.health`);
* ``/metrics``: Prometheus text when prometheus_client is installed (:mod:`.metrics`).

Requests read :meth:`~.runner.Service.current` (at most one new snapshot a second,
however many pages are open) and the trend ring; nothing here touches the readers or
the enqueue path. Anything but GET and HEAD is answered 405. Served on loopback, it
answers only requests addressed to a loopback name (``Host:``), so a web site in the
lab PC's browser cannot read it through a DNS name rebound to 127.0.0.1.

Bounded: a connection must send its request within :data:`REQUEST_TIMEOUT`, at most
:data:`WORKERS` requests are served at once and :data:`QUEUED` wait (more are closed at
once), the listen backlog holds :data:`BACKLOG`, and running out of file descriptors
makes accepting back off (logged once) instead of spinning.
"""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .config import is_loopback, state_directory
from .health import judge
from .metrics import MetricsPage, metrics_available, stop_http_server
from .public import public_snapshot
from .trend import TrendRing

LOG = logging.getLogger(__name__)

__all__ = ["SnapshotSource", "WebPage"]

#: Same-origin only: no inline script, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: Seconds a connection may take to send its request (and to read the answer).
REQUEST_TIMEOUT = 10.0
#: Requests served at once, requests waiting for a worker, and the listen backlog.
WORKERS = 8
QUEUED = 64
BACKLOG = 256
ASSETS = {
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}


class SnapshotSource(Protocol):
    """What the page reads: the service (or a stand-in in tests)."""

    trend: TrendRing

    @property
    def config(self) -> Any: ...

    def current(self, max_age: float = 1.0) -> dict[str, Any]: ...


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("page", name).read_bytes()


class WebPage:
    """Serves the page of ``source`` on ``host:port`` (port 0: a free one, see :attr:`url`)."""

    def __init__(self, source: SnapshotSource, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.source = source
        self.host, self.port = host, port
        settings = source.config.service
        self.max_waiting, self.max_silence = settings.health_max_waiting, settings.health_max_silence
        self.metrics = MetricsPage(source.current) if metrics_available() else None
        title = html.escape(f"{source.config.name} · PyExpLabSys logger")
        self.index = _asset("index.html").decode("utf-8").replace("{{title}}", title).encode("utf-8")
        self.assets = {path: (_asset(name), kind) for path, (name, kind) in ASSETS.items()}
        try:
            self.base: Path | None = state_directory(source.config, os.environ)
        except Exception:  # a stand-in's config: paths are then cut to their names
            self.base = None
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> WebPage:
        """Bind and serve in a daemon thread; OSError when the address is taken."""
        if not is_loopback(self.host):
            LOG.warning(
                "the page is served on %s: reachable from other machines "
                "(prefer 127.0.0.1 and an SSH tunnel)",
                self.host,
            )
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.page = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="web-page", daemon=True
        )
        self._thread.start()
        LOG.info("page on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        stop_http_server(server)

    def host_allowed(self, header: str) -> bool:
        """Whether a request's ``Host:`` may see the page (always, off loopback)."""
        if not is_loopback(self.host):
            return True
        try:
            name = urlsplit(f"//{header}").hostname
        except ValueError:
            return False
        return name is not None and (name == self.host or is_loopback(name))

    # -- the routes: (status, content type, body) ----------------------------------
    def respond(self, path: str) -> tuple[int, str, bytes]:
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", self.index
        if path in self.assets:
            body, kind = self.assets[path]
            return 200, kind, body
        if path == "/status.json":
            return 200, "application/json", _json(public_snapshot(self.source.current(), self.base))
        if path == "/trend.json":
            return 200, "application/json", _json(self.source.trend.series(time.time()), None)
        if path == "/healthz":
            health = judge(self.source.current(), self.max_waiting, self.max_silence, time.time())
            return (200 if health.ok else 503), "text/plain; charset=utf-8", health.text().encode()
        if path == "/metrics":
            if self.metrics is None:
                return (
                    404,
                    "text/plain; charset=utf-8",
                    (b"metrics need prometheus_client: pip install 'PyExpLabSys[metrics]'\n"),
                )
            body, kind = self.metrics.render()
            return 200, kind, body
        return 404, "text/plain; charset=utf-8", b"not found\n"


def _json(data: Any, indent: int | None = 1) -> bytes:
    """JSON as the status file writes it (``indent=None``: compact, for the trend)."""
    separators = (",", ":") if indent is None else None
    return json.dumps(data, indent=indent, separators=separators, default=str).encode("utf-8")


class _Server(HTTPServer):
    """One thread accepts; a bounded pool answers; descriptor exhaustion backs off."""

    request_queue_size = BACKLOG
    page: WebPage
    _pool: ThreadPoolExecutor | None = None  # made when serving starts

    def server_activate(self) -> None:
        super().server_activate()
        self._pool = ThreadPoolExecutor(WORKERS, "web-page")
        barrier = threading.Barrier(WORKERS)  # every worker runs from the start: a steady thread count
        for _ in range(WORKERS):
            self._pool.submit(barrier.wait, 5.0)
        self._slots = threading.BoundedSemaphore(WORKERS + QUEUED)
        self._backoff = 0.0

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            request = super().get_request()
        except OSError as error:
            if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                if not self._backoff:
                    LOG.error("page: cannot accept connections (%s); backing off", error.strerror)
                self._backoff = min(1.0, max(0.05, self._backoff * 2))
                time.sleep(self._backoff)  # the accepting thread only: the pool goes on
            raise
        if self._backoff:
            LOG.warning("page: accepting connections again")
            self._backoff = 0.0
        return request

    def process_request(self, request: Any, client_address: Any) -> None:
        pool = self._pool
        if pool is None or not self._slots.acquire(blocking=False):  # all busy, the queue full
            self.shutdown_request(request)
            return
        pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        super().server_close()  # also when binding failed, before a pool was made
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "PyExpLabSys"
    timeout = REQUEST_TIMEOUT

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def __getattr__(self, name: str) -> Any:
        # Any other method (POST, PUT, DELETE, OPTIONS, made-up ones): 405, not 501.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send(
            405, "text/plain; charset=utf-8", b"read-only: GET or HEAD\n", True, {"Allow": "GET, HEAD"}
        )

    def _answer(self, body: bool) -> None:
        if not self.server.page.host_allowed(self.headers.get("Host", "")):
            self._send(421, "text/plain; charset=utf-8", b"not served under this name\n", body)
            return
        try:
            status, kind, content = self.server.page.respond(urlsplit(self.path).path)
        except Exception:  # a bug here must not take the service down
            LOG.exception("page: error answering %s", self.path)
            status, kind, content = 500, "text/plain; charset=utf-8", b"internal error\n"
        self._send(status, kind, content, body)

    def _send(
        self, status: int, kind: str, content: bytes, body: bool, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        if LOG.isEnabledFor(logging.DEBUG):  # the server's own line, formatted only then
            LOG.debug("page %s: %s", self.client_address[0], format % args)
