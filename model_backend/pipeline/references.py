"""References the model finds first: "ships within 100 m of a bridge" when no context layer holds bridges.

Each reference of the plan with ``source="model"`` is one more model pass over the very tiles the targets
are found in, in the same worker and on the same image objects (one tile read, one more model call per
reference and tile; SAM2 for a reference grounded by segmentation, when a segmenter is configured).
Its candidates are merged across ALL tiles, exactly as the targets are, before any condition is measured:
a bridge seen in one tile counts for a ship in the neighbouring one. What was found is written as its own
layer of the run, ``<run>_ref_<phrase>_<kind>`` (``boxes`` for detection, ``polygons`` for segmentation),
whose recipe says it is a reference and of what.

Frames: candidates are in RASTER pixels (corner convention) with their tile window, as ``merge`` wants;
``found`` returns objects in map coordinates of the raster's CRS (what ``execute_plan`` measures).
A change run finds its references on the "after" image (the scene as it is now).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..conditions.plan import ModelStep, Plan, Reference
from ..dialects.base import Dialect
from ..errors import ConfigError
from ..geometry import GeoObject
from ..merge import Candidate, merge_candidates
from ..nouns import plural, singular
from ..raster import Tile
from ..raster.georef import Georef
from ..tasks import Task
from ..vector.features import KINDS, Feature
from .tilework import process_tile

_KIND = {Task.DETECTION: "boxes", Task.SEGMENTATION: "polygons"}


@dataclass(frozen=True)
class ReferencePass:
    """How one model-found reference is looked for: ``task`` (detection or segmentation, as the plan
    chose), the model step asking for every one of them (``"bridges"``), and ``stem``, the part of its
    layer names after the run's name (``ref_bridge``)."""

    ref: Reference
    task: Task
    step: ModelStep
    stem: str

    @property
    def label(self) -> str:
        """The class name its objects get when the model answers none (``bridge``)."""
        return singular(self.ref.phrase).lower()

    @property
    def kind(self) -> str:
        """The layer kind it is written as: ``boxes`` or ``polygons``."""
        return _KIND[self.task]

    def describe(self) -> dict[str, Any]:
        """What the recipe and the run result say about it."""
        return {"id": self.ref.id, "phrase": self.ref.phrase, "task": self.task.value, "prompt": self.step.text}


