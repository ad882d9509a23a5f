"""The backends' registry: the one place that knows each database backend.

An entry names a backend (``[database] backend = "..."`` in a service configuration),
says where its class lives (imported only when that backend is used, so checking an
SQLite configuration never imports PyMySQL or pyodbc), which settings it takes, whether
it needs a password, and how it describes itself before it is built. The service's
configuration validates a backend's options from its entry; every backend is built
through :func:`build`, called by the composition root :mod:`PyExpLabSys.assembly` (for
the façades, the service, ``check``, ``init-db`` and ``plot``).

Adding a backend is one module with a :class:`~.base.Backend` subclass that implements
``from_settings`` (and ``create_tables`` for ``init-db``), plus one entry below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .base import Backend, BackendConfigError, BackendSettings
from .nodes import DEFAULT_HOST, DEFAULT_PORT, parse_nodes
from .schema import DEFAULT_DATABASE, ENGINES
from .tls import tls_of

__all__ = [
    "REGISTRY",
    "BackendConfigError",
    "BackendEntry",
    "BackendSettings",
    "Option",
    "build",
    "entry",
]


@dataclass(frozen=True)
class Option:
    """One setting of a backend, as written in the ``[database]`` table."""

    name: str
    kind: type | tuple[type, ...]
    default: Any = None
    #: When set, the option is required and this says what is missing ("a user").
    required: str | None = None
    #: Returns what is wrong with a value, or None when it is fine.
    check: Callable[[Any], str | None] | None = None
    #: A file path, relative to the configuration file.
    is_path: bool = False
    #: Only for creating the tables (``init-db``), not for connecting.
    layout: bool = False


@dataclass(frozen=True)
class BackendEntry:
    """One registered backend."""

    name: str
    #: ``module:Class`` of the Backend subclass, imported on first use.
    target: str
    options: tuple[Option, ...]
    needs_password: bool
    #: How a configuration of this backend is described (``str.format`` of the table
    #: and the options), for ``check``, ``init-db`` and status; never a password.
    describe_format: str
    summary: str = ""
    #: Checks the options together (after each one's own check): what is wrong, or None.
    validate: Callable[[Mapping[str, Any]], str | None] | None = None

    def backend_class(self) -> type[Backend]:
        """The Backend subclass (its module is imported now)."""
        module_name, _, class_name = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise BackendConfigError(f"the {self.name} backend cannot be loaded: {error}") from None
        cls: type[Backend] = getattr(module, class_name)
        return cls

    @property
    def option_names(self) -> set[str]:
        return {option.name for option in self.options}

    def defaults(self) -> dict[str, Any]:
        return {option.name: option.default for option in self.options}

    def layout_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The table-layout options (engine, time precision …) for ``create_tables``."""
        return {o.name: options.get(o.name, o.default) for o in self.options if o.layout}

    def describe(self, table: str, options: Mapping[str, Any]) -> str:
        return self.describe_format.format(table=table, **{**self.defaults(), **options})


def _hosts(value: str | list[str]) -> str | None:
    """One host, or several nodes of one Galera cluster ("db1:3306,db2" or a list)."""
    try:
        parse_nodes(value, DEFAULT_PORT)
    except ValueError as error:
        return str(error)
    return None


def _tcp_port(value: int) -> str | None:
    return None if 0 < value < 65536 else f"must be a TCP port 1..65535, not {value}"


def _engine(value: str) -> str | None:
    if value.upper() in {engine.upper() for engine in ENGINES}:
        return None
    return f"unsupported engine {value!r} ({', '.join(ENGINES[:-1])} or {ENGINES[-1]})"


def _time_precision(value: int) -> str | None:
    return None if 0 <= value <= 6 else f"must be 0 to 6, not {value}"


def _tls(options: Mapping[str, Any]) -> str | None:
    try:
        tls_of(options)
    except ValueError as error:
        return str(error)
    return None


#: TLS to the server (MySQL and ODBC alike); see :mod:`.tls`.
_TLS = (
    Option("ssl_ca", str, is_path=True),
    Option("ssl_cert", str, is_path=True),
    Option("ssl_key", str, is_path=True),
    Option("ssl_verify_identity", bool, False),
)

#: How a new MySQL/MariaDB table is laid out by ``init-db`` (MySQL and ODBC alike).
_LAYOUT = (
    Option("engine", str, "InnoDB", check=_engine, layout=True),
    Option("time_precision", int, 6, check=_time_precision, layout=True),
)

REGISTRY: dict[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry(
            "sqlite",
            "PyExpLabSys.backends.sqlite:SQLiteBackend",
            (Option("path", str, required="the database file's path", is_path=True),),
            needs_password=False,
            describe_format="sqlite {path}:{table}",
            summary="an SQLite file (the embedded default; no server)",
        ),
        BackendEntry(
            "mysql",
            "PyExpLabSys.backends.mysql:MySQLBackend",
            (
                Option("user", str, required="a user"),
                Option("host", (str, list), DEFAULT_HOST, check=_hosts),
                Option("port", int, DEFAULT_PORT, check=_tcp_port),
                Option("database", str, DEFAULT_DATABASE),
                *_TLS,
                *_LAYOUT,
            ),
            needs_password=True,
            describe_format="mysql {user}@{host}:{port}/{database}.{table}",
            summary="MySQL/MariaDB through PyMySQL",
            validate=_tls,
        ),
        BackendEntry(
            "odbc",
            "PyExpLabSys.backends.odbc:OdbcBackend",
            (
                Option("dsn", str, required="a DSN"),
                Option("user", str),
                Option("host", (str, list), check=_hosts),
                Option("port", int, check=_tcp_port),
                Option("database", str),
                *_TLS,
                *_LAYOUT,
            ),
            needs_password=True,
            describe_format="odbc DSN={dsn}:{table}",
            summary="MySQL/MariaDB through an ODBC data source (pyodbc)",
            validate=_tls,
        ),
        BackendEntry(
            "service",
            "PyExpLabSys.points.client:ServiceBackend",
            (Option("socket", str, required="the points socket of the service", is_path=True),),
            needs_password=False,
            describe_format="the service at {socket}",
            summary="the logging service on this PC, through its points socket",
        ),
    )
}


def entry(name: str) -> BackendEntry:
    """The registered backend ``name``; BackendConfigError naming the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise BackendConfigError(f"unknown backend {name!r}; choose from {', '.join(REGISTRY)}") from None


def build(name: str, settings: BackendSettings) -> Backend:
    """The backend ``name`` built from ``settings`` (not connected yet)."""
    registered = entry(name)
    options = {**registered.defaults(), **settings.options}
    try:
        return registered.backend_class().from_settings(replace(settings, options=options))
    except BackendConfigError:
        raise
    except ValueError as error:  # a setting the backend cannot use (a missing file …)
        raise BackendConfigError(f"{name} backend: {error}") from None
