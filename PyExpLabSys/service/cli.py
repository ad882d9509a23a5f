"""``pyexplabsys-logger``: the command line of the logging service.

Sub-commands:

* ``run CONFIG``: run the service until SIGTERM/SIGINT (what the systemd unit starts);
* ``check CONFIG [--connect]``: validate the file; with ``--connect`` also reach the
  database, translate the codenames and read each channel once from its port;
* ``init-db CONFIG``: create the tables (``TIMESTAMP(6)`` for new MySQL tables) and
  register the codenames;
* ``status CONFIG`` (or ``--state-dir DIR``): print the running service's status file;
* ``demo``: simulated instruments on pseudo-terminals, logged through the real drivers
  into an SQLite file, with a live status table.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .config import ConfigError, ServiceConfig, load_config, state_directory

LOG = logging.getLogger(__name__)

__all__ = ["main", "build_parser", "format_status"]


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
def _run(args: argparse.Namespace) -> int:
    from .runner import EXIT_START, run_service

    config = _load(args.config)
    return EXIT_START if config is None else run_service(config)


# --------------------------------------------------------------------------- check
def _check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    out = sys.stdout
    out.write(f"{config.path}: ok: {len(config.instruments)} instrument(s), "
              f"{len(config.codenames)} codename(s), database {config.database.describe()}\n")
    if not args.connect:
        return 0
    failures = _check_database(config, out) + sum(_check_instrument(i, out) for i in config.instruments)
    out.write("all checks passed\n" if not failures else f"{failures} check(s) failed\n")
    return 0 if not failures else 1


def _check_database(config: ServiceConfig, out: TextIO) -> int:
    from ..backends.base import BackendError
    from .runner import build_backend

    try:
        backend = build_backend(config)
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


def _check_instrument(instrument: Any, out: TextIO) -> int:
    from ..drivers.base import InstrumentError, reading_name

    try:
        driver = instrument.open()
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
                out.write(f"ok   {instrument.name} {channel.codename}: {result}\n")
    return failures


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
    sys.stdout.write(f"{config.database.describe()}: tables ready; codenames: "
                     + ", ".join(f"{c}={i}" for c, i in ids.items()) + "\n")
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
    """The live table: one row per codename (points, reads, errors, last value, age),
    then the queue and commits."""
    now = time.time()
    if status.get("fresh", True):
        stale = ""
    elif status.get("state") == "stopped":
        stale = "  (NOT RUNNING: stopped)"
    else:
        stale = f"  (STALE: written {status.get('age', 0):.0f} s ago, not running?)"
    lines = [f"{status['name']}: {status['summary']}{stale}",
             f"  {'codename':<28} {'instrument':<14} {'points':>7} {'reads':>7} {'errors':>6} "
             f"{'last value':>12} {'age':>6}"]
    for instrument in status["instruments"]:
        for ch in instrument["channels"]:
            age = "-" if ch["last_read_time"] is None else f"{now - ch['last_read_time']:.1f}s"
            lines.append(f"  {ch['codename']:<28} {instrument['name']:<14} {ch['points']:>7} "
                         f"{ch['reads']:>7} {ch['errors']:>6} {_fmt(ch['last_value']):>12} {age:>6}")
        if instrument["last_error"] and instrument["error_streak"]:
            lines.append(f"    {instrument['name']}: {instrument['last_error']}")
    logger = status.get("logger")
    if logger:
        lines.append(f"  queue {logger['queued']}, committed {logger['committed']} in "
                     f"{logger['batches']} batches, reconnects {logger['reconnects']}, "
                     f"database {'connected' if logger['connected'] else 'DISCONNECTED'}"
                     + (f", last error: {logger['last_error']}" if logger["last_error"] else ""))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- demo
def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    stop = threading.Event()
    live = None
    if not args.quiet:
        tty = sys.stdout.isatty()

        def live(status: dict[str, Any]) -> None:
            sys.stdout.write(("\x1b[H\x1b[J" if tty else "") + format_status(status))
            sys.stdout.flush()

    try:
        summary = run_demo(seconds=args.seconds, path=args.db, progress=live, stop=stop)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
    for line in summary.lines():
        sys.stdout.write(line + "\n")
    return 0 if summary.undelivered == 0 else 1


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyexplabsys-logger", description="Resilient data logging from lab instruments."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the logging service for a configuration")
    run.add_argument("config", help="the setup's TOML file")
    run.set_defaults(func=_run)

    check = commands.add_parser("check", help="validate a configuration without starting")
    check.add_argument("config")
    check.add_argument("--connect", action="store_true",
                       help="also check the database, the codenames and the serial ports")
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
    demo.set_defaults(func=_demo)
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
