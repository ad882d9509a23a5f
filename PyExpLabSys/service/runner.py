"""The logging service: a backend, a DataLogger and one reader per instrument.

:class:`Service` builds everything from a :class:`~.config.ServiceConfig`, then every
``status_interval`` writes a status file (``status.json`` in the state directory, no
secrets), tells systemd a one-line STATUS= and pings the watchdog while the logger
thread is alive. :func:`run_service` adds the signal handling: SIGTERM or SIGINT stop
the readers, deliver (or spool) what is queued within ``stop_timeout`` and exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import assembly
from ..backends.base import Backend
from ..datalog.logger import DataLogger
from ..datalog.status import StopReport
from ..points.server import ClientLimits, PointsServer
from .client_status import client_cards
from .config import InstrumentConfig, ServiceConfig, state_directory
from .health import channel_state, stale_after
from .metrics import MetricsServer
from .notify import Notifier
from .readers import InstrumentReader, ReaderPolicy
from .trend import TrendRing
from .udp_feed import FeedingLogger, UdpFeed

if TYPE_CHECKING:
    from .web import WebPage

LOG = logging.getLogger(__name__)

__all__ = ["STATUS_FILE", "Service", "read_status", "run_service"]

STATUS_FILE = "status.json"

#: Exit codes of ``run``: stopped cleanly (everything delivered or kept in the spool) /
#: bad config or start-up / logger died / stopped with points lost (no spool).
EXIT_OK, EXIT_START, EXIT_DIED, EXIT_UNDELIVERED = 0, 1, 2, 3


def socket_path(config: ServiceConfig, environ: Mapping[str, str], state_dir: Path) -> Path:
    """Where the points socket is: as configured; relative paths in systemd's
    ``$RUNTIME_DIRECTORY``, else in the state directory."""
    path = config.service.socket
    assert path is not None
    if path.is_absolute():
        return path
    runtime = environ.get("RUNTIME_DIRECTORY")
    return (Path(runtime.split(":")[0]) if runtime else state_dir) / path


class Service:
    """The running setup. ``start()``, then ``serve()`` until told to stop, ``stop()``."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        environ: Mapping[str, str] | None = None,
        notifier: Notifier | None = None,
        reader_policy: ReaderPolicy = ReaderPolicy(),
        backend: Backend | None = None,
    ) -> None:
        self.config = config
        self.environ = os.environ if environ is None else environ
        self.notifier = notifier or Notifier(self.environ)
        self.reader_policy = reader_policy
        self.state_dir = state_directory(config, self.environ)
        self.status_path = self.state_dir / STATUS_FILE
        self._backend = backend
        self.logger: DataLogger | None = None
        self.readers: list[InstrumentReader] = []
        self.metrics: MetricsServer | None = None
        self.web: WebPage | None = None  # the live page, when [service] http is set
        self.points: PointsServer | None = None  # scripts' points, when [service] socket is set
        self.udp: UdpFeed | None = None  # upstream's UDP sockets, when pull_socket/live_server is set
        self.trend = TrendRing()
        self.started = time.time()
        self.report: StopReport | None = None
        self._latest: tuple[float, dict[str, Any]] | None = None
        self._latest_lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Connect, start the logger and the readers, and tell systemd READY=1.

        Raises :class:`~..datalog.logger.StartupException` (database or codenames) or
        ``ValueError`` (password) before any reader starts.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.logger = assembly.service_logger(self.config, self.state_dir, self.environ, self._backend)
        self.logger.start()
        enqueue = self.logger.enqueue_point_now
        if self.config.service.pull_socket is not None or self.config.service.live_server is not None:
            self.udp = UdpFeed(self.config).start()
        on_value = None if self.udp is None else self.udp.observe
        self.readers = [
            InstrumentReader(
                inst, enqueue, self.reader_policy, point_sink=self.logger.enqueue_point, on_value=on_value
            )
            for inst in self.config.instruments
        ]
        for reader in self.readers:
            reader.start()
        if self.config.service.socket is not None:
            self.points = PointsServer(
                socket_path(self.config, self.environ, self.state_dir),
                self.logger if self.udp is None else cast(DataLogger, FeedingLogger(self.logger, self.udp)),
                self.config.service.client_codenames,
                group=self.config.service.socket_group,
                owners=self.config.service.client_codename_owners,
                limits=_client_limits(self.config.service.socket_limits),
            ).start()
        if self.config.service.metrics_port is not None:
            self.metrics = MetricsServer(
                self.snapshot, self.config.service.metrics_host, self.config.service.metrics_port
            ).start()
        if self.config.service.http is not None:
            from .web import WebPage

            self.web = WebPage(self, *self.config.service.http).start()
        self.started = time.time()
        self.write_status()
        self.notifier.ready(self.summary())
        LOG.info(
            "service %s running: %d instrument(s), %d codename(s)%s, state in %s",
            self.config.name,
            len(self.readers),
            len(self.config.codenames),
            " (clients only)" if self.config.clients_only else "",
            self.state_dir,
        )

    def serve(
        self,
        stop: threading.Event,
        seconds: float | None = None,
        on_tick: Callable[[dict[str, Any]], None] | None = None,
    ) -> bool:
        """Tick (status file, STATUS=, watchdog) until ``stop`` is set or ``seconds``
        have passed. Returns False if the logger thread died (the service must exit)."""
        assert self.logger is not None
        tick = self.config.service.status_interval
        if self.notifier.watchdog_interval is not None:
            tick = min(tick, self.notifier.watchdog_interval)
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            wait = tick if deadline is None else max(0.0, min(tick, deadline - time.monotonic()))
            if stop.wait(wait):
                return True
            snapshot = self.tick()
            if on_tick is not None:
                on_tick(snapshot)
            if not self.logger.is_alive():
                LOG.error("the logger thread died; stopping the service")
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return True

    def tick(self) -> dict[str, Any]:
        """One status round: file, STATUS=, and WATCHDOG=1 if the logger is alive."""
        snapshot = self.write_status()
        self.trend.record(snapshot)
        self.notifier.status(snapshot["summary"])
        if self.logger is not None and self.logger.is_alive():
            self.notifier.watchdog()
        return snapshot

    def stop(self) -> StopReport:
        """Stop the readers, deliver or spool what is queued within ``stop_timeout``."""
        self.notifier.stopping("stopping: delivering queued points")
        LOG.info("stopping %s", self.config.name)
        if self.points is not None:  # clients keep their points until the next start
            self.points.stop()
        for reader in self.readers:  # all at once: each finishes its current read
            reader.stop(timeout=0)
        for reader in self.readers:
            reader.stop(timeout=(reader.config.timeout or 5.0) + 1.0)
        if self.udp is not None:
            self.udp.stop()
        if self.logger is not None:
            self.report = self.logger.stop(self.config.service.stop_timeout)
        else:
            self.report = StopReport(True, 0)
        if self.metrics is not None:
            self.metrics.stop()
        self.write_status()
        if self.web is not None:
            self.web.stop()
        return self.report

    # -- status -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything the status file, ``status`` and the metrics show (no secrets)."""
        logger = self.logger.status().as_dict() if self.logger is not None else None
        now = time.time()
        interval = self.config.service.status_interval
        instruments = [
            _with_channel_states(reader.snapshot(), reader.config, now, interval) for reader in self.readers
        ]
        snap: dict[str, Any] = {
            "name": self.config.name,
            "config": str(self.config.path),
            "pid": os.getpid(),
            "state": "stopped" if self.report is not None else "running",
            "started": self.started,
            "updated": now,
            "status_interval": self.config.service.status_interval,
            "database": self.config.database.describe(),
            "logger": logger,
            "instruments": instruments,
        }
        if self.points is not None:
            snap["points_socket"] = self.points.snapshot()
            snap["clients"] = client_cards(self.config, snap["points_socket"], now)
        if self.udp is not None:
            snap.update(self.udp.snapshot())  # pull_socket, live_server
        if self.report is not None:
            report = self.report
            snap["stop_report"] = {
                "delivered_all": report.delivered_all,
                "undelivered": report.undelivered,
                "per_codename": report.per_codename,
                "reason": report.reason,
            }
        snap["summary"] = summary_line(snap)
        return snap

    def summary(self) -> str:
        return summary_line(self.snapshot())

    def current(self, max_age: float = 1.0) -> dict[str, Any]:
        """The newest snapshot if it is at most ``max_age`` seconds old, else a new one:
        the page's many requests cost at most one snapshot a ``max_age``."""
        with self._latest_lock:
            latest = self._latest
            if latest is not None and time.monotonic() - latest[0] <= max_age:
                return latest[1]
            snapshot = self.snapshot()
            self._latest = (time.monotonic(), snapshot)
            return snapshot

    def write_status(self) -> dict[str, Any]:
        """Write the snapshot atomically to ``status.json``; returns it."""
        snapshot = self.snapshot()
        with self._latest_lock:
            self._latest = (time.monotonic(), snapshot)
        tmp = self.status_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(snapshot, indent=1, default=str), encoding="utf-8")
            os.replace(tmp, self.status_path)
        except OSError as error:
            LOG.warning("cannot write %s: %s", self.status_path, error)
        return snapshot


