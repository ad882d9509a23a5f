"""MySQL / MariaDB backend through an ODBC data source (pyodbc).

For Windows lab PCs that reach the database through an ODBC DSN (and for Linux with
unixODBC and MariaDB's ODBC driver). The SQL is the one of :mod:`.sql`, shared with the
PyMySQL backend; what differs is said here:

* connecting: a connection string ``DSN=...;UID=...;PWD={...}`` (or ``DRIVER={...}``
  with ``SERVER``/``PORT``/``DATABASE``), with the driver's ``CONN_TIMEOUT``,
  ``READ_TIMEOUT`` and ``WRITE_TIMEOUT`` options (whole seconds), pyodbc's login time-out
  and the query time-out attribute (which MariaDB's driver ignores; the server-side
  ``max_statement_time`` and the deadline guard bound a statement instead);
* parameters are ``?``;
* interrupting a blocked call: pyodbc gives no access to the socket, so the backend
  notes which socket the driver opened while connecting (``/proc/self/fd``: the new
  client socket, to the given port if one was given) and shuts it down. Where that
  cannot be told (no ``/proc``, as on Windows) a blocked call ends by the driver's read
  and write time-outs and the server's ``max_statement_time``. ``SQLCancel`` from
  another thread is not used: MariaDB's driver 3.1 crashed the process with it;
* the native MySQL error code is read from the diagnostic text pyodbc builds,
  ``[HY000] [ma-3.1.15]... message (1146) (SQLExecDirectW)``.

pyodbc is optional (``pip install pyexplabsys-logger[odbc]``) and imported only when an ODBC
backend is built. The password is passed in the connection string only; it is never
logged, and ``describe()`` names the DSN.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import socket
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from ..values import Timeouts
from .base import BackendConfigError, BackendSettings, MayHeal, describe_error
from .ledger import LEDGER_TABLE
from .nodes import DEFAULT_PORT, parse_nodes
from .rows import CLASSIC, RowShape
from .schema import DESCRIPTIONS_TABLE
from .sql import SQLBackend
from .tls import TLSSettings, tls_of

LOG = logging.getLogger(__name__)

__all__ = ["OdbcBackend", "connection_string", "import_pyodbc", "odbc_error_code"]

#: ``... message (1146) (SQLExecDirectW)``: the native code before the ODBC function.
_NATIVE_CODE = re.compile(r"\((-?\d+)\)\s*\(SQL\w+\)")
#: Only one ODBC connect at a time, so the socket it opens can be told apart.
_CONNECT_LOCK = threading.Lock()
_PROC_FD = "/proc/self/fd"


def import_pyodbc() -> ModuleType:
    """pyodbc, or an ImportError that says how to install it."""
    try:
        return importlib.import_module("pyodbc")
    except ImportError as error:
        raise ImportError(
            "the ODBC backend needs pyodbc (pip install 'pyexplabsys-logger[odbc]') and an ODBC "
            f"driver manager (unixODBC on Linux): {error}"
        ) from None


def odbc_error_code(error: BaseException) -> int | None:
    """The native error code of a pyodbc error (MySQL's code for MariaDB's driver)."""
    for arg in error.args[1:] or error.args:
        match = _NATIVE_CODE.search(str(arg))
        if match:
            code = int(match.group(1))
            return code or None
    return None


def odbc_sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a pyodbc error (``args[0]``), '' if it has none."""
    first = error.args[0] if error.args else ""
    return first if isinstance(first, str) and len(first) == 5 else ""


def _braced(value: str) -> str:
    """A connection-string value in braces (``}`` doubled), safe with ``;`` and ``=``."""
    return "{" + str(value).replace("}", "}}") + "}"


def connection_string(parts: Mapping[str, Any]) -> str:
    """``KEY=value;...`` from ``parts``, skipping None; values in braces where needed."""
    items = []
    for key, value in parts.items():
        if value is None:
            continue
        text = str(value)
        if key.upper() in {"PWD", "DRIVER"} or any(c in text for c in ";{}= "):
            text = _braced(text)
        items.append(f"{key}={text}")
    return ";".join(items)


