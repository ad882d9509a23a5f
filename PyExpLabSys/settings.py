"""Where the database server is: keyword arguments, environment, user settings, defaults.

The order is the one PyExpLabSys lab scripts rely on: an explicit argument wins, then the
environment variables ``PYEXPLABSYS_SQL_SERVER_HOST``, ``PYEXPLABSYS_SQL_SERVER_PORT`` and
``PYEXPLABSYS_SQL_DATABASE``, then the user settings file
``~/.config/PyExpLabSys/user_settings.yaml`` (keys ``sql_server_host``,
``sql_server_port``, ``sql_database``), then localhost:3306, database ``cinfdata``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backends.nodes import DEFAULT_HOST, DEFAULT_PORT  # the defaults, written once there
from .backends.schema import DEFAULT_DATABASE

LOG = logging.getLogger(__name__)

__all__ = ["ServerLocation", "resolve_server_location", "user_settings_path"]

_ENV = {
    "host": "PYEXPLABSYS_SQL_SERVER_HOST",
    "port": "PYEXPLABSYS_SQL_SERVER_PORT",
    "database": "PYEXPLABSYS_SQL_DATABASE",
}
_SETTINGS_KEYS = {"host": "sql_server_host", "port": "sql_server_port", "database": "sql_database"}


@dataclass(frozen=True)
class ServerLocation:
    """Host, port and database of the MySQL/MariaDB server."""

    host: str  # one host, or several nodes: "db1:3306,db2:3306,db3"
    port: int
    database: str
    #: The host entries as given (a list stays a list): what a backend parses into nodes.
    hosts: str | tuple[str, ...] = ""

    def __post_init__(self) -> None:
        if not self.hosts:
            object.__setattr__(self, "hosts", self.host)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def user_settings_path() -> Path:
    """The PyExpLabSys user settings file (honours ``XDG_CONFIG_HOME``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "PyExpLabSys" / "user_settings.yaml"


def _read_user_settings(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import yaml  # only needed when the file exists

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        LOG.warning("ignoring unreadable user settings file %s: %s", path, error)
        return {}
    if not isinstance(data, dict):
        LOG.warning("ignoring user settings file %s: it is not a mapping", path)
        return {}
    return data


def resolve_server_location(
    host: str | list[str] | tuple[str, ...] | None = None,
    port: int | str | None = None,
    database: str | None = None,
    settings_file: Path | None = None,
) -> ServerLocation:
    """Fill in what the caller did not give from the environment, settings file, defaults."""
    given = {"host": host, "port": port, "database": database}
    settings: dict[str, Any] | None = None
    defaults = {"host": DEFAULT_HOST, "port": DEFAULT_PORT, "database": DEFAULT_DATABASE}
    resolved: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            value = os.environ.get(_ENV[key]) or None
        if value is None:
            if settings is None:
                settings = _read_user_settings(settings_file or user_settings_path())
            value = settings.get(_SETTINGS_KEYS[key])
        resolved[key] = defaults[key] if value is None else value
    hosts = resolved["host"]
    if isinstance(hosts, (list, tuple)):  # several nodes: shown joined, parsed as a list
        hosts = tuple(str(entry) for entry in hosts)
        resolved["host"] = ",".join(hosts)
    try:
        resolved["port"] = int(resolved["port"])
    except (TypeError, ValueError):
        raise ValueError(f"database port must be an integer, got {resolved['port']!r}") from None
    return ServerLocation(str(resolved["host"]), resolved["port"], str(resolved["database"]), hosts)
