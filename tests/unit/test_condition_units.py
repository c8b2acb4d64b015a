"""Lengths and areas written in instructions -> quantities read by pint, and SI values."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_backend.conditions.units import Quantity, format_number, parse_quantity, read_unit


@pytest.mark.parametrize(
    "text, unit, si",
    [
        ("500 m²", "m²", 500.0),
        ("500 m2", "m²", 500.0),
        ("500 sqm", "m²", 500.0),
        ("500 square metres", "m²", 500.0),
        ("2 ha", "ha", 20_000.0),
        ("2 Hectares", "ha", 20_000.0),
        ("1 km2", "km²", 1.0e6),
        ("1.5 sq km", "km²", 1.5e6),
        ("1.5 sq. km", "km²", 1.5e6),
        ("3 acres", "acre", 3 * 4046.8726),  # pint's acre (US survey)
        ("100 m", "m", 100.0),
        ("100 M", "m", 100.0),  # a metre, never a megametre or a molar concentration
        ("1.5km", "km", 1500.0),
        ("2 kms", "km", 2000.0),
        ("300 ft", "ft", 300 * 0.3048),
        ("2 miles", "mi", 2 * 1609.344),
        ("0.3 nautical miles", "nmi", 0.3 * 1852.0),
        ("1,000 m", "m", 1000.0),
        ("10 sq ft", "ft²", 10 * 0.3048**2),
        ("500 yards", "yd", 500 * 0.9144),
        ("100 mm", "mm", 0.1),
    ],
)
def test_known_quantities(text, unit, si):
    q = parse_quantity(text)
    assert q.unit == unit
    assert q.si == pytest.approx(si, rel=1e-6)


@pytest.mark.parametrize("text", ["500", "m²", "500 parsecs s", "five metres", "2 harbours", "3 kg", "10 s",
                                  "2 in", "5 m in"])
def test_not_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


@pytest.mark.parametrize("word", ["harbour", "ships", "metal", "in", "a", "m in", "long", "from", "of"])
def test_words_that_are_no_units(word):
    assert read_unit(word) is None


@pytest.mark.parametrize("value, text", [(1e6, "1000000"), (0.5, "0.5"), (2.0, "2"), (1.25e-5, "0.0000125")])
def test_format_number_has_no_exponent(value, text):
    assert format_number(value) == text


def test_quantity_validates_unit_and_value():
    with pytest.raises(ValueError, match="length or area"):
        Quantity(1.0, "kg")
    with pytest.raises(ValueError):
        Quantity(-1.0, "m")
    assert Quantity(2, "hectares") == Quantity(2.0, "ha")  # any spelling, stored as pint's symbol
    assert Quantity(1, "m").dimension == "length" and Quantity(1, "acre").dimension == "area"


SPELLINGS = ["m", "metres", "meters", "km", "kilometres", "ft", "feet", "mi", "miles", "yd", "nmi", "m²", "m2",
             "sq m", "square metres", "km²", "km2", "sq km", "ha", "hectares", "acre", "acres", "ft²", "sq ft"]


@given(
    value=st.floats(min_value=0.001, max_value=1e7, allow_nan=False, allow_infinity=False),
    spelling=st.sampled_from(SPELLINGS),
    space=st.sampled_from(["", " ", "  "]),
)
def test_round_trip_every_spelling(value, spelling, space):
    q = parse_quantity(f"{format_number(value)}{space}{spelling}")
    assert q.value == value
    assert q.unit == read_unit(spelling)[0]
    # canonical text and dict forms read back to the same quantity; SI scales with the value
    assert parse_quantity(str(q)) == q
    assert Quantity.from_dict(q.to_dict()) == q
    assert q.si == pytest.approx(value * Quantity(1, q.unit).si, rel=1e-9)
