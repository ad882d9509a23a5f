"""``pyexplabsys-logger``: the command line of the logging service.

Sub-commands:

* ``run CONFIG``: run the service until SIGTERM/SIGINT (what the systemd unit starts);
* ``check CONFIG [--connect]``: validate the file; with ``--connect`` also reach the
  database, translate the codenames and read each channel once from its port;
* ``init-db CONFIG``: create the tables (``TIMESTAMP(6)`` for new MySQL tables) and
  register the codenames;
* ``status CONFIG`` (or ``--state-dir DIR``): print the running service's status file;
* ``demo``: simulated instruments on pseudo-terminals, logged through the real drivers
  into an SQLite file, with a live status table;
* ``plot SOURCE CODENAME...``: a PNG of logged values (:mod:`.plot`);
* ``check-script SCRIPT.py...``: each PyExpLabSys import of a lab script and where it
  comes from, and what Python 3 no longer has (:mod:`.script_check`).

``run`` and ``demo`` take ``--http ADDR`` to serve the live page (:mod:`.web`); on a
terminal their table is redrawn in place (:mod:`.terminal`).
"""

from __future__ import annotations

import argparse
import dataclasses
import grp
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..drivers.registry import SIM_SCHEME
from .config import ConfigError, ServiceConfig, is_loopback, load_config, parse_http_address, state_directory
from .terminal import LiveTable

LOG = logging.getLogger(__name__)

__all__ = ["build_parser", "format_status", "main"]


def _load(path: str) -> ServiceConfig | None:
    try:
        config = load_config(path)
    except ConfigError as error:
        sys.stderr.write(f"{error}\n")
        return None
    for warning in config.warnings:
        sys.stderr.write(f"{config.path}: warning: {warning}\n")
    return config


# --------------------------------------------------------------------------- run
def _http_address(text: str) -> tuple[str, int]:
    """``--http ADDR`` as (host, port); argparse reports a bad one naming the option."""
    try:
        address = parse_http_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not is_loopback(address[0]):
        sys.stderr.write(
            f"warning: --http {text}: the page is reachable from other machines "
            "(prefer 127.0.0.1 and an SSH tunnel)\n"
        )
    return address


def _announce(table: LiveTable) -> Any:
    """A start-up hook that prints the page's address (port 0 picks one)."""

    def announce(service: Any, *_: Any) -> None:
        if service.web is not None:
            table.write_above(f"Live page: {service.web.url}")

    return announce


def _run(args: argparse.Namespace) -> int:
    from .runner import EXIT_START, run_service

    config = _load(args.config)
    if config is None:
        return EXIT_START
    if args.http is not None:
        config = dataclasses.replace(config, service=dataclasses.replace(config.service, http=args.http))
    table = LiveTable(sys.stdout)
    on_tick = None
    if table.tty and sys.stderr.isatty():  # one terminal: log lines go above the table
        root = logging.getLogger()
        formatter = root.handlers[0].formatter if root.handlers else None
        root.handlers[:] = [table.log_handler(formatter)]
        on_tick = lambda snapshot: table.show(format_status(snapshot))  # noqa: E731
    return run_service(config, on_start=_announce(table), on_tick=on_tick)


# --------------------------------------------------------------------------- check
def _check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    out = sys.stdout
    if config.clients_only:
        serves = f"serves clients only ({len(config.service.clients)} client codename(s), no instruments)"
    else:
        serves = f"{len(config.instruments)} instrument(s), {len(config.codenames)} codename(s)"
    out.write(f"{config.path}: ok: {serves}, database {config.database.describe()}\n")
    if not args.connect:
        return 0
    simulated = any(i.port.startswith(SIM_SCHEME) for i in config.instruments)
    if simulated and not args.verbose:  # their start and stop lines are no news here
        logging.getLogger("PyExpLabSys.simulators").setLevel(logging.WARNING)
    failures = _check_database(config, out) + _check_socket(config, out)
    failures += sum(_check_instrument(i, out) for i in config.instruments)
    if simulated:  # closed now, so that nothing they say follows the summary
        from ..simulators.registry import stop_served

        stop_served()
    out.write("all checks passed\n" if not failures else f"{failures} check(s) failed\n")
    return 0 if not failures else 1


def _check_database(config: ServiceConfig, out: TextIO) -> int:
    from ..assembly import database_backend
    from ..backends.base import BackendError

    try:
        backend = database_backend(config.database)
        backend.connect()
        try:
            ids = backend.resolve_codenames(config.codenames)
        finally:
            backend.close()
    except (BackendError, ValueError, RuntimeError) as error:
        out.write(f"FAIL database {config.database.describe()}: {error}\n")
        return 1
    out.write(f"ok   database {backend.describe()}: {len(ids)} codename(s) known\n")
    return 0


def _check_socket(config: ServiceConfig, out: TextIO) -> int:
    """Where the points socket will be, and whether its group exists (``run`` needs it)."""
    if config.service.socket is None:
        return 0
    from .runner import socket_path

    path = socket_path(config, os.environ, state_directory(config))
    group = config.service.socket_group
    if group is not None:
        try:
            grp.getgrnam(group)
        except KeyError:
            out.write(f"FAIL points socket {path}: socket_group {group!r} is not a group on this PC\n")
            return 1
    owners = f", group {group}" if group else ""
    out.write(f"ok   points socket {path}: {len(config.service.clients)} client codename(s){owners}\n")
    return 0


