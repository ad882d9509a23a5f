"""The multi-row INSERT text: numeric UTC date-time literals rounded to the column, exact
DOUBLE literals."""

from __future__ import annotations

import pytest

from PyExpLabSys.backends.sqltext import quote_identifier, render_rows


@pytest.mark.parametrize(
    ("stamp", "precision", "literal"),
    [
        (1700000000.4, 0, "20231114221320"),
        (1700000000.6, 0, "20231114221321"),  # rounded, not truncated
        (1700000000.1234567, 6, "20231114221320.123457"),
        (1700000000.9999996, 6, "20231114221321.000000"),  # carries into the second
        (1700000000.96, 1, "20231114221321.0"),
    ],
)
def test_time_literal_is_utc_and_rounded_to_the_column(stamp, precision, literal):
    assert render_rows([(3, stamp, 1.0)], precision) == f"({literal},3,1.0e0)"


def test_values_round_trip_exactly_as_double_literals_and_none_is_null():
    values = [1e-07, 0.1, -2.5e300, 123456789.123456789, 1e16, -0.0, 5e-324, 3.0, None]
    text = render_rows([(1, 1700000000.0, v) for v in values], 0)
    parts = [row.rsplit(",", 1)[1].rstrip(")") for row in text.split("),(")]
    assert parts[-1] == "NULL"
    assert all(part.count("e") == 1 for part in parts[:-1])  # one exponent: a DOUBLE literal
    assert [float(p) for p in parts[:-1]] == values[:-1]


@pytest.mark.parametrize("name", ["a b", "x;DROP TABLE y", "t`", "", "é"])
def test_table_names_are_checked(name):
    with pytest.raises(ValueError, match="not a valid table name"):
        quote_identifier(name)
