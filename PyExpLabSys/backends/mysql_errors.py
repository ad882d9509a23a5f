"""MySQL/MariaDB error codes, by name, and what each means for the drain.

The codes are the server's (``ER``) and the client library's (``CR``); each number is
written once, here, under the name MySQL's documentation gives it. One table,
:data:`ACTIONS`, says for each code what the drain must do next (:class:`Action`), and
:func:`classify_code` turns a driver error into the matching :mod:`~.base` error. The
PyMySQL and ODBC backends both use it: they differ only in how they read the code out
of their library's exceptions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from .base import BatchRejected, ConnectionFailed, MayHeal, OutcomeUnknown, describe_error

__all__ = ["ACTIONS", "CR", "ER", "Action", "action_of", "classify_code"]


class ER:
    """Server error codes (MySQL's ``ER_*``; MariaDB's own where marked)."""

    CRASHED_TABLE = 145  # storage engine: table is marked as crashed (MyISAM after a kill)
    DISK_FULL = 1021
    GET_ERRNO = 1030  # error from the storage engine
    OPEN_AS_READONLY = 1036
    CON_COUNT_ERROR = 1040  # too many connections
    UNKNOWN_COM_ERROR = 1047  # Galera: "WSREP has not yet prepared node for application use"
    DBACCESS_DENIED_ERROR = 1044
    ACCESS_DENIED_ERROR = 1045
    NO_DB_ERROR = 1046
    BAD_NULL_ERROR = 1048
    BAD_DB_ERROR = 1049
    SERVER_SHUTDOWN = 1053
    DUP_ENTRY = 1062
    NO_SUCH_THREAD = 1094  # KILL of a connection that is already gone
    RECORD_FILE_FULL = 1114
    TABLEACCESS_DENIED_ERROR = 1142
    NO_SUCH_TABLE = 1146
    ABORTING_CONNECTION = 1152
    NET_READ_INTERRUPTED = 1159
    NET_WRITE_INTERRUPTED = 1161
    CRASHED_ON_USAGE = 1194
    CRASHED_ON_REPAIR = 1195
    LOCK_WAIT_TIMEOUT = 1205
    LOCK_DEADLOCK = 1213
    WARN_DATA_OUT_OF_RANGE = 1264
    WARN_DATA_TRUNCATED = 1265
    TRUNCATED_WRONG_VALUE = 1292
    QUERY_INTERRUPTED = 1317  # KILL QUERY
    TRUNCATED_WRONG_VALUE_FOR_FIELD = 1366
    DATA_TOO_LONG = 1406
    SIGNAL_EXCEPTION = 1644  # SIGNAL from a trigger
    CONNECTION_KILLED = 1927  # MariaDB
    STATEMENT_TIMEOUT = 1969  # MariaDB: max_statement_time exceeded
    CHECK_CONSTRAINT_VIOLATED = 3819  # MySQL
    CONSTRAINT_FAILED = 4025  # MariaDB: CHECK constraint failed


class CR:
    """Client library error codes (MySQL's ``CR_*``)."""

    CONN_HOST_ERROR = 2003  # can't connect
    SERVER_GONE_ERROR = 2006
    SERVER_LOST = 2013  # lost connection during query
    COMMANDS_OUT_OF_SYNC = 2014
    SERVER_LOST_EXTENDED = 2055  # lost connection (system error)


class Action(enum.Enum):
    """What the drain does after an error with a given code."""

    #: The conversation with the server broke, or the node cannot serve (not a verdict on
    #: the data): reconnect, to another node where there are several, and retry; a
    #: statement whose answer was lost has an unknown outcome (reconciled).
    RECONNECT = "reconnect"
    #: A deadlock, a Galera certification conflict or a lock wait on a healthy node: the
    #: server rolled the whole transaction back. On InnoDB the batch is sent again on the
    #: same connection; elsewhere the backend reconnects, to the same node (moving on
    #: would spread a fleet over the nodes, where their writes conflict all the more).
    STAY_AND_RETRY = "stay and retry"
    #: A refusal an operator can fix (privilege, missing table, full disk, crashed
    #: table): retried with back-off, nothing dropped.
    MAY_HEAL = "may heal"
    #: A verdict on the data of a batch: retrying the same points cannot succeed.
    REJECTED = "rejected"


#: The one table of error codes: what each known code means for the drain. A code not
#: listed is a refusal kept and retried when the server sent it, a broken conversation
#: otherwise (see :func:`classify_code`).
ACTIONS: Mapping[int, Action] = MappingProxyType(
    {
        ER.CON_COUNT_ERROR: Action.RECONNECT,
        ER.UNKNOWN_COM_ERROR: Action.RECONNECT,
        ER.SERVER_SHUTDOWN: Action.RECONNECT,
        ER.ABORTING_CONNECTION: Action.RECONNECT,
        ER.NET_READ_INTERRUPTED: Action.RECONNECT,
        ER.NET_WRITE_INTERRUPTED: Action.RECONNECT,
        ER.QUERY_INTERRUPTED: Action.RECONNECT,
        ER.CONNECTION_KILLED: Action.RECONNECT,
        ER.STATEMENT_TIMEOUT: Action.RECONNECT,
        CR.CONN_HOST_ERROR: Action.RECONNECT,
        CR.SERVER_GONE_ERROR: Action.RECONNECT,
        CR.SERVER_LOST: Action.RECONNECT,
        CR.COMMANDS_OUT_OF_SYNC: Action.RECONNECT,
        CR.SERVER_LOST_EXTENDED: Action.RECONNECT,
        ER.LOCK_WAIT_TIMEOUT: Action.STAY_AND_RETRY,
        ER.LOCK_DEADLOCK: Action.STAY_AND_RETRY,
        ER.DBACCESS_DENIED_ERROR: Action.MAY_HEAL,
        ER.ACCESS_DENIED_ERROR: Action.MAY_HEAL,
        ER.NO_DB_ERROR: Action.MAY_HEAL,
        ER.BAD_DB_ERROR: Action.MAY_HEAL,
        ER.TABLEACCESS_DENIED_ERROR: Action.MAY_HEAL,
        ER.NO_SUCH_TABLE: Action.MAY_HEAL,
        ER.OPEN_AS_READONLY: Action.MAY_HEAL,
        ER.RECORD_FILE_FULL: Action.MAY_HEAL,
        ER.DISK_FULL: Action.MAY_HEAL,
        ER.GET_ERRNO: Action.MAY_HEAL,
        ER.CRASHED_TABLE: Action.MAY_HEAL,
        ER.CRASHED_ON_USAGE: Action.MAY_HEAL,
        ER.CRASHED_ON_REPAIR: Action.MAY_HEAL,
        ER.BAD_NULL_ERROR: Action.REJECTED,
        ER.DUP_ENTRY: Action.REJECTED,
        ER.WARN_DATA_OUT_OF_RANGE: Action.REJECTED,
        ER.WARN_DATA_TRUNCATED: Action.REJECTED,
        ER.TRUNCATED_WRONG_VALUE: Action.REJECTED,
        ER.TRUNCATED_WRONG_VALUE_FOR_FIELD: Action.REJECTED,
        ER.DATA_TOO_LONG: Action.REJECTED,
        ER.SIGNAL_EXCEPTION: Action.REJECTED,
        ER.CHECK_CONSTRAINT_VIOLATED: Action.REJECTED,
        ER.CONSTRAINT_FAILED: Action.REJECTED,
    }
)
#: Actions after which the conversation is not a verdict on the data or the setup.
_NOT_A_VERDICT = (Action.RECONNECT, Action.STAY_AND_RETRY)


def action_of(code: int | None) -> Action | None:
    """The action for a MySQL error code, None for a code not in the table."""
    return None if code is None else ACTIONS.get(code)


#: Codes below this are the server's; from it on, the client library's.
_FIRST_CLIENT_CODE = 2000


def classify_code(
    error: BaseException,
    code: int | None,
    outcome_unknown: bool,
    rejected: bool = False,
    server_error: bool = False,
    timed_out: bool = False,
) -> Exception:
    """Translate a driver error into the backend error that says what to do next.

    ``code`` is the native MySQL error code (None if unknown); ``rejected`` says the
    library itself classed the error as a data error; ``server_error`` that it came
    from the server (an unknown server refusal is kept and retried, never dropped).
    """
    text = describe_error(error)
    timed_out = (
        timed_out or code == ER.STATEMENT_TIMEOUT or isinstance(error, TimeoutError) or "timed out" in text
    )
    action = action_of(code)
    if action is Action.MAY_HEAL:
        return MayHeal(text)
    if action is Action.REJECTED or (rejected and action not in _NOT_A_VERDICT):
        return BatchRejected(text)
    if server_error and code is not None and 0 < code < _FIRST_CLIENT_CODE and action not in _NOT_A_VERDICT:
        return MayHeal(text)  # an unknown server refusal: keep the points, retry
    kind = OutcomeUnknown if outcome_unknown else ConnectionFailed
    return kind(text, timed_out=timed_out)
