"""What a socket's ``status`` command tells about this PC (upstream's ``system_status``
items that need no extra tools: threads, Python, uptime, load, disk, memory, OS).

Each item is read when asked; one that cannot be read is None, never an error.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .registry import socket_server_status

LOG = logging.getLogger(__name__)

__all__ = ["complete_status", "status_text"]


def _git_fetch_times() -> dict[str, float | None]:
    """When the PyExpLabSys and machines checkouts were last fetched (None: not a
    checkout); upstream's bootstrap keeps both in the home directory."""
    times: dict[str, float | None] = {}
    for name, path in (
        ("PyExpLabSys", Path(__file__).resolve().parents[2] / ".git" / "FETCH_HEAD"),
        ("machines", Path.home() / "machines" / ".git" / "FETCH_HEAD"),
    ):
        times[name] = path.stat().st_mtime if path.is_file() else None
    return times


def _uptime() -> dict[str, float]:
    uptime, idle = Path("/proc/uptime").read_text().split()[:2]
    return {"uptime_sec": float(uptime), "idle_sec": float(idle)}


def _load_average() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": one, "5m": five, "15m": fifteen}


def _filesystem_usage() -> dict[str, int]:
    usage = shutil.disk_usage(Path(__file__).resolve().parent)
    return {"total_bytes": usage.total, "free_bytes": usage.free}


def _max_memory() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _apt_cache_change() -> float:
    return Path("/var/cache/apt/pkgcache.bin").stat().st_mtime


_ITEMS: dict[str, Callable[[], Any]] = {
    "last_git_fetch_unixtime": _git_fetch_times,
    "number_of_python_threads": threading.active_count,
    "python_version": lambda: sys.version.split()[0],
    "machine_name": socket.gethostname,
    "os_version": platform.platform,
}
if sys.platform.startswith("linux"):
    _ITEMS.update(
        uptime=_uptime,
        load_average=_load_average,
        filesystem_usage=_filesystem_usage,
        max_python_mem_usage_bytes=_max_memory,
        last_apt_cache_change_unixtime=_apt_cache_change,
    )


def complete_status() -> dict[str, Any]:
    """Every item this platform has, by upstream's names."""
    status: dict[str, Any] = {}
    for name, read in _ITEMS.items():
        try:
            status[name] = read()
        except Exception as error:  # a missing /proc file, an odd platform: None
            LOG.debug("system status %s: %s", name, error)
            status[name] = None
    return status


def status_text() -> str:
    """The reply to the ``status`` command: this PC, and every socket server of this
    process (JSON)."""
    return json.dumps({"system_status": complete_status(), "socket_server_status": socket_server_status()})
