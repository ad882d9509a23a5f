"""The service configuration: one TOML file per setup, validated before anything starts.

Layout (see ``config/*.toml`` for complete examples)::

    [database]          backend (a name in backends/registry.py: "sqlite", "mysql",
                        "odbc"); table; password_file or password_credential (never
                        required inline); [database.timeouts]; and the options the
                        backend's registry entry declares (path; user, host, port,
                        database, engine, time_precision; dsn …)
    [spool]             path, group_commit_interval, max_ram_points, max_spool_bytes,
                        overflow = "drop_oldest" | "drop_newest", synchronous
    [service]           state_directory, status_interval, stop_timeout,
                        metrics_port, metrics_host, http ("host:port" of the local
                        page), health_max_waiting, health_max_silence; socket,
                        client_codenames (each a codename, a table of codename =
                        "description", or a codename's own table: codename, and
                        description, user or client), socket_group; pull_socket,
                        pull_host, pull_timeout, live_server (upstream's UDP sockets)
    [[instruments]]     name, driver, port, timeout, [instruments.serial] (baudrate,
                        bytesize, parity, stopbits: only where they differ); none
                        when [service] socket is set (a service for scripts only)
    [[instruments.channels]]
                        codename, interval, read, args, criterion, threshold,
                        max_interval, low_compare, description, unit; aggregate
                        (functions), window (seconds) or count (readings),
                        codenames (a codename per function after the first)

:func:`load_config` collects *every* problem in the file and raises one
:class:`ConfigError` whose lines each name the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial

from ..backends.registry import REGISTRY as BACKEND_REGISTRY
from ..backends.registry import BackendEntry
from ..backends.registry import entry as backend_entry
from ..backends.sqltext import quote_identifier
from ..datalog.aggregation import FUNCTIONS, AggregationPolicy
from ..datalog.criteria import CRITERION_KINDS, LoggingCriterion, make_criterion
from ..datalog.policies import BatchPolicy, SpoolPolicy, Timeouts
from ..drivers.base import SerialInstrument
from ..drivers.registry import DRIVERS, SIM_SCHEME, DriverEntry, driver_entry

LOG = logging.getLogger(__name__)

__all__ = [
    "ChannelConfig",
    "ClientCodename",
    "ConfigError",
    "DatabaseConfig",
    "InstrumentConfig",
    "ServiceConfig",
    "ServiceSettings",
    "SpoolConfig",
    "driver_class",
    "is_loopback",
    "load_config",
    "parse_config",
    "parse_http_address",
    "state_directory",
]

OVERFLOW = ("drop_oldest", "drop_newest")
#: The points socket's limits a configuration may set (``[service.socket_limits]``).
SOCKET_LIMITS = (
    "hello_timeout",
    "frame_timeout",
    "idle_timeout",
    "max_clients",
    "max_points_per_second",
    "identity_ttl",
    "max_identities",
    "max_identities_per_user",
    "accept_error_hold",
)
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
    """Where points go: a registered backend (see :mod:`~..backends.registry`), its
    data table and its options. The password is not read here, only where it comes
    from is kept (:func:`PyExpLabSys.assembly.read_password` reads it when a backend is
    built)."""

    backend: str = "sqlite"
    table: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    password_file: Path | None = None
    password_credential: str | None = None
    password_inline: str | None = field(default=None, repr=False)
    timeouts: Timeouts = Timeouts()

    @property
    def entry(self) -> BackendEntry:
        return backend_entry(self.backend)

    @property
    def needs_password(self) -> bool:
        return self.entry.needs_password

    def describe(self) -> str:
        return self.entry.describe(self.table, self.options)


@dataclass(frozen=True)
class SpoolConfig:
    """The durable spool on disk (mapped onto ``DataLogger(spool_path=, spool=SpoolPolicy)``)."""

    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class ClientCodename:
    """A codename that scripts send through the points socket (``client_codenames``),
    with what ``init-db`` registers for it and who may send it."""

    codename: str
    description: str | None = None
    #: Who alone may send it: ``("user", unix user)`` or ``("client", client id)``;
    #: None: any client.
    owner: tuple[str, str] | None = None

    def descriptions(self) -> dict[str, str]:
        """Codename → description for ``init-db`` (the codename when none is given)."""
        return {self.codename: self.description or self.codename}


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs: its state directory, status cadence, stop bound, metrics,
    the local web page (``http``: host and port, None when off) and the limits of
    ``/healthz``."""

    state_directory: Path | None = None
    status_interval: float = 1.0
    stop_timeout: float = 20.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    http: tuple[str, int] | None = None
    health_max_waiting: float = 300.0
    health_max_silence: float = 120.0
    #: The points socket for scripts on this PC (relative: in $RUNTIME_DIRECTORY, else
    #: the state directory), the codenames they may send, and the socket's group.
    socket: Path | None = None
    client_codenames: tuple[str, ...] = ()
    socket_group: str | None = None
    #: ``client_codenames`` as written: each with its description and owner (if any).
    clients: tuple[ClientCodename, ...] = ()
    #: ``[service.socket_limits]``: the points socket's limits by name (seconds or
    #: counts; see :class:`PyExpLabSys.points.server.ClientLimits`), as given.
    socket_limits: tuple[tuple[str, float], ...] = ()
    #: Upstream's UDP sockets for other PCs (off when None): a DateDataPullSocket on
    #: ``pull_host:pull_socket`` ("" = all interfaces, as upstream), values older than
    #: ``pull_timeout`` (None: each channel's stale time, no limit for client codenames)
    #: served as OLD_DATA; and LiveSocket messages to ``live_server`` (host, port).
    pull_socket: int | None = None
    pull_host: str = ""
    pull_timeout: float | None = None
    live_server: tuple[str, int] | None = None

    @property
    def client_codename_owners(self) -> tuple[tuple[str, str, str], ...]:
        """Codenames that belong to one Unix user or one client id:
        ``(codename, "user" or "client", name)``."""
        return tuple((c.codename, *c.owner) for c in self.clients if c.owner is not None)


