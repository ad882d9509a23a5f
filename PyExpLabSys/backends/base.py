"""The backend interface: the one way the logging core talks to a database.

A backend connects, translates codenames into type ids, writes a batch of points in one
transaction, and closes. Everything above it (the drain, the logger) speaks only this
interface; each database (MySQL via PyMySQL, ODBC, SQLite, the in-memory mock) is one
module below it.

Errors are sorted by what the drain must do next, not by which driver raised them:

- :class:`ConnectionFailed`: nothing was written; reconnect with back-off and retry.
- :class:`OutcomeUnknown`: the connection broke after the batch was sent; whether it was
  committed is unknown until :meth:`Backend.reconcile` has looked.
- :class:`BatchRejected`: the server refused the batch for good (a data error in one of
  its points); retrying the same batch cannot succeed.
- :class:`MayHeal`: refused for a reason an operator can fix (missing table, revoked
  privilege); retried with back-off, nothing dropped.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..values import TIMESTAMP_RANGE, Point, Timeouts

__all__ = [
    "Backend",
    "BackendConfigError",
    "BackendError",
    "BackendSettings",
    "BatchRejected",
    "Capabilities",
    "CodenameError",
    "ConnectionFailed",
    "Contended",
    "MayHeal",
    "OutcomeUnknown",
    "PreparingBackend",
    "SetupRejected",
]


class BackendError(Exception):
    """Base of the errors a backend raises; the message never contains a password."""

    #: True when the error is a time-out (the server did not answer in time).
    timed_out: bool = False

    def __init__(self, message: str = "", timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ConnectionFailed(BackendError):
    """The database could not be reached, or the connection broke before a batch was sent."""


class OutcomeUnknown(BackendError):
    """The connection broke after a batch was sent: it may or may not be committed."""


class BatchRejected(BackendError):
    """The server rejected the batch for a reason that retrying will not cure.

    ``stored`` is how many leading points were stored all the same (a non-transactional
    table keeps the rows before the offending one); they must not be sent again.
    """

    def __init__(self, message: str = "", stored: int = 0) -> None:
        super().__init__(message)
        self.stored = stored


class MayHeal(BackendError):
    """The server refused for a reason that an operator may fix (table, privilege)."""


class Contended(BackendError):
    """The server rolled the whole batch back because another writer conflicted with it
    (a deadlock, a Galera certification conflict): nothing is stored, and the
    connection is fine; send the batch again soon."""


class SetupRejected(MayHeal):
    """The database is set up in a way the logger cannot write to safely (e.g. a
    MyISAM table on a Galera node). Fatal at start-up; retried later, like MayHeal."""


class CodenameError(BackendError):
    """A codename has no row, or more than one, in the descriptions table."""


class BackendConfigError(ValueError):
    """A backend cannot be built from its settings (unknown name, missing library,
    undefined data source …); the message says which and why, never a password."""


@dataclass(frozen=True)
class BackendSettings:
    """What a backend is built from (see :mod:`.registry`): the data table, the
    backend's options by name, the password, the time-outs and the ledger name."""

    table: str
    options: Mapping[str, Any] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    timeouts: Timeouts = Timeouts()
    logger_id: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the interface's minimum, declared by the class."""

    #: :meth:`Backend.prepare` does real work: the drain prepares the next batch in a
    #: helper thread while the current one is in flight (pipelining); such a backend is
    #: a :class:`PreparingBackend` too.
    prepare: bool = False
    #: How :meth:`Backend.reconcile` finds out what a batch with an unknown outcome
    #: stored ("none": it cannot, the batch is resent), for logs and status.
    reconcile: str = "none"
    #: :meth:`Backend.resolve_codenames` works without a connection (the logger then
    #: starts without waiting for the other side).
    resolves_offline: bool = False
    #: Each commit costs a (shared) server a fixed price: the drain holds a batch back
    #: until its oldest point has waited the latency budget, so that it grows
    #: (``BatchPolicy.flush_interval``). Without it a batch is sent as soon as points wait.
    costly_commits: bool = False
    #: Batches the backend takes in flight before their acknowledgement (0: one at a
    #: time through :meth:`Backend.insert_batch`); such a backend is a
    #: :class:`PipelinedBackend` too.
    pipeline: int = 0


class PipelinedBackend(Protocol):
    """What a backend declaring ``capabilities.pipeline`` does besides the interface:
    batches go out without waiting, and the other side acknowledges them in order by
    stream position (a service holding its clients' positions)."""

    def send_batch(self, first_seq: int, points: Sequence[Point]) -> None:
        """Send the batch at ``first_seq``; ConnectionFailed when it cannot."""

    def acknowledged(self, wait: float) -> int:
        """The stream position before which every point is durable at the other side,
        after waiting up to ``wait`` seconds for news; OutcomeUnknown when the line
        broke or an acknowledgement is overdue (then closed: the next connection tells
        the position)."""