def _check_instrument(instrument: Any, out: TextIO) -> int:
    from ..drivers.base import InstrumentError, reading_name
    from .instruments import open_instrument

    try:
        driver = open_instrument(instrument)
    except InstrumentError as error:
        out.write(f"FAIL {instrument.name} ({instrument.driver}) on {instrument.port}: {error}\n")
        return 1
    failures = 0
    with driver:
        for channel in instrument.channels:
            try:
                result = getattr(driver, reading_name(channel.read))(*channel.args)
            except InstrumentError as error:
                out.write(f"FAIL {instrument.name} {channel.codename}: {type(error).__name__}: {error}\n")
                failures += 1
            else:
                out.write(f"{_reading_line(instrument.name, channel, result)}\n")
    return failures


def _reading_line(instrument: str, channel: Any, reading: Any) -> str:
    """``ok   gauge chk_pressure = 1.23e-3 mbar (ok)``: a reading as a person reads it
    (``warn`` when the instrument reports a status other than ok)."""
    status = getattr(reading, "status", None)
    value = getattr(reading, "value", reading)
    words = "ok" if status is None else str(status.value)
    shown = "no value" if value is None else _number(value) + (f" {channel.unit}" if channel.unit else "")
    return f"{'ok  ' if words == 'ok' else 'warn'} {instrument} {channel.codename} = {shown} ({words})"


