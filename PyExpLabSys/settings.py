"""Where the database server is: keyword arguments, environment, user settings, defaults.

The order is the one PyExpLabSys lab scripts rely on: an explicit argument wins, then the
environment variables ``PYEXPLABSYS_SQL_SERVER_HOST``, ``PYEXPLABSYS_SQL_SERVER_PORT`` and
``PYEXPLABSYS_SQL_DATABASE``, then the user settings file
``~/.config/PyExpLabSys/user_settings.yaml`` (keys ``sql_server_host``,
``sql_server_port``, ``sql_database``), then localhost:3306, database ``cinfdata``.
A value assigned at run time on a :class:`Settings` object (PyExpLabSys's settings
object) comes right after an explicit argument.

:class:`Settings` is PyExpLabSys's settings object: the defaults (:data:`DEFAULTS`),
under the user settings file, under what the environment says of the server, under
what a script assigned; read and assigned as attributes, shared by every instance.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

from .backends.nodes import DEFAULT_HOST, DEFAULT_PORT  # the defaults, written once there
from .backends.schema import DEFAULT_DATABASE

LOG = logging.getLogger(__name__)

__all__ = ["DEFAULTS", "ServerLocation", "Settings", "resolve_server_location", "user_settings_path"]

_ENV = {
    "host": "PYEXPLABSYS_SQL_SERVER_HOST",
    "port": "PYEXPLABSYS_SQL_SERVER_PORT",
    "database": "PYEXPLABSYS_SQL_DATABASE",
}
_SETTINGS_KEYS = {"host": "sql_server_host", "port": "sql_server_port", "database": "sql_database"}

#: PyExpLabSys's settings and their defaults, written once; None means the setting must
#: be given (user settings file or assignment) before it is read.
DEFAULTS: dict[str, Any] = {
    "sql_server_host": DEFAULT_HOST,
    "sql_server_port": DEFAULT_PORT,
    "sql_database": DEFAULT_DATABASE,
    "common_sql_reader_user": None,
    "common_sql_reader_password": None,
    "common_liveserver_host": None,
    "common_liveserver_port": None,
    "util_log_warning_email": None,
    "util_log_error_email": None,
    "util_log_mail_host": None,
    "util_log_max_emails_per_period": 5,
    "util_log_email_throttle_time": 86400,
    "util_log_backlog_limit": 250,
}


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
            value = Settings.assigned().get(_SETTINGS_KEYS[key])
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


class Settings:
    """PyExpLabSys's settings object: ``Settings().sql_server_host``, assignable.

    Every instance shares one state: a :class:`~collections.ChainMap` of what scripts
    assigned, the server named by the environment, the user settings file (read once,
    at the first instance) and :data:`DEFAULTS`. Only known names (a default or a key
    of the user file) can be assigned; reading a setting whose value is still None (it
    has no default) raises AttributeError saying where to set it.
    """

    #: The shared layers: assigned, environment, user file, defaults (None until loaded).
    settings: ClassVar[ChainMap[str, Any] | None] = None
    #: Every known setting name.
    settings_names: ClassVar[list[str]] = []
    _lock: ClassVar[threading.RLock] = threading.RLock()

    def __init__(self) -> None:
        with self._lock:
            if Settings.settings is None:
                Settings.load()

    @classmethod
    def load(cls, settings_file: Path | None = None) -> None:
        """(Re)read the user settings file and the environment; forget assignments."""
        with cls._lock:
            path = settings_file or user_settings_path()
            user = _read_user_settings(path)
            environment: dict[str, Any] = {
                _SETTINGS_KEYS[key]: os.environ[name] for key, name in _ENV.items() if os.environ.get(name)
            }
            if "sql_server_port" in environment:
                environment["sql_server_port"] = int(environment["sql_server_port"])
            Settings.settings = ChainMap({}, environment, user, dict(DEFAULTS))
            Settings.settings_names = sorted(Settings.settings)
            LOG.debug("settings loaded from %s and the defaults", path)

    @classmethod
    def assigned(cls) -> dict[str, Any]:
        """What scripts assigned at run time (a copy; empty before the first instance)."""
        with cls._lock:
            return {} if cls.settings is None else dict(cls.settings.maps[0])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle: not settings
            raise AttributeError(name)
        with self._lock:
            settings = Settings.settings
            if settings is None or name not in settings:
                raise AttributeError(
                    f"no setting named {name!r}; the settings are: {', '.join(Settings.settings_names)}"
                )
            value = settings[name]
        if value is None:
            raise AttributeError(
                f"the setting {name!r} has no default and must be set first: in the user settings "
                f"file {user_settings_path()} or by assigning it on a Settings object"
            )
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        with self._lock:
            settings = Settings.settings
            if settings is None or name not in settings:
                raise AttributeError(
                    f"only known settings can be set, not {name!r}; they are: "
                    f"{', '.join(Settings.settings_names)}"
                )
            settings.maps[0][name] = value

    def as_dict(self) -> dict[str, Any]:
        """Every setting with its current value (None: not set)."""
        with self._lock:
            return dict(Settings.settings or {})

    def print_settings(self, stream: TextIO | None = None) -> None:
        """Write every setting with its default and current value to ``stream`` (standard
        output: the caller asked to see them); passwords are shown as ``*****``."""
        out = stream or sys.stdout
        out.write("Settings\n")
        for name, value in sorted(self.as_dict().items()):
            default = DEFAULTS.get(name)
            if "password" in name:
                default, value = ("*****" if default else default), ("*****" if value else value)
            out.write(f"{name}: default {default!r}, now {value!r}\n")
