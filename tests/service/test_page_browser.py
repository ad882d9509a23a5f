"""The live page in a real browser: headless Chromium loads the demo's page.

Every codename shows a number, the values change while the page stays loaded (no
reload), an unplugged simulator turns its row stale, the page fits a phone's width,
and a screenshot at phone width is written to ``test-artifacts/page-phone.png``.
"""

from __future__ import annotations

import json
import queue
import struct
import threading

import pytest

from PyExpLabSys.service.demo import SIGNALS, run_demo
from PyExpLabSys.service.runner import Service
from PyExpLabSys.simulators import start_simulator

from .browser import Page

CARDS = """[...document.querySelectorAll('[data-codename]')].map(card => ({
    codename: card.dataset.codename, state: card.dataset.state,
    value: card.querySelector('.value').textContent}))"""


def _cards(page: Page) -> dict[str, dict[str, str]]:
    return {card["codename"]: card for card in page.evaluate(CARDS)}


def _all_numbers() -> str:
    """An expression: truthy once every demo codename shows a number."""
    names = json.dumps(sorted(SIGNALS))
    return (
        "(() => { const cards = " + CARDS + "; const names = " + names + ";"
        " return names.every(n => cards.some(c => c.codename === n"
        " && c.value !== '' && !isNaN(Number(c.value)))); })()"
    )


@pytest.fixture
def demo():
    """The demo running in a thread with its page on a free port: (service, simulators)."""
    stop = threading.Event()
    started: queue.Queue = queue.Queue()
    result: list = []

    def run() -> None:
        result.append(
            run_demo(
                seconds=600,
                path=tmp_db,
                progress=False,
                stop=stop,
                http=("127.0.0.1", 0),
                on_start=lambda service, sims: started.put((service, sims)),
            )
        )

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        tmp_db = Path(directory) / "demo.sqlite"
        thread = threading.Thread(target=run, name="demo", daemon=True)
        thread.start()
        try:
            yield started.get(timeout=60)
        finally:
            stop.set()
            thread.join(60)
    assert result and result[0].undelivered == 0


def test_demo_page_live_values_stale_row_and_phone_screenshot(demo, browser, artifacts):
    service, sims = demo
    page = browser.open(service.web.url)
    page.wait_for(_all_numbers(), timeout=20, what="a number for every codename")
    page.evaluate("window.loadedOnce = true")
    first = _cards(page)
    assert set(first) == set(SIGNALS)
    assert all(card["state"] == "fresh" for card in first.values()), first

    changed = (
        f"(() => {{ const before = {json.dumps({c: v['value'] for c, v in first.items()})};"
        f" return {CARDS}.some(c => before[c.codename] !== c.value); }})()"
    )
    page.wait_for(changed, timeout=20, what="a value to change")
    assert page.evaluate("window.loadedOnce") is True  # updated in place, not reloaded

    sims["polyscience"].vanish()  # unplug the bath's controller
    stale = "document.querySelector('[data-codename=\"demo_bath_temperature\"]').dataset.state === 'stale'"
    page.wait_for(stale, timeout=30, what="the unplugged bath's row to turn stale")
    others = _cards(page)
    assert others["demo_chamber_pressure"]["state"] == "fresh"

    page.phone(width=390, height=844, scale=2)
    page.wait_for("window.innerWidth === 390", timeout=5, what="the phone's width")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.wait_for("document.querySelectorAll('.trend polyline').length >= 4", timeout=15, what="trend lines")
    shot = page.screenshot(artifacts / "page-phone.png")
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert (width, height >= 844 * 2) == (390 * 2, True)


