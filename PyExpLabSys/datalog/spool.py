"""The durable spool: waiting points on disk, so a killed logger loses nothing.

An SQLite file in WAL mode holds every point that has been enqueued but not yet
committed by the database, numbered by its stream position (``seq``), in runs of points
packed into one row each (see :mod:`.chunks`). The enqueue path is unchanged (one
``deque.append``); a flusher thread moves the new points to disk in one transaction per
``group_commit_interval``, together with the deletion of the points acknowledged since
the last one and a checkpoint of the acknowledgement (its stream position, and what the
backend needs to reconcile after a restart). Points of other streams (the points
socket's clients wait for them to be on disk) start a group commit at once.

:class:`SpoolBuffer` has the point buffer's interface (append, peek, ack), so the drain
does not know whether a spool is there. It keeps the oldest waiting points in RAM, up to
``max_ram_points``; the rest wait on disk and are read back when the drain gets there,
so memory stays bounded through an outage of any length. At the size limit the overflow
policy drops the oldest or the newest points (the newest until a tenth of the limit is
free again), counted and logged loudly.

Why not ``persist-queue``: it commits (or at least executes an INSERT) per item under a
lock, which costs tens of microseconds per enqueue, and has no group commit; the stream
position and the checkpoint also have to live in the same transaction as the points.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
import uuid
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..values import Point
from .buffer import first_item
from .chunks import CHUNK_POINTS, ChunkError, PointColumns, decode_points
from .policies import Overflow, SpoolPolicy

LOG = logging.getLogger(__name__)

__all__ = ["Spool", "SpoolBuffer", "SpoolError"]

SCHEMA_VERSION = "2"  # 1: a row per point (read and converted at open)
_ROW_BYTES = 26  # the file's bytes per point in a chunk, for the size-limit estimate
_RESUME_AT = 0.9  # drop_newest keeps new points again below this share of the limit


_CHUNKS_TABLE = (
    "CREATE TABLE chunks (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, "
    "count INTEGER NOT NULL, data BLOB NOT NULL)"
)
_CHUNK_COLUMNS = ["first", "last", "count", "data"]
_POINT_COLUMNS = ["seq", "type", "time", "value"]  # the first layout, a row per point


def _runs(rows: list[Any]) -> list[list[Any]]:
    """``(seq, …)`` rows in runs of consecutive positions, each at most a chunk long."""
    runs: list[list[Any]] = []
    for row in rows:
        run = runs[-1] if runs else None
        if run is not None and len(run) < CHUNK_POINTS and run[-1][0] + 1 == row[0]:
            run.append(row)
        else:
            runs.append([row])
    return runs


def _cut(runs: list[PointColumns], start: int, stop: int) -> list[PointColumns]:
    """The points ``start`` to ``stop`` of ``runs`` taken together, as runs."""
    kept: list[PointColumns] = []
    at = 0
    for run in runs:
        low, high = max(start - at, 0), min(stop - at, len(run))
        if low < high:
            kept.append(run if (low, high) == (0, len(run)) else run[low:high])
        at += len(run)
    return kept


class SpoolError(Exception):
    """The spool file cannot be used (not SQLite, wrong schema, unwritable …)."""


class Spool:
    """The SQLite file: points, the acknowledged position, the logger's identity."""

    def __init__(self, path: str | Path, policy: SpoolPolicy = SpoolPolicy()) -> None:
        self.path = Path(path)
        self.policy = policy
        self.lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
            self.conn.execute(f"PRAGMA synchronous={policy.synchronous}")
            self._create_or_check()
        except sqlite3.DatabaseError as error:
            raise SpoolError(f"spool {self.path} cannot be used: {error}") from None
        except OSError as error:
            raise SpoolError(f"spool {self.path} cannot be created: {error}") from None
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        self.logger_id: str = meta["logger_id"]
        self.acked_seq = int(meta.get("acked_seq", "0"))
        self.checkpoint: dict[str, Any] = json.loads(meta.get("checkpoint", "{}"))
        self._codenames: dict[str, int] = json.loads(meta.get("codenames", "{}"))
        #: Per source (a client of the service): the position in its own stream before
        #: which its points are on disk, saved in the same transaction as the points.
        self.sources: dict[str, int] = json.loads(meta.get("sources", "{}"))
        first, last, count = self.conn.execute(
            "SELECT MIN(first), MAX(last), COALESCE(SUM(count), 0) FROM chunks"
        ).fetchone()
        self.next_seq = max(self.acked_seq, (last + 1) if last is not None else 0)
        self.stored = count  # points on disk, including acknowledged ones not yet deleted
        if count:
            LOG.warning(
                "spool %s holds %d point(s) from an earlier run (seq %d to %d); they will be delivered first",
                self.path,
                count,
                first,
                last,
            )

    def _create_or_check(self) -> None:
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with self.conn:
                self.conn.execute("BEGIN")
                self.conn.execute(_CHUNKS_TABLE)
                self.conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("schema", SCHEMA_VERSION),
                        ("logger_id", f"spool:{uuid.uuid4().hex[:24]}"),
                        ("acked_seq", "0"),
                        ("checkpoint", "{}"),
                    ],
                )
            return
        if "meta" not in tables or not tables & {"points", "chunks"}:
            raise SpoolError(
                f"spool {self.path} is an SQLite file of something else "
                f"(tables: {', '.join(sorted(tables))}); not touching it"
            )
        version = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        table = "chunks" if version == (SCHEMA_VERSION,) else "points"
        columns = [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]
        if (table, columns) not in (
            ("chunks", _CHUNK_COLUMNS),
            ("points", _POINT_COLUMNS),
        ) or version not in (
            ("1",),
            (SCHEMA_VERSION,),
        ):
            raise SpoolError(
                f"spool {self.path} has an unknown layout (columns {columns}, "
                f"schema {version}); not touching it"
            )
        self.conn.execute("PRAGMA quick_check").fetchone()
        if table == "points":
            self._convert_from_rows()

    def _convert_from_rows(self) -> None:
        """Repack a spool of the first layout (a row per point) into chunks, in one
        transaction: a spool left by the previous version is delivered, not lost."""
        rows = self.conn.execute("SELECT seq, type, time, value FROM points ORDER BY seq").fetchall()
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.execute(_CHUNKS_TABLE)
                for run in _runs(rows):
                    self._insert_rows(run)
                self.conn.execute("DROP TABLE points")
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        LOG.info("spool %s: %d waiting point(s) repacked into the chunked layout", self.path, len(rows))

    def keep_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Save the backend's checkpoint now (before any point was delivered)."""
        if checkpoint == self.checkpoint:
            return
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (json.dumps(checkpoint),)
            )
        self.checkpoint = checkpoint

    def remember_codenames(self, mapping: dict[str, int]) -> None:
        """Keep codename → type id, so a restart can log while the database is down."""
        known = {**self._codenames, **mapping}
        if known == self._codenames:
            return
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('codenames', ?)", (json.dumps(known),))
        self._codenames = known

    def codenames(self, wanted: list[str]) -> dict[str, int] | None:
        """The remembered ids of ``wanted``, or None unless every one is known."""
        if not all(name in self._codenames for name in wanted):
            return None
        return {name: self._codenames[name] for name in wanted}

    def used_bytes(self) -> int:
        """Bytes of the file in use (freed pages are reused, so the file stops there)."""
        with self.lock:
            page_size, pages, free = (
                self.conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "page_count", "freelist_count")
            )
        return (pages - free) * page_size

    def waiting(self, from_seq: int) -> tuple[int, int | None]:
        """(count, first seq) of the points on disk at or after ``from_seq``."""
        with self.lock:
            count, first = self.conn.execute(
                "SELECT COALESCE(SUM(count), 0), MIN(first) FROM chunks WHERE first >= ?", (from_seq,)
            ).fetchone()
            straddling = self.conn.execute(  # at most one chunk begins before and ends after
                "SELECT first, data FROM chunks WHERE first < ? AND last >= ?", (from_seq, from_seq)
            ).fetchone()
        if straddling is not None:
            rows = [row for row in self._decode(*straddling) if row[0] >= from_seq]
            count += len(rows)
            first = rows[0][0] if rows else first
        return int(count), first

    def write_group(
        self,
        points: Sequence[Point] | Sequence[PointColumns],
        acked: int,
        checkpoint: dict[str, Any],
        sources: dict[str, int],
    ) -> int:
        """One group commit: append ``points`` (points, or runs of them as columns)
        after the last seq, delete what is acknowledged below ``acked`` and save
        ``acked`` with the backend's ``checkpoint`` and the ``sources``' positions, in
        one transaction. Returns the seq of the first new point."""
        runs = [run if isinstance(run, PointColumns) else PointColumns.of([run]) for run in points]
        if points and not isinstance(points[0], PointColumns):
            runs = [PointColumns.of(points)]  # type: ignore[arg-type]  # points, not runs
        count = sum(map(len, runs))
        first = self.next_seq
        with self.lock:
            try:
                self.conn.execute("BEGIN")
                start = first
                for run in runs:
                    for at in range(0, len(run), CHUNK_POINTS):
                        chunk = run[at : at + CHUNK_POINTS]
                        self._insert_chunk(start, start + len(chunk) - 1, chunk)
                        start += len(chunk)
                deleted = self.conn.execute(
                    "SELECT COALESCE(SUM(count), 0) FROM chunks WHERE last < ?", (acked,)
                ).fetchone()[0]
                self.conn.execute("DELETE FROM chunks WHERE last < ?", (acked,))
                self.conn.executemany(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    [(str(acked), "acked_seq"), (json.dumps(checkpoint), "checkpoint")],
                )
                if sources != self.sources:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('sources', ?)", (json.dumps(sources),)
                    )
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        self.next_seq = first + count
        self.acked_seq, self.checkpoint, self.sources = acked, checkpoint, sources
        self.stored += count - deleted
        return first

    def _insert_chunk(
        self, first: int, last: int, points: PointColumns, seqs: Sequence[int] | None = None
    ) -> None:
        """Insert ``points`` at positions ``first`` to ``last`` as one chunk (in the open
        transaction); ``seqs`` lists their positions when there are holes."""
        self.conn.execute(
            "INSERT INTO chunks (first, last, count, data) VALUES (?, ?, ?, ?)",
            (first, last, len(points), points.encode(seqs)),
        )

    def _insert_rows(self, rows: Sequence[tuple[int, int, float, float | None]]) -> None:
        """Insert ``(seq, type, time, value)`` rows, ascending, as one chunk."""
        first, last = rows[0][0], rows[-1][0]
        seqs = None if last - first + 1 == len(rows) else [row[0] for row in rows]
        self._insert_chunk(first, last, PointColumns.of([row[1:] for row in rows]), seqs)

    def _decode(self, first: int, data: bytes) -> list[tuple[int, int, float, float | None]]:
        seqs, points = self._decode_points(first, data)
        return [(seq, *point) for seq, point in zip(seqs, points, strict=True)]

    def _decode_points(self, first: int, data: bytes) -> tuple[list[int], list[Point]]:
        try:
            return decode_points(first, data)
        except ChunkError as error:
            raise SpoolError(f"spool {self.path}: the chunk at seq {first} is damaged: {error}") from None

    def delete(self, seqs: list[int]) -> None:
        """Drop the points at ``seqs`` (the overflow policy): the chunks that hold them
        are written again without them."""
        doomed = set(seqs)
        low, high = min(doomed), max(doomed)
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                chunks = self.conn.execute(
                    "SELECT first, data FROM chunks WHERE last >= ? AND first <= ? ORDER BY first",
                    (low, high),
                ).fetchall()
                removed = 0
                for first, data in chunks:
                    rows = self._decode(first, data)
                    kept = [row for row in rows if row[0] not in doomed]
                    if len(kept) == len(rows):
                        continue
                    removed += len(rows) - len(kept)
                    self.conn.execute("DELETE FROM chunks WHERE first = ?", (first,))
                    if kept:
                        self._insert_rows(kept)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        self.stored -= removed

    def size(self) -> int:
        """Bytes in use in the file and its write-ahead log (-1 if unreadable)."""
        try:
            used = self.used_bytes()
            wal = Path(f"{self.path}-wal")
            return used + (wal.stat().st_size if wal.exists() else 0)
        except (sqlite3.Error, OSError):
            return -1

    def read(self, from_seq: int, limit: int) -> list[tuple[int, int, float, float | None]]:
        """Up to ``limit`` ``(seq, type, time, value)`` rows at or after ``from_seq``."""
        seqs, points = self.read_points(from_seq, limit)
        return [(seq, *point) for seq, point in zip(seqs, points, strict=True)]

    def read_points(
        self, from_seq: int, limit: int, below: float = math.inf
    ) -> tuple[list[int], list[Point]]:
        """Up to ``limit`` points at or after ``from_seq`` and before ``below``: their
        stream positions and the points."""
        seqs: list[int] = []
        points: list[Point] = []
        with self.lock:
            cursor = self.conn.execute(
                "SELECT first, data FROM chunks WHERE last >= ? AND first < ? ORDER BY first",
                (from_seq, below if below < math.inf else 2**63 - 1),
            )
            for first, data in cursor:
                chunk_seqs, chunk_points = self._decode_points(first, data)
                start = bisect_left(chunk_seqs, from_seq)
                stop = min(bisect_left(chunk_seqs, below), start + limit - len(seqs))
                seqs += chunk_seqs[start:stop]
                points += chunk_points[start:stop]
                if len(seqs) >= limit or stop < len(chunk_seqs):
                    break
            cursor.close()
        return seqs, points

    def close(self) -> None:
        with self.lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self.conn.close()


