"""``pyexplabsys-logger plot``: logged values drawn into a PNG.

The source is a service configuration (its database, read through the backends'
registry: SQLite, MySQL or ODBC) or an SQLite file such as the demo's. One line per
codename against local time; one panel per unit (the channels' ``unit`` from the
configuration; for a bare SQLite file, a description ending in ``[unit]``), each on a
log scale when asked or when a series on it spans more than two decades.

matplotlib is an optional dependency (``pip install 'PyExpLabSys[plot]'``), imported
only here, without pyplot (no global state, no display needed).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..assembly import database_backend, sqlite_file_backend
from ..backends.base import Backend, BackendError
from .config import ConfigError, load_config
from .trend import wants_log_scale

LOG = logging.getLogger(__name__)

__all__ = ["SIZE", "PlotError", "PlotResult", "plot_source", "read_source"]

#: The PNG's size in pixels (width, height) and its resolution.
SIZE, DPI = (1200, 700), 100
DESCRIPTIONS = "dateplots_descriptions"
_UNIT_IN_DESCRIPTION = re.compile(r"\[([^\[\]]+)\]\s*$")

Series = dict[str, list[tuple[float, float | None]]]


class PlotError(Exception):
    """The plot cannot be made; the message says why (for the command line)."""


@dataclass(frozen=True)
class PlotResult:
    """What was drawn: the file, points per codename, each panel's plot area in pixels
    (x0, y0, x1, y1 from the top left) and whether it is on a log scale."""

    output: Path
    counts: dict[str, int]
    areas: tuple[tuple[int, int, int, int], ...]
    log: tuple[bool, ...]


def plot_source(
    source: str | Path,
    codenames: Sequence[str],
    since: float = 7200.0,
    output: str | Path = "plot.png",
    log: bool = False,
    table: str | None = None,
    now: float | None = None,
) -> PlotResult:
    """Read ``codenames`` of the last ``since`` seconds from ``source`` and draw them."""
    now = time.time() if now is None else now
    series, units = read_source(source, codenames, now - since, table)
    empty = [name for name, points in series.items() if not points]
    if len(empty) == len(series):
        raise PlotError(f"no points of {', '.join(empty)} in the last {since:g} s in {source}")
    for name in empty:
        LOG.warning("%s: no points in the last %g s", name, since)
    return draw(series, units, Path(output), log)


def read_source(
    source: str | Path, codenames: Sequence[str], since: float, table: str | None = None
) -> tuple[Series, dict[str, str | None]]:
    """The points of ``codenames`` from ``since`` on, and their units, from a config
    (``.toml``) or an SQLite file."""
    path = Path(source)
    if not path.is_file():
        raise PlotError(f"{source}: no such file (a service configuration or an SQLite file)")
    if path.suffix == ".toml":
        try:
            config = load_config(path)
        except ConfigError as error:
            raise PlotError(str(error)) from None
        units: Mapping[str, str | None] = {c.codename: c.unit for c in config.channels}
        try:
            backend = database_backend(config.database)
        except (BackendError, ValueError) as error:
            raise PlotError(f"{config.database.describe()}: {error}") from None
        where = config.database.describe()
    else:
        table = table or _data_table(path)
        backend = sqlite_file_backend(path, table)
        units = _units_in_descriptions(path)
        where = f"{path}:{table}"
    return _read(backend, codenames, since, where), {c: units.get(c) for c in codenames}


def _read(backend: Backend, codenames: Sequence[str], since: float, where: str) -> Series:
    try:
        backend.connect()
        try:
            return backend.read_values(list(codenames), since)
        finally:
            backend.close()
    except (BackendError, ValueError) as error:  # unreachable, unknown codename …
        raise PlotError(f"{where}: {error}") from None


def _sqlite(path: Path) -> sqlite3.Connection:
    if path.read_bytes()[:16] != b"SQLite format 3\x00":
        raise PlotError(f"{path}: not an SQLite file (and not a .toml configuration)")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _data_table(path: Path) -> str:
    """The one table with the dateplots layout (time, type, value) in an SQLite file."""
    conn = _sqlite(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        tables = [
            n
            for n in names
            if n != DESCRIPTIONS
            and {"time", "type", "value"} <= {row[1] for row in conn.execute(f"PRAGMA table_info({n!r})")}
        ]
    finally:
        conn.close()
    if len(tables) != 1:
        found = ", ".join(tables) or "none"
        raise PlotError(f"{path}: give --table: data tables found: {found}")
    return tables[0]


def _units_in_descriptions(path: Path) -> dict[str, str]:
    """Units written as a trailing ``[unit]`` in the descriptions table, if any."""
    conn = _sqlite(path)
    try:
        rows = conn.execute(f"SELECT codename, description FROM {DESCRIPTIONS}").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {
        codename: match.group(1)
        for codename, description in rows
        if description and (match := _UNIT_IN_DESCRIPTION.search(description))
    }


def draw(
    series: Mapping[str, Sequence[tuple[float, float | None]]],
    units: Mapping[str, str | None],
    output: Path,
    log: bool = False,
) -> PlotResult:
    """A PNG of ``series``: local time on x, one panel per unit, one line per codename."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(
            "plot needs matplotlib: pip install 'PyExpLabSys[plot]' (or pip install matplotlib)"
        ) from None
    panels: dict[str | None, list[str]] = {}
    for codename in series:
        panels.setdefault(units.get(codename), []).append(codename)
    local = datetime.now().astimezone().tzinfo
    figure = Figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    scales = []
    for ax, (unit, names) in zip(axes, panels.items(), strict=True):
        values = []
        for name in names:
            points = [(datetime.fromtimestamp(t, local), v) for t, v in series[name] if v is not None]
            values += [v for _, v in points]
            ax.plot([t for t, _ in points], [v for _, v in points], label=name, linewidth=1.2)
        logarithmic = (log and all(v > 0 for v in values)) or wants_log_scale(values)
        if log and not logarithmic:
            LOG.warning("panel %s: values <= 0, kept linear", unit or "value")
        ax.set_yscale("log" if logarithmic else "linear")
        if not logarithmic:
            ax.ticklabel_format(axis="y", useOffset=False)
        scales.append(logarithmic)
        ax.set_ylabel(unit or "value")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    locator = AutoDateLocator(tz=local)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=local))
    axes[-1].set_xlabel(f"local time ({datetime.now(local).strftime('%Z')})")
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=DPI)
    height = figure.bbox.height
    areas = tuple(
        (round(b.x0), round(height - b.y1), round(b.x1), round(height - b.y0))
        for b in (ax.get_window_extent() for ax in axes)
    )
    return PlotResult(output, {name: len(points) for name, points in series.items()}, areas, tuple(scales))
