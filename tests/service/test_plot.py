"""``plot``: a PNG of logged values from the demo's SQLite file or a configuration."""

from __future__ import annotations

import struct
import sys

import pytest

from PyExpLabSys.backends.sqlite import create_tables
from PyExpLabSys.service.cli import main
from PyExpLabSys.service.demo import SIGNALS, run_demo
from PyExpLabSys.service.plot import SIZE, PlotError, plot_source

matplotlib_image = pytest.importorskip("matplotlib.image")


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _inked(path, area, margin=4):
    """Pixels inside a plot area (frame excluded) that are not the white background."""
    pixels = matplotlib_image.imread(path)
    x0, y0, x1, y1 = area
    inside = pixels[y0 + margin : y1 - margin, x0 + margin : x1 - margin, :3]
    return int((inside.min(axis=2) < 0.9).sum())


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("plot") / "demo.sqlite"
    summary = run_demo(seconds=2.0, path=path, progress=False)
    assert summary.undelivered == 0
    return path


def test_plot_of_the_demo_file_from_the_command_line(demo_db, tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["plot", str(demo_db), *SIGNALS, "--since", "1h", "-o", str(out)]) == 0
    assert f"{out}: demo_chamber_pressure (" in capsys.readouterr().out
    assert _png_size(out) == SIZE


def test_plot_areas_are_drawn_units_and_log_scale(demo_db, tmp_path):
    result = plot_source(
        demo_db,
        ["demo_chamber_pressure", "demo_ion_gauge_pressure", "demo_ar_flow"],
        since=3600,
        output=tmp_path / "p.png",
    )
    assert _png_size(result.output) == SIZE
    # Two units (mbar, sccm): two panels; the pressures span four decades: log.
    assert len(result.areas) == 2 and result.log == (True, False)
    for area in result.areas:
        assert _inked(result.output, area) > 200, area
    assert all(count > 0 for count in result.counts.values())


def test_log_flag_and_a_blank_area_is_detected(tmp_path):
    db = tmp_path / "x.sqlite"
    ids = create_tables(db, "dateplots_x", ["x_temp"])
    import sqlite3
    import time

    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO dateplots_x (time, type, value) VALUES (?, ?, ?)",
            [(now - 60 + i, ids["x_temp"], 20.0 + i % 3) for i in range(60)],
        )
    conn.close()
    linear = plot_source(db, ["x_temp"], since=3600, output=tmp_path / "lin.png")
    assert linear.log == (False,) and _inked(linear.output, linear.areas[0]) > 100
    logged = plot_source(db, ["x_temp"], since=3600, output=tmp_path / "log.png", log=True)
    assert logged.log == (True,)
    # The check itself: an area left white counts no ink (so the asserts above can fail).
    from matplotlib.figure import Figure

    blank = Figure(figsize=(4, 3), dpi=100)
    blank.add_subplot().plot([])
    blank.savefig(tmp_path / "blank.png")
    assert _inked(tmp_path / "blank.png", (60, 40, 340, 250)) == 0


def test_plot_from_a_configuration_uses_its_units(demo_db, tmp_path):
    config = tmp_path / "setup.toml"
    config.write_text(f"""
[database]
path = "{demo_db}"
table = "dateplots_demo"
[[instruments]]
name = "mfc"
driver = "mksg"
port = "/dev/null"
[[instruments.channels]]
codename = "demo_ar_flow"
interval = 1.0
unit = "mL/min"
""")
    result = plot_source(config, ["demo_ar_flow"], since=3600, output=tmp_path / "c.png")
    assert result.counts["demo_ar_flow"] > 0 and _png_size(result.output) == SIZE


def test_clear_errors(demo_db, tmp_path, monkeypatch, capsys):
    with pytest.raises(PlotError, match="no such file"):
        plot_source(tmp_path / "missing.sqlite", ["x"])
    with pytest.raises(PlotError, match="nope_codename"):
        plot_source(demo_db, ["nope_codename"], output=tmp_path / "n.png")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PlotError, match="not an SQLite file"):
        plot_source(text, ["x"])
    with pytest.raises(SystemExit) as exit_:
        main(["plot", str(demo_db), "demo_ar_flow", "--since", "soon"])
    assert exit_.value.code == 2
    assert "not a duration: 'soon'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if not installed
    assert main(["plot", str(demo_db), "demo_ar_flow", "-o", str(tmp_path / "m.png")]) == 1
    assert "plot needs matplotlib: pip install 'PyExpLabSys[plot]'" in capsys.readouterr().err
