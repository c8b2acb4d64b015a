"""Recognising GIS-measurable conditions in the text of one step.

``extract_gis("select the ones larger than 500 m²")`` finds an area threshold; whatever text is left
over (other than filler such as "select the ones that are") stays a model step. Recognised:

- area: "larger than 500 m²", "over 1 km2", "smaller than 2 ha", "with an area of at least 3 acres";
- length / width: "longer than 100 m", "under 20 m wide", "wider than 5 m", "with a length over 1 km";
  a comparative with a *length* unit ("larger than 100 m") means the length;
- distance: "within 200 m of the roads layer", "not within 1 km of rivers", "more than 500 m from
  the coast layer", "less than 2 mi from X";
- intersection: "intersecting the parcels layer", "that do not cross the railway layer";
- containment: "inside the parks layer", "within the flood zone layer", "not in the protected areas layer";
- direction: "north of the harbour layer", "to the south-east of roads".

Distance thresholds always become GIS filters (a model cannot measure metres). Intersection,
containment and direction do only when the reference is a layer: the text says "... layer", or ``layer_names`` are
given and the name matches one; otherwise ("on the east bank of the river") the condition is visual
and stays with the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from .gis_filters import (
    AreaFilter,
    DirectionFilter,
    DistanceFilter,
    ExtentFilter,
    GisFilter,
    IntersectsFilter,
    WithinFilter,
    find_layer,
)
from .units import AREA_QUANTITY, LENGTH_QUANTITY, quantity_from_match

_F = re.IGNORECASE

# Comparison words -> operator. Order inside each alternation: longest first.
_GT = {
    "larger than": ">", "bigger than": ">", "greater than": ">", "more than": ">", "longer than": ">",
    "wider than": ">", "taller than": ">", "over": ">", "above": ">", "exceeding": ">",
    "at least": ">=", "no less than": ">=", "no smaller than": ">=", "not less than": ">=",
    "not smaller than": ">=", "≥": ">=", ">=": ">=", ">": ">",
}
_LT = {
    "smaller than": "<", "less than": "<", "shorter than": "<", "narrower than": "<", "lower than": "<",
    "fewer than": "<", "under": "<", "below": "<", "at most": "<=", "no more than": "<=",
    "no larger than": "<=", "no bigger than": "<=", "not more than": "<=", "not larger than": "<=",
    "up to": "<=", "≤": "<=", "<=": "<=", "<": "<",
}
_CMP_WORDS = {**_GT, **_LT}


def _alt(words) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_CMP = rf"(?P<cmp>{_alt(_CMP_WORDS)})"
_NEG = r"(?P<neg>\bnot\s+|\bdo(?:es)?\s+not\s+|\bdo(?:es)?n'?t\s+)?"
# A reference name runs until the end of the clause; "... layer" marks it as a layer explicitly.
_END = r"(?=\s*(?:[,;]|\.(?:\s|$)|$|\band\b|\bbut\b|\bthat\b|\bwhich\b))"
_LAYER = rf"(?:the\s+)?(?P<layer>[^,;]+?)(?P<kw>\s+layer)?{_END}"
_DIR = r"(?P<dir>north[\s-]?east|north[\s-]?west|south[\s-]?east|south[\s-]?west|north|south|east|west)"

_DIST_WITHIN = re.compile(
    rf"{_NEG}\b(?:within|inside)\s+(?:a\s+)?(?:distance\s+of\s+)?{LENGTH_QUANTITY}"
    rf"\s+(?:radius\s+)?(?:of|from|to|around)\s+{_LAYER}",
    _F,
)
_DIST_CMP = re.compile(
    rf"{_NEG}(?<![\w-]){_CMP}\s*{LENGTH_QUANTITY}\s+(?:away\s+)?(?:from|of|to)\s+{_LAYER}", _F
)
_DIST_CLOSER = re.compile(
    rf"{_NEG}\b(?P<cmp>closer|nearer|farther|further)\s+than\s+{LENGTH_QUANTITY}"
    rf"\s+(?:away\s+)?(?:from|to)\s+{_LAYER}",
    _F,
)
_NOUN_LEAD = r"(?:\b(?:with|having)\s+an?\s+|\bwhose\s+)?"
_AREA_NOUN = re.compile(
    rf"{_NOUN_LEAD}\b(?:area|surface|size)\s+(?:is\s+|of\s+)?{_CMP}\s*{AREA_QUANTITY}", _F
)
_AREA_CMP = re.compile(rf"(?<![\w-]){_CMP}\s*{AREA_QUANTITY}(?:\s+in\s+(?:area|size))?", _F)
_EXTENT_NOUN = re.compile(
    rf"{_NOUN_LEAD}\b(?P<measure>length|width)\s+(?:is\s+|of\s+)?{_CMP}\s*{LENGTH_QUANTITY}",
    _F,
)
_EXTENT_ADJ = re.compile(
    rf"(?<![\w-]){_CMP}\s*{LENGTH_QUANTITY}\s+(?P<adj>long|wide|in\s+length|in\s+width)\b", _F
)
_EXTENT_CMP = re.compile(rf"(?<![\w-]){_CMP}\s*{LENGTH_QUANTITY}", _F)
_INTERSECT = re.compile(
    rf"{_NEG}\b(?:intersect(?:s|ing)?|overlap(?:s|ping)?|touch(?:es|ing)?|cross(?:es|ing)?)"
    rf"\s+(?:with\s+)?{_LAYER}",
    _F,
)
_WITHIN = re.compile(
    rf"{_NEG}\b(?:inside(?:\s+of)?|within|contained\s+in|in)\s+{_LAYER}",
    _F,
)
_DIRECTION = re.compile(
    rf"{_NEG}(?:\b(?:to|on|at)\s+the\s+)?\b{_DIR}(?:ern|wards?)?(?:\s+side)?\s+of\s+{_LAYER}", _F
)

_FLIP = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}

#: words that carry no condition of their own ("select the ones that are ...")
FILLER = frozenset(
    """select selects keep keeps choose retain filter only just the ones one those these them objects
    object items item results remaining that which who are is be being and of from among all out also
    both a an with having whose located situated lying please then next""".split()
)


@dataclass
class GisMatch:
    """A recognised condition: the filter and the character span ``[start, end)`` of its words."""

    filter: GisFilter
    start: int
    end: int


def _op(m: re.Match) -> str:
    return _CMP_WORDS[re.sub(r"\s+", " ", m.group("cmp").lower())]


def _negated(m: re.Match, op: str) -> str:
    return _FLIP[op] if m.group("neg") else op


def _is_layer_ref(m: re.Match, layer_names) -> bool:
    if m.group("kw"):
        return True
    if not layer_names:
        return False
    try:
        return find_layer(m.group("layer"), layer_names) is not None
    except ConfigError:
        return True  # several layers match: a GIS step, and the plan warns about the ambiguity


def _directions(word: str) -> tuple[str, ...]:
    w = re.sub(r"[\s-]", "", word.lower())
    return tuple(d for d in ("north", "south", "east", "west") if d in w)


def _recognisers(layer_names):
    """(pattern, builder) in priority order; a builder returns a filter or None (not a GIS condition)."""

    def dist_within(m):
        return DistanceFilter(m.group("layer"), _negated(m, "<="), quantity_from_match(m))

    def dist_cmp(m):
        return DistanceFilter(m.group("layer"), _negated(m, _op(m)), quantity_from_match(m))

    def dist_closer(m):
        op = "<" if m.group("cmp").lower() in ("closer", "nearer") else ">"
        return DistanceFilter(m.group("layer"), _negated(m, op), quantity_from_match(m))

    def area(m):
        return AreaFilter(_op(m), quantity_from_match(m))

    def extent_noun(m):
        return ExtentFilter(m.group("measure").lower(), _op(m), quantity_from_match(m))

    def extent_adj(m):
        measure = "width" if "wid" in m.group("adj").lower() else "length"
        return ExtentFilter(measure, _op(m), quantity_from_match(m))

    def extent_cmp(m):
        cmp = m.group("cmp").lower()
        measure = "width" if cmp.startswith(("wider", "narrower")) else "length"
        return ExtentFilter(measure, _op(m), quantity_from_match(m))

    def intersect(m):
        if not _is_layer_ref(m, layer_names):
            return None
        return IntersectsFilter(m.group("layer"), negate=bool(m.group("neg")))

    def within(m):
        if not _is_layer_ref(m, layer_names):
            return None
        return WithinFilter(m.group("layer"), negate=bool(m.group("neg")))

    def direction(m):
        if not _is_layer_ref(m, layer_names):
            return None
        return DirectionFilter(_directions(m.group("dir")), m.group("layer"), negate=bool(m.group("neg")))

    # Distances before plain comparisons: "less than 500 m from X" is a distance, not a length.
    return [
        (_DIST_WITHIN, dist_within),
        (_DIST_CLOSER, dist_closer),
        (_DIST_CMP, dist_cmp),
        (_AREA_NOUN, area),
        (_AREA_CMP, area),
        (_EXTENT_NOUN, extent_noun),
        (_EXTENT_ADJ, extent_adj),
        (_EXTENT_CMP, extent_cmp),
        (_INTERSECT, intersect),
        (_WITHIN, within),
        (_DIRECTION, direction),
    ]


def find_gis_conditions(text: str, layer_names=None) -> list[GisMatch]:
    """Every GIS condition in ``text``, in reading order, non-overlapping."""
    found: list[GisMatch] = []
    blanked = text
    for pattern, build in _recognisers(layer_names):
        for m in list(pattern.finditer(blanked)):
            flt = build(m)
            if flt is None:
                continue
            found.append(GisMatch(flt, m.start(), m.end()))
        for g in found:
            # Blank recognised words so that later, looser patterns cannot match them again.
            blanked = blanked[: g.start] + " " * (g.end - g.start) + blanked[g.end :]
    return sorted(found, key=lambda g: g.start)


_LEAD_TRAIL = re.compile(
    r"^(?:\s|[,;:]|\band\b|\bbut\b)+"
    r"|(?:\s|[,;:.]|\band\b|\bbut\b|\b(?:that|which|who)(?:\s+(?:are|is))?\b|\bwith\b)+$",
    _F,
)


def has_content(text: str) -> bool:
    """Whether ``text`` holds a word other than filler ("select the ones that are")."""
    words = re.findall(r"[\w²'-]+", text.lower())
    return any(w not in FILLER for w in words)


def remainder(text: str, matches: list[GisMatch]) -> str:
    """``text`` without the matched spans, whitespace collapsed and dangling connectors removed."""
    parts, pos = [], 0
    for g in matches:
        parts.append(text[pos : g.start])
        pos = g.end
    parts.append(text[pos:])
    rest = " ".join(" ".join(parts).split())
    prev = None
    while prev != rest:
        prev, rest = rest, _LEAD_TRAIL.sub("", rest).strip()
    return rest