def _client_limits(given: tuple[tuple[str, float], ...]) -> ClientLimits:
    """The points socket's limits: the defaults, with those the configuration sets."""
    counts = {"max_clients", "max_identities", "max_identities_per_user"}
    values: dict[str, Any] = {key: int(value) if key in counts else value for key, value in given}
    return ClientLimits(**values)


def _with_channel_states(
    instrument: dict[str, Any], config: InstrumentConfig, now: float, status_interval: float
) -> dict[str, Any]:
    """A reader's snapshot with each channel's unit, description, value age and state
    (:func:`~.health.channel_state`) added."""
    for channel, channel_config in zip(instrument["channels"], config.channels, strict=True):
        limit = stale_after(channel_config.interval, status_interval)
        valid = channel.get("last_valid_time")
        channel.update(
            unit=channel_config.unit,
            description=channel_config.description,
            interval=channel_config.interval,
            stale_after=limit,
            age=None if valid is None else max(0.0, now - valid),
            state=channel_state(channel, instrument, now, limit),
        )
    return instrument


def summary_line(snap: dict[str, Any]) -> str:
    """One line: instruments reading, points taken, and the logger's own summary."""
    instruments = snap.get("instruments", [])
    reading = sum(1 for i in instruments if i["connected"] and not i["error_streak"])
    points = sum(c["points"] for i in instruments for c in i["channels"])
    logger = snap.get("logger")
    tail = ""
    if logger is not None:
        state = "connected" if logger["connected"] else "disconnected"
        tail = (
            f"; {state}, queued {logger['queued']}, committed {logger['committed']} "
            f"in {logger['batches']} batches"
        )
    socket = snap.get("points_socket")
    if socket is not None:
        connected = len(socket.get("connected_clients", ()))
        clients = f"{connected} client(s) connected, {socket['points']} client points"
        if not instruments:  # a service for scripts only
            return f"{snap.get('state', '?')}: {clients}{tail}"
        tail = f", {clients}{tail}"
    return (
        f"{snap.get('state', '?')}: {reading}/{len(instruments)} instruments reading, {points} points{tail}"
    )