def test_config_text_is_shown_as_text_not_markup(tmp_path, browser):
    """A description with markup in it appears literally; no element is injected."""
    raw = '<img id="injected" src="x"><b>bold</b> & "quotes"'
    with start_simulator("mksg") as sim:
        from PyExpLabSys.service.config import parse_config

        config = parse_config(
            {
                "name": "<script>alert(1)</script>",
                "database": {"backend": "sqlite", "path": str(tmp_path / "x.sqlite"), "table": "t"},
                "service": {
                    "state_directory": str(tmp_path / "state"),
                    "http": "127.0.0.1:0",
                    "status_interval": 0.2,
                },
                "instruments": [
                    {
                        "name": "mfc",
                        "driver": "mksg",
                        "port": sim.port,
                        "channels": [
                            {"codename": "x_flow", "interval": 0.1, "description": raw, "unit": "<i>sccm</i>"}
                        ],
                    }
                ],
            },
            tmp_path / "x.toml",
        )
        from PyExpLabSys.backends.sqlite import create_tables

        create_tables(tmp_path / "x.sqlite", "t", {"x_flow": "flow"})
        service = Service(config, environ={})
        service.start()
        try:
            page = browser.open(service.web.url)
            page.wait_for(
                "document.querySelector('[data-codename=\"x_flow\"] .description') !== null",
                timeout=20,
                what="the channel's card",
            )
            shown = page.evaluate(
                "document.querySelector('[data-codename=\"x_flow\"] .description').textContent"
            )
            assert shown == raw
            assert page.evaluate("document.querySelector('.unit').textContent") == "<i>sccm</i>"
            assert page.evaluate("document.getElementById('injected')") is None
            assert page.evaluate("document.querySelectorAll('script').length") == 1  # app.js only
            assert page.evaluate("document.title") == "<script>alert(1)</script> · PyExpLabSys logger"
        finally:
            service.stop()


def test_database_side_shows_what_the_logger_status_has(browser):
    """Fields the logger may or may not report (a node, enqueue-to-commit times) are
    shown when present; the rest of the panel stands without them."""
    from PyExpLabSys.service.web import WebPage

    from .test_web import StubSource, _snapshot

    snapshot = _snapshot(
        backend="mysql lab@db1:3306/cinfdata.t",
        node="db2.lab",
        enqueue_to_commit_p50=0.25,
        enqueue_to_commit_max=3.5,
        oldest_queued_age=12.0,
        last_commit_time=None,
    )
    page_server = WebPage(StubSource(snapshot), "127.0.0.1", 0).start()
    try:
        page = browser.open(page_server.url)
        facts = page.wait_for(
            "(() => { const dts = [...document.querySelectorAll('#database dt')];"
            " return dts.length ? Object.fromEntries(dts.map(dt => [dt.textContent,"
            " dt.nextElementSibling.textContent])) : null; })()",
            timeout=15,
            what="the database panel",
        )
    finally:
        page_server.stop()
    assert facts["node"] == "db2.lab"
    assert facts["enqueue to commit p50"] == "250 ms" and facts["enqueue to commit max"] == "3.5 s"
    assert facts["oldest waiting"] == "12.0 s" and facts["last commit"] == "–"
    assert facts["backend"] == "mysql lab@db1:3306/cinfdata.t"


def test_an_aggregated_channel_shows_its_last_window(browser):
    """The card of an aggregated channel lists what its last window yielded, per codename."""
    from PyExpLabSys.service.web import WebPage

    from .test_web import StubSource, _snapshot

    snapshot = _snapshot()
    snapshot["instruments"][0]["channels"][0]["aggregate"] = {
        "windows": 3,
        "pending": 7,
        "left_out": 0,
        "last_window_time": snapshot["updated"] - 5,
        "values": {"bench_flow": 1.5, "bench_flow_max": 2.25},
    }
    page_server = WebPage(StubSource(snapshot), "127.0.0.1", 0).start()
    try:
        page = browser.open(page_server.url)
        text = page.wait_for(
            "(() => { const n = document.querySelector('[data-codename=bench_flow] .aggregate');"
            " return n ? n.textContent : null; })()",
            timeout=15,
            what="the aggregate line",
        )
    finally:
        page_server.stop()
    assert text.startswith("last window: bench_flow 1.5") and "bench_flow_max 2.25" in text
