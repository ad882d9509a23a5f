"""What the page and ``/status.json`` show of a status snapshot: no absolute paths, no pid.

The status file in the state directory (read by ``pyexplabsys-logger status``) keeps
everything; what is served over HTTP names files relative to the state directory, or
by their file name when they live elsewhere, and leaves the process id out, so the page
tells nobody how the PC's file system is laid out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["public_snapshot"]

#: Keys left out of what is served.
PRIVATE_KEYS = frozenset({"pid"})
# An absolute path: a slash at the start or after white space, "=", "(" or a quote (so
# "host:3306/db", "http://host/x" and markup like "</b>" are not paths), then path
# characters.
_PATH = re.compile(r"(?<![^\s=(\"'])/[\w.\-/@+~%]+")


def public_snapshot(snapshot: Any, base: Path | None) -> Any:
    """A copy of ``snapshot`` without private keys, each absolute path in its strings
    made relative to ``base`` (or cut to its file name)."""
    if isinstance(snapshot, dict):
        return {k: public_snapshot(v, base) for k, v in snapshot.items() if k not in PRIVATE_KEYS}
    if isinstance(snapshot, list):
        return [public_snapshot(v, base) for v in snapshot]
    if isinstance(snapshot, str) and "/" in snapshot:
        return _PATH.sub(lambda match: _shown(match.group(0), base), snapshot)
    return snapshot


def _shown(path: str, base: Path | None) -> str:
    if base is not None:
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            pass
    return Path(path).name or path
