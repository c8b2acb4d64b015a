"""Finding the context layer an instruction names ("the roads layer" -> "Roads.gpkg")."""

from __future__ import annotations

import re
from typing import Callable, Iterable

from ..errors import ConfigError
from .measure import ContextLayers

def _normalise_layer_name(name: str) -> str:
    s = name.strip().lower()
    s = re.sub(r"\.[a-z][a-z0-9]{0,7}$", "", s)  # file extension: "Roads.gpkg" -> "roads"
    s = re.sub(r"^the\s+", "", s)
    s = re.sub(r"\s+layer$", "", s)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", s).split())


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _tokens(key: str) -> tuple[str, ...]:
    return tuple(_singular(w) for w in key.split())


def find_layer(name: str, available: Iterable[str]) -> str | None:
    """The one available layer name that ``name`` refers to, or ``None``.

    Tolerant: case, "the ... layer", file extensions, ``_``/``-`` as spaces and plural ``s`` are
    ignored ("the roads layer" finds "Roads.gpkg" or "road"); failing that, a layer whose name
    contains all the words ("rivers" finds "osm_rivers_2020"). ``ConfigError`` when ambiguous.
    """
    names = list(available)
    key = _normalise_layer_name(name)
    if not key:
        return None
    levels: list[Callable[[str], bool]] = [
        lambda n: n.strip().lower() == name.strip().lower(),
        lambda n: _normalise_layer_name(n) == key,
        lambda n: _tokens(_normalise_layer_name(n)) == _tokens(key),
        lambda n: set(_tokens(key)) <= set(_tokens(_normalise_layer_name(n))),
    ]
    for matches in levels:
        hits = [n for n in names if matches(n)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ConfigError(
                f"the layer name {name!r} is ambiguous: it matches {', '.join(sorted(hits))}; "
                "name the layer exactly in the instruction"
            )
    return None


def resolve_layer(name: str, context_layers: ContextLayers) -> str:
    """The key of ``context_layers`` that ``name`` refers to; ``ConfigError`` listing the available
    layers when none matches."""
    hit = find_layer(name, context_layers.keys())
    if hit is None:
        available = ", ".join(sorted(context_layers)) or "none"
        raise ConfigError(
            f"no context layer matches {name!r} (available layers: {available}); "
            "add that layer as a context layer or name one of these in the instruction"
        )
    return hit
