"""The service's UDP sockets for other PCs: upstream's DateDataPullSocket and LiveSocket
(:mod:`PyExpLabSys.common.sockets`, the one implementation scripts use too), fed with
every value the service sees.

``[service] pull_socket`` answers pull commands (``json_wn``, ``codename#json`` ...) for
every channel codename and client codename; it is read-only (a pull socket takes no
data). ``[service] live_server`` gets LiveSocket messages: the newest value of each
codename that changed, at most every :attr:`UdpFeed.live_interval` seconds and at most
:attr:`UdpFeed.live_batch` codenames a datagram, so that a burst of client points is a
handful of datagrams, not one per point.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, cast

from ..common.sockets import DateDataPullSocket, LiveSocket
from ..datalog.intake import Intake
from ..datalog.logger import DataLogger
from .config import ServiceConfig
from .health import stale_after

LOG = logging.getLogger(__name__)

__all__ = ["FeedingLogger", "UdpFeed", "pull_timeouts"]


def pull_timeouts(config: ServiceConfig) -> dict[str, float | None]:
    """Codename → seconds after which the pull socket serves OLD_DATA: ``pull_timeout``
    when set; else a channel's stale time (the page's rule: :func:`~.health.stale_after`
    of its interval, or of its window) and no limit for client codenames."""
    service = config.service
    timeouts: dict[str, float | None] = {}
    for channel in config.channels:
        period = channel.interval
        if channel.aggregation is not None:
            policy = channel.aggregation
            period = policy.window if policy.window is not None else channel.interval * (policy.count or 1)
        for codename in channel.all_codenames:
            timeouts[codename] = service.pull_timeout or stale_after(period, service.status_interval)
    for codename in service.client_codenames:
        timeouts[codename] = service.pull_timeout
    return timeouts


class UdpFeed:
    """The pull socket and the live feed of one service (either may be off)."""

    #: Seconds between live messages, and codenames per live datagram.
    live_interval = 0.25
    live_batch = 50

    def __init__(self, config: ServiceConfig) -> None:
        service = config.service
        timeouts = pull_timeouts(config)
        codenames = list(timeouts)
        self.pull: DateDataPullSocket | None = None
        self.live: LiveSocket | None = None
        self._pending: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._host = service.pull_host
        name = f"pyexplabsys-logger {config.name}"
        if service.pull_socket is not None:
            self.pull = DateDataPullSocket(
                name,
                codenames,
                port=service.pull_socket,
                timeouts=[timeouts[c] for c in codenames],
                host=service.pull_host,
            )
        if service.live_server is not None:
            self.live = LiveSocket(
                name, codenames, live_server=service.live_server, no_internal_data_pull_socket=True
            )
        self._live_address = service.live_server

    @property
    def enabled(self) -> bool:
        return self.pull is not None or self.live is not None

    def start(self) -> UdpFeed:
        if self.pull is not None:
            self.pull.start()
            LOG.info("UDP pull socket on %s:%d", self._host or "*", self.pull.port)
        if self.live is not None:
            self._thread = threading.Thread(target=self._send_live, name="live-feed", daemon=True)
            self._thread.start()
            LOG.info("live server messages to %s:%d", *self._live_address or ("?", 0))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self.pull is not None:
            self.pull.stop()

    # -- values in ---------------------------------------------------------------------
    def observe(self, codename: str, point: tuple[float, float]) -> None:
        """A new value of ``codename``: served at once, sent to the live server soon."""
        try:
            if self.pull is not None:
                self.pull.set_point(codename, point)
            if self.live is not None:
                with self._lock:
                    self._pending[codename] = point
        except Exception:  # never let serving stop a reader or a client's batch
            LOG.exception("UDP feed: cannot take %s = %r", codename, point)

    def observe_batch(self, points: Iterable[tuple[str, float, float]]) -> None:
        """Client points ``(codename, time, value)``: the newest of each codename counts."""
        newest: dict[str, tuple[float, float]] = {}
        for codename, unixtime, value in points:
            newest[codename] = (unixtime, value)
        for codename, point in newest.items():
            self.observe(codename, point)

    # -- the live feed -----------------------------------------------------------------
    def _send_live(self) -> None:
        assert self.live is not None
        while not self._stop.wait(self.live_interval):
            self.flush_live()
        self.flush_live()

    def flush_live(self) -> None:
        """Send what changed since the last message (in datagrams of live_batch codenames)."""
        if self.live is None:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
        items: Sequence[tuple[str, Any]] = list(pending.items())
        for start in range(0, len(items), self.live_batch):
            try:
                self.live.set_batch(dict(items[start : start + self.live_batch]))
            except Exception:  # a value JSON cannot carry: logged, the rest still sent
                LOG.exception("live feed: cannot send a message")

    # -- status ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What the page and status.json show about the UDP sockets."""
        snap: dict[str, Any] = {}
        if self.pull is not None:
            snap["pull_socket"] = {
                "host": self._host,
                "port": self.pull.port,
                "codenames": len(self.pull.codenames),
                **self.pull.stats,
            }
        if self.live is not None and self._live_address is not None:
            host, port = self._live_address
            snap["live_server"] = {"host": host, "port": port, **self.live.stats}
        return snap


class FeedingLogger:
    """The logger as the points server sees it: clients' points go to ``logger``'s
    intake as before, and the newest of each batch also to ``feed``. Everything else
    is the logger's own."""

    def __init__(self, logger: DataLogger, feed: UdpFeed) -> None:
        self._logger = logger
        self._feed = feed

    def intake(self) -> Intake:
        return cast(Intake, _FeedingIntake(self._logger.intake(), self._feed))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


class _FeedingIntake:
    """The logger's intake, feeding the points it takes to the UDP sockets too."""

    def __init__(self, intake: Intake, feed: UdpFeed) -> None:
        self._intake = intake
        self._feed = feed

    def append(self, source: str, position: int, points: list[tuple[Any, Any, Any]]) -> list[tuple[int, str]]:
        refused = self._intake.append(source, position, points)
        skipped = {index for index, _ in refused}
        self._feed.observe_batch(p for i, p in enumerate(points) if i not in skipped and p[2] is not None)
        return refused

    def __getattr__(self, name: str) -> Any:
        return getattr(self._intake, name)