@dataclass(frozen=True)
class ChannelConfig:
    """One logged quantity of an instrument: which method to call, how often, and when
    a reading becomes a point.

    With ``aggregation`` the readings go into windows (:mod:`~..datalog.aggregation`)
    and each function's result is stored under its own codename: ``codename`` for the
    first function, ``codenames`` (function, codename) pairs for the others; the
    criterion applies to each of them separately.
    """

    codename: str
    interval: float
    read: str
    args: tuple[Any, ...] = ()
    criterion: str = "always"
    threshold: float = 0.0
    max_interval: float | None = 600.0
    low_compare: float | None = None
    description: str | None = None
    unit: str | None = None
    aggregation: AggregationPolicy | None = None
    codenames: tuple[tuple[str, str], ...] = ()

    def make_criterion(self) -> LoggingCriterion:
        """A fresh criterion object for this channel."""
        return make_criterion(self.criterion, self.threshold, self.max_interval, self.low_compare)

    @property
    def outputs(self) -> tuple[tuple[str, str], ...]:
        """(function, codename) of each aggregate function, first function first; empty
        for a channel that stores its readings."""
        if self.aggregation is None:
            return ()
        return ((self.aggregation.functions[0], self.codename), *self.codenames)

    @property
    def all_codenames(self) -> tuple[str, ...]:
        """Every codename this channel stores points under."""
        return (self.codename, *(name for _, name in self.codenames))

    def descriptions(self) -> dict[str, str]:
        """Codename → description for ``init-db`` (an aggregate's function is named)."""
        text = self.description or self.codename
        if self.aggregation is None:
            return {self.codename: text}
        size = self.aggregation.describe().partition(" of ")[2]
        return {name: f"{text} ({function} of {size})" for function, name in self.outputs}


@dataclass(frozen=True)
class InstrumentConfig:
    """One serial instrument: its driver, port and the channels polled from it
    (:func:`~.instruments.open_instrument` opens it)."""

    name: str
    driver: str
    port: str
    channels: tuple[ChannelConfig, ...]
    serial: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None


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
    #: ``[batch]``: how points are grouped into one INSERT + COMMIT (see BatchPolicy).
    batch: BatchPolicy = BatchPolicy()

    @property
    def channels(self) -> Iterator[ChannelConfig]:
        for instrument in self.instruments:
            yield from instrument.channels

    @property
    def codenames(self) -> list[str]:
        """Every codename the service logs: its channels' (with their aggregates'), then
        its clients'."""
        channels = [name for channel in self.channels for name in channel.all_codenames]
        return channels + list(self.service.client_codenames)

    @property
    def clients_only(self) -> bool:
        """True for a service without instruments: it logs what scripts send."""
        return not self.instruments

    def descriptions(self) -> dict[str, str]:
        """Codename → description of every codename (what ``init-db`` registers)."""
        found = {name: text for ch in self.channels for name, text in ch.descriptions().items()}
        for client in self.service.clients:
            found.update(client.descriptions())
        return found


