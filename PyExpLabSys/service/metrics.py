"""Optional Prometheus endpoint: the service's status counters at scrape time.

``prometheus_client`` is an optional dependency (``pip install pyexplabsys-logger[metrics]``)
imported only when the endpoint is configured. Metrics are computed from the same
snapshot as the status file when Prometheus scrapes, so nothing runs in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

LOG = logging.getLogger(__name__)

__all__ = ["MetricsPage", "MetricsServer", "metrics_available", "stop_http_server"]

#: LoggerStatus fields exported as counters (they only grow) and gauges.
LOGGER_COUNTERS = (
    "committed",
    "batches",
    "reconnects",
    "timeouts",
    "reconciled_batches",
    "dead_lettered",
    "nonfinite_seen",
    "nonfinite_dropped",
)
LOGGER_GAUGES = (
    "queued",
    "oldest_queued_age",
    "current_backoff",
    "last_commit_time",
    "commit_latency_p50",
    "commit_latency_p99",
    "commit_latency_max",
)
CHANNEL_COUNTERS = ("reads", "points", "errors", "not_ok")


def metrics_available() -> bool:
    """True when prometheus_client (the optional dependency) can be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def _registry(snapshot: Callable[[], dict[str, Any]]) -> Any:
    """A registry of its own holding the service's collector (not the global one)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snapshot))
    return registry


class MetricsPage:
    """The same metrics rendered on request, for a server of our own (the live page's
    ``/metrics``). Needs prometheus_client: check :func:`metrics_available` first."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._registry = _registry(snapshot)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self._registry), CONTENT_TYPE_LATEST


class MetricsServer:
    """Serves ``/metrics`` on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(
        self, snapshot: Callable[[], dict[str, Any]], host: str = "127.0.0.1", port: int = 9101
    ) -> None:
        if not metrics_available():
            raise RuntimeError("metrics need prometheus_client: pip install 'pyexplabsys-logger[metrics]'")
        self.snapshot = snapshot
        self.host, self.port = host, port
        self._server: Any = None

    def start(self) -> MetricsServer:
        from prometheus_client import start_http_server

        self._server, _thread = start_http_server(
            self.port, addr=self.host, registry=_registry(self.snapshot)
        )
        self.port = self._server.server_port
        LOG.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        stop_http_server(server)


def stop_http_server(server: Any) -> None:
    """Stop serving and close the socket of a ``socketserver`` server (prometheus_client's
    or the live page's); nothing when ``server`` is None."""
    if server is not None:
        server.shutdown()
        server.server_close()


class _Collector:
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot()
        logger = snap.get("logger") or {}
        for name in LOGGER_COUNTERS:
            metric = CounterMetricFamily(f"pyexplabsys_logger_{name}", f"logger {name} since start")
            metric.add_metric([], float(logger.get(name) or 0))
            yield metric
        for name in LOGGER_GAUGES:
            if logger.get(name) is not None:
                yield GaugeMetricFamily(
                    f"pyexplabsys_logger_{name}", f"logger {name}", value=float(logger[name])
                )
        yield GaugeMetricFamily(
            "pyexplabsys_logger_connected", "database connected", value=float(bool(logger.get("connected")))
        )
        now = time.time()
        counters = {
            n: CounterMetricFamily(
                f"pyexplabsys_channel_{n}", f"channel {n}", labels=["codename", "instrument"]
            )
            for n in CHANNEL_COUNTERS
        }
        value = GaugeMetricFamily(
            "pyexplabsys_channel_last_value", "last reading", labels=["codename", "instrument"]
        )
        age = GaugeMetricFamily(
            "pyexplabsys_channel_last_reading_age_seconds",
            "seconds since the last reading",
            labels=["codename", "instrument"],
        )
        connected = GaugeMetricFamily("pyexplabsys_instrument_connected", "port open", labels=["instrument"])
        for instrument in snap.get("instruments", []):
            connected.add_metric([instrument["name"]], float(instrument["connected"]))
            for channel in instrument["channels"]:
                labels = [channel["codename"], instrument["name"]]
                for name, metric in counters.items():
                    metric.add_metric(labels, float(channel[name]))
                if channel["last_value"] is not None:
                    value.add_metric(labels, float(channel["last_value"]))
                if channel["last_read_time"] is not None:
                    age.add_metric(labels, max(0.0, now - channel["last_read_time"]))
        yield from counters.values()
        yield from (value, age, connected)