def _peer_port(fd: int) -> tuple[int | None, bool]:
    """(remote port, is a client socket) of the TCP socket ``fd``; (None, False) if not."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None, False
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None, False
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return None, False  # a listening socket
        return sock.getpeername()[1], True
    except OSError:
        return None, False
    finally:
        sock.close()


def _driver_socket(new: dict[int, int], port: int | None) -> tuple[int, int] | None:
    """The (inode, fd) of the driver's connection among sockets opened while connecting.

    Other threads may open sockets meanwhile (a fault proxy in the same process opens
    two per connection): with a known ``port`` the one whose peer has that port wins;
    otherwise there must be exactly one new client TCP socket.
    """
    clients = []
    for inode, fd in new.items():
        peer, client = _peer_port(fd)
        if client:
            clients.append((inode, fd, peer))
    if port is not None:
        clients = [c for c in clients if c[2] == port] or clients
    return (clients[0][0], clients[0][1]) if len(clients) == 1 else None


def _socket_fds() -> dict[int, int]:
    """socket inode → fd of this process's open sockets ({} without /proc)."""
    found: dict[int, int] = {}
    try:
        names = os.listdir(_PROC_FD)
    except OSError:
        return found
    for name in names:
        try:
            target = os.readlink(f"{_PROC_FD}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found[int(target[8:-1])] = int(name)
    return found


class _SocketHandle:
    """The driver's socket, found by its inode; shut down without owning the fd."""

    def __init__(self, inode: int, fd: int) -> None:
        self.inode, self.fd = inode, fd

    def shutdown(self) -> None:
        """Shut the socket down (both ways) if the fd still is that socket."""
        try:
            dup = os.dup(self.fd)
        except OSError:
            return
        try:
            if os.fstat(dup).st_ino != self.inode:  # closed and the fd reused
                return
            sock = socket.socket(fileno=dup)
            dup = -1  # owned by sock now
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                sock.close()  # closes the duplicate only
        finally:
            if dup >= 0:
                os.close(dup)


class OdbcBackend(SQLBackend):
    """Writes points into ``table`` through an ODBC data source (or driver) with pyodbc.

    Give ``dsn`` (a data source defined in the ODBC administrator or ``odbc.ini``), or
    ``driver`` with ``host``/``port``/``database``; given ``host``, ``port`` or
    ``database`` override the DSN's. ``options`` adds or overrides connection-string
    keys (e.g. for another driver's time-out option names).
    """

    placeholder = "?"

    def __init__(
        self,
        table: str,
        user: str | None = None,
        password: str | None = None,
        dsn: str | None = None,
        *,
        driver: str | None = None,
        host: str | Sequence[str] | None = None,
        port: int | None = None,
        database: str | None = None,
        timeouts: Timeouts = Timeouts(),
        descriptions_table: str = DESCRIPTIONS_TABLE,
        logger_id: str | None = None,
        ledger_table: str = LEDGER_TABLE,
        options: Mapping[str, Any] | None = None,
        tls: TLSSettings | None = None,
        rows: RowShape = CLASSIC,
    ) -> None:
        if not (dsn or driver):
            raise ValueError("OdbcBackend needs a dsn or a driver")
        self.pyodbc = import_pyodbc()
        self.driver_errors = (self.pyodbc.Error,)
        super().__init__(
            table,
            user,
            password,
            database,
            timeouts=timeouts,
            descriptions_table=descriptions_table,
            logger_id=logger_id,
            ledger_table=ledger_table,
            guard_name="odbc",
            nodes=None if host is None else parse_nodes(host, DEFAULT_PORT if port is None else port),
            tls=tls,
            rows=rows,
        )
        self.dsn, self.driver = dsn, driver
        self.options = dict(options or {})
        self._socket: _SocketHandle | None = None

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> OdbcBackend:
        """The backend of a data source; BackendConfigError naming the DSN when pyodbc
        is missing or the DSN is not defined."""
        options = settings.options
        dsn = options["dsn"]
        try:
            backend = cls(
                settings.table,
                options.get("user"),
                settings.password,
                dsn,
                host=options.get("host"),
                port=options.get("port"),
                database=options.get("database"),
                timeouts=settings.timeouts,
                logger_id=settings.logger_id,
                tls=tls_of(options),
                rows=options.get("rows", CLASSIC),
            )
        except ImportError as error:
            raise BackendConfigError(f"ODBC data source {dsn!r}: {error}") from None
        if backend.dsn_defined() is False:
            raise BackendConfigError(
                f"ODBC data source {dsn!r} is not defined (see the ODBC administrator, or "
                "odbc.ini and ODBCINI/ODBCSYSINI with unixODBC)"
            )
        return backend

    def describe(self) -> str:
        where = f"DSN {self.dsn!r}" if self.dsn else f"driver {self.driver!r}"
        if self.node is not None:
            where += f" at {self.node}"
        over = f" over {self.tls.describe()}" if self.tls is not None else ""
        return f"ODBC {where} {self.user or ''}@{self.database or '?'}.{self.table}{over}"

    def dsn_defined(self) -> bool | None:
        """Whether the DSN is defined for the driver manager (None: cannot tell)."""
        if not self.dsn:
            return None
        try:
            known = self.pyodbc.dataSources()
        except self.pyodbc.Error:
            return None
        return self.dsn.lower() in {name.lower() for name in known}

    def _connection_parts(self) -> dict[str, Any]:
        timeouts = self.timeouts
        parts: dict[str, Any] = {
            "DSN": self.dsn,
            "DRIVER": self.driver,
            "SERVER": None if self.node is None else self.node.host,
            "PORT": None if self.node is None else self.node.port,
            "DATABASE": self.database,
            "UID": self.user,
            "PWD": self._password(),
            # MariaDB Connector/ODBC: whole seconds, at least one
            "CONN_TIMEOUT": max(1, math.ceil(timeouts.connect)),
            "READ_TIMEOUT": max(1, math.ceil(timeouts.read)),
            "WRITE_TIMEOUT": max(1, math.ceil(timeouts.write)),
        }
        if self.tls is not None:
            parts.update(self.tls.odbc_parts())
        parts.update(self.options)
        return parts

    def open_connection(self) -> Any:
        text = connection_string(self._connection_parts())
        login = max(1, math.ceil(self.timeouts.connect))
        with _CONNECT_LOCK:
            before = _socket_fds()
            conn = self.pyodbc.connect(text, autocommit=False, timeout=login)
            after = _socket_fds()
            new = {inode: fd for inode, fd in after.items() if inode not in before}
            found = _driver_socket(new, None if self.node is None else self.node.port)
        del text  # holds the password
        self._socket = _SocketHandle(*found) if found else None
        if found is None:
            LOG.debug(
                "cannot tell the driver's socket among %d new one(s): blocked calls "
                "end by the driver's read/write time-outs",
                len(new),
            )
        try:
            conn.timeout = max(1, math.ceil(self.timeouts.query))  # SQL_ATTR_QUERY_TIMEOUT
        except self.pyodbc.Error:  # a driver may refuse it; the other bounds remain
            LOG.debug("driver refused the query time-out attribute")
        return conn

    def error_code(self, error: BaseException) -> int | None:
        return odbc_error_code(error)

    def rejects_data(self, error: BaseException) -> bool:
        pyodbc = self.pyodbc
        return isinstance(error, (pyodbc.DataError, pyodbc.IntegrityError, pyodbc.ProgrammingError))

    def setup_error(self, error: BaseException) -> Exception | None:
        state = odbc_sqlstate(error)
        if state.startswith("IM"):  # driver manager: DSN or driver not found, not loadable
            return MayHeal(f"{self.describe()}: {describe_error(error)}")
        return None

    def discard_connection(self, conn: Any) -> None:
        handle, self._socket = self._socket, None
        if handle is not None:  # a dead line: do not wait for the rollback and QUIT
            handle.shutdown()
        try:
            conn.close()
        except self.pyodbc.Error:
            pass

    def interrupt_connection(self, conn: Any) -> None:
        handle = self._socket
        if handle is not None:
            handle.shutdown()