# --------------------------------------------------------------------------- helpers
def driver_class(name: str) -> type[SerialInstrument]:
    """The driver class registered under ``name`` (:mod:`PyExpLabSys.drivers.registry`)."""
    return driver_entry(name).cls


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

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
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
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)


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
    database = _database(
        _Reader(problems, "database", top.get("database", dict, required=True) or {}), base, warnings
    )
    spool = _spool(_Reader(problems, "spool", top.get("spool", dict, {})), base, warnings)
    service = _service(_Reader(problems, "service", top.get("service", dict, {})), base, warnings)
    batch = _batch(_Reader(problems, "batch", top.get("batch", dict, {})))
    raw_instruments = top.get("instruments", list) or []
    if not raw_instruments and service.socket is None:
        top.fail(
            "instruments",
            "needs at least one [[instruments]] table (or [service] socket and client_codenames "
            "for a service that logs what scripts send)",
        )
    instruments = tuple(
        inst
        for index, raw in enumerate(raw_instruments)
        if (inst := _instrument(_Reader(problems, f"instruments[{index}]", raw))) is not None
    )
    top.get("name", str)
    top.finish()
    _check_unique(
        problems,
        [(f"instruments[{i}].name", inst.name) for i, inst in enumerate(instruments)],
        "instrument name",
    )
    _check_unique(
        problems,
        [
            (f"instruments[{i}].channels[{j}].{key}", name)
            for i, inst in enumerate(instruments)
            for j, ch in enumerate(inst.channels)
            for key, name in (("codename", ch.codename), *((f"codenames.{f}", n) for f, n in ch.codenames))
        ]
        + [("service.client_codenames", name) for name in service.client_codenames],
        "codename",
    )
    if service.socket is not None and spool.path is None:
        problems.append(
            "service.socket: needs a [spool]: clients' points are acknowledged once they are in the spool"
        )
    if service.pull_socket is not None or service.live_server is not None:
        problems += _udp_codename_problems(instruments, service.client_codenames)
    if problems:
        raise ConfigError(path, problems)
    for warning in warnings:
        LOG.warning("%s: %s", path, warning)
    return ServiceConfig(
        path, data.get("name") or path.stem, database, spool, service, instruments, tuple(warnings), batch
    )


def _udp_codename_problems(instruments: tuple[InstrumentConfig, ...], clients: tuple[str, ...]) -> list[str]:
    """The UDP sockets' protocol cannot carry a codename holding one of # , ; : &."""
    from ..udp.wire import has_bad_char

    names = [n for inst in instruments for ch in inst.channels for n in ch.all_codenames] + list(clients)
    return [
        f"codename {name!r}: the UDP sockets (pull_socket, live_server) cannot serve a codename "
        "holding any of # , ; : &"
        for name in names
        if has_bad_char(name)
    ]


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
    """The ``[database]`` table: the keys every backend has, then the options the
    chosen backend declares in the registry."""
    backend = r.get("backend", str, "sqlite")
    if backend not in BACKEND_REGISTRY:
        r.fail("backend", f"unknown backend {backend!r}; choose from {', '.join(BACKEND_REGISTRY)}")
    table = r.get("table", str, "", required=True)
    if "table" in r.table and table:
        try:
            quote_identifier(table)
        except ValueError as error:
            r.fail("table", str(error))
    password_file = r.get("password_file", str)
    password_credential = r.get("password_credential", str)
    inline = r.get("password", str)
    if inline is not None:
        warnings.append(
            "database.password is set inline; prefer password_file or a "
            "systemd credential (password_credential)"
        )
    if password_file is not None and password_credential is not None:
        r.fail("password_file", "give either password_file or password_credential, not both")
    timeouts = _timeouts(r)
    options: dict[str, Any] = {}
    entry = BACKEND_REGISTRY.get(backend)
    for option in entry.options if entry else ():
        value = r.get(option.name, option.kind, option.default)
        if option.required and option.name not in r.table:
            r.fail(option.name, f"missing: the {backend} backend needs {option.required}")
        elif option.name in r.table and option.check is not None and value is not None:
            problem = option.check(value)
            if problem:
                r.fail(option.name, problem)
        options[option.name] = _path(value, base) if option.is_path else value
    if entry is not None and entry.validate is not None and not r.problems:
        problem = entry.validate(options)
        if problem:
            r.fail("", problem)
    for key in list(r.table):  # another backend's option: say so (or stay quiet when
        owners = [e.name for e in BACKEND_REGISTRY.values() if key in e.option_names]
        if owners and key not in r.used:  # the backend itself is unknown)
            r.used.add(key)
            if entry is not None:
                r.fail(key, f"not an option of the {backend} backend (only of {', '.join(owners)})")
    r.finish()
    return DatabaseConfig(
        backend=backend,
        table=table,
        options=options,
        password_file=_path(password_file, base),
        password_credential=password_credential,
        password_inline=inline,
        timeouts=timeouts,
    )


