"""Lengths and areas as people write them in instructions ("500 m²", "2 ha", "1.5 km", "300 ft").

Every quantity converts to SI: metres for lengths, square metres for areas. Unit words are matched
case-insensitively except that nothing here distinguishes ``m`` (metre) from ``M``: instructions
never mean megametres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

#: canonical unit symbol -> (dimension, factor to metres or square metres)
UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "m²": ("area", 1.0),
    "km²": ("area", 1.0e6),
    "ha": ("area", 1.0e4),
    "acres": ("area", 4046.8564224),
    "ft²": ("area", 0.3048**2),
    "mi²": ("area", 1609.344**2),
}

#: every spelling accepted (lower case) -> canonical symbol
ALIASES: dict[str, str] = {}


def _alias(symbol: str, *spellings: str) -> None:
    for s in (symbol, *spellings):
        ALIASES[s.lower()] = symbol


_alias("m", "metre", "metres", "meter", "meters")
_alias("km", "kilometre", "kilometres", "kilometer", "kilometers", "kms")
_alias("ft", "foot", "feet")
_alias("mi", "mile", "miles")
_alias("m²", "m2", "m^2", "sq m", "sqm", "sq. m", "square metre", "square metres", "square meter",
       "square meters")
_alias("km²", "km2", "km^2", "sq km", "sq. km", "square kilometre", "square kilometres",
       "square kilometer", "square kilometers")
_alias("ha", "hectare", "hectares")
_alias("acres", "acre", "ac")
_alias("ft²", "ft2", "ft^2", "sq ft", "sq. ft", "square foot", "square feet")
_alias("mi²", "mi2", "mi^2", "sq mi", "sq. mi", "square mile", "square miles")

#: a number as written in instructions: "500", "1,000", "2.5", "0.75"
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"


def _unit_pattern(dimension: str | None) -> str:
    spellings = [a for a, sym in ALIASES.items() if dimension is None or UNITS[sym][0] == dimension]
    # Longest first so that "km2" wins over "km" and "square metres" over "m".
    spellings.sort(key=len, reverse=True)
    alts = "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in spellings)
    # A unit must not run on into a word ("m" in "metal", "ha" in "harbour").
    return rf"(?:{alts})(?![\w²^])"


#: regex fragments with named groups ``value`` and ``unit``
QUANTITY = rf"(?P<value>{NUMBER})\s*(?P<unit>{_unit_pattern(None)})"
LENGTH_QUANTITY = rf"(?P<value>{NUMBER})\s*(?P<unit>{_unit_pattern('length')})"
AREA_QUANTITY = rf"(?P<value>{NUMBER})\s*(?P<unit>{_unit_pattern('area')})"

_QUANTITY_RE = re.compile(rf"^\s*{QUANTITY}\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    """A value in a named unit, e.g. ``Quantity(2.0, "ha")``; ``unit`` is a key of ``UNITS``."""

    value: float
    unit: str

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; known: {', '.join(UNITS)}")

    @property
    def dimension(self) -> str:
        """``"length"`` or ``"area"``."""
        return UNITS[self.unit][0]

    @property
    def si(self) -> float:
        """The value in metres (length) or square metres (area)."""
        return self.value * UNITS[self.unit][1]

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit}

    @classmethod
    def from_dict(cls, d: dict) -> "Quantity":
        return cls(float(d["value"]), str(d["unit"]))


def format_number(value: float) -> str:
    """Shortest positional decimal that reads back to ``value`` (no exponent: ``1e+06`` -> ``1000000``)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_number(text: str) -> float:
    """``"1,000.5"`` -> ``1000.5`` (commas are thousands separators)."""
    return float(text.replace(",", ""))


def unit_symbol(spelling: str) -> str:
    """Canonical symbol of a unit spelling (``"Hectares"`` -> ``"ha"``); ``ValueError`` if unknown."""
    key = re.sub(r"\s+", " ", spelling.strip().lower())
    try:
        return ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown unit {spelling!r}") from None


def quantity_from_match(m: re.Match) -> Quantity:
    """The quantity captured by a match of ``QUANTITY`` / ``LENGTH_QUANTITY`` / ``AREA_QUANTITY``."""
    return Quantity(parse_number(m.group("value")), unit_symbol(m.group("unit")))


def parse_quantity(text: str) -> Quantity:
    """Parse a whole string such as ``"500 m²"``, ``"2 hectares"``, ``"1.5km"``; ``ValueError`` otherwise."""
    m = _QUANTITY_RE.match(text)
    if not m:
        raise ValueError(f"not a length or area: {text!r}")
    return quantity_from_match(m)
