"""The live page's HTTP side without a browser: routes, read-only, health, metrics,
escaping and secrets; the snapshot it serves; the trend ring and the health rule."""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from PyExpLabSys.service import web
from PyExpLabSys.service.config import ServiceSettings, parse_config
from PyExpLabSys.service.health import ERROR, FRESH, STALE, channel_state, judge, stale_after
from PyExpLabSys.service.runner import Service
from PyExpLabSys.service.trend import TrendRing, wants_log_scale
from PyExpLabSys.simulators import start_simulator

from .conftest import wait_until

NOW = 1_800_000_000.0


def _snapshot(**logger):
    return {
        "name": "bench",
        "state": "running",
        "started": NOW - 1000,
        "updated": NOW,
        "logger": {
            "running": True,
            "connected": True,
            "queued": 0,
            "oldest_queued_age": None,
            "oldest_spooled_age": None,
            **logger,
        },
        "instruments": [
            {
                "name": "mfc",
                "alive": True,
                "connected": True,
                "error_streak": 0,
                "channels": [{"codename": "bench_flow", "last_valid_time": NOW - 1, "last_value": 1.5}],
            }
        ],
    }


class StubSource:
    """Stands in for the service: a fixed snapshot, a trend ring, a config."""

    def __init__(self, snapshot, name="bench") -> None:
        self.snapshot = snapshot
        self.trend = TrendRing()
        self.config = SimpleNamespace(name=name, service=ServiceSettings())
        self.calls = 0

    def current(self, max_age: float = 1.0):
        self.calls += 1
        return self.snapshot


@pytest.fixture
def page():
    pages = []

    def serve(snapshot, name="bench"):
        page = web.WebPage(StubSource(snapshot, name), "127.0.0.1", 0).start()
        pages.append(page)
        return page

    yield serve
    for page in pages:
        page.stop()