def _timeouts(r: _Reader) -> Timeouts:
    """``[database.timeouts]``: connect, read, write, query, startup (seconds)."""
    timeouts = Timeouts()
    table = r.get("timeouts", dict, {})
    if not table:
        return timeouts
    t = _Reader(r.problems, r.key("timeouts"), table)
    values = {
        name: t.positive(name, getattr(timeouts, name))
        for name in ("connect", "read", "write", "query", "startup")
    }
    t.finish()
    try:
        return Timeouts(**values)
    except ValueError as error:
        t.fail("", str(error))
        return timeouts


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
    if path is not None:
        try:
            SpoolPolicy(**options)
        except (ValueError, TypeError) as error:
            r.fail("", str(error))
    return SpoolConfig(None if path is None else Path(path).expanduser(), options)


def _batch(r: _Reader) -> BatchPolicy:
    """``[batch]``: max_points, flush_interval (seconds, the latency budget); fewer,
    larger commits spare a server that many lab PCs share."""
    default = BatchPolicy()
    flush_interval = r.positive("flush_interval", default.flush_interval)
    max_points = r.get("max_points", int, default.max_points)
    if max_points < 1:
        r.fail("max_points", f"must be >= 1, not {max_points}")
        max_points = default.max_points
    r.finish()
    return BatchPolicy(max_points=max_points, flush_interval=flush_interval)


def _service(r: _Reader, base: Path, warnings: list[str]) -> ServiceSettings:
    state = r.get("state_directory", str)
    status_interval = r.positive("status_interval", 1.0)
    stop_timeout = r.positive("stop_timeout", 20.0)
    metrics_port = r.get("metrics_port", int)
    if metrics_port is not None and not 0 <= metrics_port < 65536:
        r.fail("metrics_port", f"must be a TCP port 0..65535, not {metrics_port}")
    metrics_host = r.get("metrics_host", str, "127.0.0.1")
    http = None
    address = r.get("http", str)
    if address is not None:
        try:
            http = parse_http_address(address)
        except ValueError as error:
            r.fail("http", str(error))
        else:
            if not is_loopback(http[0]):
                warnings.append(
                    f"service.http: the page is served on {http[0]}, not only to "
                    "this PC (prefer 127.0.0.1 and an SSH tunnel)"
                )
    max_waiting = r.positive("health_max_waiting", 300.0)
    max_silence = r.positive("health_max_silence", 120.0)
    socket = r.get("socket", str)
    clients = _client_codenames(r)
    client_codenames = [client.codename for client in clients]
    if socket is not None and not r.table.get("client_codenames"):
        r.fail("client_codenames", "missing: the socket needs the codenames its clients may send")
    if client_codenames and socket is None:
        r.fail("socket", "missing: client_codenames are for the points socket; give its path")
    socket_group = r.get("socket_group", str)
    limits_table = r.get("socket_limits", dict, {})
    socket_limits: list[tuple[str, float]] = []
    if limits_table:
        limits = _Reader(r.problems, r.key("socket_limits"), limits_table)
        for key in SOCKET_LIMITS:
            value = limits.positive(key, None)
            if value is not None:
                socket_limits.append((key, value))
        limits.finish()
    udp = _udp_sockets(r)
    r.finish()
    return ServiceSettings(
        _path(state, base),
        status_interval,
        stop_timeout,
        metrics_port,
        metrics_host,
        http,
        max_waiting,
        max_silence,
        None if socket is None else Path(socket).expanduser(),
        tuple(client_codenames),
        socket_group,
        clients,
        tuple(socket_limits),
        *udp,
    )