def _stem(phrase: str, taken: set[str], ref_id: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", singular(phrase).lower()).strip("_")[:30] or ref_id
    stem = f"ref_{slug}"
    return stem if stem not in taken else f"{stem}_{ref_id}"


def reference_passes(plan: Plan, dialect: Dialect) -> tuple[ReferencePass, ...]:
    """The passes for the plan's model-found references; ``ConfigError`` before any tile is sent when the
    dialect (model family) cannot ground a reference the way the plan says."""
    passes: list[ReferencePass] = []
    for ref in plan.model_references:
        task = Task.SEGMENTATION if ref.task == "seg" else Task.DETECTION
        if not dialect.supports(task):
            raise ConfigError(f"the plan needs the model to find the {ref.phrase} (reference {ref.id}) by "
                              f"{task.value}, which the {dialect.name} answer format cannot do: give it as a "
                              "context layer instead")
        stem = _stem(ref.phrase, {p.stem for p in passes}, ref.id)
        passes.append(ReferencePass(ref, task, ModelStep(plural(singular(ref.phrase))), stem))
    return tuple(passes)


def find_references(
    tile: Tile,
    images: Sequence[np.ndarray],
    valid: np.ndarray | None,
    passes: Sequence[ReferencePass],
    *,
    dialect: Dialect,
    engine,
    segmenter=None,
    max_new_tokens: int = 512,
) -> tuple[dict[str, list[Candidate]], list[str]]:
    """Ask for every reference on one tile: ``{reference id: candidates in raster pixels}`` and the
    warnings, each naming its reference. ``images``: the tile as sent to the target pass (the last one,
    the "after" image of a change pair, is used). Runs in a worker thread like ``process_tile``."""
    found: dict[str, list[Candidate]] = {}
    warnings: list[str] = []
    for p in passes:
        outcome = process_tile(tile, (images[-1],), valid, task=p.task, steps=(p.step,), dialect=dialect,
                               engine=engine, segmenter=segmenter, max_new_tokens=max_new_tokens)
        found[p.ref.id] = outcome.candidates
        warnings += [f"reference {p.ref.id} ({p.ref.phrase}): {w}" for w in outcome.warnings]
    return found, warnings


@dataclass
class ReferenceCollector:
    """The references found in finished tiles (raster pixels), merged across tiles and georeferenced on
    demand (``georef``: raster pixels -> map coordinates of ``crs``). Tiles are merged in tile order, so
    what is found does not depend on the order tiles finished in."""

    passes: tuple[ReferencePass, ...]
    raster_size: tuple[int, int]
    georef: Georef
    crs: str | None
    by_tile: dict[int, Mapping[str, Sequence[Candidate]]] = field(default_factory=dict)

    def add(self, tile_index: int, found: Mapping[str, Sequence[Candidate]]) -> None:
        """One finished tile's candidates per reference id."""
        if self.passes:
            self.by_tile[tile_index] = {k: list(v) for k, v in found.items()}

    def found(self) -> dict[str, tuple[list[GeoObject], list[str]]]:
        """Reference id -> (its merged objects in map coordinates, labelled; the tiles that saw each)."""
        out: dict[str, tuple[list[GeoObject], list[str]]] = {}
        for p in self.passes:
            candidates: list[Candidate] = []
            tiles: list[int] = []
            for index in sorted(self.by_tile):
                these = self.by_tile[index].get(p.ref.id, ())
                candidates += these
                tiles += [index] * len(these)
            merged = merge_candidates(candidates, self.raster_size)
            objects = [o if o.label else o.with_(label=p.label)
                       for o in self.georef.objects_to_map([m.obj for m in merged])]
            out[p.ref.id] = (objects, [",".join(str(tiles[i]) for i in m.sources) for m in merged])
        return out

    def for_plan(self, found: Mapping[str, tuple[list[GeoObject], list[str]]]) -> dict[str, tuple[list, Any]]:
        """``found`` as ``execute_plan`` takes it: reference id -> (objects, CRS)."""
        return {ref_id: (objects, self.crs) for ref_id, (objects, _tiles) in found.items()}

    def layers(self, found: Mapping[str, tuple[list[GeoObject], list[str]]]) -> list["ReferenceLayer"]:
        """One layer per reference, empty when nothing was found."""
        return [ReferenceLayer(p, [Feature(o, tile=t) for o, t in zip(*found[p.ref.id])]) for p in self.passes]

    def summary(self, found: Mapping[str, tuple[list[GeoObject], list[str]]], layers: Mapping[str, str]) -> dict:
        """What the run result says about each reference: how it was found, how many, and its layers (one per
        geometry kind the model answered: a family may answer boxes for a segmentation request)."""
        return {p.ref.id: p.describe() | {"found": len(found[p.ref.id][0]),
                                          "layers": [name for key, name in layers.items()
                                                     if key.startswith(f"{p.stem}_") and key[len(p.stem) + 1:] in KINDS]}
                for p in self.passes}

    def nothing_found(self, found: Mapping[str, tuple[list[GeoObject], list[str]]]) -> list[str]:
        """A warning for each reference the model found nowhere, saying what that does to the conditions."""
        return [f"the model found no {p.ref.phrase} (reference {p.ref.id}) in any tile: the conditions measured "
                f"against it treat it as an empty layer (no object is within any distance of it, inside, "
                f"touching or in any direction of it; 'not within' and 'more than' keep every object), and its "
                f"layer is empty" for p in self.passes if not found[p.ref.id][0]]


@dataclass(frozen=True)
class ReferenceLayer:
    """The features of one model-found reference, to be written as the run's ``<run>_<stem>_<kind>``."""

    ref_pass: ReferencePass
    features: list[Feature]

    @property
    def stem(self) -> str:
        return self.ref_pass.stem

    @property
    def kind(self) -> str:
        return self.ref_pass.kind

    def recipe(self) -> dict[str, Any]:
        """What the layer's recipe adds to the run's: that it is a reference, found how."""
        return {"role": "reference", **self.ref_pass.describe()}
