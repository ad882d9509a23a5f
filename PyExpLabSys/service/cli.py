"""``pyexplabsys-logger``: the command line of the logging service.

Sub-commands: ``demo`` (synthetic signals into an SQLite file, the README's first
command). The service sub-commands (``run``, ``check``, ``init-db``, ``status``) come
with the service configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    summary = run_demo(seconds=args.seconds, path=args.db, progress=not args.quiet)
    for line in summary.lines():
        sys.stdout.write(line + "\n")
    return 0 if summary.undelivered == 0 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyexplabsys-logger", description="Resilient data logging from lab instruments."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="log synthetic signals into an SQLite file")
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to log (default 10)")
    demo.add_argument("--db", default="demo.sqlite", help="SQLite file (default demo.sqlite)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
