"""English nouns of object classes: singular and plural forms, and the class an instruction names.

Standard library only, so the QGIS plugin can import it too (summaries such as "6 planes"). Labels come
from models and instructions in English; text in other scripts is returned unchanged. The rules cover
the regular forms plus the irregular nouns that name things seen from above; a noun they get wrong reads
oddly but is never lost (``singular(plural(w))`` is ``w`` for the words the tests list).
"""

from __future__ import annotations

import re

#: plural -> singular for nouns the suffix rules get wrong.
_IRREGULAR = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "geese": "goose",
    "mice": "mouse", "feet": "foot", "teeth": "tooth", "oxen": "ox", "cattle": "cattle", "sheep": "sheep",
    "deer": "deer", "fish": "fish", "aircraft": "aircraft", "series": "series", "species": "species",
    "buses": "bus", "gases": "gas", "leaves": "leaf", "shelves": "shelf", "wolves": "wolf", "halves": "half",
    "calves": "calf", "knives": "knife", "lives": "life", "wives": "wife", "cacti": "cactus",
    "oases": "oasis", "analyses": "analysis", "vertices": "vertex", "indices": "index",
}
_SINGULAR_TO_PLURAL = {singular: plural for plural, singular in _IRREGULAR.items()}
#: words that look plural but are not (``-ss``, ``-us``, ``-is`` and a few more end in s in the singular).
_SINGULAR_S = re.compile(r"(ss|us|is|ics|news|lens|gas|bus)$")
#: a trailing English word (letters only); anything else (numbers, other scripts) is left alone.
_LAST_WORD = re.compile(r"([A-Za-z]+)$")

_LEADING = re.compile(
    r"^(?:(?:please|now|then|can you|could you|find|detect|segment|locate|show(?: me)?|identify|count|mark|"
    r"outline|extract|get|give me|list|highlight|delineate|map|spot|search for|look for|the|all|every|each|any|"
    r"some|of)\s+)+",
    re.IGNORECASE,
)
#: where a noun phrase's head ends: a qualifier follows ("planes parked near the terminal").
_QUALIFIER = re.compile(
    r"\s+(?:that|which|who|whose|with|without|near|in|on|at|of|within|inside|outside|north|south|east|west|"
    r"larger|smaller|bigger|longer|shorter|wider|more|less|parked|located|between|along|next|by|from|to|over|"
    r"under|around|across|except|than|as)\b.*$",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"^(?:what|which|where|how|why|when|who|is|are|was|were|do|does|did|has|have)\b",
                       re.IGNORECASE)


def _match_case(word: str, like: str) -> str:
    return word.upper() if like.isupper() and len(like) > 1 else word


def singular_word(word: str) -> str:
    """The singular of one English noun (``ponds`` -> ``pond``, ``ferries`` -> ``ferry``)."""
    lower = word.lower()
    if lower in _IRREGULAR:
        return _match_case(_IRREGULAR[lower], word)
    if len(lower) <= 3 or _SINGULAR_S.search(lower):
        return word
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if re.search(r"(sses|ches|shes|xes|zzes)$", lower):
        return word[:-2]
    if lower.endswith("s"):
        return word[:-1]
    return word


def plural_word(word: str) -> str:
    """The plural of one English noun (``pond`` -> ``ponds``, ``ferry`` -> ``ferries``, ``box`` -> ``boxes``)."""
    lower = word.lower()
    if lower in _SINGULAR_TO_PLURAL:
        return _match_case(_SINGULAR_TO_PLURAL[lower], word)
    if lower in _IRREGULAR and _IRREGULAR[lower] == lower:  # sheep, aircraft: the same in both numbers
        return word
    if re.search(r"[^aeiou]y$", lower):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", lower):
        return word + "es"
    return word + "s"


def _on_last_word(phrase: str, fn) -> str:
    text = phrase.rstrip()
    match = _LAST_WORD.search(text)
    if not match:
        return phrase
    return text[: match.start()] + fn(match.group(1))


def singular(phrase: str) -> str:
    """A noun phrase with its head (last word) in the singular: ``storage tanks`` -> ``storage tank``."""
    return _on_last_word(phrase, singular_word)


def plural(phrase: str) -> str:
    """A noun phrase with its head (last word) in the plural: ``new building`` -> ``new buildings``."""
    return _on_last_word(phrase, plural_word)


def class_label(step_text: str) -> str | None:
    """The object class a model step names, as a singular label, or ``None`` when it names none.

    ``"find all the new buildings"`` -> ``"new building"``; ``"detect the ponds"`` -> ``"pond"``;
    ``"what changed"`` (a question) -> ``None``. Used for objects the model returned without a label.
    """
    text = re.sub(r"\s+", " ", step_text or "").strip(" .?!:;,'\"")
    if not text or _QUESTION.match(text):
        return None
    text = _QUALIFIER.sub("", _LEADING.sub("", text)).strip()
    if re.search(r"\b(?:and|or)\b|[,/&+;]", text):
        return None  # several classes ("planes and ships"): no one label fits them all
    if not text or not _LAST_WORD.search(text) or len(text.split()) > 4:
        return None  # not a short noun phrase: better no label than a sentence in the label field
    return singular(text).lower()
