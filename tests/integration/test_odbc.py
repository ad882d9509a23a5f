"""What is ODBC's own: DSN errors, the native error code, the connection string."""

from __future__ import annotations

import pytest

from PyExpLabSys.backends.odbc import OdbcBackend, connection_string, odbc_error_code
from PyExpLabSys.common.loggers import ContinuousLogger, StartupException
from PyExpLabSys.service.config import load_config
from PyExpLabSys.service.dbsetup import init_database

from ..conftest import DATABASE, FAST_TIMEOUTS, LOGGER_PASSWORD, LOGGER_USER, ONE_GAUGE_TOML

pytestmark = pytest.mark.mariadb


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("[42S02] [ma-3.1.15][10.11.19-MariaDB]Table 'x.y' doesn't exist (1146) (SQLExecDirectW)", 1146),
        ("[HY000] [ma-3.1.15]Can't connect to server on '127.0.0.1' (115) (2002) (SQLDriverConnect)", 2002),
        ("[IM002] [unixODBC][Driver Manager]Data source name not found (0) (SQLDriverConnect)", None),
        ("no code here", None),
    ],
)
def test_native_error_code_is_read_from_the_diagnostic(message, code):
    assert odbc_error_code(Exception(message[1:6], message)) == code


def test_password_is_braced_in_the_connection_string():
    text = connection_string({"DSN": "lab db", "UID": "u", "PWD": "a;b}c", "PORT": None})
    assert text == "DSN={lab db};UID=u;PWD={a;b}}c}"


def test_undefined_dsn_fails_start_up_naming_it(odbc_dsn, caplog):
    with pytest.raises(StartupException, match="'no_such_dsn' is not defined") as caught:
        ContinuousLogger(
            "dateplots_x", LOGGER_USER, LOGGER_PASSWORD, ["a"], dsn="no_such_dsn", timeouts=FAST_TIMEOUTS
        )
    assert LOGGER_PASSWORD not in str(caught.value) and LOGGER_PASSWORD not in caplog.text


def test_describe_names_the_dsn_never_the_password(odbc_dsn):
    backend = OdbcBackend("dateplots_x", LOGGER_USER, LOGGER_PASSWORD, odbc_dsn)
    assert odbc_dsn in backend.describe() and LOGGER_PASSWORD not in repr(backend)


def test_init_db_creates_the_tables_through_the_dsn(odbc_dsn, mariadb, tmp_path):
    """init-db goes through the registry, so an ODBC setup gets its tables too."""
    (tmp_path / "pw").write_text(LOGGER_PASSWORD)
    config_path = tmp_path / "odbc.toml"
    config_path.write_text(
        f"""
[database]
backend = "odbc"
dsn = "{odbc_dsn}"
user = "{LOGGER_USER}"
password_file = "pw"
table = "dateplots_odbc_init"
"""
        + ONE_GAUGE_TOML.format(codename="odbc_init_pressure")
    )
    config = load_config(config_path)
    ids = init_database(config)
    assert init_database(config) == ids  # a second run changes nothing
    with mariadb.connect(DATABASE) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM dateplots_descriptions WHERE codename = 'odbc_init_pressure'")
        assert cursor.fetchall() == ((ids["odbc_init_pressure"],),)
        cursor.execute(
            "SELECT DATETIME_PRECISION FROM information_schema.COLUMNS WHERE "
            "TABLE_SCHEMA = %s AND TABLE_NAME = 'dateplots_odbc_init' "
            "AND COLUMN_NAME = 'time'",
            (DATABASE,),
        )
        assert cursor.fetchone() == (6,)
