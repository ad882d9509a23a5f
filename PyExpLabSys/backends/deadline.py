"""A deadline guard that really interrupts a blocking database call.

PyMySQL's time-outs bound each socket read, not a whole statement. The guard runs one
helper thread per connection; when an armed deadline passes it calls an action, which
for a database connection shuts the socket down, so the blocked call fails at once
instead of being abandoned in a thread that may still write later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)

__all__ = ["DeadlineGuard"]


class DeadlineGuard:
    """Calls ``action`` if a guarded block is still running after its time-out."""

    def __init__(self, name: str = "deadline-guard") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._action: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.fired = 0

    def arm(self, seconds: float, action: Callable[[], None]) -> None:
        """Start the clock: ``action`` runs in ``seconds`` unless disarmed first."""
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._action = action
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        """Stop the clock; the action will not run for this block."""
        with self._cond:
            self._deadline = None
            self._action = None

    def guard(self, seconds: float, action: Callable[[], None]) -> _Guarded:
        """Context manager: ``with guard.guard(5, sock_shutdown): blocking_call()``."""
        return _Guarded(self, seconds, action)

    def _run(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                action, self._deadline, self._action = self._action, None, None
                self.fired += 1
                try:
                    if action is not None:
                        action()
                except Exception:  # the action is a best-effort interruption
                    LOG.exception("deadline action failed")


class _Guarded:
    def __init__(self, guard: DeadlineGuard, seconds: float, action: Callable[[], None]):
        self._guard, self._seconds, self._action = guard, seconds, action

    def __enter__(self) -> None:
        self._guard.arm(self._seconds, self._action)

    def __exit__(self, *exc: object) -> None:
        self._guard.disarm()
