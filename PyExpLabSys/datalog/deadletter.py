"""The dead-letter store: points the database rejected for good, kept with the reason.

A point lands here only after the drain has isolated it (split its batch until the
server rejects it alone), so one poison point never holds back the healthy ones and is
never retried forever. Each is appended as one JSON line to a local file, which a person
can read, fix and re-enqueue; every new reason is logged once at ERROR level.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

__all__ = ["DeadLetterStore", "default_dead_letter_path"]


def default_dead_letter_path(name: str) -> Path:
    """``$XDG_STATE_HOME/PyExpLabSys/dead_letters_<name>.jsonl`` (``~/.local/state``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "PyExpLabSys" / f"dead_letters_{name}.jsonl"


class DeadLetterStore:
    """Appends rejected points to a JSON-lines file (or keeps them in memory)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.count = 0
        self.kept: list[dict[str, Any]] = []  # when there is no file
        self._reasons: set[str] = set()
        self._lock = threading.Lock()

    def add(self, codename: str, unixtime: float, value: float | None, reason: str) -> None:
        """Store one rejected point; log the reason the first time it is seen."""
        self.add_many([(codename, unixtime, value, reason, None)])

    def add_many(self, points: list[tuple[str, float, float | None, str, Any]]) -> None:
        """Store rejected points ``(codename, time, value, reason, detail)`` with one
        write; ``detail`` (or None) is kept with the record, e.g. what a client sent."""
        now = time.time()
        records = []
        for codename, unixtime, value, reason, detail in points:
            record = {
                "codename": codename,
                "time": unixtime,
                "value": value,
                "reason": reason,
                "rejected_at": now,
            }
            if detail is not None:
                record["detail"] = detail
            records.append(record)
        with self._lock:
            self.count += len(records)
            new = list({p[3]: p for p in reversed(points) if p[3] not in self._reasons}.values())[::-1]
            self._reasons.update(p[3] for p in new)
            if self.path is None:
                self.kept.extend(records)
            else:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with self.path.open("a", encoding="utf-8") as handle:
                        handle.write("".join(json.dumps(record) + "\n" for record in records))
                        handle.flush()
                        os.fsync(handle.fileno())
                except OSError as error:  # never lose it silently: keep it in memory
                    self.kept.extend(records)
                    LOG.error("cannot write dead letter to %s (%s); kept in memory", self.path, error)
        where = self.path or "memory"
        for codename, unixtime, value, reason, _ in new:
            LOG.error(
                "rejected a point for good (%s=%r at %.3f): %s; dead-lettered to %s",
                codename,
                value,
                unixtime,
                reason,
                where,
            )
        if len(records) > len(new):
            LOG.debug("dead-lettered %d more point(s) for reasons seen before", len(records) - len(new))

    def records(self) -> list[dict[str, Any]]:
        """Every dead letter (from the file and memory), oldest first."""
        with self._lock:
            found = list(self.kept)
            if self.path is not None and self.path.exists():
                with self.path.open(encoding="utf-8") as handle:
                    found = [json.loads(line) for line in handle if line.strip()] + found
        return found
