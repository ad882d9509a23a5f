"""Pseudo-terminal plumbing shared by all instrument simulators.

A simulator owns a pty pair (``os.openpty()``, both ends raw) and a thread that serves
the master side: it splits the incoming bytes into requests, lets the instrument model
(:meth:`PtySimulator.handle`) answer, applies injected faults and writes the reply.
The driver opens the slave side like any serial device.

Stable path, vanish and return
------------------------------
The path drivers should open is :attr:`PtySimulator.port`, a symlink (like udev's
``/dev/serial/by-id/...``) that points at the current ``/dev/pts/N``
(:attr:`PtySimulator.device`). :meth:`PtySimulator.vanish` closes both ends held by
the simulator and removes the symlink: a driver with the port open gets EIO (pyserial:
``SerialException``), and reopening the name fails as for an unplugged adapter.
:meth:`PtySimulator.reappear` opens a new pty and points the same symlink at it, so a
driver that reopens the same name carries on. (The simulator keeps its own slave fd
open while it is "plugged in": on Linux, reading the master fails with EIO whenever no
slave fd is open, i.e. between two driver connections.)

Faults
------
:meth:`PtySimulator.inject` makes the next ``times`` replies misbehave: ``silent`` (no
answer), ``delay`` (answer after ``delay`` seconds), ``corrupt`` (one byte changed),
``checksum`` (wrong checksum, protocols with checksums only) or ``nak`` (the protocol's
error reply, with ``code``). The returned :class:`Fault` has a ``done`` event that is
set once the fault has been acted out (for ``delay``: once the late reply was written),
so tests can wait for it instead of sleeping.

Set :attr:`PtySimulator.powered` to False for a unit switched off at the wall while
its cable stays plugged in: it answers nothing until it is True again.
"""

from __future__ import annotations

import logging
import math
import os
import select
import shutil
import tempfile
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import ClassVar

LOG = logging.getLogger(__name__)

FAULT_KINDS = ("silent", "delay", "corrupt", "checksum", "nak")


@dataclass
class Fault:
    """A misbehaviour to apply to the next ``times`` replies (None: until cleared)."""

    kind: str
    times: int | None = 1
    delay: float = 0.0
    code: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; choose from {FAULT_KINDS}")


