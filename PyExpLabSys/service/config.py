"""The service configuration: one TOML file per setup, validated before anything starts.

Layout (see ``config/*.toml`` for complete examples)::

    [database]          backend = "mysql" | "odbc" | "sqlite"; table; host, port,
                        database, user (mysql); dsn (odbc); path (sqlite);
                        password_file or password_credential (never required inline)
    [spool]             path, group_commit_interval, max_ram_points, max_spool_bytes,
                        overflow = "drop_oldest" | "drop_newest", synchronous
    [service]           state_directory, status_interval, stop_timeout,
                        metrics_port, metrics_host
    [[instruments]]     name, driver, port, timeout, [instruments.serial] (baudrate,
                        bytesize, parity, stopbits: only where they differ)
    [[instruments.channels]]
                        codename, interval, read, args, criterion, threshold,
                        max_interval, low_compare, description

:func:`load_config` collects *every* problem in the file and raises one
:class:`ConfigError` whose lines each name the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial

from ..datalog.criteria import CRITERION_KINDS, LoggingCriterion, make_criterion
from ..datalog.logger import DataLogger
from ..datalog.policies import Timeouts
from ..drivers.base import SerialInstrument
from ..drivers.registry import DRIVERS, SIM_SCHEME, DriverEntry, driver_entry

LOG = logging.getLogger(__name__)

__all__ = [
    "ConfigError",
    "DatabaseConfig",
    "SpoolConfig",
    "ServiceSettings",
    "ChannelConfig",
    "InstrumentConfig",
    "ServiceConfig",
    "load_config",
    "parse_config",
    "driver_class",
    "spool_supported",
    "state_directory",
    "BACKENDS",
]

BACKENDS = ("sqlite", "mysql", "odbc")
OVERFLOW = ("drop_oldest", "drop_newest")
DEFAULT_CREDENTIAL = "db-password"
#: Where a systemd unit's StateDirectory= lives, per config name.
SYSTEM_STATE_ROOT = Path("/var/lib/pyexplabsys-logger")


class ConfigError(ValueError):
    """One or more mistakes in a configuration file; ``problems`` lists them."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class DatabaseConfig:
    """Where points go. The password is read only when it is needed, never stored here
    (only where it comes from)."""

    backend: str = "sqlite"
    table: str = ""
    path: Path | None = None  # sqlite
    host: str = "localhost"
    port: int = 3306
    database: str = "cinfdata"
    user: str | None = None
    dsn: str | None = None  # odbc
    password_file: Path | None = None
    password_credential: str | None = None
    password_inline: str | None = field(default=None, repr=False)
    engine: str = "InnoDB"  # init-db
    time_precision: int = 6  # init-db: microsecond TIMESTAMP(6) for new tables
    timeouts: Timeouts = Timeouts()

    @property
    def needs_password(self) -> bool:
        return self.backend in ("mysql", "odbc")

    def password(self, environ: Mapping[str, str] | None = None) -> str:
        """Read the password from its file or systemd credential (``$CREDENTIALS_DIRECTORY``).

        Raises ``ValueError`` naming where it looked, never the secret.
        """
        environ = os.environ if environ is None else environ
        if self.password_inline is not None:
            return self.password_inline
        if self.password_file is not None:
            source = self.password_file
        else:
            credential = self.password_credential or DEFAULT_CREDENTIAL
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
            raise ValueError(f"cannot read the database password from {source}: "
                             f"{error.strerror or error}") from None

    def describe(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite {self.path}:{self.table}"
        if self.backend == "odbc":
            return f"odbc DSN={self.dsn}:{self.table}"
        return f"mysql {self.user}@{self.host}:{self.port}/{self.database}.{self.table}"


@dataclass(frozen=True)
class SpoolConfig:
    """The durable spool on disk (mapped onto ``DataLogger(spool_path=, spool=SpoolPolicy)``)."""

    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs: its state directory, status cadence, stop bound, metrics."""

    state_directory: Path | None = None
    status_interval: float = 1.0
    stop_timeout: float = 20.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"


@dataclass(frozen=True)
class ChannelConfig:
    """One logged quantity of an instrument: which method to call, how often, and when
    a reading becomes a point."""

    codename: str
    interval: float
    read: str
    args: tuple[Any, ...] = ()
    criterion: str = "always"
    threshold: float = 0.0
    max_interval: float | None = 600.0
    low_compare: float | None = None
    description: str | None = None

    def make_criterion(self) -> LoggingCriterion:
        """A fresh criterion object for this channel."""
        return make_criterion(self.criterion, self.threshold, self.max_interval, self.low_compare)


@dataclass(frozen=True)
class InstrumentConfig:
    """One serial instrument: its driver, port and the channels polled from it."""

    name: str
    driver: str
    port: str
    channels: tuple[ChannelConfig, ...]
    serial: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    def open(self) -> SerialInstrument:
        """Open the driver on the port (raises :class:`~..drivers.base.PortGone`); a
        ``sim://`` port is served by the driver's simulator, started on first use."""
        kwargs = dict(self.serial)
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        port = self.port
        if port.startswith(SIM_SCHEME):
            from ..simulators.registry import simulated_port

            port = simulated_port(port, self.driver)
        return driver_class(self.driver)(port, **kwargs)


@dataclass(frozen=True)
class ServiceConfig:
    """A whole setup: database, spool, service settings and instruments."""

    path: Path
    name: str
    database: DatabaseConfig
    spool: SpoolConfig
    service: ServiceSettings
    instruments: tuple[InstrumentConfig, ...]
    warnings: tuple[str, ...] = ()

    @property
    def channels(self) -> Iterator[ChannelConfig]:
        for instrument in self.instruments:
            yield from instrument.channels

    @property
    def codenames(self) -> list[str]:
        return [channel.codename for channel in self.channels]


# --------------------------------------------------------------------------- helpers
def driver_class(name: str) -> type[SerialInstrument]:
    """The driver class registered under ``name`` (:mod:`PyExpLabSys.drivers.registry`)."""
    return driver_entry(name).cls


def spool_supported() -> bool:
    """Whether this version's DataLogger takes ``spool_path`` (the durable spool)."""
    return "spool_path" in inspect.signature(DataLogger.__init__).parameters


def state_directory(config: ServiceConfig, environ: Mapping[str, str] | None = None) -> Path:
    """Where the service keeps its status file, dead letters and spool.

    The config's ``service.state_directory``; else systemd's ``$STATE_DIRECTORY``; else
    ``/var/lib/pyexplabsys-logger/<name>`` when it exists (the unit's StateDirectory=,
    so ``status`` finds it from a login shell); else ``~/.local/state/pyexplabsys-logger/<name>``.
    """
    environ = os.environ if environ is None else environ
    if config.service.state_directory is not None:
        return config.service.state_directory
    if environ.get("STATE_DIRECTORY"):
        return Path(environ["STATE_DIRECTORY"].split(":")[0])
    system = SYSTEM_STATE_ROOT / config.name
    if system.is_dir():
        return system
    return Path.home() / ".local" / "state" / "pyexplabsys-logger" / config.name


class _Reader:
    """Reads typed keys out of one TOML table and records every problem it finds."""

    def __init__(self, problems: list[str], where: str, table: Any) -> None:
        self.problems = problems
        self.where = where
        self.ok = isinstance(table, dict)
        if not self.ok:
            self.fail("", f"must be a table, not {_type_name(table)}")
            table = {}
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where and key else (self.where or key)

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self.key(key)}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                self.fail(key, "missing (required)")
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(_type_name(k) for k in kinds)
            self.fail(key, f"must be {wanted}, not {_type_name(value)} {value!r}")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(key, f"must be a finite number, not {value!r}")
            return default
        return value

    def positive(self, key: str, default: float | None, required: bool = False) -> Any:
        value = self.get(key, float, default, required)
        if value is not None and key in self.table and not value > 0:
            self.fail(key, f"must be > 0, not {value!r}")
            return default
        return value

    def finish(self) -> None:
        """Complain about keys nobody asked for (typos), suggesting the closest."""
        for key in self.table:
            if key not in self.used:
                close = difflib.get_close_matches(key, self.used, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(key, f"unknown key{hint}; known: {', '.join(sorted(self.used))}")


def _type_name(value: Any) -> str:
    kind = value if isinstance(value, type) else type(value)
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


# --------------------------------------------------------------------------- parsing
def load_config(path: str | Path) -> ServiceConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ConfigError(path, [f"cannot read: {error.strerror or error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"not valid TOML: {error}"]) from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: str | Path) -> ServiceConfig:
    """Validate an already parsed TOML document (``path`` names it in messages and
    anchors relative paths)."""
    path = Path(path)
    base = path.parent
    problems: list[str] = []
    warnings: list[str] = []
    top = _Reader(problems, "", data)
    database = _database(_Reader(problems, "database", top.get("database", dict, required=True) or {}), base, warnings)
    spool = _spool(_Reader(problems, "spool", top.get("spool", dict, {})), base, warnings)
    service = _service(_Reader(problems, "service", top.get("service", dict, {})), base)
    raw_instruments = top.get("instruments", list, required=True) or []
    if "instruments" in data and not raw_instruments:
        top.fail("instruments", "needs at least one [[instruments]] table")
    instruments = tuple(
        inst for index, raw in enumerate(raw_instruments)
        if (inst := _instrument(_Reader(problems, f"instruments[{index}]", raw))) is not None
    )
    top.get("name", str)
    top.finish()
    _check_unique(problems, [(f"instruments[{i}].name", inst.name)
                                            for i, inst in enumerate(instruments)], "instrument name")
    _check_unique(problems, [
        (f"instruments[{i}].channels[{j}].codename", ch.codename)
        for i, inst in enumerate(instruments) for j, ch in enumerate(inst.channels)
    ], "codename")
    if problems:
        raise ConfigError(path, problems)
    for warning in warnings:
        LOG.warning("%s: %s", path, warning)
    return ServiceConfig(path, data.get("name") or path.stem, database, spool, service,
                         instruments, tuple(warnings))


def _check_unique(problems: list[str], keyed: list[tuple[str, str]], noun: str) -> None:
    first: dict[str, str] = {}
    for key, value in keyed:
        if value in first:
            problems.append(f"{key}: duplicate {noun} {value!r} (also at {first[value]})")
        else:
            first[value] = key


def _path(value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _database(r: _Reader, base: Path, warnings: list[str]) -> DatabaseConfig:
    backend = r.get("backend", str, "sqlite")
    if backend not in BACKENDS:
        r.fail("backend", f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    table = r.get("table", str, "", required=True)
    if "table" in r.table and table:
        from ..backends.mysql import quote_identifier

        try:
            quote_identifier(table)
        except ValueError as error:
            r.fail("table", str(error))
    kwargs: dict[str, Any] = {}
    for key in ("host", "database", "user", "dsn", "password_credential", "engine"):
        value = r.get(key, str)
        if value is not None:
            kwargs[key] = value
    port = r.get("port", int, 3306)
    if not 0 < port < 65536:
        r.fail("port", f"must be a TCP port 1..65535, not {port}")
    precision = r.get("time_precision", int, 6)
    if not 0 <= precision <= 6:
        r.fail("time_precision", f"must be 0 to 6, not {precision}")
    sqlite_path = r.get("path", str)
    password_file = r.get("password_file", str)
    inline = r.get("password", str)
    if inline is not None:
        warnings.append("database.password is set inline; prefer password_file or a "
                        "systemd credential (password_credential)")
    if backend == "sqlite" and sqlite_path is None:
        r.fail("path", "missing: the sqlite backend needs the database file's path")
    if backend == "mysql" and "user" not in kwargs:
        r.fail("user", "missing: the mysql backend needs a user")
    if backend == "odbc" and "dsn" not in kwargs:
        r.fail("dsn", "missing: the odbc backend needs a DSN")
    if password_file is not None and "password_credential" in kwargs:
        r.fail("password_file", "give either password_file or password_credential, not both")
    timeouts = Timeouts()
    timeout_table = r.get("timeouts", dict, {})
    if timeout_table:
        t = _Reader(r.problems, r.key("timeouts"), timeout_table)
        values = {name: t.positive(name, getattr(timeouts, name))
                  for name in ("connect", "read", "write", "query", "startup")}
        t.finish()
        try:
            timeouts = Timeouts(**values)
        except ValueError as error:
            t.fail("", str(error))
    engine = kwargs.get("engine", "InnoDB")
    if engine.upper() not in {"INNODB", "MYISAM", "ARIA"}:
        r.fail("engine", f"unsupported engine {engine!r} (InnoDB, MyISAM or Aria)")
    r.finish()
    return DatabaseConfig(
        backend=backend, table=table, path=_path(sqlite_path, base), port=port,
        password_file=_path(password_file, base), password_inline=inline,
        time_precision=precision, timeouts=timeouts, **kwargs,
    )


def _spool(r: _Reader, base: Path, warnings: list[str]) -> SpoolConfig:
    path = r.get("path", str)
    options: dict[str, Any] = {}
    value = r.positive("group_commit_interval", None)
    if value is not None:
        options["group_commit_interval"] = value
    for key in ("max_ram_points", "max_spool_bytes"):
        number = r.get(key, int)
        if number is not None:
            if number <= 0:
                r.fail(key, f"must be > 0, not {number}")
            options[key] = number
    overflow = r.get("overflow", str)
    if overflow is not None:
        if overflow not in OVERFLOW:
            r.fail("overflow", f"must be one of {', '.join(OVERFLOW)}, not {overflow!r}")
        options["overflow"] = overflow
    synchronous = r.get("synchronous", str)
    if synchronous is not None:
        options["synchronous"] = synchronous
    r.finish()
    if r.table and path is None:
        r.fail("path", "missing: the spool needs a path (relative to the state directory)")
    if path is not None and not spool_supported():
        warnings.append("spool: not supported by this version of PyExpLabSys (DataLogger "
                        "has no spool_path); queued points are kept in RAM only")
        return SpoolConfig()
    if path is not None:
        from ..datalog.policies import SpoolPolicy  # type: ignore[attr-defined]

        try:
            SpoolPolicy(**options)
        except (ValueError, TypeError) as error:
            r.fail("", str(error))
    return SpoolConfig(None if path is None else Path(path).expanduser(), options)


def _service(r: _Reader, base: Path) -> ServiceSettings:
    state = r.get("state_directory", str)
    status_interval = r.positive("status_interval", 1.0)
    stop_timeout = r.positive("stop_timeout", 20.0)
    metrics_port = r.get("metrics_port", int)
    if metrics_port is not None and not 0 <= metrics_port < 65536:
        r.fail("metrics_port", f"must be a TCP port 0..65535, not {metrics_port}")
    metrics_host = r.get("metrics_host", str, "127.0.0.1")
    r.finish()
    return ServiceSettings(_path(state, base), status_interval, stop_timeout,
                           metrics_port, metrics_host)


_SERIAL_CHOICES: dict[str, tuple[Any, ...]] = {
    "bytesize": serial.Serial.BYTESIZES,
    "parity": serial.Serial.PARITIES,
    "stopbits": serial.Serial.STOPBITS,
}


def _instrument(r: _Reader) -> InstrumentConfig | None:
    if not r.ok:
        return None
    name = r.get("name", str, None, required=True)
    driver = r.get("driver", str, None, required=True)
    entry = None
    if driver is not None:
        if driver in DRIVERS:
            entry = DRIVERS[driver]
            try:
                entry.cls  # imports the driver's module (and the library it needs)
            except (ImportError, TypeError) as error:
                r.fail("driver", f"driver {driver!r} cannot be loaded: {error}")
                entry = None
        else:
            r.fail("driver", f"unknown driver {driver!r}; known: {', '.join(sorted(DRIVERS))}")
    port = r.get("port", str, "", required=True)
    if "port" in r.table and not port.strip():
        r.fail("port", "must not be empty (a device path or a pyserial URL)")
    if port.startswith(SIM_SCHEME) and driver is not None:
        from ..simulators.registry import simulator_name

        try:
            simulator_name(port, driver)
        except KeyError as error:
            r.fail("port", error.args[0])
    timeout = r.positive("timeout", None)
    settings: dict[str, Any] = {}
    raw_serial = r.get("serial", dict, {})
    if raw_serial:
        s = _Reader(r.problems, r.key("serial"), raw_serial)
        baudrate = s.get("baudrate", int)
        if baudrate is not None:
            if baudrate <= 0:
                s.fail("baudrate", f"must be > 0, not {baudrate}")
            settings["baudrate"] = baudrate
        for key, choices in _SERIAL_CHOICES.items():
            value = s.get(key, (int, float, str) if key != "parity" else str)
            if value is not None:
                if value not in choices:
                    s.fail(key, f"must be one of {', '.join(map(str, choices))}, not {value!r}")
                settings[key] = value
        s.finish()
    raw_channels = r.get("channels", list, [], required=True)
    if "channels" in r.table and not raw_channels:
        r.fail("channels", "needs at least one [[instruments.channels]] table")
    channels = tuple(
        ch for index, raw in enumerate(raw_channels or [])
        if (ch := _channel(_Reader(r.problems, r.key(f"channels[{index}]"), raw),
                           entry)) is not None
    )
    r.finish()
    if name is None or driver is None or entry is None:
        return None
    return InstrumentConfig(name, driver, port, channels, settings, timeout)


def _channel(r: _Reader, entry: DriverEntry | None) -> ChannelConfig | None:
    if not r.ok:
        return None
    codename = r.get("codename", str, None, required=True)
    if codename is not None and not (0 < len(codename) <= 128 and codename.isprintable()):
        r.fail("codename", f"must be 1 to 128 printable characters, not {codename!r}")
    interval = r.get("interval", float, None, required=True)
    if interval is not None and not interval > 0:
        r.fail("interval", f"must be > 0 seconds, not {interval!r}")
        interval = None
    read = r.get("read", str, entry.default_read if entry is not None else None)
    args = tuple(r.get("args", list, []))
    if entry is not None and read is not None:
        try:
            entry.check_arguments(read, args)
        except ValueError as error:
            r.fail("read", str(error))
        except TypeError as error:
            r.fail("args", str(error))
    kind = r.get("criterion", str, "always")
    threshold = r.get("threshold", float, 0.0)
    max_interval = r.positive("max_interval", 600.0)
    low_compare = r.get("low_compare", float)
    description = r.get("description", str)
    if kind not in CRITERION_KINDS:
        r.fail("criterion", f"unknown criterion {kind!r}; choose from {', '.join(CRITERION_KINDS)}")
    elif kind != "always" and "threshold" not in r.table:
        r.fail("threshold", f"missing: criterion {kind!r} needs a threshold")
    if threshold < 0:
        r.fail("threshold", f"must be >= 0, not {threshold!r}")
    r.finish()
    if codename is None or interval is None or read is None:
        return None
    return ChannelConfig(codename, interval, read, args, kind, threshold, max_interval,
                         low_compare, description)
