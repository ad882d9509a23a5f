"""The batch ledger: which batches an InnoDB table has committed, for exactly-once.

Each batch is named by ``(logger_id, first_seq)``: the logger's id and the stream
position of its first point. Its ledger row is inserted in the same transaction as its
points, under a primary key, so

* a batch that was already committed cannot commit again (the duplicate key rolls the
  second attempt back), and
* after a lost COMMIT answer, the ledger row says whether the batch was stored.

Rows of batches that can no longer be resent are pruned now and then. This class only
writes the statements and keeps the pruning schedule; the backend runs them.
"""

from __future__ import annotations

import socket
import uuid
from collections import deque

from .sqltext import quote_identifier

__all__ = ["KEEP_NEWEST", "LEDGER_TABLE", "PRUNE_EVERY", "BatchLedger", "default_logger_id"]


def default_logger_id(table: str) -> str:
    """A name for this logger's batches: host, table and a random part (<= 64 chars)."""
    return f"{socket.gethostname()[:24]}:{table[:24]}:{uuid.uuid4().hex[:12]}"


#: The table that records committed batches (InnoDB and SQLite data tables).
LEDGER_TABLE = "pyexplabsys_ledger"
#: Every so many batches, ledger rows of acknowledged batches are deleted.
PRUNE_EVERY = 1000
#: How many of the newest batches always keep their ledger rows.
KEEP_NEWEST = 100


class BatchLedger:
    """Statements on the ledger table of one logger, and when to prune it."""

    def __init__(self, logger_id: str, table: str = LEDGER_TABLE) -> None:
        self.logger_id = _checked(logger_id)
        self.table = table
        self.table_sql = quote_identifier(table)
        self._recent: deque[int] = deque(maxlen=KEEP_NEWEST)
        self._batches = 0
        # Batches at or after this stream position may be resent after a restart.
        self._keep_from: float = float("inf")

    def rename(self, logger_id: str) -> None:
        """Continue the batches of an earlier run, named ``logger_id``."""
        self.logger_id = _checked(logger_id)

    def create_statement(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table_sql} ("
            " logger_id VARCHAR(64) NOT NULL,"
            " first_seq BIGINT UNSIGNED NOT NULL,"
            " points INT UNSIGNED NOT NULL,"
            " committed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (logger_id, first_seq)"
            ") ENGINE=InnoDB"
        )

    def record(self, first_seq: int, points: int) -> tuple[str, tuple[str, int, int]]:
        """The INSERT of a batch's ledger row (same transaction as its points)."""
        return (
            f"INSERT INTO {self.table_sql} (logger_id, first_seq, points) VALUES (%s, %s, %s)",
            (self.logger_id, first_seq, points),
        )

    def record_literal(self, first_seq: int, points: int, quoted_id: str) -> str:
        """The same INSERT with its values written in (``quoted_id``: the logger id as
        the connection quotes it), to travel in one packet with the batch's rows."""
        return (
            f"INSERT INTO {self.table_sql} (logger_id, first_seq, points) "
            f"VALUES ({quoted_id},{int(first_seq)},{int(points)})"
        )

    def lookup(self, first_seq: int) -> tuple[str, tuple[str, int]]:
        """The SELECT of a batch's size: no row means the batch was not committed."""
        return (
            f"SELECT points FROM {self.table_sql} WHERE logger_id = %s AND first_seq = %s",
            (self.logger_id, first_seq),
        )

    def keep_from(self, seq: float) -> None:
        """Batches at or after ``seq`` may be resent after a restart: keep their rows."""
        self._keep_from = seq

    def committed(self, first_seq: int) -> int | None:
        """Note a committed batch; the stream position below which rows can be pruned
        now, or None when it is not yet time to prune."""
        self._batches += 1
        self._recent.append(first_seq)
        if self._batches % PRUNE_EVERY:
            return None
        # Keep the newest batches too: a restarted logger resends from its last durable
        # acknowledgement, which can lag behind the newest commits.
        return int(min(self._recent[0], self._keep_from))

    def prune(self, below_seq: int) -> tuple[str, tuple[str, int]]:
        """The DELETE of rows of batches that can no longer be resent."""
        return (
            f"DELETE FROM {self.table_sql} WHERE logger_id = %s AND first_seq < %s",
            (self.logger_id, below_seq),
        )


def _checked(logger_id: str) -> str:
    if len(logger_id) > 64:  # the ledger's column
        raise ValueError("logger_id must be at most 64 characters")
    return logger_id
