"""A throw-away MariaDB server for tests and benchmarks.

Why a module of our own: fault tests need direct control of the ``mariadbd``
process itself (SIGSTOP/SIGCONT to make it hang, SIGKILL to crash it, and a
restart on the *same* data directory and the *same* port so that clients
reconnect to the address they already know).  Fixture plugins wrap the server
in ``mariadbd-safe`` (which restarts a killed server on its own) and hide the
process; here the ``mariadbd`` child is ours, without a wrapper.

Typical use::

    with MariaDBServer() as server:
        server.create_database("loggertest")
        conn = server.connect("loggertest")
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import pymysql

from .debian import DebianInstallError, apt_install

LOG = logging.getLogger(__name__)

#: Where Debian puts the server binaries (``/usr/sbin`` is not on a user's PATH).
_SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
_SERVER_BINARY = "mariadbd"
_INSTALL_DB_BINARY = "mariadb-install-db"
_DEBIAN_PACKAGE = "mariadb-server"

#: Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100
#: How often start() tries a real client connection while the server boots.
_POLL_INTERVAL = 0.05
#: Default time-outs of connect(); PyMySQL's read/write default is "forever".
_CLIENT_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 30, "write_timeout": 30}


class MariaDBUnavailable(RuntimeError):
    """MariaDB cannot be found, installed or started on this machine."""


def _find_binary(name: str) -> str | None:
    """Return the path of ``name`` on PATH or in the usual sbin/bin folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH_DIRS:
        candidate = Path(folder, name)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _missing_binaries() -> list[str]:
    return [name for name in (_SERVER_BINARY, _INSTALL_DB_BINARY) if _find_binary(name) is None]


def install_packages(packages: Sequence[str], missing: Sequence[str]) -> None:
    """Install Debian ``packages`` because ``missing`` (files or commands) are absent;
    :class:`MariaDBUnavailable` saying what to install when that cannot be done here."""
    try:
        apt_install(packages, f"{', '.join(missing)} not found")
    except DebianInstallError as error:
        raise MariaDBUnavailable(str(error)) from None


def ensure_mariadb_installed() -> None:
    """Make sure ``mariadbd`` and ``mariadb-install-db`` can be run.

    When they are missing and we run as root on a Debian-like system, install
    the ``mariadb-server`` package with apt-get (``apt-get update`` first, no
    questions asked).  Otherwise raise :class:`MariaDBUnavailable`.
    """
    missing = _missing_binaries()
    if not missing:
        return
    install_packages(
        [_DEBIAN_PACKAGE], [f"{name} (on PATH or in {', '.join(_SEARCH_DIRS)})" for name in missing]
    )
    missing = _missing_binaries()
    if missing:
        raise MariaDBUnavailable(f"{_DEBIAN_PACKAGE} installed but {', '.join(missing)} still missing")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _read_tail(path: Path, lines: int = 25) -> str:
    try:
        return _tail(path.read_text(errors="replace"), lines)
    except OSError:
        return "(no log)"


