"""Words the parsers need to know beyond the grammar's keywords: which references are areas or lines
(found by segmentation) rather than objects (found by detection), and numbers written as words."""

from __future__ import annotations

import re

#: head nouns of references that are areas or lines: the model finds them by segmentation
AREAS_AND_LINES = frozenset(
    """river stream creek brook canal channel waterway ditch drain road street highway motorway freeway
    avenue lane path track trail railway railroad rail line runway taxiway apron tarmac coast coastline
    shore shoreline beach bank riverbank lake pond reservoir lagoon sea ocean bay harbour harbor port
    marina basin water wetland marsh swamp forest wood woods woodland grove field farmland cropland
    meadow pasture grassland park garden lawn lot plaza square quay wharf pier jetty
    breakwater dam dyke dike levee embankment fence wall border boundary zone area region district
    neighbourhood neighborhood city town village settlement airport airfield base compound yard site
    quarry mine desert dune glacier island peninsula hill mountain ridge valley slope cliff vineyard
    orchard plantation cemetery campus pipeline powerline curb kerb sidewalk pavement verge median
    roundabout junction intersection""".split()
)


def singular(word: str) -> str:
    """A plural noun's singular by the common English endings ("ferries" -> "ferry", "boxes" -> "box",
    "roads" -> "road"); other words unchanged."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and re.search(r"(?:ss|sh|ch|x|z)es$", w):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def grounding_task(phrase: str) -> str:
    """``"seg"`` when the reference is an area or a line (its head noun, the last word, is one of
    ``AREAS_AND_LINES``: "parking lot", "flood zone", "river"), else ``"detection"``."""
    words = re.findall(r"[a-z]+", phrase.lower())
    if not words:
        return "detection"
    return "seg" if singular(words[-1]) in AREAS_AND_LINES else "detection"


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES) | {"dozen", "half"}


def words_to_number(words: list[str]) -> float | None:
    """``["two", "hundred"]`` -> 200; ``["twenty-five"]`` -> 25; ``["a", "dozen"]`` -> 12; ``None`` when
    the words are no number."""
    parts: list[str] = []
    for w in words:
        parts.extend(w.lower().split("-"))
    if not parts:
        return None
    if parts in (["dozen"], ["a", "dozen"]):
        return 12.0
    if parts == ["half"]:
        return 0.5
    if parts[0] == "a" and len(parts) > 1 and parts[1] in _SCALES:
        parts = ["one"] + parts[1:]
    total, current, seen = 0, 0, False
    for p in parts:
        if p in _UNITS:
            current += _UNITS[p]
        elif p in _TENS:
            current += _TENS[p]
        elif p == "hundred":
            current = max(current, 1) * 100
        elif p == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


#: words the lexer reads as one terminal of the grammar (a class of synonyms); the token keeps the
#: word itself, so "wider" still says width and "docked" can be shown
WORD_CLASSES: dict[str, tuple[str, ...]] = {
    "VERB": ("detect", "find", "locate", "segment", "identify", "mark", "outline", "extract", "delineate",
             "highlight", "get", "list", "spot", "label", "select", "return", "draw", "trace", "digitise",
             "digitize", "detecting", "finding"),
    "COPULA": ("are", "is", "be", "were", "was", "lie", "lies", "sit", "sits", "stand", "stands"),
    "RELPRON": ("that", "which", "who"),
    "PARTICIPLE": ("located", "situated", "lying", "parked", "moored", "docked", "anchored", "standing",
                   "sitting", "placed", "positioned", "found", "built", "seen", "running", "flowing"),
    "MORE": ("more", "larger", "bigger", "greater", "longer", "wider", "farther", "further", "higher"),
    "LESS": ("less", "fewer", "smaller", "shorter", "narrower", "closer", "nearer"),
    # a comparison ("lower than") or a part of the image ("the lower half"): its own class, read as both
    "LOWER": ("lower",),
    "NEARWORD": ("near", "nearby", "beside", "alongside", "along", "bordering", "border", "borders", "neighbouring",
                 "neighboring", "flanking", "adjoining", "adjoin", "adjoins", "abutting", "abut", "abuts"),
    "CROSSWORD": ("intersecting", "intersect", "intersects", "crossing", "cross", "crosses", "touching", "touch",
                  "touches", "overlapping", "overlap", "overlaps", "straddling", "straddle", "straddles",
                  "spanning", "span", "spans", "bridging"),
    "CROSSED": ("crossed", "intersected", "touched", "overlapped", "traversed", "spanned"),
    "SIDE": ("side", "sides", "bank", "banks", "shore", "edge", "coast", "flank"),
    "MNOUN": ("area", "size", "surface", "footprint", "length", "width", "perimeter", "diameter"),
    "SCENEWORD": ("image", "images", "picture", "scene", "photo", "photograph", "tile", "raster", "view"),
    "DIR_N": ("north", "northern", "northward", "northwards", "northerly"),
    "DIR_S": ("south", "southern", "southward", "southwards", "southerly"),
    "DIR_E": ("east", "eastern", "eastward", "eastwards", "easterly"),
    "DIR_W": ("west", "western", "westward", "westwards", "westerly"),
    "DIR_NE": ("northeast", "northeastern", "northeasterly", "ne"),
    "DIR_NW": ("northwest", "northwestern", "northwesterly", "nw"),
    "DIR_SE": ("southeast", "southeastern", "southeasterly", "se"),
    "DIR_SW": ("southwest", "southwestern", "southwesterly", "sw"),
    "LARGEST": ("largest", "biggest", "greatest"),
    "SMALLEST": ("smallest", "tiniest"),
    "LONGEST": ("longest",),
    "SHORTEST": ("shortest",),
    "WIDEST": ("widest", "broadest"),
    "NARROWEST": ("narrowest",),
    "NORTHMOST": ("northernmost", "northmost"),
    "SOUTHMOST": ("southernmost", "southmost"),
    "EASTMOST": ("easternmost", "eastmost"),
    "WESTMOST": ("westernmost", "westmost"),
    "NEAREST": ("nearest", "closest"),
    "FARTHEST": ("farthest", "furthest"),
    # parts of the objects themselves: never a place to measure from ("with solar panels on the roof")
    "OBJECT_PART": ("roof", "roofs", "rooftop", "rooftops", "deck", "decks", "hull", "hulls", "wing", "wings", "facade",
             "facades", "chimney", "chimneys", "tail", "tails"),
    "ADVERB": ("just", "directly", "due", "immediately", "somewhere", "strictly", "entirely", "wholly",
               "completely", "fully", "also", "only", "still", "currently"),
}
WORD_CLASS: dict[str, str] = {w: name for name, words in WORD_CLASSES.items() for w in words}
