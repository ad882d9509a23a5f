"""PyExpLabSys's logger API, unchanged for lab scripts, over the new logging core.

``ContinuousLogger(table, username, password, measurement_codenames)`` works as it did:
``start()``, ``enqueue_point_now(codename, value)``, ``enqueue_point(codename, (t, v))``,
``stop()``. What changed is underneath (see :mod:`PyExpLabSys.datalog`): points are
committed in batches, kept until the database has committed them, and the enqueue calls
never wait for the network. This module only translates names and arguments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..assembly import SERVICE_SOCKET_ENV as SERVICE_SOCKET_ENV  # its old home
from ..assembly import script_backend
from ..backends.base import Backend
from ..backends.mysql import shutdown_socket
from ..datalog.deadletter import default_dead_letter_path
from ..datalog.logger import DataLogger, LoggerStoppedError, StartupException
from ..datalog.points import UnknownCodenameError
from ..datalog.policies import BatchPolicy, NonFinitePolicy, RetryPolicy, SpoolPolicy, Timeouts
from ..datalog.status import LoggerStatus, StopReport
from ..points.client import ServiceBackend

LOG = logging.getLogger(__name__)

__all__ = [
    "NONE_RESPONSE",
    "ContinuousLogger",
    "InterruptableThread",
    "LoggerStatus",
    "LoggerStoppedError",
    "StartupException",
    "StopReport",
    "UnknownCodenameError",
    "timeout_query",
]

#: What :func:`timeout_query` returns when the query did not finish in time.
NONE_RESPONSE = None


class ContinuousLogger(DataLogger):
    """Logs points continuously into the table ``table`` (PyExpLabSys-compatible).

    Positional arguments are PyExpLabSys's (``measurement_codenames`` is a list: a
    single string is a TypeError, never one codename per character); ``dsn`` names an ODBC data source to log
    through (pyodbc) instead of PyMySQL, with ``username``/``password`` as its UID/PWD
    (``host``, ``port``, ``database`` then override the DSN's). ``reconnect_waittime``
    caps the back-off between reconnection attempts. ``dequeue_timeout`` is accepted for compatibility;
    batching is governed by ``batch`` (a :class:`BatchPolicy`). New options are
    keyword-only: ``host``, ``port``, ``database`` (else environment, user settings,
    defaults; see :mod:`PyExpLabSys.settings`), ``backend`` (any
    :class:`~PyExpLabSys.backends.base.Backend`, e.g. SQLite or the mock, instead of
    MySQL), the policies ``batch``, ``retry``, ``timeouts``, ``nonfinite``,
    ``dead_letter_path`` (where points the database rejects for good are kept; default
    ``~/.local/state/PyExpLabSys/dead_letters_<table>.jsonl``) and ``logger_id`` (the
    name of this logger's batches in the ledger; random by default, or kept in the
    spool), ``ssl_ca``, ``ssl_cert``, ``ssl_key``, ``ssl_verify_identity`` (TLS to the
    server: see :mod:`PyExpLabSys.backends.tls`), ``service`` (hand the points to the
    logging service's socket instead of a database: the backend registered as
    ``service``; also ``$PYEXPLABSYS_LOGGER_SOCKET``),
    ``spool_path`` (an SQLite file that keeps waiting points through a crash of the
    process or a long outage) with its policy ``spool`` (a :class:`SpoolPolicy`).
    """

    def __init__(
        self,
        table: str,
        username: str,
        password: str,
        measurement_codenames: Iterable[str],
        dequeue_timeout: float = 1,
        reconnect_waittime: float = 60,
        dsn: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        backend: Backend | None = None,
        batch: BatchPolicy = BatchPolicy(),
        retry: RetryPolicy | None = None,
        timeouts: Timeouts = Timeouts(),
        nonfinite: NonFinitePolicy | str = NonFinitePolicy.NULL,
        stop_timeout: float = 30.0,
        dead_letter_path: str | Path | None = None,
        logger_id: str | None = None,
        spool_path: str | Path | None = None,
        spool: SpoolPolicy = SpoolPolicy(),
        ssl_ca: str | Path | None = None,
        ssl_cert: str | Path | None = None,
        ssl_key: str | Path | None = None,
        ssl_verify_identity: bool = False,
        service: str | Path | None = None,
    ) -> None:
        if retry is None:
            retry = RetryPolicy(max_delay=float(reconnect_waittime))
        tls = {
            "ssl_ca": ssl_ca,
            "ssl_cert": ssl_cert,
            "ssl_key": ssl_key,
            "ssl_verify_identity": ssl_verify_identity,
        }
        self.dequeue_timeout = dequeue_timeout
        self.reconnect_waittime = reconnect_waittime
        if backend is None:  # chosen where every logger's backend is: PyExpLabSys.assembly
            backend = script_backend(
                table,
                username,
                password,
                dsn=dsn,
                host=host,
                port=port,
                database=database,
                tls=tls,
                service=service,
                timeouts=timeouts,
                logger_id=logger_id,
            )
        if dead_letter_path is None:
            dead_letter_path = default_dead_letter_path(table)
        # Through the points socket, flush() also waits for the service's commit.
        settle = backend.settle if isinstance(backend, ServiceBackend) else None
        super().__init__(
            backend,
            measurement_codenames,
            batch=batch,
            retry=retry,
            timeouts=timeouts,
            nonfinite=nonfinite,
            stop_timeout=stop_timeout,
            dead_letter_path=dead_letter_path,
            spool_path=spool_path,
            spool=spool,
            name=f"ContinuousLogger({table})",
            settle=settle,
        )


class InterruptableThread(threading.Thread):
    """Runs ``cursor.execute(query)`` in a thread; ``result`` holds its return value."""

    def __init__(self, cursor: Any, query: str, args: Any = None) -> None:
        super().__init__(daemon=True, name="InterruptableThread")
        self.cursor = cursor
        self.query = query
        self.args = args
        self.result: Any = NONE_RESPONSE
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.cursor.execute(self.query, self.args)
        except BaseException as error:  # reported through .error, the thread just ends
            self.error = error

    def interrupt(self) -> None:
        """Shut the cursor's connection down, so the statement's wait ends now."""
        shutdown_socket(getattr(self.cursor, "connection", None))


def timeout_query(cursor: Any, query: str, timeout_duration: float = 3) -> Any:
    """Execute ``query``; return what ``execute`` returned, or NONE_RESPONSE on time-out.

    Unlike the original, a query that times out is really interrupted: the connection's
    socket is shut down (the connection is unusable afterwards and must be reopened), so
    the statement cannot complete later in a forgotten thread.
    """
    thread = InterruptableThread(cursor, query)
    thread.start()
    thread.join(timeout_duration)
    if thread.is_alive():
        LOG.warning("query did not finish within %.1f s: interrupting it", timeout_duration)
        thread.interrupt()
        thread.join(timeout_duration)
        return NONE_RESPONSE
    if thread.error is not None:
        raise thread.error
    return thread.result
