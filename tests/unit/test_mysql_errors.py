"""The one table of MySQL error codes: what the drain does after each."""

from __future__ import annotations

import pymysql.err
import pytest

from PyExpLabSys.backends.base import BatchRejected, ConnectionFailed, MayHeal, OutcomeUnknown
from PyExpLabSys.backends.mysql_errors import ACTIONS, CR, ER, Action, action_of, classify_code


def server_error(code: int) -> pymysql.err.OperationalError:
    return pymysql.err.OperationalError(code, "message")


def classify(code: int, outcome_unknown: bool = False) -> Exception:
    return classify_code(server_error(code), code, outcome_unknown, server_error=True)


def test_deadlock_and_lock_wait_stay_on_the_node_and_are_not_verdicts():
    """1213 (also Galera's certification conflict) and 1205: the transaction was rolled
    back whole on a healthy node; filed as stay-and-retry, not as reconnect."""
    for code in (ER.LOCK_DEADLOCK, ER.LOCK_WAIT_TIMEOUT):
        assert action_of(code) is Action.STAY_AND_RETRY
        assert type(classify(code)) is ConnectionFailed  # not MayHeal: not a refusal
        assert type(classify(code, outcome_unknown=True)) is OutcomeUnknown


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (CR.SERVER_LOST, ConnectionFailed),
        (ER.UNKNOWN_COM_ERROR, ConnectionFailed),  # Galera node outside the Primary component
        (ER.NO_SUCH_TABLE, MayHeal),
        (ER.DATA_TOO_LONG, BatchRejected),
        (1100, MayHeal),  # an unknown server refusal is kept and retried, never dropped
    ],
)
def test_each_code_is_decided_by_the_table(code, kind):
    assert type(classify(code)) is kind


def test_every_action_comes_from_the_table_and_client_codes_reconnect():
    assert action_of(None) is None and action_of(9999) is None
    client_codes = [value for name, value in vars(CR).items() if name.isupper()]
    assert client_codes and all(ACTIONS[code] is Action.RECONNECT for code in client_codes)
