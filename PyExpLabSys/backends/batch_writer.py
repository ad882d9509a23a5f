"""The batch writer: a batch of points into a MySQL/MariaDB table, exactly once.

One multi-row INSERT (:mod:`.sqltext`) and an explicit COMMIT; on InnoDB the batch's
ledger row goes in the same transaction (:mod:`.ledger`), on MyISAM the rows after a
watermark id are read back (:mod:`.readback`). Where the client library allows it
(PyMySQL), the ledger row, the rows and the COMMIT travel in one packet: one round trip
per batch instead of three, which spares the server two reads and answers per commit.
The writer sends its statements through a :class:`~.session.SQLSession`, which holds
the connection, the deadline and the translation of errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .base import BatchRejected, Contended, MayHeal, OutcomeUnknown, Point, describe_error
from .ledger import BatchLedger
from .mysql_errors import ER, Action, action_of
from .readback import Watermark
from .rows import CLASSIC, EXACT, RowShape
from .session import SQLSession
from .sqltext import TABLE_ENGINE, TIME_PRECISION, max_row_id, quote_identifier

LOG = logging.getLogger(__name__)

__all__ = ["BatchWriter"]


class BatchWriter:
    """Writes batches into ``table`` through ``session``; its ledger or watermark."""

    def __init__(
        self, session: SQLSession, table: str, ledger: BatchLedger, rows: RowShape = CLASSIC
    ) -> None:
        self.session = session
        self.rows = rows  # the columns a point fills (continuous or data-set table)
        self.table = table
        self.table_sql = quote_identifier(table)
        self.ledger = ledger
        self._watermark = Watermark()  # non-transactional tables
        self.precision = 0
        self.engine = "unknown"
        # The ledger table was created (or found) on an earlier connection: a reconnect
        # does not send the DDL again (on Galera it is a cluster-wide operation that
        # waits, after a node's death, until the cluster has evicted it).
        self._ledger_ready = False

    # -- on each new connection (called by the session) ----------------------------------

    @property
    def transactional(self) -> bool:
        """Whether the data table has transactions (InnoDB): then the ledger is used."""
        return self.engine.upper() == "INNODB"

    def read_layout(self, cursor: Any) -> None:
        """The data table's engine and the precision of its ``time`` column (a
        data-set table's doubles are exact)."""
        self.engine = self._one(cursor, TABLE_ENGINE, "does not exist") or "unknown"
        if not self.rows.timed:
            self.precision = EXACT
            return
        self.precision = int(self._one(cursor, TIME_PRECISION, "has no column 'time'"))

    def _one(self, cursor: Any, statement: str, missing: str) -> Any:
        """The single value ``statement`` selects about the data table; MayHeal if none."""
        self.session.execute(cursor, statement, (self.table,))
        row = cursor.fetchone()
        if row is None:
            raise MayHeal(f"table {self.session.database}.{self.table} {missing}")
        return row[0]

    def ready(self, cursor: Any) -> None:
        """InnoDB: the ledger table exists. MyISAM: the watermark is known."""
        if self.transactional and not self._ledger_ready:
            cursor.execute(self.ledger.create_statement())
            self._ledger_ready = True
        elif not self.transactional and self._watermark.row_id is None:
            cursor.execute(max_row_id(self.table_sql))
            self._watermark.row_id = int(cursor.fetchone()[0])

    # -- restarts ---------------------------------------------------------------------------

    def checkpoint(self) -> dict:
        """Non-transactional tables: the highest row id known to hold our points."""
        return {} if self.transactional else self._watermark.checkpoint()

    def resume(self, logger_id: str, checkpoint: Mapping[str, Any]) -> None:
        """Continue an earlier run's batches: its ledger name, and on MyISAM its
        watermark; until a batch is found not to be stored, every batch is first read
        back (it may have landed before the kill)."""
        self.ledger.rename(logger_id)
        self._watermark.restore(dict(checkpoint))

    # -- batches ------------------------------------------------------------------------

    def prepare(self, points: Sequence[Point]) -> tuple[int, str]:
        """The VALUES list of ``points`` (pure; the drain renders the next batch with it
        while the current one is in flight)."""
        precision = self.precision
        return precision, self.rows.render(points, precision)

    def insert(
        self,
        first_seq: int,
        points: Sequence[Point],
        prepared: tuple[int, str] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        """One multi-row INSERT; on InnoDB with its ledger row, in one transaction.

        The ledger row ``(logger_id, first_seq)`` has a primary key: a batch that was
        already committed cannot commit again (the duplicate key rolls it back), and
        after a lost COMMIT answer the ledger tells whether it committed. On MyISAM after
        a restart, what the last run may have stored is read back and not sent again.
        ``on_sent`` is called once the statement with the rows is on its way (not at all
        when the batch fails before that).
        """
        session = self.session
        conn = session.require()
        if self._watermark.unverified and not self.transactional:
            stored = self.stored_prefix(points)
            if stored < len(points):
                self._watermark.unverified = False
            if stored:
                LOG.warning("%d point(s) were stored before the restart: not resending them", stored)
                points, prepared = points[stored:], None
            if not points:
                return
        if prepared is None or prepared[0] != self.precision:
            prepared = self.prepare(points)
        sql = self.rows.insert_head(self.table_sql) + prepared[1]
        sent = False
        in_ledger = False
        try:
            with session.guarded(), session.cursor(conn) as cursor:
                if self.transactional and session.client.one_trip:
                    # one packet: the server stops at the first failing statement, so
                    # a duplicate ledger row (the batch is in) stores nothing more
                    ledger = self.ledger.record_literal(
                        first_seq, len(points), session.client.quote(conn, self.ledger.logger_id)
                    )
                    sent = in_ledger = True
                    session.client.when_sent(conn, on_sent)
                    cursor.execute(f"{ledger};{sql};COMMIT")  # the ledger row's answer
                    in_ledger = False
                    while cursor.nextset():  # the rows', then the COMMIT's
                        pass
                elif self.transactional:
                    in_ledger = True
                    session.execute(cursor, *self.ledger.record(first_seq, len(points)))
                    in_ledger = False
                    session.client.when_sent(conn, on_sent)
                    cursor.execute(sql)
                    sent = True
                    conn.commit()
                else:  # the INSERT itself is durable, possibly in part
                    sent = True
                    session.client.when_sent(conn, on_sent)
                    cursor.execute(sql)
                    first_id = session.client.last_insert_id(cursor)
                    if first_id:
                        self._watermark.row_id = first_id + len(points) - 1
        except Exception as error:
            session.client.when_sent(conn, None)  # on_sent not called yet: it never will be
            code = session.error_code(error)
            if in_ledger and code == ER.DUP_ENTRY:
                session.rollback()
                raise OutcomeUnknown(f"batch {first_seq} is already in the ledger") from None
            if self.transactional and action_of(code) is Action.STAY_AND_RETRY:
                # InnoDB and Galera roll the whole transaction back: nothing is stored,
                # and the connection is fine; send again on it.
                session.rollback()
                raise Contended(describe_error(error)) from None
            translated = session.failed(error, outcome_unknown=sent)
            if code == ER.NO_SUCH_TABLE:  # dropped meanwhile: the next connect creates it
                self._ledger_ready = False
                session.close()
            elif isinstance(translated, (BatchRejected, MayHeal)):
                session.rollback()
                if isinstance(translated, BatchRejected) and not self.transactional:
                    translated = BatchRejected(str(translated), stored=self.stored_prefix(points))
            else:
                session.close()
            raise translated from None
        if self.transactional:
            below = self.ledger.committed(first_seq)
            if below is not None:
                self._prune_ledger(below)

    def reconcile(self, first_seq: int, points: Sequence[Point]) -> int:
        """How many leading ``points`` are stored, asked on a fresh connection.

        InnoDB: the ledger row of the batch says all or nothing. MyISAM: the rows after
        the watermark are read back and compared with the batch (this logger is assumed
        to be the only writer of its codenames).
        """
        if not self.transactional:
            return self.stored_prefix(points)
        rows = self.session.read(*self.ledger.lookup(first_seq))
        # the whole batch of that name: after a restart it may be larger than ``points``
        return 0 if not rows else int(rows[0][0])

    def stored_prefix(self, points: Sequence[Point]) -> int:
        """Non-transactional tables: how many leading ``points`` the table holds
        after the watermark (a killed multi-row INSERT leaves a prefix)."""
        rows = self.session.read(*self._watermark.select_after(self.table_sql, points, self.rows))
        return self._watermark.match(rows, points, self.precision, self.table)

    def _prune_ledger(self, below_seq: int) -> None:
        """Forget ledger rows of batches that can no longer be resent."""
        session = self.session
        try:
            conn = session.require()
            with session.guarded(), session.cursor(conn) as cursor:
                session.execute(cursor, *self.ledger.prune(below_seq))
            conn.commit()
        except Exception as error:  # pruning can wait for the next time
            LOG.warning("could not prune the ledger: %s", describe_error(error))
            session.rollback()
