"""Lengths and areas written in instructions -> SI values."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_backend.conditions.units import (
    ALIASES,
    AREA_QUANTITY,
    LENGTH_QUANTITY,
    UNITS,
    Quantity,
    format_number,
    parse_quantity,
    quantity_from_match,
)


@pytest.mark.parametrize(
    "text, unit, si",
    [
        ("500 m²", "m²", 500.0),
        ("500 m2", "m²", 500.0),
        ("500 square metres", "m²", 500.0),
        ("2 ha", "ha", 20_000.0),
        ("2 Hectares", "ha", 20_000.0),
        ("1 km2", "km²", 1.0e6),
        ("1.5 sq km", "km²", 1.5e6),
        ("3 acres", "acres", 3 * 4046.8564224),
        ("1 acre", "acres", 4046.8564224),
        ("100 m", "m", 100.0),
        ("1.5km", "km", 1500.0),
        ("300 ft", "ft", 300 * 0.3048),
        ("2 miles", "mi", 2 * 1609.344),
        ("1,000 m", "m", 1000.0),
        ("10 sq ft", "ft²", 10 * 0.3048**2),
    ],
)
def test_known_quantities(text, unit, si):
    q = parse_quantity(text)
    assert q.unit == unit
    assert q.si == pytest.approx(si)


@pytest.mark.parametrize("text", ["500", "m²", "500 parsecs", "five metres", "2 harbours", "100 mm"])
def test_not_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_unit_does_not_run_into_words():
    # "ha" must not be read out of "harbour", nor "m" out of "metal"
    assert re.search(AREA_QUANTITY, "500 harbour", re.I) is None
    assert re.search(LENGTH_QUANTITY, "5 metal roofs", re.I) is None
    m = re.search(AREA_QUANTITY, "over 1 km2 in size", re.I)
    assert quantity_from_match(m) == Quantity(1.0, "km²")
    # a length pattern must not take the "m" of an area
    assert re.search(LENGTH_QUANTITY, "larger than 500 m²", re.I) is None


@pytest.mark.parametrize("value, text", [(1e6, "1000000"), (0.5, "0.5"), (2.0, "2"), (1.25e-5, "0.0000125")])
def test_format_number_has_no_exponent(value, text):
    assert format_number(value) == text


def test_quantity_rejects_unknown_unit():
    with pytest.raises(ValueError):
        Quantity(1.0, "furlong")


@given(
    value=st.floats(min_value=0.001, max_value=1e7, allow_nan=False, allow_infinity=False),
    spelling=st.sampled_from(sorted(ALIASES)),
    space=st.sampled_from(["", " ", "  "]),
)
def test_round_trip_every_spelling(value, spelling, space):
    text = f"{format_number(value)}{space}{spelling}"
    q = parse_quantity(text)
    symbol = ALIASES[spelling]
    assert q.unit == symbol
    assert q.value == value
    assert q.si == pytest.approx(q.value * UNITS[symbol][1])
    # canonical text and dict forms read back to the same quantity
    assert parse_quantity(str(q)) == q
    assert Quantity.from_dict(q.to_dict()) == q
