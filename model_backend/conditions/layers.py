"""Finding the context layer an instruction names ("the runways" -> ``runway``), and checking a plan's
references against the layers a run has before any tile is sent."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterable

from ..errors import ConfigError
from .lexicon import singular

if TYPE_CHECKING:
    from .plan import Plan

_ARTICLES = ("the", "a", "an", "any", "some", "all", "each", "every", "these", "those", "this", "that")


def normalise_layer_name(name: str) -> str:
    """Lower case, no file extension, no article, no trailing "layer", ``_``/``-``/punctuation as spaces:
    ``"The Roads.gpkg"`` -> ``"roads"``, ``"osm_rivers-2020 layer"`` -> ``"osm rivers 2020"``."""
    s = str(name).strip().lower()
    s = re.sub(r"\.[a-z][a-z0-9]{0,7}$", "", s)  # file extension: "Roads.gpkg" -> "roads"
    words = re.sub(r"[^0-9a-z]+", " ", s).split()
    while words and words[0] in _ARTICLES:
        words = words[1:]
    while words and words[-1] in ("layer", "layers"):
        words = words[:-1]
    return " ".join(words)


def _tokens(key: str) -> tuple[str, ...]:
    return tuple(singular(w) for w in key.split())


def find_layer(name: str, available: Iterable[str]) -> str | None:
    """The one available layer name that ``name`` refers to, or ``None``.

    Tolerant: case, articles ("the", "any"...), "... layer", file extensions, ``_``/``-`` as spaces and
    singular/plural are ignored ("the runways" finds ``runway``, "the roads layer" finds ``Roads.gpkg``);
    failing that, a layer whose name holds all the words ("rivers" finds ``osm_rivers_2020``), then one
    whose words begin with them ("the coast" finds ``coastline``).
    ``ConfigError`` when several layers match equally well.
    """
    names = list(available)
    key = normalise_layer_name(name)
    if not key:
        return None
    levels: list[Callable[[str], bool]] = [
        lambda n: n.strip().lower() == str(name).strip().lower(),
        lambda n: normalise_layer_name(n) == key,
        lambda n: _tokens(normalise_layer_name(n)) == _tokens(key),
        lambda n: set(_tokens(key)) <= set(_tokens(normalise_layer_name(n))),
        # a word of the name that the phrase begins: "the coast" finds "coastline", "rail" finds "railways"
        lambda n: all(any(t.startswith(k) for t in _tokens(normalise_layer_name(n))) for k in _tokens(key)),
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


def resolve_layer(name: str, available: Iterable[str]) -> str:
    """The available layer name that ``name`` refers to; ``ConfigError`` listing the available names
    when none matches."""
    names = list(available)
    hit = find_layer(name, names)
    if hit is None:
        raise ConfigError(
            f"no context layer matches {name!r} (available layers: {', '.join(sorted(names)) or 'none'}); "
            "add that layer as a context layer or name one of these in the instruction"
        )
    return hit


def check_plan(plan: "Plan", layer_names: Iterable[str], *, model_can_find: bool = True) -> "Plan":
    """The plan with every reference settled against the run's context layers, checked before any tile
    is sent.

    A layer reference is matched tolerantly (``find_layer``) and renamed to the layer's own name; a
    reference the model was to find becomes a layer reference when a layer now matches its phrase.
    Raises ``ConfigError`` naming the available layers when a layer reference matches none, or when
    ``model_can_find`` is false and a reference matches no layer (the run could not find it).
    """
    from .plan import Reference

    names = list(layer_names)
    shown = ", ".join(sorted(names)) or "none"
    settled = []
    for ref in plan.references:
        if ref.source == "layer":
            hit = find_layer(ref.layer, names)
            if hit is None:
                raise ConfigError(
                    f"the plan measures against the layer '{ref.layer}' (\u201c{ref.phrase}\u201d), which is not among "
                    f"the context layers (available: {shown}): add it as a context layer or name one of these"
                )
            settled.append(Reference(ref.id, ref.phrase, "layer", layer=hit))
            continue
        hit = find_layer(ref.phrase, names)
        if hit is not None:
            settled.append(Reference(ref.id, ref.phrase, "layer", layer=hit))
        elif not model_can_find:
            raise ConfigError(
                f"\u201c{ref.phrase}\u201d matches no context layer (available: {shown}) and this run cannot find it "
                "with the model first: add a layer for it or name one of these"
            )
        else:
            settled.append(ref)
    return plan.replace(references=tuple(settled))
