"""The composition root: where a backend and a logger are put together from plain settings.

Everyone who needs a database connection or a logger asks here, and nowhere else is one
chosen or built:

- the ``ContinuousLogger``/``ContinuousDataSaver`` façades (:func:`script_backend`: a lab
  script's arguments, environment and user settings decide the backend);
- the service runner (:func:`service_logger`), ``check`` (:func:`database_backend`),
  ``init-db`` (:func:`create_tables`) and ``plot`` (:func:`database_backend`,
  :func:`sqlite_file_backend`), from a parsed configuration;
- the pytest plugin, through the one documented parameter :func:`backends_from`.

Backends are built by name through the backends' registry (:mod:`.backends.registry`),
never by importing their modules here; secrets are read here, when a backend is built,
and never kept in a configuration object.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends import registry
from .backends.base import Backend, BackendConfigError, BackendSettings
from .backends.rows import CLASSIC, RowShape
from .datalog.logger import DataLogger, StartupException
from .datalog.policies import SpoolPolicy
from .settings import resolve_server_location
from .values import Timeouts

if TYPE_CHECKING:  # a lab script's logger never needs the service's configuration
    from .service.config import DatabaseConfig, ServiceConfig

LOG = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CREDENTIAL",
    "SERVICE_SOCKET_ENV",
    "BackendFactory",
    "backends_from",
    "build_backend",
    "create_tables",
    "database_backend",
    "read_password",
    "script_backend",
    "service_logger",
    "sqlite_file_backend",
]

#: Points go to the logging service's socket named here, for scripts that cannot be
#: edited (as ``ContinuousLogger(..., service=path)`` does).
SERVICE_SOCKET_ENV = "PYEXPLABSYS_LOGGER_SOCKET"

#: The systemd credential that holds the database password when the configuration
#: names neither a file nor a credential.
DEFAULT_CREDENTIAL = "db-password"

#: Builds the backend of a lab script's logger from its table name (see
#: :func:`backends_from`); a data-set saver's is asked for with ``rows=DATA_SET``.
BackendFactory = Callable[..., Backend]

_factories: list[BackendFactory] = []
_factories_lock = threading.Lock()


@contextlib.contextmanager
def backends_from(factory: BackendFactory) -> Iterator[None]:
    """While the block runs, every logger a lab script builds without ``backend=``
    gets ``factory(table)`` as its backend instead of the database its settings name.

    This is how the pytest plugin's ``mock_database`` fixture routes unchanged scripts
    into the mock (and how a lab's own test harness can route them anywhere). Blocks
    nest: the innermost factory is used. The service, ``check``, ``init-db`` and
    ``plot`` build from their configuration and are not affected.
    """
    with _factories_lock:
        _factories.append(factory)
    try:
        yield
    finally:
        with _factories_lock:
            _factories.remove(factory)


def build_backend(
    name: str,
    table: str,
    options: Mapping[str, Any],
    password: str | None = None,
    timeouts: Timeouts = Timeouts(),
    logger_id: str | None = None,
) -> Backend:
    """The registered backend ``name`` (not connected); BackendConfigError naming what
    is wrong with its settings."""
    return registry.build(name, BackendSettings(table, options, password, timeouts, logger_id))


# --------------------------------------------------------------------------- lab scripts
def script_backend(
    table: str,
    username: str,
    password: str,
    *,
    dsn: str | None = None,
    host: str | list[str] | tuple[str, ...] | None = None,
    port: int | None = None,
    database: str | None = None,
    tls: Mapping[str, Any] | None = None,
    service: str | Path | None = None,
    timeouts: Timeouts = Timeouts(),
    logger_id: str | None = None,
    rows: RowShape = CLASSIC,
) -> Backend:
    """The backend of a lab script's logger, from its arguments.

    In this order: a factory of :func:`backends_from`; the logging service's points
    socket (``service``, else ``$PYEXPLABSYS_LOGGER_SOCKET``); the ODBC data source
    ``dsn``; else MySQL/MariaDB through PyMySQL at the server that the arguments, the
    environment or the user settings name (:func:`~.settings.resolve_server_location`).
    ``rows`` is the shape of the table (:mod:`.backends.rows`): a data-set saver's
    x-y values table is written directly, never through the service (whose points
    socket carries continuous points). Raises
    :class:`~.datalog.logger.StartupException` naming what is wrong.
    """
    with _factories_lock:
        factory = _factories[-1] if _factories else None
    if factory is not None:
        return factory(table) if rows is CLASSIC else factory(table, rows=rows)
    tls = dict(tls or {})
    service = None if rows is not CLASSIC else service or os.environ.get(SERVICE_SOCKET_ENV) or None
    options: dict[str, Any]
    if service is not None:
        name, options = "service", {"socket": service}
    elif dsn is not None:
        name = "odbc"
        options = {"dsn": dsn, "user": username, "host": host, "port": port, "database": database, **tls}
    else:
        location = resolve_server_location(host, port, database)
        name = "mysql"
        options = {
            "user": username,
            "host": location.hosts,
            "port": location.port,
            "database": location.database,
            **tls,
        }
    if rows is not CLASSIC:  # not a configuration option: the SQL backends take it as is
        options["rows"] = rows
    try:
        return build_backend(name, table, options, password, timeouts, logger_id)
    except BackendConfigError as error:
        raise StartupException(str(error)) from None


# --------------------------------------------------------------------------- configurations
def read_password(database: DatabaseConfig, environ: Mapping[str, str] | None = None) -> str:
    """The database password of a configuration: inline, from its file, or from the
    systemd credential in ``$CREDENTIALS_DIRECTORY``.

    Raises ``ValueError`` naming where it looked, never the secret.
    """
    environ = os.environ if environ is None else environ
    if database.password_inline is not None:
        return database.password_inline
    if database.password_file is not None:
        source = database.password_file
    else:
        credential = database.password_credential or DEFAULT_CREDENTIAL
        directory = environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ValueError(
                f"no database password: credential {credential!r} needs "
                "$CREDENTIALS_DIRECTORY (systemd LoadCredential=); outside systemd "
                "set database.password_file"
            )
        source = Path(directory) / credential
    try:
        return source.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise ValueError(
            f"cannot read the database password from {source}: {error.strerror or error}"
        ) from None


def database_backend(database: DatabaseConfig, environ: Mapping[str, str] | None = None) -> Backend:
    """The backend a ``[database]`` section describes, not connected (the password is
    read now if the backend needs one)."""
    password = read_password(database, environ) if database.needs_password else None
    return build_backend(database.backend, database.table, database.options, password, database.timeouts)


def create_tables(
    database: DatabaseConfig, descriptions: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Create the tables of ``database`` if missing and register ``descriptions``
    (codename → description); codename → type id (``init-db``)."""
    backend = database_backend(database, environ)
    return backend.create_tables(descriptions, **database.entry.layout_options(database.options))


def sqlite_file_backend(path: str | Path, table: str) -> Backend:
    """The backend of the data table ``table`` in the SQLite file ``path`` (``plot``
    of a file such as the demo's)."""
    return build_backend("sqlite", table, {"path": Path(path)})


def service_logger(
    config: ServiceConfig,
    state_dir: Path,
    environ: Mapping[str, str] | None = None,
    backend: Backend | None = None,
) -> DataLogger:
    """The service's logger (not started): the configured backend (or ``backend``), the
    batch policy, the spool and the dead letters in the state directory ``state_dir``.

    Connects and translates the codenames: raises StartupException (database,
    codenames, spool) or ValueError (password).
    """
    if backend is None:
        backend = database_backend(config.database, environ)
    spool: dict[str, Any] = {}
    if config.spool.path is not None:
        path = config.spool.path
        spool = {
            "spool_path": path if path.is_absolute() else state_dir / path,
            "spool": SpoolPolicy(**config.spool.options),
        }
    return DataLogger(
        backend,
        config.codenames,
        timeouts=config.database.timeouts,
        batch=config.batch,
        stop_timeout=config.service.stop_timeout,
        dead_letter_path=state_dir / "dead_letters.jsonl",
        name=f"logger-{config.name}",
        **spool,
    )