class SpoolBuffer:
    """The point buffer backed by a :class:`Spool` (same interface as PointBuffer)."""

    def __init__(
        self,
        spool: Spool,
        checkpoint: dict[str, Any] | None = None,
        on_publish: Callable[[], None] | None = None,
    ) -> None:
        self.spool = spool
        self.policy = spool.policy
        self._incoming: deque[Point] = deque()
        self.append = self._incoming.append
        # Not yet written: other streams' points (append_from, taken whole by the next
        # group commit) and those of a group commit that failed (written first next).
        self._from_sources: list[PointColumns] = []
        self._retry: list[PointColumns] = []
        self._points: list[Point] = []  # the oldest waiting points, in RAM …
        self._seqs: list[int] = []  # … and their stream positions
        self._disk_from: int | None = None  # first seq waiting on disk only
        # Points on disk below this seq are the buffer's to read back: a group commit
        # publishes its points (in RAM or on disk) in one step under ``_lock``, so a
        # read-back never takes points that the commit also puts into RAM.
        self._published = spool.next_seq
        self._acked = spool.acked_seq  # every seq below is acknowledged
        self._waiting = 0  # flushed, not acknowledged
        # Taken by the group commit under way and not yet published (or put back for the
        # next one): counted under ``_sources_lock``, where they are taken, so that the
        # buffer's length never misses them (the drain ends on an empty buffer at stop).
        self._writing = 0
        # Saved with the first group commit, before any point can have been delivered.
        self._checkpoint: dict[str, Any] = checkpoint if checkpoint is not None else spool.checkpoint
        self._sources: dict[str, int] = dict(spool.sources)
        self._sources_lock = threading.Lock()  # append_from vs the group commit
        self._inflight = 0
        self._lock = threading.Lock()  # the window: drain vs flusher
        self.overflowed = 0
        # drop_newest: once full, every new point is refused until a tenth of the limit
        # is free again (the points kept are the oldest, without holes between them).
        self._refusing = False
        self.flushes = 0  # group commits done …
        self._started = 0  # … and begun (each takes what was appended before it began)
        # Points of another stream (append_from) wait for their group commit, so they
        # start one at once (the next one if one is running); a plain append waits for
        # the interval, which keeps the enqueue path one deque.append.
        self._due = threading.Event()
        self._flush_lock = threading.Lock()
        self._on_publish = on_publish  # e.g. wakes the drain: new points to deliver
        self._stop = threading.Event()
        self._flushed = threading.Condition()
        count, first = spool.waiting(self._acked)
        if count:
            self._waiting, self._disk_from = count, first
        self._thread = threading.Thread(target=self._run, name="spool-flusher", daemon=True)
        self._thread.start()

    # -- the buffer interface -----------------------------------------------------------------

    def __len__(self) -> int:
        with self._sources_lock:  # not while a group commit takes or publishes points
            return len(self._incoming) + self._unwritten() + self._writing + self._waiting

    def _unwritten(self) -> int:
        """Points taken in from other streams or kept from a failed group commit, not
        yet written (racy but safe reads of two lists)."""
        return sum(map(len, self._retry)) + sum(map(len, self._from_sources))

    def durable_seq(self) -> float:
        """Every point below this stream position is acknowledged on disk too."""
        return self.spool.acked_seq

    def head_seq(self) -> int:
        """Stream position of the oldest waiting point (after a non-empty peek)."""
        return self._seqs[0] if self._seqs else self._acked

    def peek(self, max_points: int) -> list[Point]:
        with self._lock:
            self._prefetch(max_points)
            self._inflight = min(max_points, len(self._points))
            return self._points[:max_points]

    def prefetch(self, max_points: int) -> None:
        with self._lock:
            self._prefetch(max_points)

    def _prefetch(self, max_points: int) -> None:
        if len(self._points) < max_points and self._disk_from is not None:
            self._refill()

    def ack(self, count: int, checkpoint: dict[str, Any] | None = None) -> None:
        with self._lock:
            if count > len(self._points):
                raise ValueError(f"cannot acknowledge {count} points, only {len(self._points)} peeked")
            self._acked = self._seqs[count - 1] + 1
            del self._points[:count], self._seqs[:count]
            self._waiting -= count
            self._inflight = max(0, self._inflight - count)
            if checkpoint is not None:
                self._checkpoint = checkpoint

    def oldest(self) -> Point | None:
        point = first_item(self._points)
        if point is None and self._disk_from is not None:
            rows = self.spool.read(self._disk_from, 1)
            point = rows[0][1:] if rows else None
        if point is not None:
            return point
        runs = [first_item(self._retry), first_item(self._from_sources)]
        waiting = [run.first() for run in runs if run is not None and len(run)]
        local = first_item(self._incoming)
        if local is not None:
            waiting.append(local)
        return min(waiting, key=lambda point: point[1], default=None)

    def snapshot(self) -> list[Point]:
        """Waiting points held in RAM (those on disk only are counted, not listed)."""
        unwritten = [point for run in self._retry + self._from_sources for point in run.points()]
        return self._points + unwritten + list(self._incoming)

    # -- the flusher ----------------------------------------------------------------------------

    def _refill(self) -> None:
        """Read the next waiting points from disk into RAM, up to ``max_ram_points``."""
        if self._disk_from is None:
            return
        room = self.policy.max_ram_points - len(self._points)
        if room <= 0:
            return
        seqs, points = self.spool.read_points(self._disk_from, room, below=self._published)
        self._points += points
        self._seqs += seqs
        if seqs:
            last = seqs[-1] + 1
            self._disk_from = last if last < self._published else None

    def _run(self) -> None:
        interval = self.policy.group_commit_interval
        due, stop = self._due, self._stop
        while not stop.is_set():
            due.wait(interval)
            due.clear()  # what is appended from now on starts the next group commit
            self._flush_logged()
        self._flush_logged()

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Exception:  # disk full, I/O error: keep the points in RAM and retry
            LOG.exception(
                "spool %s: group commit failed; %d point(s) wait in RAM",
                self.spool.path,
                len(self._incoming) + self._unwritten(),
            )

    def flush(self) -> int:
        """One group commit: new points to disk, acknowledged ones deleted. Returns
        how many points were written. One at a time, so they end in the order they
        begin (which the tickets count on) and the stream positions stay in order."""
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> int:
        with self._sources_lock:  # the sources' positions match the points taken
            self._started += 1
            sources = dict(self._sources)
            popleft = self._incoming.popleft
            local = [popleft() for _ in range(len(self._incoming))]
            retry, from_sources = self._retry, self._from_sources
            self._retry, self._from_sources = [], []
            self._writing = len(local) + sum(map(len, retry)) + sum(map(len, from_sources))
        runs = [run for run in (*retry, PointColumns.of(local), *from_sources) if len(run)]
        spool = self.spool
        with self._lock:
            acked, checkpoint = self._acked, self._checkpoint
        if (
            not runs
            and acked == spool.acked_seq
            and checkpoint == spool.checkpoint
            and sources == spool.sources
        ):
            self._count_flush()
            return 0
        try:
            runs = self._make_room(runs)
            first = spool.write_group(runs, acked, checkpoint, sources)
        except BaseException:
            with self._sources_lock:  # nothing lost: written first by the next group commit
                self._retry, self._writing = runs, 0
            raise
        count = sum(map(len, runs))
        with self._lock:
            with self._sources_lock:  # from taken to waiting in one step (see __len__)
                self._waiting += count
                self._writing = 0
            room = self.policy.max_ram_points - len(self._points) if self._disk_from is None else 0
            in_ram = 0
            for run in runs:  # tuples only for what the drain holds in RAM
                if in_ram >= room:
                    break
                taken = run[: room - in_ram] if len(run) > room - in_ram else run
                self._points += taken.points()
                in_ram += len(taken)
            self._seqs.extend(range(first, first + in_ram))
            if in_ram < count and self._disk_from is None:
                self._disk_from = first + in_ram
            self._published = first + count
        self._count_flush()
        if count and self._on_publish is not None:
            self._on_publish()
        return count

    def _count_flush(self) -> None:
        with self._flushed:
            self.flushes += 1
            self._flushed.notify_all()

    def _make_room(self, runs: list[PointColumns]) -> list[PointColumns]:
        """Enforce the size limit with the overflow policy before writing ``runs``."""
        spool = self.spool
        size = sum(map(len, runs))
        used = spool.used_bytes()
        deletable = max(0, spool.stored - self._waiting)  # acknowledged, still on disk
        needed = used + (size - deletable) * _ROW_BYTES
        excess = needed - self.policy.max_spool_bytes
        if self._refusing and needed <= _RESUME_AT * self.policy.max_spool_bytes:
            self._refusing = False
            LOG.warning("spool %s has room again: new points are kept", self.spool.path)
        if not size or (excess <= 0 and not self._refusing):
            return runs
        if self.policy.overflow is Overflow.DROP_NEWEST:
            count = size if self._refusing else min(size, -(-excess // _ROW_BYTES))
            self._refusing = True
            self._overflowed(count, "newest")
            return _cut(runs, 0, size - count)
        count = min(size, -(-excess // _ROW_BYTES))
        dropped = self._drop_oldest(count)
        if dropped < count:  # everything older is in flight: drop from the batch instead
            self._overflowed(count - dropped, "newest (all older points are in flight)")
            runs = _cut(runs, count - dropped, size)
        return runs

    def _drop_oldest(self, count: int) -> int:
        """Delete up to ``count`` of the oldest waiting points that are not in flight."""
        with self._lock:
            keep = self._inflight
            seqs_in_ram = self._seqs[keep : keep + count]
            del self._points[keep : keep + len(seqs_in_ram)], self._seqs[keep : keep + len(seqs_in_ram)]
            doomed = list(seqs_in_ram)
            if len(doomed) < count and self._disk_from is not None:
                seqs, _ = self.spool.read_points(self._disk_from, count - len(doomed), below=self._published)
                doomed += seqs
                if seqs:
                    nxt = seqs[-1] + 1
                    self._disk_from = nxt if nxt < self._published else None
            self._waiting -= len(doomed)
        if doomed:
            self.spool.delete(doomed)
            self._overflowed(len(doomed), "oldest")
        return len(doomed)

    def _overflowed(self, count: int, which: str) -> None:
        first = self.overflowed == 0
        self.overflowed += count
        LOG.log(
            logging.ERROR if first or self.overflowed % 100_000 < count else logging.DEBUG,
            "SPOOL FULL (%s, limit %d bytes): dropped the %d %s point(s); %d dropped so far",
            self.spool.path,
            self.policy.max_spool_bytes,
            count,
            which,
            self.overflowed,
        )

    def append_from(self, source: str, position: int, points: Sequence[Point] | PointColumns) -> None:
        """Append a source's points (or their columns) and its position at once: a
        group commit saves both or neither, so a restarted service neither loses nor
        repeats them."""
        run = points if isinstance(points, PointColumns) else PointColumns.of(points)
        with self._sources_lock:
            self._from_sources.append(run)
            self._sources[source] = position
        self._due.set()

    def durable_sources(self) -> dict[str, int]:
        """Each source's position before which its points are on disk."""
        return dict(self.spool.sources)

    def forget_sources(self, sources: list[str]) -> None:
        """Drop these sources' positions with the next group commit."""
        with self._sources_lock:
            for source in sources:
                self._sources.pop(source, None)

    def flush_ticket(self) -> int:
        """The count of group commits after which every point appended so far is on
        disk: one that begins after this call has taken them (or taken them again after
        a failed one), and commits finish in the order they begin. Starts one soon."""
        with self._sources_lock:
            ticket = self._started + 1
        self._due.set()
        return ticket

    def wait_flushed(self, timeout: float) -> bool:
        """Wait until every point enqueued so far is on disk (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        target = self.flush_ticket()
        with self._flushed:
            while self.flushes < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flushed.wait(remaining)
        return True

    def close(self) -> int:
        """Final group commit and close; returns the points left waiting in the spool."""
        self._stop.set()
        self._due.set()
        self._thread.join()
        waiting = len(self)
        self.spool.close()
        return waiting

    def stats(self) -> dict[str, Any]:
        """Spooled points, bytes, oldest age and overflow count, for status()."""
        oldest = self.oldest()
        return {
            "spooled": self._waiting,
            "spool_bytes": self.spool.size(),
            "oldest_spooled_age": None
            if oldest is None or not self._waiting
            else max(0.0, time.time() - oldest[1]),
            "overflowed": self.overflowed,
        }