class _Session:
    """One plugged-in period: a pty pair and the thread serving its master side."""

    def __init__(self, owner: PtySimulator) -> None:
        self.owner = owner
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.device = os.ttyname(self.slave)
        self.wake_r, self.wake_w = os.pipe()
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._serve, daemon=True, name=f"sim-{owner.name}-{self.device}"
        )
        self.thread.start()

    def _serve(self) -> None:
        buf = bytearray()
        while not self.stop.is_set():
            readable, _, _ = select.select([self.master, self.wake_r], [], [])
            if self.wake_r in readable:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            buf += data
            for request in self.owner.split_requests(buf):
                if not self.owner._respond(request, self):
                    return

    def write(self, data: bytes) -> bool:
        """Write ``data`` to the driver; False if the line is gone."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.master, view) :]
        except OSError:
            return False
        return True

    def close(self) -> None:
        self.stop.set()
        os.write(self.wake_w, b"x")
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)
        for fd in (self.master, self.slave, self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


class PtySimulator:
    """Base class of the instrument simulators: a model of the instrument on a pty.

    Subclasses set :attr:`name` and :attr:`request_terminator` and implement
    :meth:`handle`; they override :meth:`nak`, :meth:`corrupt`, :meth:`bad_checksum`,
    :meth:`split_requests` or :meth:`fault_applies` where their protocol needs it.
    """

    name: ClassVar[str] = "device"
    request_terminator: ClassVar[bytes] = b"\r"
    #: Whether the protocol has checksums (and the ``checksum`` fault makes sense).
    has_checksum: ClassVar[bool] = False
    #: Arguments of a driver reading that name something this unit has (a gauge), for
    #: readings that need one: reading name → args (tests, benchmark, demo use them).
    reading_args: ClassVar[dict[str, tuple[object, ...]]] = {}

    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        self._tmpdir: str | None = None
        if link is None:
            self._tmpdir = tempfile.mkdtemp(prefix="pyexplabsys-sim-")
            link = os.path.join(self._tmpdir, self.name)
        #: Stable path of the simulated device (a symlink to the current pty).
        self.port = os.fspath(link)
        self.lock = threading.RLock()
        self.requests = 0
        self._faults: list[Fault] = []
        self._session: _Session | None = None
        self._started = time.monotonic()
        #: False: switched off, the line stays but nothing answers.
        self.powered = True

    # ------------------------------------------------------------------ life cycle
    @property
    def device(self) -> str | None:
        """The current ``/dev/pts/N`` (None while vanished)."""
        session = self._session
        return session.device if session else None

    @property
    def present(self) -> bool:
        """True while the device is plugged in."""
        return self._session is not None

    def start(self) -> PtySimulator:
        """Plug the device in and start serving."""
        self.reappear()
        return self

    def stop(self) -> None:
        """Unplug the device and clean up its temporary directory."""
        self.vanish()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def vanish(self) -> None:
        """Unplug: close the simulator's ends of the line and remove the symlink."""
        with self.lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                os.unlink(self.port)
            except FileNotFoundError:
                pass
            session.close()
            LOG.info("%s vanished (%s)", self.name, session.device)

    def reappear(self) -> None:
        """Plug back in on a new pty and point :attr:`port` at it."""
        with self.lock:
            if self._session is not None:
                return
            session = _Session(self)
            tmp_link = f"{self.port}.new"
            if os.path.lexists(tmp_link):
                os.unlink(tmp_link)
            os.symlink(session.device, tmp_link)
            os.replace(tmp_link, self.port)
            self._session = session
        LOG.info("%s serving on %s -> %s", self.name, self.port, session.device)

    def __enter__(self) -> PtySimulator:
        return self if self.present else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults
    def inject(self, kind: str, times: int | None = 1, delay: float = 0.0, code: str | None = None) -> Fault:
        """Make the next ``times`` replies misbehave (see the module docstring)."""
        fault = Fault(kind, times, delay, code)
        if kind == "checksum" and not self.has_checksum:
            raise ValueError(f"{self.name}: the protocol has no checksum")
        with self.lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Behave normally again."""
        with self.lock:
            for fault in self._faults:
                fault.done.set()
            self._faults.clear()

    def _take_fault(self, request: bytes) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if self.fault_applies(fault.kind, request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ serving
    def _respond(self, request: bytes, session: _Session) -> bool:
        """Answer one request; False when the session ends meanwhile."""
        if not self.powered:
            return True
        fault = self._take_fault(request)
        kind = fault.kind if fault else None
        if kind == "silent":
            reply = None
        elif kind == "nak":
            reply = self.nak(request, fault.code if fault else None)
        else:
            with self.lock:
                self.requests += 1
                try:
                    reply = self.handle(request)
                except Exception:  # a model bug must not kill the serving thread
                    LOG.exception("%s: error handling %r", self.name, request)
                    reply = None
            if reply is not None and kind == "corrupt":
                reply = self.corrupt(reply)
            elif reply is not None and kind == "checksum":
                reply = self.bad_checksum(reply)
        if fault is not None and kind == "delay" and session.stop.wait(fault.delay):
            return False
        ok = reply is None or session.write(reply)
        if fault is not None and fault.times is not None and fault.times <= 0:
            fault.done.set()
        return ok

    def split_requests(self, buf: bytearray) -> list[bytes]:
        """Remove and return the complete requests at the start of ``buf``."""
        requests = []
        term = self.request_terminator
        while (pos := buf.find(term)) >= 0:
            end = pos + len(term)
            requests.append(bytes(buf[:end]))
            del buf[:end]
        return requests

    # ------------------------------------------------------------------ the model
    def handle(self, request: bytes) -> bytes | None:
        """Return the instrument's reply to ``request`` (None: no reply)."""
        raise NotImplementedError

    def fault_applies(self, kind: str, request: bytes) -> bool:
        """Whether a pending fault of ``kind`` hits the reply to ``request``."""
        return True

    def nak(self, request: bytes, code: str | None) -> bytes | None:
        """The protocol's error reply (None: the protocol just stays silent)."""
        return None

    def corrupt(self, reply: bytes) -> bytes:
        """Change one byte: the first digit (else the first byte) becomes ``#``."""
        index = next((i for i, byte in enumerate(reply) if 0x30 <= byte <= 0x39), 0)
        return reply[:index] + b"#" + reply[index + 1 :]

    def bad_checksum(self, reply: bytes) -> bytes:
        """A reply with a wrong checksum (only for protocols that have one)."""
        raise ValueError(f"{self.name}: the protocol has no checksum")

    def elapsed(self) -> float:
        """Seconds since the simulator was created (drives the drifting values)."""
        return time.monotonic() - self._started

    def drift(self, base: float, relative: float = 0.02, period: float = 60.0) -> float:
        """``base`` with a slow sinusoidal drift of ``relative`` amplitude."""
        return base * (1.0 + relative * math.sin(2 * math.pi * self.elapsed() / period))
