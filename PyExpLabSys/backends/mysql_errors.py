"""MySQL/MariaDB error codes, by name, and what each means for the drain.

The codes are the server's (``ER``) and the client library's (``CR``); each number is
written once, here, under the name MySQL's documentation gives it. The three sets below
sort them by what the drain must do next, and :func:`classify_code` turns a driver
error into the matching :mod:`~.base` error. The PyMySQL and ODBC backends both use it:
they differ only in how they read the code out of their library's exceptions.
"""

from __future__ import annotations

from .base import BatchRejected, ConnectionFailed, MayHeal, OutcomeUnknown, describe_error

__all__ = ["CONNECTION_ERRORS", "CR", "ER", "MAY_HEAL_ERRORS", "REJECTED_ERRORS", "classify_code"]


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


#: The conversation with the server broke, or the node cannot serve (not a verdict on the
#: data): reconnect, to another node where there are several, and retry.
CONNECTION_ERRORS = frozenset(
    {
        ER.CON_COUNT_ERROR,
        ER.UNKNOWN_COM_ERROR,
        ER.SERVER_SHUTDOWN,
        ER.ABORTING_CONNECTION,
        ER.NET_READ_INTERRUPTED,
        ER.NET_WRITE_INTERRUPTED,
        ER.LOCK_WAIT_TIMEOUT,
        ER.LOCK_DEADLOCK,
        ER.QUERY_INTERRUPTED,
        ER.CONNECTION_KILLED,
        ER.STATEMENT_TIMEOUT,
        CR.CONN_HOST_ERROR,
        CR.SERVER_GONE_ERROR,
        CR.SERVER_LOST,
        CR.COMMANDS_OUT_OF_SYNC,
        CR.SERVER_LOST_EXTENDED,
    }
)

#: Refusals an operator can fix (privilege, missing table, full disk, crashed table):
#: retried with back-off, nothing dropped.
MAY_HEAL_ERRORS = frozenset(
    {
        ER.DBACCESS_DENIED_ERROR,
        ER.ACCESS_DENIED_ERROR,
        ER.NO_DB_ERROR,
        ER.BAD_DB_ERROR,
        ER.TABLEACCESS_DENIED_ERROR,
        ER.NO_SUCH_TABLE,
        ER.OPEN_AS_READONLY,
        ER.RECORD_FILE_FULL,
        ER.DISK_FULL,
        ER.GET_ERRNO,
        ER.CRASHED_TABLE,
        ER.CRASHED_ON_USAGE,
        ER.CRASHED_ON_REPAIR,
    }
)

#: Verdicts on the data of a batch: retrying the same points cannot succeed.
REJECTED_ERRORS = frozenset(
    {
        ER.BAD_NULL_ERROR,
        ER.DUP_ENTRY,
        ER.WARN_DATA_OUT_OF_RANGE,
        ER.WARN_DATA_TRUNCATED,
        ER.TRUNCATED_WRONG_VALUE,
        ER.TRUNCATED_WRONG_VALUE_FOR_FIELD,
        ER.DATA_TOO_LONG,
        ER.SIGNAL_EXCEPTION,
        ER.CHECK_CONSTRAINT_VIOLATED,
        ER.CONSTRAINT_FAILED,
    }
)

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
    if code in MAY_HEAL_ERRORS:
        return MayHeal(text)
    if code in REJECTED_ERRORS or (rejected and code not in CONNECTION_ERRORS):
        return BatchRejected(text)
    if server_error and code is not None and 0 < code < _FIRST_CLIENT_CODE and code not in CONNECTION_ERRORS:
        return MayHeal(text)  # an unknown server refusal: keep the points, retry
    kind = OutcomeUnknown if outcome_unknown else ConnectionFailed
    return kind(text, timed_out=timed_out)