def _process_state(pid: int) -> str | None:
    """Return the one-letter Linux state of ``pid`` (R, S, T, ...) or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _wait_for_state(pid: int, wanted: set[str], timeout: float = 2.0) -> None:
    """Wait until the kernel has applied a SIGSTOP/SIGCONT (no-op without /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _process_state(pid)
        if state is None or state in wanted:
            return
        time.sleep(0.005)
    LOG.warning("process %d did not reach state %s within %.1f s", pid, wanted, timeout)


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left in process group ``pgid`` (a server's helpers,
    e.g. a Galera state-transfer script and its rsync)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_leftover(holder: list[subprocess.Popen[bytes]]) -> None:
    """Finalizer: SIGKILL a server that is still running (no orphan mariadbd)."""
    for proc in holder:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_group(proc.pid)


class StartedInWith:
    """``with obj:`` starts ``obj`` and always cleans it up, also when the start
    fails half-way (no server or directory left behind)."""

    def start(self) -> Any:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()


class MariaDBServer(StartedInWith):
    """One ``mariadbd`` process on 127.0.0.1 with its own data directory.

    The root user has an empty password.  The data directory and port survive
    :meth:`stop`/:meth:`kill`, so :meth:`restart` brings the same server back
    (with InnoDB crash recovery after a kill).

    ``run_as`` names the system user mariadbd runs as when we are root (its
    directories are then handed to that user); by default root runs it as root.
    Subclasses add server options through :meth:`_server_args` and prepare the
    data directory in :meth:`_prepare_datadir` (see the Galera cluster helper).
    """

    host: str = "127.0.0.1"
    user: str = "root"
    password: str = ""

    def __init__(
        self,
        basedir: Path | None = None,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        run_as: str | None = None,
    ) -> None:
        self._owns_basedir = basedir is None
        self.basedir = Path(tempfile.mkdtemp(prefix="mariadb-")) if basedir is None else Path(basedir)
        self.basedir.mkdir(parents=True, exist_ok=True)
        self.port: int = port if port is not None else free_port(self.host)
        self.extra_args = tuple(extra_args)
        self.run_as = run_as
        self.datadir = self.basedir / "data"
        self.tmpdir = self.basedir / "tmp"
        self.log_path = self.basedir / "mariadbd.err"
        self.pid_file = self.basedir / "mariadbd.pid"
        self.socket_path = self.basedir / "mariadbd.sock"
        self._socket_dir: Path | None = None
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="mdb-"))
            self.socket_path = self._socket_dir / "mariadbd.sock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False
        # Shared with the finalizer (it must not reference self); weakref.finalize
        # also runs at interpreter exit, so no mariadbd outlives the tests.
        self._procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _kill_leftover, self._procs)
        self.start_seconds: float | None = None  # how long the last (re)start took

    # -- process control -------------------------------------------------

    @property
    def pid(self) -> int | None:
        """PID of the running mariadbd, None when it is not running."""
        return self._proc.pid if self._proc is not None and self.running else None

    @property
    def running(self) -> bool:
        """True while our mariadbd process exists (also when paused)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume` (or a stop/kill)."""
        return self._paused and self.running

    def start(self, timeout: float = 30.0) -> None:
        """Initialise the data directory (first time only), start mariadbd and
        return once a real PyMySQL connection succeeds."""
        if self.running:
            raise RuntimeError(f"MariaDB on port {self.port} is already running")
        ensure_mariadb_installed()
        began = time.monotonic()
        self.tmpdir.mkdir(exist_ok=True)
        self._hand_over_dirs()  # before install-db: it runs as run_as too
        self._prepare_datadir()
        command = self._command()
        LOG.debug("starting %s", " ".join(command))
        with open(self.basedir / "mariadbd.out", "ab") as out:
            # Own session: a Ctrl-C in the terminal reaches us, not the server;
            # we then stop it ourselves (or the finalizer kills it).
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs[:] = [self._proc]
        self._paused = False
        self._wait_until_ready(began + timeout)
        self.start_seconds = time.monotonic() - began
        LOG.info(
            "MariaDB pid %d ready on %s:%d in %.2f s",
            self._proc.pid,
            self.host,
            self.port,
            self.start_seconds,
        )

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same data directory and port (after stop() or kill())."""
        if self.running:
            self.stop()
        self.start(timeout)

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM, then wait); safe to call twice."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        if self._paused:  # a stopped process only acts on SIGTERM once continued
            self.resume()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            LOG.warning("MariaDB pid %d ignored SIGTERM for 60 s; killing it", proc.pid)
            self.kill()
        _kill_group(proc.pid)
        self._paused = False

    def kill(self) -> None:
        """Crash the server: SIGKILL, and wait until the process is gone."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        proc.wait()
        _kill_group(proc.pid)
        self._paused = False

    def pause(self) -> None:
        """SIGSTOP the server: TCP connects still succeed, nothing answers."""
        self._signal(signal.SIGSTOP)
        self._paused = True
        _wait_for_state(self._proc.pid, {"T", "t"})  # type: ignore[union-attr]  # callers check running first

    def resume(self) -> None:
        """SIGCONT a paused server."""
        self._signal(signal.SIGCONT)
        self._paused = False
        _wait_for_state(self._proc.pid, {"R", "S", "D"})  # type: ignore[union-attr]  # callers check running first

    def cleanup(self) -> None:
        """Stop the server and delete the base directory if we created it."""
        try:
            self.stop()
        finally:
            self._finalizer.detach()
            if self._owns_basedir:
                shutil.rmtree(self.basedir, ignore_errors=True)
            if self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

    # -- clients ---------------------------------------------------------

    def connection_kwargs(self, database: str | None = None, **kw: Any) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect`` (time-outs always set)."""
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": database,
            **_CLIENT_TIMEOUTS,
        }
        params.update(kw)
        return params

    def connect(self, database: str | None = None, **kw: Any) -> pymysql.connections.Connection:
        """Open a PyMySQL connection over TCP; ``kw`` overrides the defaults."""
        return pymysql.connect(**self.connection_kwargs(database, **kw))

    def query(self, sql: str, args: Any = None, database: str | None = None) -> tuple[tuple[Any, ...], ...]:
        """Run one statement on a fresh autocommit connection and return its rows
        (a direct look at the server, e.g. to check what really got stored)."""
        conn = self.connect(database, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            conn.close()

    def create_database(self, name: str) -> None:
        """CREATE DATABASE IF NOT EXISTS ``name``."""
        quoted = name.replace("`", "``")
        self.query(f"CREATE DATABASE IF NOT EXISTS `{quoted}`")

    # -- internals -------------------------------------------------------

    def _command(self) -> list[str]:
        """The mariadbd command line of :meth:`start` (subclasses add options in
        :meth:`_server_args`)."""
        return [
            _find_binary(_SERVER_BINARY) or _SERVER_BINARY,
            "--no-defaults",  # must come first: ignore /etc/mysql and ~/.my.cnf
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--port={self.port}",
            f"--bind-address={self.host}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_path}",
            "--skip-name-resolve",  # no DNS look-ups on connect
            "--local-infile=1",  # LOAD DATA LOCAL INFILE for bulk loads
            "--max-connections=500",
            "--character-set-server=utf8mb4",  # as Debian's packaged config
            "--collation-server=utf8mb4_general_ci",
            *self._user_args(),
            *self._server_args(),
        ]

    def _user_args(self) -> list[str]:
        """``--user`` for mariadbd and mariadb-install-db (only root may switch user)."""
        if os.geteuid() != 0:
            return []
        return [f"--user={self.run_as or 'root'}"]

    def _server_args(self) -> list[str]:
        """Options after the standard ones; subclasses add their own here."""
        return list(self.extra_args)

    def _prepare_datadir(self) -> None:
        """Create the system tables on the first start (kept across restarts)."""
        if not (self.datadir / "mysql").is_dir():
            self._install_db()

    def _hand_over_dirs(self) -> None:
        """Give the server's directories to ``run_as`` (when root runs it as another
        user): mariadbd and its helpers must write there."""
        if os.geteuid() != 0 or self.run_as in (None, "root"):
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        tops = [self.basedir] + ([self._socket_dir] if self._socket_dir is not None else [])
        for top in tops:
            for folder, _, files in os.walk(top):
                shutil.chown(folder, self.run_as, self.run_as)
                for name in files:
                    shutil.chown(Path(folder, name), self.run_as, self.run_as)

    def _signal(self, signum: int) -> None:
        if not self.running:
            raise RuntimeError(f"MariaDB on port {self.port} is not running")
        os.kill(self._proc.pid, signum)  # type: ignore[union-attr]  # callers check running first

    def _install_db(self) -> None:
        """Create the system tables; root@localhost/127.0.0.1 with no password."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        command = [
            _find_binary(_INSTALL_DB_BINARY) or _INSTALL_DB_BINARY,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            *self._user_args(),
        ]
        LOG.debug("running %s", " ".join(command))
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        (self.basedir / "install-db.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise MariaDBUnavailable(
                f"mariadb-install-db failed ({result.returncode}):\n{_tail(result.stdout + result.stderr)}"
            )

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll with real client connections until one succeeds or we give up."""
        proc = self._proc
        assert proc is not None
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise MariaDBUnavailable(
                    f"mariadbd exited with code {proc.returncode} during start-up; "
                    f"log {self.log_path}:\n{_read_tail(self.log_path)}"
                )
            try:
                self.connect(connect_timeout=1, read_timeout=2, write_timeout=2).close()
                return
            except pymysql.err.OperationalError as exc:
                last_error = exc
            time.sleep(_POLL_INTERVAL)
        self.kill()
        raise MariaDBUnavailable(
            f"mariadbd not ready on port {self.port} in time (last error: {last_error}); "
            f"log {self.log_path}:\n{_read_tail(self.log_path)}"
        )
