"""What happens to one tile: the model chain (prompt -> engine -> text -> parsed objects), token scores,
SAM2 for segmentation (and, with ``refine``, for the boxes of detection and change: ``pipeline.refine``), then
objects into raster pixels. Runs in worker threads: touches no dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..conditions.chain import run_model_chain
from ..conditions.plan import ModelStep
from ..dialects.base import Dialect
from ..engines.base import Engine
from ..engines.scoring import attach_scores
from ..geometry import GeoObject, PolygonRegion, SegTarget
from ..merge import Candidate
from ..raster import Tile
from ..tasks import Task
from .refine import refine_objects, refines


@dataclass
class TileOutcome:
    """A finished tile: ``candidates`` in RASTER pixels (with the tile's window), ``outlines`` parallel to them
    (a refined detection's outline in raster pixels, else ``None``), the objects in image pixels for display,
    the raw model texts and warnings; ``references``: the candidates (raster pixels) of each model-found
    reference of the plan, by reference id (``pipeline.references``)."""

    tile: Tile
    candidates: list[Candidate] = field(default_factory=list)
    references: dict[str, list[Candidate]] = field(default_factory=dict)
    outlines: list[PolygonRegion | None] = field(default_factory=list)
    objects_px: list[GeoObject] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def process_tile(
    tile: Tile,
    images: Sequence[np.ndarray],
    valid: np.ndarray | None,
    *,
    task: Task,
    steps: Sequence[ModelStep],
    dialect: Dialect,
    engine: Engine,
    segmenter=None,
    refine: str = "none",
    max_new_tokens: int = 512,
) -> TileOutcome:
    """Run the model steps on one tile (same image objects for every step) and return its objects.

    ``images``: ``(H, W, 3)`` uint8 arrays as sent (two for change detection). ``valid``: the tile's
    valid-pixel mask; objects lying entirely on nodata are dropped (models hallucinate in blank areas).
    ``refine``: ``"sam2"`` turns the boxes of detection and change into outlines and rotated boxes with
    ``segmenter`` (one encoding per image, one decoder call for all of its boxes).
    """
    chain = run_model_chain(steps, list(images), task, dialect, engine, tile.image_size,
                            max_new_tokens=max_new_tokens)
    out = TileOutcome(tile=tile, texts=chain.raw_texts, warnings=[f"tile {tile.index}: {w}" for w in chain.warnings])
    last_tokens = chain.steps[-1].tokens if chain.steps else None
    objects = attach_scores(chain.objects, last_tokens)
    if valid is not None and not valid.all():
        objects = [o for o in objects if _touches_valid(o, valid)]
    outlines: list[PolygonRegion | None] = [None] * len(objects)
    if task is Task.SEGMENTATION:
        objects = _segment(objects, images[0], segmenter, out)
        outlines = [None] * len(objects)
    elif refines(refine, task) and objects:
        instruction = " ".join(s.text if isinstance(s, ModelStep) else str(s) for s in steps)
        refined = refine_objects(objects, images, segmenter, task, instruction)
        objects, outlines = refined.objects, refined.outlines
        out.warnings += [f"tile {tile.index}: {w}" for w in refined.warnings]
    out.objects_px = objects
    window = tile.window
    out.candidates = [Candidate(obj, window) for obj in tile.objects_to_raster_px(objects)]
    out.outlines = [None if o is None else tile.objects_to_raster_px([o])[0] for o in outlines]
    return out


def _segment(objects: list[GeoObject], image: np.ndarray, segmenter, out: TileOutcome) -> list[GeoObject]:
    targets = [o for o in objects if isinstance(o, SegTarget)]
    others = [o for o in objects if not isinstance(o, SegTarget)]
    if segmenter is None:
        if targets:
            out.warnings.append(f"tile {out.tile.index}: no segmenter configured: target boxes written as polygons")
        return [PolygonRegion(t.ring, label=t.label, score=t.score) for t in targets] + others
    if not targets:
        return others
    polygons: list[GeoObject] = []
    for per_target in segmenter.segment(image, targets):  # one encoding, one batched decoder call
        polygons.extend(per_target)
    return polygons + [o for o in others if isinstance(o, PolygonRegion)]


def _touches_valid(obj: GeoObject, valid: np.ndarray) -> bool:
    points = obj.points()
    if not points:
        return True
    h, w = valid.shape
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    c0, c1 = max(0, int(min(xs))), min(w, int(np.ceil(max(xs))))
    r0, r1 = max(0, int(min(ys))), min(h, int(np.ceil(max(ys))))
    if c1 <= c0 or r1 <= r0:
        return True
    return bool(valid[r0:r1, c0:c1].any())