#: The keys of a client codename's own table; a table with any of them is one (so a
#: misspelled key is named), not codename = "description" pairs.
_OWN_TABLE_KEYS = frozenset({"codename", "description", "user", "client"})


def _client_codenames(r: _Reader) -> tuple[ClientCodename, ...]:
    """``client_codenames``: a list whose items are a codename (any client may send it),
    a table of codename = "description" pairs, or one codename's own table (its key
    ``codename``, then ``description`` and at most one owner: ``user``, a Unix user whose
    processes may send it, or ``client``, one client id); a table alone stands for a list
    of that one table."""
    raw = r.get("client_codenames", (list, dict), [])
    items = [raw] if isinstance(raw, dict) else raw
    clients: list[ClientCodename] = []
    for index, item in enumerate(items):
        where = "client_codenames" if isinstance(raw, dict) else f"client_codenames[{index}]"
        owner: tuple[str, str] | None = None
        if isinstance(item, str):
            pairs: list[tuple[str, str, Any]] = [(where, item, None)]
        elif isinstance(item, dict) and _OWN_TABLE_KEYS & set(item):
            c = _Reader(r.problems, r.key(where), item)
            codename = c.get("codename", str, required=True)
            description = c.get("description", str)
            owners = [(kind, name) for kind in ("user", "client") if (name := c.get(kind, str)) is not None]
            c.finish()
            if len(owners) > 1:
                c.fail("client", "one owner: user (a Unix user) or client (a client id), not both")
            elif owners and not 0 < len(owners[0][1]) <= 128:
                c.fail(owners[0][0], "must be 1 to 128 characters")
            elif owners:
                owner = owners[0]
            pairs = [] if codename is None else [(f"{where}.codename", codename, description)]
        elif isinstance(item, dict) and item:
            pairs = [(f"{where}.{name}", name, text) for name, text in item.items()]
        else:
            r.fail(where, f'must be a codename or a table (codename = "description"), not {item!r}')
            continue
        for key, codename, description in pairs:
            problem = _codename_problem(codename) if isinstance(codename, str) else "must be a string"
            if description is not None and not isinstance(description, str):
                r.fail(key, f"the description must be a string, not {_type_name(description)}")
            elif problem:
                r.fail(key, problem)
            else:
                clients.append(ClientCodename(codename, description, owner))
    return tuple(clients)


def _udp_sockets(r: _Reader) -> tuple[int | None, str, float | None, tuple[str, int] | None]:
    """``pull_socket``, ``pull_host``, ``pull_timeout``, ``live_server`` of ``[service]``."""
    from ..udp.live import parse_live_server

    pull_socket = r.get("pull_socket", int)
    if pull_socket is not None and not 0 <= pull_socket < 65536:
        r.fail("pull_socket", f"must be a UDP port 0..65535 (upstream's is 9000), not {pull_socket}")
    pull_host = r.get("pull_host", str, "")
    pull_timeout = r.positive("pull_timeout", None)
    live_server = None
    text = r.get("live_server", str)
    if text is not None:
        try:
            live_server = parse_live_server(text)
        except ValueError as error:
            r.fail("live_server", str(error))
    return pull_socket, pull_host, pull_timeout, live_server


