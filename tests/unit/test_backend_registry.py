"""The backends' registry: one place per backend, used by config, build and init-db."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from PyExpLabSys.assembly import database_backend
from PyExpLabSys.backends import registry
from PyExpLabSys.backends.base import BackendConfigError, BackendSettings
from PyExpLabSys.backends.memory import MemoryBackend, MemoryDatabase
from PyExpLabSys.service.config import ConfigError, load_config
from PyExpLabSys.service.dbsetup import init_database

from ..conftest import ONE_GAUGE_TOML

INSTRUMENTS = ONE_GAUGE_TOML.format(codename="chamber_pressure")

#: The "server" of the toy backend below, and the layouts init-db asked it for.
TOY_DATABASE = MemoryDatabase()
TOY_LAYOUTS: list[dict[str, object]] = []


class ToyBackend(MemoryBackend):
    """A backend written the way a newcomer adds one: a class with from_settings."""

    def __init__(self, database: MemoryDatabase, shelf: int) -> None:
        super().__init__(database)
        self.shelf = shelf

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> ToyBackend:
        return cls(TOY_DATABASE, settings.options["shelf"])

    def describe(self) -> str:
        return f"toy shelf {self.shelf}"

    def create_tables(self, descriptions: Mapping[str, str], **layout: object) -> dict[str, int]:
        TOY_LAYOUTS.append(layout)
        return super().create_tables(descriptions)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> registry.BackendEntry:
    """One registry entry is all it takes to add a backend."""
    entry = registry.BackendEntry(
        "toy",
        f"{__name__}:ToyBackend",
        (
            registry.Option(
                "shelf",
                int,
                required="a shelf number",
                check=lambda v: None if v > 0 else f"must be > 0, not {v}",
            ),
            registry.Option("colour", str, "red", layout=True),
        ),
        needs_password=False,
        describe_format="toy shelf {shelf} ({colour}):{table}",
    )
    monkeypatch.setitem(registry.REGISTRY, "toy", entry)
    return entry


def write(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "setup.toml"
    path.write_text("[database]\n" + textwrap.dedent(database) + INSTRUMENTS)
    return path


def test_a_new_backend_is_one_class_and_one_registry_entry(tmp_path, toy):
    config = load_config(write(tmp_path, 'backend = "toy"\ntable = "t"\nshelf = 3\n'))
    assert config.database.describe() == "toy shelf 3 (red):t"
    backend = database_backend(config.database)
    assert isinstance(backend, ToyBackend) and backend.describe() == "toy shelf 3"
    ids = init_database(config)
    assert ids == {"chamber_pressure": TOY_DATABASE.codenames["chamber_pressure"]}
    assert TOY_LAYOUTS[-1] == {"colour": "red"}  # the entry's layout options, defaults filled


def test_the_new_backends_options_are_validated_from_its_entry(tmp_path, toy):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, 'backend = "toy"\ntable = "t"\nshelf = 0\nshelves = 2\n'))
    problems = caught.value.problems
    assert "database.shelf: must be > 0, not 0" in problems
    assert any(p.startswith("database.shelves: unknown key (did you mean 'shelf'?)") for p in problems)
    with pytest.raises(ConfigError, match=r"database.shelf: missing: the toy backend needs a shelf number"):
        load_config(write(tmp_path, 'backend = "toy"\ntable = "t"\n'))


def test_an_option_of_another_backend_is_named_as_such(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(
            write(
                tmp_path, 'backend = "sqlite"\ntable = "t"\npath = "x.sqlite"\nuser = "lab"\ndsn = "labdb"\n'
            )
        )
    assert "database.user: not an option of the sqlite backend (only of mysql, odbc)" in caught.value.problems
    assert "database.dsn: not an option of the sqlite backend (only of odbc)" in caught.value.problems


def test_unknown_backend_at_build_names_the_known_ones():
    with pytest.raises(
        BackendConfigError, match="unknown backend 'postgres'; choose from sqlite, mysql, odbc"
    ):
        registry.build("postgres", BackendSettings("t"))


def test_registry_defaults_complete_the_options():
    backend = registry.build("mysql", BackendSettings("t", {"user": "lab"}, password="pw"))
    assert backend.describe() == "MySQL lab@localhost:3306/cinfdata.t"


def test_checking_an_sqlite_setup_imports_no_database_client(tmp_path):
    """Neither PyMySQL nor pyodbc is imported to validate, build and init an SQLite setup."""
    path = write(tmp_path, f'backend = "sqlite"\ntable = "t"\npath = "{tmp_path / "x.sqlite"}"\n')
    script = textwrap.dedent(f"""
        import sys
        from PyExpLabSys.assembly import database_backend
        from PyExpLabSys.service.config import load_config
        from PyExpLabSys.service.dbsetup import init_database
        config = load_config({str(path)!r})
        database_backend(config.database)
        init_database(config)
        print(sorted(m for m in ("pymysql", "pyodbc") if m in sys.modules))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_tls_settings_in_the_service_config(tmp_path):
    (tmp_path / "ca.pem").write_text("not checked here, only that it exists")
    (tmp_path / "client.pem").write_text("x")
    body = 'backend = "mysql"\ntable = "t"\nuser = "lab"\nssl_ca = "ca.pem"\n'
    config = load_config(write(tmp_path, body + "ssl_verify_identity = true\n"))
    assert config.database.options["ssl_ca"] == tmp_path / "ca.pem"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, body + 'ssl_cert = "client.pem"\n'))
    assert "database: ssl_cert and ssl_key go together: give both or neither" in caught.value.problems
    with pytest.raises(ConfigError, match=r"ssl_ca: no such file: .*missing.pem"):
        load_config(write(tmp_path, body.replace("ca.pem", "missing.pem")))
