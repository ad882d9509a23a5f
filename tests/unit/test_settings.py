"""Where the server is: arguments, then environment, then user settings, then defaults."""

from __future__ import annotations

import pytest

from PyExpLabSys.settings import resolve_server_location


def write_settings(config_home, text: str) -> None:
    folder = config_home / "PyExpLabSys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user_settings.yaml").write_text(text)


def test_defaults(clean):
    location = resolve_server_location()
    assert (location.host, location.port, location.database) == ("localhost", 3306, "cinfdata")


def test_user_settings_file(clean):
    write_settings(clean, "sql_server_host: db.lab.example\nsql_database: surfcat\n")
    location = resolve_server_location()
    assert (location.host, location.port, location.database) == ("db.lab.example", 3306, "surfcat")


def test_environment_beats_settings_file_and_arguments_beat_both(clean, monkeypatch):
    write_settings(clean, "sql_server_host: from-file\nsql_database: filedb\n")
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_HOST", "from-env")
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_PORT", "3307")
    location = resolve_server_location()
    assert (location.host, location.port, location.database) == ("from-env", 3307, "filedb")
    location = resolve_server_location(host="from-arg", database="argdb")
    assert (location.host, location.port, location.database) == ("from-arg", 3307, "argdb")


def test_unreadable_settings_file_is_ignored_with_a_warning(clean, caplog):
    write_settings(clean, "sql_server_host: [unclosed\n")
    assert resolve_server_location().host == "localhost"
    assert "ignoring unreadable user settings" in caplog.text


def test_bad_port_is_a_clear_error(clean, monkeypatch):
    monkeypatch.setenv("PYEXPLABSYS_SQL_SERVER_PORT", "mysql")
    with pytest.raises(ValueError, match="port must be an integer"):
        resolve_server_location()
