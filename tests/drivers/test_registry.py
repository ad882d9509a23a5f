"""The drivers' registry: names, declared readings, port defaults, and what it imports."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from PyExpLabSys.drivers.base import SerialInstrument, reading_name
from PyExpLabSys.drivers.mks_937b import Mks937b
from PyExpLabSys.drivers.omega_cni import ISeries
from PyExpLabSys.drivers.pfeiffer import TPG261, TPG262
from PyExpLabSys.drivers.registry import DRIVERS, driver_class, driver_entry, register
from PyExpLabSys.simulators import SIMULATORS
from PyExpLabSys.simulators.registry import reading_args

ROOT = Path(__file__).resolve().parents[2]


def test_old_config_names_and_the_tpg_models_are_registered() -> None:
    assert {"tpg26x", "tpg261", "tpg262", "mks925", "mks937b", "omega", "mksg", "polyscience"} <= set(DRIVERS)
    assert driver_class("tpg261") is TPG261
    assert driver_class("tpg262") is driver_class("tpg26x") is TPG262


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_every_declared_reading_has_its_twin(name: str) -> None:
    entry = driver_entry(name)
    assert entry.readings and entry.default_read == entry.readings[0]
    for read in entry.readings:
        assert callable(getattr(entry.cls, read))
        assert callable(getattr(entry.cls, reading_name(read)))
        assert entry.reading_method(read) == read + "_reading"


def test_port_defaults_come_from_the_driver() -> None:
    assert driver_entry("omega").port_defaults == {
        "baudrate": 19200,
        "bytesize": 7,
        "parity": "O",
        "stopbits": 1,
        "timeout": 1.0,
    }
    assert driver_entry("mksg").port_defaults["baudrate"] == 9600


def test_unknown_names_and_readings_are_named() -> None:
    with pytest.raises(KeyError, match=r"unknown driver 'tpg999'; known: .*tpg261"):
        driver_entry("tpg999")
    with pytest.raises(
        ValueError, match="has no method 'read_unit' among its declared readings: read_temperature"
    ):
        driver_entry("polyscience").reading_method("read_unit")


def test_arguments_are_checked_against_the_reading() -> None:
    driver_entry("mksg").check_arguments("read_flow", (3,))
    with pytest.raises(TypeError, match=r"read_flow\(3, 4\) does not fit read_flow\(addr=None\)"):
        driver_entry("mksg").check_arguments("read_flow", (3, 4))
    with pytest.raises(TypeError, match="missing a required argument: 'gauge_number'"):
        driver_entry("mks937b").check_arguments("read_pressure_gauge", ())


def test_register_rejects_bad_entries() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("omega", "PyExpLabSys.drivers.omega_cni:ISeries")
    with pytest.raises(ValueError, match="lower-case"):
        register("Omega2", "PyExpLabSys.drivers.omega_cni:ISeries")
    with pytest.raises(ValueError, match=r"package.module:Class"):
        register("omega2", "PyExpLabSys.drivers.omega_cni.ISeries")


def test_a_driver_must_have_the_methods_it_declares() -> None:
    with pytest.raises(TypeError, match="declares reading 'read_x' but has no method 'read_x_reading'"):
        type("Broken", (SerialInstrument,), {"readings": ("read_x",), "read_x": lambda self: 1.0})


def test_factory_methods_are_named_and_documented_like_written_ones() -> None:
    method = ISeries.read_temperature_reading  # made by command()
    assert method.__name__ == "read_temperature_reading" and method.__module__ == ISeries.__module__
    assert "``X01``" in method.__doc__
    assert list(inspect.signature(method).parameters) == ["self", "address"]
    plain_made = Mks937b.read_pressure  # made by plain()
    assert plain_made.__name__ == "read_pressure" and "NoValue" in plain_made.__doc__
    assert list(inspect.signature(plain_made).parameters) == ["self", "channel"]


def test_every_simulator_is_named_after_a_registered_driver() -> None:
    assert set(SIMULATORS) <= set(DRIVERS)


def _default_args(name: str) -> tuple[object, ...]:
    """Arguments the default reading needs (a gauge for the XGS-600), as the simulator
    of that driver has them; none for drivers without a simulator."""
    if name not in SIMULATORS:
        return ()
    return reading_args(name, driver_entry(name).default_read)


def test_the_service_config_does_not_import_the_simulators(tmp_path: Path) -> None:
    """Importing the service's configuration, validating a config with every driver and
    opening nothing must leave the simulators (and their pty plumbing) unimported."""
    instruments = "".join(
        f'[[instruments]]\nname = "i{n}"\ndriver = "{name}"\nport = "/dev/null"\n'
        f'[[instruments.channels]]\ncodename = "c{n}"\ninterval = 1\n'
        f"args = {json.dumps(list(_default_args(name)))}\n"
        for n, name in enumerate(sorted(DRIVERS))
    )
    config = tmp_path / "all.toml"
    config.write_text('[database]\npath = "x.sqlite"\ntable = "dateplots_x"\n' + instruments)
    script = textwrap.dedent(f"""
        import sys
        from PyExpLabSys.service import cli, readers, runner
        from PyExpLabSys.service.config import driver_class, load_config
        config = load_config({str(config)!r})
        assert len(config.instruments) == {len(DRIVERS)}
        assert all(driver_class(i.driver) for i in config.instruments)
        leaked = sorted(m for m in sys.modules if m.startswith("PyExpLabSys.simulators"))
        assert not leaked, leaked
        print("clean")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