def read_status(path: Path) -> dict[str, Any]:
    """The status file at ``path`` with ``age`` (seconds since written) and ``fresh``
    (written within three status intervals by a live process)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["age"] = max(0.0, time.time() - float(data.get("updated", 0)))
    alive = _pid_alive(int(data.get("pid", 0)))
    data["fresh"] = (
        data.get("state") == "running"
        and alive
        and data["age"] <= 3 * float(data.get("status_interval", 1.0)) + 1.0
    )
    return data


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to another user (the service user)
        return True
    return True


def run_service(
    config: ServiceConfig,
    environ: Mapping[str, str] | None = None,
    *,
    on_start: Callable[[Service], None] | None = None,
    on_tick: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code (0: stopped cleanly).

    ``on_start`` is called once the service runs (the CLI prints the page's address),
    ``on_tick`` with each status snapshot (the CLI's live table on a terminal)."""
    stop = threading.Event()

    def stop_for(signum: int) -> None:
        LOG.info("received %s", signal.Signals(signum).name)
        stop.set()

    def on_signal(signum: int, _frame: Any) -> None:
        # Not stop.set() here: the main thread may hold the event's lock inside
        # stop.wait() when the signal arrives, and that lock is not reentrant.
        threading.Thread(target=stop_for, args=(signum,), name="signal", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    service = Service(config, environ=environ)
    try:
        try:
            service.start()
        except Exception as error:  # StartupException, password, port in use …
            LOG.error("cannot start %s: %s", config.name, error)
            service.notifier.status(f"failed to start: {error}")
            if service.logger is not None:
                service.stop()
            return EXIT_START
        if on_start is not None:
            on_start(service)
        healthy = service.serve(stop, on_tick=on_tick)
        report = service.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not healthy:
        return EXIT_DIED
    if report.undelivered:  # lost: no spool kept them
        LOG.error("%d point(s) were not delivered (see above)", report.undelivered)
        return EXIT_UNDELIVERED
    if report.spooled:
        LOG.info("stopped cleanly; %d point(s) wait in the spool for the next start", report.spooled)
    else:
        LOG.info("stopped cleanly; all points delivered")
    return EXIT_OK
