"""PyExpLabSys's Python-version markers: a lab module says which Pythons it supports.

``python2_and_3(__file__)``, ``python3_only(__file__)`` and ``python2_only(__file__)``
only warn (``warnings.warn``) when the running interpreter is outside the named range;
they never raise, so a script that calls them at import keeps running. Nothing is
printed while Sphinx builds documentation.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "PY2_CHECK",
    "PY2_MIN_VERSION",
    "PY2_OR_3_CHECK",
    "PY3_CHECK",
    "PY3_MIN_VERSION",
    "python2_and_3",
    "python2_only",
    "python3_only",
]

#: The oldest supported version in each series.
PY2_MIN_VERSION = (2, 7)
PY3_MIN_VERSION = (3, 3)


def _in_series(minimum: tuple[int, int]) -> bool:
    return sys.version_info[0] == minimum[0] and sys.version_info[1] >= minimum[1]


PY2_CHECK = _in_series(PY2_MIN_VERSION)
PY3_CHECK = _in_series(PY3_MIN_VERSION)
PY2_OR_3_CHECK = PY2_CHECK or PY3_CHECK


def _building_docs() -> bool:
    return os.environ.get("READTHEDOCS") == "True" or "sphinx" in sys.modules


def _warn(filepath: str, *ranges: tuple[int, int]) -> None:
    if _building_docs():
        return
    wanted = " or ".join(f"Python {major}.{minor} or later in the {major} series" for major, minor in ranges)
    running = ".".join(str(part) for part in sys.version_info[:3])
    warnings.warn(
        f"the module {filepath!r} supports only {wanted}; this is Python {running}: your mileage may vary",
        stacklevel=3,
    )


def python2_only(filepath: str) -> None:
    """Warn unless this is Python 2.7 or later in the 2 series."""
    if not PY2_CHECK:
        _warn(filepath, PY2_MIN_VERSION)


def python3_only(filepath: str) -> None:
    """Warn unless this is Python 3.3 or later."""
    if not PY3_CHECK:
        _warn(filepath, PY3_MIN_VERSION)


def python2_and_3(filepath: str) -> None:
    """Warn unless this is Python 2.7+ or 3.3+."""
    if not PY2_OR_3_CHECK:
        _warn(filepath, PY2_MIN_VERSION, PY3_MIN_VERSION)