def _number(value: float) -> str:
    """Up to six significant digits; very small or large numbers as ``1.23e-3``."""
    if value != 0 and not 1e-2 <= abs(value) < 1e5:
        mantissa, _, exponent = f"{value:.5e}".partition("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.6g}"


# --------------------------------------------------------------------------- init-db
def _init_db(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    from .dbsetup import init_database

    try:
        ids = init_database(config)
    except Exception as error:  # report, do not trace back at the operator
        sys.stderr.write(f"init-db failed for {config.database.describe()}: {error}\n")
        return 1
    sys.stdout.write(
        f"{config.database.describe()}: tables ready; codenames: "
        + ", ".join(f"{c}={i}" for c, i in ids.items())
        + "\n"
    )
    return 0


# --------------------------------------------------------------------------- status
def _status(args: argparse.Namespace) -> int:
    from .runner import STATUS_FILE, read_status

    if args.state_dir:
        directory = Path(args.state_dir)
    elif args.config:
        config = _load(args.config)
        if config is None:
            return 1
        directory = state_directory(config)
    else:
        sys.stderr.write("status: give CONFIG or --state-dir\n")
        return 2
    path = directory / STATUS_FILE
    try:
        status = read_status(path)
    except (OSError, ValueError) as error:
        sys.stderr.write(f"no status at {path}: {error} (is the service running?)\n")
        return 3
    sys.stdout.write(format_status(status))
    if args.json:
        import json

        sys.stdout.write(json.dumps(status, indent=1, default=str) + "\n")
    return 0 if status["fresh"] else 3


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def format_status(status: dict[str, Any]) -> str:
    """The live table: one row per codename (points, reads, errors, last value, age; a
    client codename names the clients sending it where a channel names its instrument),
    then the queue and commits."""
    now = time.time()
    if status.get("fresh", True):
        stale = ""
    elif status.get("state") == "stopped":
        stale = "  (NOT RUNNING: stopped)"
    else:
        stale = f"  (STALE: written {status.get('age', 0):.0f} s ago, not running?)"
    lines = [
        f"{status['name']}: {status['summary']}{stale}",
        f"  {'codename':<28} {'instrument':<14} {'points':>7} {'reads':>7} {'errors':>6} "
        f"{'last value':>12} {'age':>6}",
    ]
    for instrument in status["instruments"]:
        for ch in instrument["channels"]:
            age = "-" if ch["last_read_time"] is None else f"{now - ch['last_read_time']:.1f}s"
            lines.append(
                f"  {ch['codename']:<28} {instrument['name']:<14} {ch['points']:>7} "
                f"{ch['reads']:>7} {ch['errors']:>6} {_fmt(ch['last_value']):>12} {age:>6}"
            )
        if instrument["last_error"] and instrument["error_streak"]:
            lines.append(f"    {instrument['name']}: {instrument['last_error']}")
    for card in status.get("clients", []):  # codenames that scripts send
        age = "-" if card["last_time"] is None else f"{now - card['last_time']:.1f}s"
        sender = ",".join(card["clients"]) or "(none)"
        lines.append(
            f"  {card['codename']:<28} {sender[:14]:<14} {card['points']:>7} {'-':>7} {'-':>6} "
            f"{_fmt(card['last_value']):>12} {age:>6}"
        )
    logger = status.get("logger")
    if logger:
        lines.append(
            f"  queue {logger['queued']}, committed {logger['committed']} in "
            f"{logger['batches']} batches, reconnects {logger['reconnects']}, "
            f"database {'connected' if logger['connected'] else 'DISCONNECTED'}"
            + (f", last error: {logger['last_error']}" if logger["last_error"] else "")
        )
    pull, live = status.get("pull_socket"), status.get("live_server")
    if pull:
        lines.append(
            f"  UDP pull socket {pull['host'] or '*'}:{pull['port']}: {pull.get('answered', 0)} answered, "
            f"{pull.get('refused', 0)} refused"
        )
    if live:
        lines.append(
            f"  live server {live['host']}:{live['port']}: {live['sent']} sent, {live['failed']} failed"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- demo
def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    stop = threading.Event()
    table = LiveTable(sys.stdout)
    live = None
    if not args.quiet:

        def live(status: dict[str, Any]) -> None:
            table.show(format_status(status))

    try:
        summary = run_demo(
            seconds=args.seconds,
            path=args.db,
            progress=live,
            stop=stop,
            http=args.http,
            on_start=_announce(table),
        )
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
    except OSError as error:  # the page's address is taken or not ours
        if args.http is None:
            raise
        sys.stderr.write(
            f"demo: cannot serve the page on {args.http[0]}:{args.http[1]}: {error.strerror or error}\n"
        )
        return 1
    for line in summary.lines():
        sys.stdout.write(line + "\n")
    return 0 if summary.undelivered == 0 else 1


# --------------------------------------------------------------------------- plot
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1d`` (or plain seconds) in seconds."""
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h, 1d)") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text!r}")
    return seconds


def _plot(args: argparse.Namespace) -> int:
    from .plot import PlotError, plot_source

    try:
        result = plot_source(
            args.source, args.codenames, since=args.since, output=args.output, log=args.log, table=args.table
        )
    except PlotError as error:
        sys.stderr.write(f"plot: {error}\n")
        return 1
    sys.stdout.write(f"{result.output}: {', '.join(f'{c} ({n} points)' for c, n in result.counts.items())}\n")
    return 0


def _check_script(args: argparse.Namespace) -> int:
    from .script_check import check_script

    reports = [check_script(path) for path in args.scripts]
    for report in reports:
        sys.stdout.write(report.render())
    ready = sum(report.ready for report in reports)
    if any(report.needs_checkout for report in reports):
        from ..upstream import HOW_TO_ADD

        sys.stdout.write(f"missing modules: {HOW_TO_ADD}\n")
    sys.stdout.write(f"{ready} of {len(reports)} script(s) ready\n")
    return 0 if ready == len(reports) else 1


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyexplabsys-logger", description="Resilient data logging from lab instruments."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the logging service for a configuration")
    run.add_argument("config", help="the setup's TOML file")
    run.add_argument(
        "--http",
        metavar="ADDR",
        type=_http_address,
        help="serve the live page on ADDR (host:port; port 0: any free port), instead of [service] http",
    )
    run.set_defaults(func=_run)

    check = commands.add_parser("check", help="validate a configuration without starting")
    check.add_argument("config")
    check.add_argument(
        "--connect", action="store_true", help="also check the database, the codenames and the serial ports"
    )
    check.set_defaults(func=_check)

    init = commands.add_parser("init-db", help="create the tables and codenames of a configuration")
    init.add_argument("config")
    init.set_defaults(func=_init_db)

    status = commands.add_parser("status", help="print the running service's status")
    status.add_argument("config", nargs="?")
    status.add_argument("--state-dir", help="the service's state directory")
    status.add_argument("--json", action="store_true", help="also print the raw status")
    status.set_defaults(func=_status)

    demo = commands.add_parser("demo", help="simulated instruments logged into an SQLite file")
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to log (default 10)")
    demo.add_argument("--db", default="demo.sqlite", help="SQLite file (default demo.sqlite)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no live status table")
    demo.add_argument(
        "--http",
        metavar="ADDR",
        type=_http_address,
        help="serve the live page on ADDR (host:port; port 0: any free port)",
    )
    demo.set_defaults(func=_demo)

    plot = commands.add_parser("plot", help="draw logged values into a PNG (needs matplotlib)")
    plot.add_argument("source", help="a service configuration (.toml) or an SQLite file")
    plot.add_argument("codenames", nargs="+", metavar="CODENAME")
    plot.add_argument(
        "--since", default="2h", type=_duration, help="how far back, e.g. 90s, 30m, 2h, 1d (default 2h)"
    )
    plot.add_argument("-o", "--output", default="plot.png", help="the PNG file (default plot.png)")
    plot.add_argument(
        "--log",
        action="store_true",
        help="log scale on y (automatic when a series spans more than two decades)",
    )
    plot.add_argument("--table", help="the data table of an SQLite file (when it has several)")
    plot.set_defaults(func=_plot)

    script = commands.add_parser(
        "check-script", help="where each PyExpLabSys import of lab scripts comes from; Python 3 problems"
    )
    script.add_argument("scripts", nargs="+", metavar="SCRIPT.py")
    script.set_defaults(func=_check_script)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if args.command == "demo" and not args.verbose:
        logging.getLogger("PyExpLabSys").setLevel(logging.ERROR)  # the table shows errors
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
