"""Config validation: one test per class of mistake, each naming file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from PyExpLabSys.assembly import read_password
from PyExpLabSys.service.config import ConfigError, driver_class, load_config
from PyExpLabSys.service.instruments import open_instrument

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

GOOD = """
[database]
backend = "sqlite"
path = "x.sqlite"
table = "dateplots_x"

[[instruments]]
name = "gauge"
driver = "tpg26x"
port = "/dev/ttyUSB0"

[[instruments.channels]]
codename = "x_pressure"
read = "pressure_gauge"
args = [1]
interval = 1.0
criterion = "relative"
threshold = 0.05

[[instruments]]
name = "bath"
driver = "polyscience"
port = "socket://10.0.0.2:4001"

[[instruments.channels]]
codename = "x_temperature"
interval = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "setup.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert all(line.startswith(f"{path}: ") for line in message.splitlines()), message
    return message


def test_good_config_loads(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.name == "setup"
    assert config.codenames == ["x_pressure", "x_temperature"]
    assert config.database.options["path"] == tmp_path / "x.sqlite"
    pressure, temperature = config.channels
    assert pressure.args == (1,) and pressure.make_criterion().threshold == 0.05
    assert temperature.read == "read_temperature" and temperature.criterion == "always"


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path):
    config = load_config(path)
    assert config.instruments or (config.service.socket and config.service.clients)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('driver = "tpg26x"', 'driver = "tpg999"', "instruments[0].driver: unknown driver 'tpg999'; known: "),
        (
            'codename = "x_temperature"',
            'codename = "x_pressure"',
            "instruments[1].channels[0].codename: duplicate codename 'x_pressure' "
            "(also at instruments[0].channels[0].codename)",
        ),
        (
            "interval = 1.0",
            "interval = 0",
            "instruments[0].channels[0].interval: must be > 0 seconds, not 0.0",
        ),
        (
            "interval = 2",
            "interval = -2",
            "instruments[1].channels[0].interval: must be > 0 seconds, not -2.0",
        ),
        ('table = "dateplots_x"', "", "database.table: missing (required)"),
        ('table = "dateplots_x"', 'table = "x; DROP TABLE y"', "database.table: not a valid table name"),
        ('backend = "sqlite"', 'backend = "postgres"', "database.backend: unknown backend 'postgres'"),
        ('path = "x.sqlite"', "", "database.path: missing: the sqlite backend needs"),
        ('name = "bath"', 'name = "gauge"', "instruments[1].name: duplicate instrument name 'gauge'"),
        (
            'read = "pressure_gauge"',
            'read = "pressure_gage"',
            "instruments[0].channels[0].read: driver TPG262 has no method 'pressure_gage'",
        ),
        (
            'criterion = "relative"',
            'criterion = "cubic"',
            "instruments[0].channels[0].criterion: unknown criterion 'cubic'",
        ),
        (
            "threshold = 0.05",
            "",
            "instruments[0].channels[0].threshold: missing: criterion 'relative' needs a threshold",
        ),
        ("threshold = 0.05", "threshold = -1", "instruments[0].channels[0].threshold: must be >= 0"),
        (
            "interval = 2",
            'interval = "2 s"',
            "instruments[1].channels[0].interval: must be a number, not a string '2 s'",
        ),
        ('port = "/dev/ttyUSB0"', 'port = ""', "instruments[0].port: must not be empty"),
        ('port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB0"\nbaud = 9600', "instruments[0].baud: unknown key"),
        (
            "args = [1]",
            "args = [1]\nthreshhold = 2",
            "instruments[0].channels[0].threshhold: unknown key (did you mean 'threshold'?)",
        ),
        (
            'port = "/dev/ttyUSB0"',
            'port = "/dev/ttyUSB0"\nserial = { parity = "X" }',
            "instruments[0].serial.parity: must be one of",
        ),
    ],
)
def test_each_mistake_is_named(tmp_path, old, new, message):
    assert old in GOOD
    assert message in problems(tmp_path, GOOD.replace(old, new, 1))


@pytest.mark.parametrize(
    ("driver", "cls"), [("tpg261", "TPG261"), ("tpg262", "TPG262"), ("tpg26x", "TPG262")]
)
def test_tpg_models_are_selectable(tmp_path, driver, cls):
    config = load_config(write(tmp_path, GOOD.replace('driver = "tpg26x"', f'driver = "{driver}"')))
    assert config.instruments[0].driver == driver
    assert driver_class(driver).__name__ == cls


def test_read_must_be_a_declared_reading(tmp_path):
    message = problems(tmp_path, GOOD.replace('read = "pressure_gauge"', 'read = "pressure_unit"'))
    assert (
        "instruments[0].channels[0].read: driver TPG262 has no method 'pressure_unit' "
        "among its declared readings: pressure_gauge"
    ) in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "[1, 2]",
            "instruments[0].channels[0].args: pressure_gauge(1, 2) does not fit "
            "pressure_gauge(gauge=1): too many positional arguments",
        ),
    ],
)
def test_args_must_fit_the_reading(tmp_path, args, message):
    assert message in problems(tmp_path, GOOD.replace("args = [1]", f"args = {args}"))