def request(page, method, path, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", page.port, timeout=5)
    try:
        if host is None:
            conn.request(method, path)
        else:  # a Host: header of our choosing
            conn.putrequest(method, path, skip_host=True)
            if host:
                conn.putheader("Host", host)
            conn.endheaders()
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def test_routes_serve_the_page_its_files_and_the_snapshot(page):
    served = page(_snapshot())
    assert served.url == f"http://127.0.0.1:{served.port}/"
    status, headers, body = request(served, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<script src="app.js" defer></script>' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]  # no inline, no CDN
    for path in ("/app.js", "/app.css"):
        assert request(served, "GET", path)[0] == 200
    status, headers, body = request(served, "GET", "/status.json?x=1")
    assert status == 200 and json.loads(body) == served.source.snapshot
    served.source.trend.add("bench_flow", NOW - 5, 1.0)
    served.source.trend.add("bench_flow", NOW - 3, 2.0)
    trend = json.loads(request(served, "GET", "/trend.json")[2])
    assert trend["bench_flow"]["log"] is False and len(trend["bench_flow"]["points"]) == 2
    assert request(served, "GET", "/nothing")[0] == 404


def test_no_file_names_a_network_resource():
    for name in ("index.html", "app.js", "app.css"):
        text = web._asset(name).decode()
        assert "http://" not in text.replace('"http://www.w3.org/2000/svg"', "")
        assert "https://" not in text and "//cdn" not in text


def test_only_get_and_head(page):
    served = page(_snapshot())
    status, headers, body = request(served, "HEAD", "/status.json")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"):
        status, headers, _ = request(served, method, "/status.json")
        assert (status, headers.get("Allow")) == (405, "GET, HEAD"), method


def test_only_loopback_host_names_are_answered_on_loopback(page):
    """A DNS name rebound to 127.0.0.1 (another web site in the lab PC's browser) gets
    nothing; the names of this PC and an SSH tunnel's local end do."""
    served = page(_snapshot())
    for host in (f"127.0.0.1:{served.port}", "localhost:9080", "[::1]:8080", "127.0.0.1"):
        assert request(served, "GET", "/status.json", host)[0] == 200, host
    for host in ("evil.example.com", "evil.example.com:8080", "", "10.0.0.5:8080"):
        status, _, body = request(served, "GET", "/status.json", host)
        assert (status, body) == (421, b"not served under this name\n"), host


def test_the_title_from_the_config_is_escaped(page):
    served = page(_snapshot(), name='<script>alert("x")</script>')
    body = request(served, "GET", "/")[2].decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_healthz_ok_and_each_reason(page):
    assert request(page(_snapshot()), "GET", "/healthz")[:3:2] == (200, b"ok\n")
    bad = _snapshot(oldest_queued_age=1000.0)
    bad["instruments"][0]["channels"][0]["last_valid_time"] = time.time() - 500
    status, _, body = request(page(bad), "GET", "/healthz")
    text = body.decode()
    assert status == 503
    assert "oldest waiting point is 1000 s old (limit 300 s)" in text
    assert "instrument mfc: nothing valid for 500 s (limit 120 s)" in text
    dead = _snapshot(running=False)
    dead["instruments"][0]["channels"][0]["last_valid_time"] = time.time()
    assert request(page(dead), "GET", "/healthz")[2] == b"logger thread is not running\n"


def test_metrics_when_prometheus_client_is_there_and_when_not(page, monkeypatch):
    snap = _snapshot(committed=7, batches=2)
    snap["instruments"][0]["channels"][0].update(reads=3, points=2, errors=0, not_ok=0, last_read_time=NOW)
    status, _headers, body = request(page(snap), "GET", "/metrics")
    assert status == 200 and b"pyexplabsys_logger_committed_total 7.0" in body
    monkeypatch.setattr(web, "metrics_available", lambda: False)
    status, _, body = request(page(snap), "GET", "/metrics")
    assert status == 404 and b"pip install 'PyExpLabSys[metrics]'" in body


def test_a_running_service_page_shows_no_secret_and_the_status_file(tmp_path):
    secret = "s3cret-Pw-do-not-show"
    with start_simulator("mksg") as sim:
        (tmp_path / "pw").write_text(secret)
        config = parse_config(
            {
                "database": {
                    "backend": "sqlite",
                    "path": str(tmp_path / "b.sqlite"),
                    "table": "t",
                    "password": secret,
                },
                "service": {
                    "state_directory": str(tmp_path / "state"),
                    "http": "127.0.0.1:0",
                    "status_interval": 0.1,
                },
                "instruments": [
                    {
                        "name": "mfc",
                        "driver": "mksg",
                        "port": sim.port,
                        "channels": [
                            {"codename": "b_flow", "interval": 0.05, "unit": "sccm", "description": "Ar"}
                        ],
                    }
                ],
            },
            tmp_path / "b.toml",
        )
        from PyExpLabSys.backends.sqlite import create_tables

        create_tables(tmp_path / "b.sqlite", "t", {"b_flow": "flow"})
        service = Service(config, environ={})
        service.start()
        stop = threading.Event()
        ticker = threading.Thread(target=service.serve, args=(stop,))
        ticker.start()
        try:
            wait_until(
                lambda: service.trend.series(time.time()).get("b_flow", {}).get("points"),
                what="a trend point",
            )
            bodies = [
                request(service.web, "GET", p)[2]
                for p in ("/", "/status.json", "/trend.json", "/healthz", "/metrics", "/app.js")
            ]
            assert not any(secret.encode() in body for body in bodies)
            channel = json.loads(bodies[1])["instruments"][0]["channels"][0]
            assert (channel["unit"], channel["description"], channel["state"]) == ("sccm", "Ar", FRESH)
            assert bodies[3] == b"ok\n"
            # status.json is the status file's snapshot: the same object within a second.
            written = service.write_status()
            assert service.current() is written
            assert json.loads(service.status_path.read_text()) == json.loads(json.dumps(written, default=str))
        finally:
            stop.set()
            ticker.join(5)
            service.stop()
    assert service.web._server is None  # stopped with the service


def test_current_builds_at_most_one_snapshot_per_max_age(tmp_path):
    config = parse_config(
        {
            "database": {"path": str(tmp_path / "x.sqlite"), "table": "t"},
            "service": {"state_directory": str(tmp_path)},
            "instruments": [
                {
                    "name": "a",
                    "driver": "mksg",
                    "port": "/dev/null",
                    "channels": [{"codename": "c", "interval": 1.0}],
                }
            ],
        },
        tmp_path / "x.toml",
    )
    service = Service(config, environ={})
    first = service.current(max_age=60)
    assert service.current(max_age=60) is first
    assert service.current(max_age=0) is not first


def test_channel_states():
    inst = {"alive": True, "connected": True, "error_streak": 0}
    limit = stale_after(0.1, 0.5)
    assert limit == 5.0 and stale_after(10, 1) == 30
    assert channel_state({"last_valid_time": NOW - 1}, inst, NOW, limit) == FRESH
    assert channel_state({"last_valid_time": NOW - 6}, inst, NOW, limit) == STALE
    unplugged = {**inst, "connected": False, "error_streak": 4}
    assert channel_state({"last_valid_time": NOW - 6}, unplugged, NOW, limit) == STALE
    assert channel_state({"last_valid_time": None}, unplugged, NOW, limit) == ERROR
    assert channel_state({"last_valid_time": None}, inst, NOW, limit) == STALE  # not yet read
    assert channel_state({"last_valid_time": NOW}, {**inst, "alive": False}, NOW, limit) == ERROR


def test_health_of_a_stopped_service_and_a_silent_instrument_since_start():
    snap = _snapshot()
    snap["instruments"][0]["channels"][0]["last_valid_time"] = None
    health = judge(snap, 300, 120, NOW)
    assert not health.ok
    assert health.reasons == ("instrument mfc: no valid value since start for 1000 s (limit 120 s)",)
    assert judge({**_snapshot(), "state": "stopped"}, 300, 120, NOW).reasons[0] == "service is stopped"


def test_trend_ring_is_bounded_spaced_and_bucketed():
    ring = TrendRing(span=100, step=1.0)
    for i in range(1000):
        ring.add("p", NOW - 500 + i * 0.5, float(i))  # two values a second for 500 s
    series = ring.series(NOW, buckets=1000)["p"]["points"]
    assert len(ring._rings["p"]) == 101  # bounded: span / step + 1
    times = [t for t, _ in series]
    assert times[0] >= NOW - 100 and all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    few = ring.series(NOW, buckets=10)["p"]["points"]
    assert len(few) == 10 and few[0][1] < few[-1][1]
    ring.record(_snapshot())
    assert ring.series(NOW)["bench_flow"]["points"] == [[NOW - 1, 1.5]]


def test_log_scale_rule():
    assert wants_log_scale([1e-7, 2e-5])  # 2.3 decades
    assert not wants_log_scale([1e-7, 9e-6])  # under two
    assert not wants_log_scale([-1.0, 1e3]) and not wants_log_scale([])


def test_a_silent_connection_is_closed_and_many_at_once_are_served(page, monkeypatch):
    """Issue 22: the page had no time-out, an unbounded thread per request and a
    backlog of 5 (500 concurrent requests took 2.1 s to connect)."""
    monkeypatch.setattr(web._Handler, "timeout", 0.3)
    served = page(_snapshot())
    silent = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    started = time.monotonic()
    assert silent.recv(1024) == b""  # closed by the server after its time-out
    assert time.monotonic() - started < 3
    silent.close()

    def health(_: int) -> int:
        try:
            return request(served, "GET", "/healthz")[0]
        except (ConnectionError, http.client.HTTPException):
            return 0  # closed at once: the queue was full

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(health, range(200)))
    assert statuses.count(200) >= 150  # the rest are closed when the queue is full, never hung
    body = json.loads(request(served, "GET", "/status.json")[2])
    assert "pid" not in body
