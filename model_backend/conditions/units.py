"""Lengths and areas as people write them in instructions ("500 m²", "2 ha", "1.5 km", "300 ft"), read
with the pint units library.

``Quantity(value, unit)`` keeps the number and the unit as written (the unit in pint's short symbol:
``m``, ``km``, ``ft``, ``mi``, ``m²``, ``km²``, ``ha``, ``acre``...), so a plan shows what the analyst
wrote; ``si`` converts to metres (lengths) or square metres (areas). Only lengths and areas are
quantities here. Unit words are read case-insensitively (``M`` is a metre, never a megametre or a
molar concentration), and the spellings pint does not know on its own are mapped first: ``m2``,
``km2``, ``sqm``, ``sq. m``, ``kms``, ``nautical miles``, ``ac``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

#: what a quantity may measure
DIMENSIONS = ("length", "area")

# Spellings pint does not read as written (after lower-casing): rewritten before pint sees them.
_REWRITES = (
    (re.compile(r"\bsq\.\s*"), "sq "),
    (re.compile(r"\bsqm\b"), "m**2"),
    (re.compile(r"\bkms\b"), "km"),
    (re.compile(r"\bnautical\s+miles?\b"), "nautical_mile"),
    (re.compile(r"\bac\b"), "acre"),
    (re.compile(r"\b(m|km|ft|mi|yd)2\b"), r"\1**2"),
    (re.compile(r"\b(m|km|ft|mi|yd)\^2\b"), r"\1**2"),
)
#: what a unit spelling may hold: letters first, then letters, digits, powers, dots and spaces
_SPELLING_RE = re.compile(r"^[a-z][a-z0-9²³^*. ]*$")
#: first words of unit names written in several words ("square metres", "sq km", "nautical miles")
_MULTIWORD_LEADS = ("sq", "sq.", "square", "nautical")
#: words pint knows as units that in an instruction are English words ("in" is not an inch here)
_NOT_UNITS = frozenset({"in", "a", "at", "an", "as", "by", "is", "or", "h", "s", "g", "l", "t", "are"})


@functools.lru_cache(maxsize=1)
def registry():
    """The shared pint unit registry (built once: it takes a few hundred milliseconds)."""
    import pint

    return pint.UnitRegistry(preprocessors=[_rewrite])


def _rewrite(text: str) -> str:
    out = text.strip().lower()
    for pattern, replacement in _REWRITES:
        out = pattern.sub(replacement, out)
    return out


def _dimension(units) -> str | None:
    dims = dict(units.dimensionality)
    if dims == {"[length]": 1}:
        return "length"
    if dims == {"[length]": 2}:
        return "area"
    return None


@functools.lru_cache(maxsize=512)
def read_unit(text: str) -> tuple[str, str] | None:
    """``(canonical symbol, dimension)`` of a unit spelling, or ``None`` when it is no length or area
    unit (``"Hectares"`` -> ``("ha", "area")``; ``"ships"`` -> ``None``)."""
    spelling = " ".join(str(text).split()).lower()
    if spelling in _NOT_UNITS or not _SPELLING_RE.match(spelling):
        return None
    words = spelling.split()
    if len(words) > 1 and words[0] not in _MULTIWORD_LEADS and words[-1] != "squared":
        return None  # "m in" is no unit (pint would read metre-inch): only "sq m", "square metres"...
    try:
        units = registry().parse_units(spelling)
    except Exception:  # pint fails on malformed text in many ways (its own errors, AssertionError, ...)
        return None
    dimension = _dimension(units)
    if dimension is None:
        return None
    return format(units, "~P"), dimension


@dataclass(frozen=True)
class Quantity:
    """A length or an area: ``value`` in ``unit`` (any spelling pint reads; stored as its short
    symbol, e.g. ``Quantity(2, "hectares")`` -> ``Quantity(2.0, "ha")``)."""

    value: Annotated[float, Field(description="the number as written, e.g. 500")]
    unit: Annotated[str, Field(description="a length or area unit: m, km, ft, yd, mi, nmi, m², km², ha, acre, ft²")]

    def __post_init__(self):
        read = read_unit(self.unit)
        if read is None:
            raise ValueError(f"{self.unit!r} is not a unit of length or area (e.g. m, km, ft, mi, m², ha, acre)")
        value = float(self.value)
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"a length or area must be a finite number of 0 or more, got {self.value!r}")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "unit", read[0])

    @property
    def dimension(self) -> str:
        """``"length"`` or ``"area"``."""
        return read_unit(self.unit)[1]

    @property
    def si(self) -> float:
        """The value in metres (a length) or square metres (an area)."""
        target = "m" if self.dimension == "length" else "m**2"
        return float(registry().Quantity(self.value, self.unit).to(target).magnitude)

    def __str__(self) -> str:
        return f"{format_number(self.value)} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit}

    @classmethod
    def from_dict(cls, d: dict) -> "Quantity":
        return cls(float(d["value"]), str(d["unit"]))


def format_number(value: float) -> str:
    """Shortest positional decimal that reads back to ``value`` (no exponent: ``1e+06`` -> ``1000000``)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


#: a number as written in instructions: "500", "1,000", "2.5", ".75"
NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")


def parse_number(text: str) -> float:
    """``"1,000.5"`` -> ``1000.5`` (commas are thousands separators)."""
    return float(text.replace(",", ""))


def parse_quantity(text: str) -> Quantity:
    """A whole string such as ``"500 m²"``, ``"2 hectares"``, ``"1.5km"`` -> ``Quantity``;
    ``ValueError`` when it is not a number followed by a length or area unit."""
    m = re.match(rf"^\s*({NUMBER_RE.pattern})\s*(.+?)\s*$", str(text))
    if not m:
        raise ValueError(f"not a length or area: {text!r}")
    read = read_unit(m.group(2))
    if read is None:
        raise ValueError(f"not a length or area: {text!r}")
    return Quantity(parse_number(m.group(1)), read[0])