def test_a_driver_that_cannot_be_imported_is_a_config_problem(tmp_path, monkeypatch):
    from PyExpLabSys.drivers import registry

    entry = registry.DriverEntry("needs_lib", "PyExpLabSys.drivers.no_such_module:Driver")
    monkeypatch.setitem(registry._entries, "needs_lib", entry)
    message = problems(tmp_path, GOOD.replace('driver = "tpg26x"', 'driver = "needs_lib"'))
    assert "instruments[0].driver: driver 'needs_lib' cannot be loaded: No module named" in message


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace('driver = "tpg26x"', 'driver = "nope"').replace("interval = 2", "interval = 0")
    message = problems(tmp_path, text)
    assert "instruments[0].driver" in message and "instruments[1].channels[0].interval" in message


def test_mysql_needs_user_and_odbc_a_dsn(tmp_path):
    base = GOOD.replace('backend = "sqlite"\npath = "x.sqlite"', 'backend = "{}"')
    assert "database.user: missing: the mysql backend needs a user" in problems(
        tmp_path, base.format("mysql")
    )
    assert "database.dsn: missing: the odbc backend needs a DSN" in problems(tmp_path, base.format("odbc"))


def test_missing_instruments_and_bad_toml(tmp_path):
    assert "instruments: needs at least one [[instruments]] table (or [service] socket" in problems(
        tmp_path, GOOD.split("[[instruments]]")[0]
    )
    assert "not valid TOML" in problems(tmp_path, GOOD + "\n[database\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_spool_section_is_mapped_and_checked(tmp_path):
    config = load_config(write(tmp_path, GOOD + '\n[spool]\npath = "spool"\noverflow = "drop_newest"\n'))
    assert config.spool.enabled and config.spool.options == {"overflow": "drop_newest"}
    assert "spool.overflow: must be one of drop_oldest, drop_newest" in problems(
        tmp_path, GOOD + '\n[spool]\npath = "spool"\noverflow = "drop_all"\n'
    )
    assert "max_spool_bytes must be at least 64 KiB" in problems(
        tmp_path, GOOD + '\n[spool]\npath = "spool"\nmax_spool_bytes = 10\n'
    )


def test_password_comes_from_file_or_credential_never_in_messages(tmp_path):
    secret = "Sekr1t-Passw0rd!"
    text = GOOD.replace(
        'backend = "sqlite"\npath = "x.sqlite"', 'backend = "mysql"\nuser = "lab"\npassword_file = "pw"'
    )
    config = load_config(write(tmp_path, text))
    with pytest.raises(ValueError, match="cannot read the database password from") as info:
        read_password(config.database)
    (tmp_path / "pw").write_text(secret + "\n")
    assert read_password(config.database) == secret
    assert secret not in repr(config) and secret not in str(info.value)
    credential = load_config(write(tmp_path, text.replace('password_file = "pw"', "")))
    with pytest.raises(ValueError, match=r"credential 'db-password' needs \$CREDENTIALS_DIRECTORY"):
        read_password(credential.database, {})
    (tmp_path / "db-password").write_text(secret)
    assert read_password(credential.database, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == secret


@pytest.mark.parametrize("bath_port", ["sim://polyscience/bath", "sim://"])
def test_sim_ports_are_served_by_the_drivers_simulator(tmp_path, bath_port):
    """``sim://NAME/tag`` names a simulator; ``sim://`` alone, on two instruments of
    different drivers, gives each the simulator of its own driver."""
    from PyExpLabSys.simulators.registry import stop_served

    text = GOOD.replace('port = "/dev/ttyUSB0"', 'port = "sim://"').replace(
        'port = "socket://10.0.0.2:4001"', f'port = "{bath_port}"'
    )
    config = load_config(write(tmp_path, text))
    try:
        gauge, bath = (open_instrument(instrument) for instrument in config.instruments)
        with gauge, bath:
            assert gauge.pressure_gauge_reading(1).ok
            assert bath.read_temperature() == pytest.approx(20.0, abs=1.0)
    finally:
        stop_served()
    assert "instruments[0].port: no simulator 'nope'; known: tpg261" in problems(
        tmp_path, GOOD.replace('port = "/dev/ttyUSB0"', 'port = "sim://nope"')
    )


def test_batch_section_is_mapped_checked_and_reaches_the_logger(tmp_path, monkeypatch):
    from PyExpLabSys import assembly
    from PyExpLabSys.datalog.policies import BatchPolicy
    from PyExpLabSys.service import runner

    assert load_config(write(tmp_path, GOOD)).batch == BatchPolicy()
    text = (
        GOOD + f'\n[service]\nstate_directory = "{tmp_path / "state"}"\n'
        "\n[batch]\nflush_interval = 1\nmax_points = 5000\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.batch == BatchPolicy(max_points=5000, flush_interval=1.0)
    assert "batch.flush_interval: must be > 0, not 0.0" in problems(
        tmp_path, GOOD + "\n[batch]\nflush_interval = 0\n"
    )
    assert "batch.max_points: must be >= 1, not 0" in problems(tmp_path, GOOD + "\n[batch]\nmax_points = 0\n")
    assert "batch.max_point: unknown key (did you mean 'max_points'?)" in problems(
        tmp_path, GOOD + "\n[batch]\nmax_point = 10\n"
    )

    class Built(Exception):
        """Raised by the stand-in DataLogger once it has seen its arguments."""

    seen: dict = {}

    def data_logger(*args, **kwargs):
        seen.update(kwargs)
        raise Built

    monkeypatch.setattr(assembly, "DataLogger", data_logger)
    with pytest.raises(Built):
        runner.Service(config, environ={}, backend=object()).start()
    assert seen["batch"] is config.batch