def parse_http_address(text: str) -> tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"`` or a bare ``"port"`` (loopback) as (host, port);
    ValueError saying what is wrong."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError(f"must be 'host:port' (e.g. '127.0.0.1:8080'), not {text!r}")
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ValueError(f"must end in a TCP port 0..65535 (0: any free port), not {text!r}")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """True for addresses only this PC can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
                _ = entry.cls  # imports the driver's module (and the library it needs)
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
        ch
        for index, raw in enumerate(raw_channels or [])
        if (ch := _channel(_Reader(r.problems, r.key(f"channels[{index}]"), raw), entry)) is not None
    )
    r.finish()
    if name is None or driver is None or entry is None:
        return None
    return InstrumentConfig(name, driver, port, channels, settings, timeout)


def _channel(r: _Reader, entry: DriverEntry | None) -> ChannelConfig | None:
    if not r.ok:
        return None
    codename = r.get("codename", str, None, required=True)
    if codename is not None and (problem := _codename_problem(codename)):
        r.fail("codename", problem)
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
    unit = r.get("unit", str)
    if kind not in CRITERION_KINDS:
        r.fail("criterion", f"unknown criterion {kind!r}; choose from {', '.join(CRITERION_KINDS)}")
    elif kind != "always" and "threshold" not in r.table:
        r.fail("threshold", f"missing: criterion {kind!r} needs a threshold")
    if threshold < 0:
        r.fail("threshold", f"must be >= 0, not {threshold!r}")
    aggregation, codenames = _aggregation(r, codename, interval)
    r.finish()
    if codename is None or interval is None or read is None:
        return None
    return ChannelConfig(
        codename,
        interval,
        read,
        args,
        kind,
        threshold,
        max_interval,
        low_compare,
        description,
        unit,
        aggregation,
        codenames,
    )


def _codename_problem(codename: str) -> str | None:
    if 0 < len(codename) <= 128 and codename.isprintable():
        return None
    return f"must be 1 to 128 printable characters, not {codename!r}"


def _aggregation(
    r: _Reader, codename: str | None, interval: float | None
) -> tuple[AggregationPolicy | None, tuple[tuple[str, str], ...]]:
    """A channel's ``aggregate``, ``window`` or ``count`` and ``codenames`` keys: the
    policy and the (function, codename) pairs of the functions after the first."""
    functions = r.get("aggregate", list)
    window = r.positive("window", None)
    count = r.get("count", int)
    raw_codenames = r.get("codenames", dict, {})
    if functions is None:
        for key in ("window", "count", "codenames"):
            if key in r.table:
                r.fail(key, 'only with aggregate (e.g. aggregate = ["mean", "min", "max"])')
        return None, ()
    before = len(r.problems)
    if not functions:
        r.fail("aggregate", f"needs at least one function; choose from {', '.join(FUNCTIONS)}")
    for name in functions:
        if name not in FUNCTIONS:
            r.fail("aggregate", f"unknown function {name!r}; choose from {', '.join(FUNCTIONS)}")
    for name in sorted({n for n in functions if isinstance(n, str) and functions.count(n) > 1}):
        r.fail("aggregate", f"function {name!r} is given more than once")
    if count is not None and count <= 0:
        r.fail("count", f"must be > 0 readings, not {count}")
    if "window" in r.table and "count" in r.table:
        r.fail("window", "give either window (seconds) or count (readings), not both")
    elif "window" not in r.table and "count" not in r.table:
        r.fail("aggregate", "needs window = seconds (tumbling, aligned to the clock) or count = readings")
    elif window is not None and interval is not None and window < interval:
        r.fail("window", f"{window:g} s is shorter than the channel's interval {interval:g} s")
    codenames = _function_codenames(r, [n for n in functions if isinstance(n, str)], codename, raw_codenames)
    if len(r.problems) > before or codename is None:
        return None, ()
    try:
        policy = AggregationPolicy(tuple(functions), window, count)
    except ValueError as error:
        r.fail("aggregate", str(error))
        return None, ()
    return policy, codenames


def _function_codenames(
    r: _Reader, functions: list[str], codename: str | None, raw: dict[str, Any]
) -> tuple[tuple[str, str], ...]:
    """The ``codenames`` table: a codename for every function after the first."""
    c = _Reader(r.problems, r.key("codenames"), raw)
    pairs: list[tuple[str, str]] = []
    first = functions[0] if functions else None
    for function in dict.fromkeys(functions[1:]):
        name = c.get(function, str)
        if name is None:
            if function not in raw:
                c.fail(function, f"missing: every function after the first ({first}) needs its own codename")
            continue
        problem = _codename_problem(name)
        if problem:
            c.fail(function, problem)
        elif (function, name) not in pairs:
            pairs.append((function, name))
    for key in raw:
        if key == first:
            c.used.add(key)
            c.fail(key, f"the first function is stored under codename {codename!r}; leave it out here")
        elif key not in functions:
            c.used.add(key)
            c.fail(key, f"not a function of aggregate ({', '.join(functions)})")
    return tuple(pairs)
