"""Every simulator answers every command its driver sends: each PyExpLabSys-named method
(and this project's own) called against the simulator in its normal state gives a real
answer, none of the sentinels the drivers return when an instrument refuses or is
silent."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from PyExpLabSys.drivers.registry import driver_entry
from PyExpLabSys.simulators import start_simulator

#: What the drivers return on a bad path; a normal answer is none of these.
SENTINELS = (None, "", -1, -1.0, -2, -3, [-2], [-3], "?", "?FF", "error")


def good(result: Any) -> bool:
    """Not a bad-path sentinel, not nan, not an error reply."""
    if isinstance(result, float) and math.isnan(result):
        return False
    if isinstance(result, str) and ("NAK" in result or result in SENTINELS):
        return False
    return not any(result == sentinel and type(result) is type(sentinel) for sentinel in SENTINELS)


def returns(expected: Any) -> Callable[[Any], bool]:
    return lambda result: result == expected


CASES: dict[str, list[tuple[str, Callable[[Any], Any], Callable[[Any], bool]]]] = {
    "tpg26x": [
        ("pressure_gauge", lambda d: d.pressure_gauge(1), good),
        ("pressure_gauge 2", lambda d: d.pressure_gauge(2), good),
        ("pressure_gauges", lambda d: d.pressure_gauges(), good),
        ("gauge_identification", lambda d: d.gauge_identification(), good),
        ("pressure_unit", lambda d: d.pressure_unit(), returns("mbar/bar")),
        ("program_number", lambda d: d.program_number(), good),
        ("rs232_communication_test", lambda d: d.rs232_communication_test(), returns(True)),
        ("reset", lambda d: d.reset(), returns("0")),
        ("pressure_gauges_reading", lambda d: d.pressure_gauges_reading(), good),
    ],
    "mks925": [
        ("read_pressure", lambda d: d.read_pressure(), good),
        ("read_serial", lambda d: d.read_serial(), good),
        ("change_unit", lambda d: d.change_unit("TORR"), returns("@253ACKTORR;FF")),
        ("set_comm_speed", lambda d: d.set_comm_speed(9600), returns("@253ACK9600;FF")),
        ("comm", lambda d: d.comm("U?"), good),
    ],
    "mks937b": [
        ("read_pressure_gauge", lambda d: d.read_pressure_gauge(1), good),
        ("read_all_pressures", lambda d: d.read_all_pressures(), good),
        ("read_sensor_types", lambda d: d.read_sensor_types(), good),
        ("pressure_unit", lambda d: d.pressure_unit(), good),
        ("pressure_unit set", lambda d: d.pressure_unit("micron"), returns("MICRON")),
        ("comm", lambda d: d.comm("PR2?"), good),
        ("read_pressure", lambda d: d.read_pressure(2), good),
    ],
    "omega": [
        ("read_temperature", lambda d: d.read_temperature(), good),
        ("identify_device", lambda d: d.identify_device(), returns("000C32")),
        ("command", lambda d: d.command("R01"), returns("2003E8")),
        ("read_reading_configuration", lambda d: d.read_reading_configuration(), good),
    ],
    "mksg": [
        ("read_flow", lambda d: d.read_flow(), good),
        ("read_setpoint", lambda d: d.read_setpoint(), good),
        ("read_internal_temperature", lambda d: d.read_internal_temperature(), good),
        ("read_serial_number", lambda d: d.read_serial_number(), good),
        ("read_current_gas_type", lambda d: d.read_current_gas_type(), returns("N2")),
        ("read_run_hours", lambda d: d.read_run_hours(), good),
        ("read_full_scale_range", lambda d: d.read_full_scale_range(), returns("100.000SCCM")),
        ("read_device_address", lambda d: d.read_device_address(), returns("001")),
        ("comm", lambda d: d.comm("U?", 1), returns("SCCM")),
        ("set_flow", lambda d: d.set_flow(12.34) and d.comm("SX?"), returns("12.300")),
        ("purge", lambda d: (d.purge(0), d.comm("VO!NORMAL"))[1], returns("NORMAL")),
        ("read_unit", lambda d: d.read_unit(), good),
    ],
    "polyscience": [
        ("read_temperature", lambda d: d.read_temperature(), good),
        ("read_pressure", lambda d: d.read_pressure(), good),
        ("read_flow_rate", lambda d: d.read_flow_rate(), good),
        ("read_ambient_temperature", lambda d: d.read_ambient_temperature(), good),
        ("read_setpoint", lambda d: d.read_setpoint(), good),
        ("read_status", lambda d: d.read_status(), returns("On")),
        ("read_unit", lambda d: d.read_unit(), returns("C")),
        ("set_setpoint", lambda d: d.set_setpoint(25), returns(True)),
        ("turn_unit_on", lambda d: d.turn_unit_on(True), returns("!")),
        ("comm", lambda d: d.comm("RS"), good),
    ],
    "xgs600": [
        ("read_pressure", lambda d: d.read_pressure("T1"), good),
        ("read_all_pressures", lambda d: d.read_all_pressures(), good),
        ("list_all_gauges", lambda d: d.list_all_gauges(), good),
        ("emission_status", lambda d: d.emission_status("I1"), returns(True)),
        ("filament_lit", lambda d: d.filament_lit("I1"), returns(1)),
        ("set_emission_on", lambda d: d.set_emission_on("I1", 1), returns(True)),
        ("set_smission_off", lambda d: d.set_smission_off("I1"), returns(False)),
        ("read_software_version", lambda d: d.read_software_version(), good),
        ("read_pressure_unit", lambda d: d.read_pressure_unit(), returns("Torr")),
        ("read_setpoint_state", lambda d: d.read_setpoint_state(), good),
        ("read_setpoint", lambda d: d.read_setpoint(1), returns("OFF")),
        ("set_setpoint", lambda d: (d.set_setpoint(1, "ON"), d.read_setpoint(1))[1], returns("ON")),
        ("set_setpoint_on", lambda d: d.set_setpoint_on(2, "T", 1, 0.1) or d.xgs_comm("5F2"), good),
        ("set_setpoint_off", lambda d: d.set_setpoint_off(2, "T", 1, 0.2) or d.xgs_comm("5F2"), good),
        ("read_all_user_label", lambda d: d.read_all_user_label(), good),
        ("xgs_comm", lambda d: d.xgs_comm("0F"), good),
    ],
    "cn7800": [
        ("read_temperature", lambda d: d.read_temperature(), good),
        ("read_setpoint", lambda d: d.read_setpoint(), returns(25)),
        ("write_setpoint", lambda d: (d.write_setpoint(31.5), d.read_setpoint())[1], returns(31.5)),
    ],
}
PARAMS = [(sim, name, call, check) for sim, cases in CASES.items() for name, call, check in cases]


@pytest.mark.parametrize(
    ("simulator", "name", "call", "check"), PARAMS, ids=[f"{p[0]}-{p[1]}" for p in PARAMS]
)
def test_simulator_answers_the_command(simulator, name, call, check, caplog) -> None:
    with start_simulator(simulator) as sim, driver_entry(simulator).cls(sim.port, timeout=0.5) as driver:
        with caplog.at_level("WARNING"):
            result = call(driver)
    assert check(result), f"{simulator} {name}: {result!r}"
    refusals = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("PyExpLabSys.drivers") and r.levelname in ("WARNING", "ERROR")
    ]
    assert not refusals, refusals  # no refusal, silence or garbage logged on the way