class PreparingBackend(Protocol):
    """What a backend declaring ``capabilities.prepare`` does besides the interface: it
    says when a batch is on its way to the server, which is when the drain starts
    preparing the next one. Preparing is Python work; started earlier it competes with
    the sending of the current batch for the interpreter lock, and the server waits for
    the rest of the batch meanwhile."""

    def insert_batch(
        self,
        first_seq: int,
        points: Sequence[Point],
        prepared: Any = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        """:meth:`Backend.insert_batch`; ``on_sent`` is called (once, in this thread) when
        the batch has been handed to the server and the backend waits for its answer.
        It is not called when the batch fails before that."""

    def prepare(self, points: Sequence[Point]) -> Any:
        """:meth:`Backend.prepare`."""


class Backend(abc.ABC):
    """A database the logger writes points into (the classic dateplots layout)."""

    #: Declared by each backend class; the drain reads it, never guesses.
    capabilities: ClassVar[Capabilities] = Capabilities()
    _logger_id: str = ""

    #: Smallest and largest unix time the time column can store.
    time_range: tuple[float, float] = TIMESTAMP_RANGE
    #: The second item of a point is a unix time (status ages and commit latencies are
    #: taken from it); False where it is a data set's x value.
    time_stamped: bool = True

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Backend:
        """Build the backend from its registry settings (options complete with their
        defaults); raise BackendConfigError when they cannot work."""
        raise BackendConfigError(f"{cls.__name__} cannot be built from a configuration")

    def read_values(
        self, codenames: Sequence[str], since: float
    ) -> dict[str, list[tuple[float, float | None]]]:
        """The stored ``(unix time, value)`` points of ``codenames`` from ``since`` on, in
        time order (for ``plot``; connected first). Backends that cannot read back say so."""
        raise BackendConfigError(f"{self.describe()} cannot read stored values back")

    def insert_row(self, table: str, values: Mapping[str, tuple[Any, str]]) -> int:
        """INSERT one row into ``table`` and commit it; its id (a data set's row in the
        measurements table). ``values`` maps each column to ``(value, marker)``, the
        marker being the SQL the value is put into, with one ``%s`` (``FROM_UNIXTIME(%s)``)."""
        raise BackendConfigError(f"{self.describe()} cannot insert single rows")

    def distinct_values(self, table: str, expression: str) -> set[Any]:
        """The distinct values of ``expression`` (a column, or a function of one) in ``table``."""
        raise BackendConfigError(f"{self.describe()} cannot read rows back")

    def create_tables(self, descriptions: Mapping[str, str], **layout: Any) -> dict[str, int]:
        """Create the table layout if missing and register the codenames of
        ``descriptions`` (codename → description); their type ids (``init-db``)."""
        raise BackendConfigError(
            f"{self.describe()} cannot create its tables; create them with the database's own tools"
        )

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection; raise ConnectionFailed (or MayHeal) when it cannot."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; never raises."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """Whether a connection is open (as far as the client knows)."""

    @abc.abstractmethod
    def resolve_codenames(self, codenames: Iterable[str]) -> dict[str, int]:
        """Map each codename to its type id; CodenameError names each one that has no
        row or more than one."""

    @abc.abstractmethod
    def insert_batch(self, first_seq: int, points: Sequence[Point], prepared: Any = None) -> None:
        """Write ``points`` and commit them, all or nothing where the engine allows.

        ``first_seq`` is the stream position of ``points[0]``: together with the logger's
        id it names the batch, so that a resend of the same points can be recognised.
        ``prepared`` is what :meth:`prepare` returned for exactly these points, or None.
        Returns once the database has committed; raises a BackendError otherwise.
        """

    def prepare(self, points: Sequence[Point]) -> Any:
        """Pure, thread-safe work on a batch that can be done ahead of sending it (e.g.
        rendering the statement). Backends that declare ``capabilities.prepare`` get
        the next batch prepared in the background while the current one is in flight."""
        return None

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """After OutcomeUnknown, on a fresh connection: how many leading ``points`` the
        database has committed (0 to len(points)). The default knows nothing and says 0,
        which means a resend; backends that can find out do better."""
        return 0

    @property
    def logger_id(self) -> str:
        """The name of this logger's batches (kept by the durable spool across runs)."""
        return self._logger_id

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        """Before connecting: continue the batches of an earlier run, named
        ``logger_id``, with the :meth:`checkpoint` it saved (the durable spool's)."""
        self._logger_id = logger_id

    def keep_ledger_from(self, seq: float) -> None:  # noqa: B027 (a hook: no-op by default)
        """Batches at or after stream position ``seq`` may be resent after a restart:
        whatever records their outcome must be kept (called by the drain with the
        buffer's durable position)."""

    def checkpoint(self) -> dict:
        """What the backend must remember, with the acknowledged position, to reconcile
        after a restart (e.g. the highest row id known stored). Saved by the spool."""
        return {}

    def current_node(self) -> str | None:
        """The server (``host:port``) this backend writes to now, where it chooses
        among several; None otherwise."""
        return None

    def interrupt(self) -> None:  # noqa: B027 (a hook: no-op by default)
        """From another thread: make a call that is blocked in the database fail now."""

    def describe(self) -> str:
        """Where this backend writes, for logs and status; never includes a password."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


def describe_error(error: BaseException) -> str:
    """A one-line description of a driver error, for logs and status."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def map_codenames(wanted: Iterable[str], rows: Iterable[tuple[Any, str]], table: str) -> dict[str, int]:
    """Codename→id from ``(id, codename)`` rows; CodenameError unless each is unique."""
    found: dict[str, list[int]] = {}
    for type_id, codename in rows:
        found.setdefault(codename, []).append(int(type_id))
    problems = []
    mapping = {}
    for codename in wanted:
        ids = found.get(codename, [])
        if len(ids) == 1:
            mapping[codename] = ids[0]
        elif not ids:
            problems.append(f"{codename!r} has no row in {table}")
        else:
            problems.append(f"{codename!r} has {len(ids)} rows in {table} (ids {sorted(ids)})")
    if problems:
        raise CodenameError("codename translation failed: " + "; ".join(problems))
    return mapping
