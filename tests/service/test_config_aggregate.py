"""Config of aggregated channels: the policy, a codename per function, and each mistake
named by its key (all of them at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from PyExpLabSys.datalog.aggregation import AggregationPolicy
from PyExpLabSys.service.config import load_config
from PyExpLabSys.service.dbsetup import init_database

from .test_config import GOOD as PLAIN
from .test_config import problems as config_problems
from .test_config import write

GOOD = """description = "Chamber pressure"
aggregate = ["mean", "min", "max"]
window = 1.0
codenames = { max = "x_pressure_max", min = "x_pressure_min" }"""

CH = "instruments[0].channels[0]"


def with_keys(keys: str) -> str:
    """test_config's good config with ``keys`` added to its first channel (x_pressure,
    read every second; the second instrument's channel is x_temperature)."""
    anchor = "threshold = 0.05\n"
    assert anchor in PLAIN
    return PLAIN.replace(anchor, anchor + keys + "\n", 1)


def load(tmp_path: Path, keys: str):
    return load_config(write(tmp_path, with_keys(keys)))


def problems(tmp_path: Path, keys: str) -> str:
    return config_problems(tmp_path, with_keys(keys))


def test_an_aggregated_channel_stores_each_function_under_its_codename(tmp_path):
    config = load(tmp_path, GOOD)
    channel = config.instruments[0].channels[0]
    assert channel.aggregation == AggregationPolicy(("mean", "min", "max"), window=1.0)
    assert channel.outputs == (("mean", "x_pressure"), ("min", "x_pressure_min"), ("max", "x_pressure_max"))
    # every codename is translated by the logger and registered by init-db
    assert config.codenames == ["x_pressure", "x_pressure_min", "x_pressure_max", "x_temperature"]
    ids = init_database(config)
    assert set(ids) == set(config.codenames)
    assert channel.descriptions()["x_pressure_max"] == "Chamber pressure (max of 1 s windows)"
    plain = config.instruments[1].channels[0]
    assert plain.aggregation is None and plain.outputs == () and plain.all_codenames == ("x_temperature",)


def test_count_windows_and_a_single_function(tmp_path):
    channel = load(tmp_path, 'aggregate = ["std"]\ncount = 20').instruments[0].channels[0]
    assert channel.aggregation == AggregationPolicy(("std",), count=20)
    assert channel.outputs == (("std", "x_pressure"),)


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (
            GOOD.replace('"max"]', '"median"]'),
            f"{CH}.aggregate: unknown function 'median'; choose from mean, min, max, last, count, std",
        ),
        (
            GOOD.replace('"max"]', '"min"]'),
            f"{CH}.aggregate: function 'min' is given more than once",
        ),
        ("aggregate = []\nwindow = 1.0", f"{CH}.aggregate: needs at least one function"),
        ('aggregate = "mean"\nwindow = 1.0', f"{CH}.aggregate: must be a list, not a string 'mean'"),
        (
            GOOD.replace("window = 1.0", "window = 1.0\ncount = 5"),
            f"{CH}.window: give either window (seconds) or count (readings), not both",
        ),
        (
            GOOD.replace("window = 1.0", ""),
            f"{CH}.aggregate: needs window = seconds (tumbling, aligned to the clock) or count = readings",
        ),
        (GOOD.replace("window = 1.0", "window = 0"), f"{CH}.window: must be > 0, not 0.0"),
        (GOOD.replace("window = 1.0", "count = 0"), f"{CH}.count: must be > 0 readings, not 0"),
        (GOOD.replace("window = 1.0", "count = 2.5"), f"{CH}.count: must be an integer, not a number 2.5"),
        (
            GOOD.replace("window = 1.0", "window = 0.01"),
            f"{CH}.window: 0.01 s is shorter than the channel's interval 1 s",
        ),
        (
            GOOD.replace('max = "x_pressure_max", ', ""),
            f"{CH}.codenames.max: missing: every function after the first (mean) needs its own codename",
        ),
        (
            GOOD.replace("max =", 'mean = "x_mean", max ='),
            f"{CH}.codenames.mean: the first function is stored under codename 'x_pressure'",
        ),
        (
            GOOD.replace("max =", 'std = "x_std", max ='),
            f"{CH}.codenames.std: not a function of aggregate (mean, min, max)",
        ),
        (GOOD.replace('"x_pressure_max"', "3"), f"{CH}.codenames.max: must be a string, not an integer 3"),
        (GOOD.replace('"x_pressure_max"', '""'), f"{CH}.codenames.max: must be 1 to 128 printable"),
        (
            GOOD.replace('"x_pressure_max"', '"x_temperature"'),
            "instruments[1].channels[0].codename: duplicate codename 'x_temperature' "
            f"(also at {CH}.codenames.max)",
        ),
        (
            GOOD.replace('"x_pressure_max"', '"x_pressure"'),
            f"{CH}.codenames.max: duplicate codename 'x_pressure' (also at {CH}.codename)",
        ),
        ("window = 10.0", f"{CH}.window: only with aggregate"),
        ('codenames = { min = "a" }', f"{CH}.codenames: only with aggregate"),
    ],
)
def test_each_aggregation_mistake_is_named(tmp_path, channel, message):
    assert message in problems(tmp_path, channel)


def test_every_aggregation_problem_is_reported_at_once(tmp_path):
    text = 'aggregate = ["mean", "mode", "max"]\nwindow = -1\ncount = 3'
    message = problems(tmp_path, text)
    for part in (
        f"{CH}.aggregate: unknown function 'mode'",
        f"{CH}.window: must be > 0, not -1.0",
        f"{CH}.window: give either window (seconds) or count (readings), not both",
        f"{CH}.codenames.max: missing",
    ):
        assert part in message


def test_the_docs_example_is_a_valid_channel(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "docs" / "aggregation.rst").read_text(encoding="utf-8")
    block = text.split("instead of every reading::\n", 1)[1].split("\n\n", 1)[0]
    lines = [line[4:] for line in block.splitlines() if line.strip() != "[[instruments.channels]]"]
    head = PLAIN.split("[[instruments.channels]]")[0]
    path = tmp_path / "readme.toml"
    path.write_text(head + "[[instruments.channels]]\n" + "\n".join(lines) + "\n")
    (channel,) = load_config(path).channels
    assert channel.aggregation == AggregationPolicy(("mean", "min", "max"), window=10.0)
    assert [name for _, name in channel.outputs] == [
        "microreactor_pressure",
        "microreactor_pressure_min",
        "microreactor_pressure_max",
    ]


def test_a_reader_of_an_aggregated_channel_needs_a_point_sink(tmp_path):
    from PyExpLabSys.service.readers import InstrumentReader

    instrument = load(tmp_path, GOOD).instruments[0]
    with pytest.raises(ValueError, match="gauge: channel\\(s\\) x_pressure aggregate: give point_sink="):
        InstrumentReader(instrument, lambda codename, value: None)
