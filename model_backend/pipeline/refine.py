"""SAM2 refinement: outlines and rotated boxes from models that answer only horizontal boxes.

With ``refine = "sam2"`` every box a model answers for detection or change prompts SAM2 on its tile (the box's
horizontal envelope, plus its keypoints when it has some): one image encoding per tile image and all of its
boxes in one batched decoder call (``Segmenter.segment_masks``). The largest part of each mask, kept within the
box grown by ``MARGIN`` (SAM2 can spill into a touching object), is the object's outline; its minimum rotated
rectangle is the object's rotated box.

- Detection: the rotated box is the detection (merged across tiles, counted, filtered by GIS conditions, written
  to the ``_boxes`` layer); its outline rides along and is written to the ``_polygons`` layer.
- Change: the outline is the change region (``_polygons``); the minimum rotated rectangle of each merged region
  is written to ``_boxes``. A change is refined on the image that shows the object: the *before* image when the
  object's label (the model's own word for it) -- or, without a label, the instruction -- speaks of something
  removed ("demolished buildings", "cleared forest"), the *after* image otherwise (new things, and changes that
  say neither). So a change tile costs one encoding per image that has regions to refine.

A box whose mask is empty (or only specks) is kept as the model answered it, with a warning. All geometry here is
in pixels of the tile image as sent, corner convention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from ..dialects._common import envelope_px
from ..geometry import GeoObject, GeoPoint, PolygonRegion, RotatedBox, SegTarget
from ..tasks import Task
from .config import REFINE_MODES

__all__ = ["REFINE_MODES", "REFINED_TASKS", "Refined", "min_rotated_rectangle", "refine_objects", "refines",
           "shows_before"]

#: tasks whose boxes are refined (segmentation already goes through SAM2)
REFINED_TASKS = frozenset({Task.DETECTION, Task.CHANGE})
#: how far beyond its box an outline may reach, as a share of the box's larger side
MARGIN = 0.1
#: words that say a change is a removal: the object is seen in the before image
_REMOVAL_RE = re.compile(
    r"\b(?:remov\w*|demolish\w*|disappear\w*|destroy\w*|lost|loss\w*|gone|clear(?:ed|ing)|cut\s+down|"
    r"torn\s+down|knocked\s+down|fell(?:ed)?|deforest\w*|collaps\w*|burn(?:ed|t)\s+down|missing|vanish\w*|"
    r"no\s+longer)\b",
    re.IGNORECASE,
)


def refines(mode: str, task: Task) -> bool:
    """Whether a run with ``refine = mode`` refines the objects of ``task``."""
    return mode != "none" and task in REFINED_TASKS


def shows_before(label: str | None, instruction: str) -> bool:
    """Whether a change object is seen in the before image (see module doc): its label decides when it has
    one, else the instruction."""
    text = label if label and label.strip() else instruction
    return bool(_REMOVAL_RE.search(text or ""))


@dataclass
class Refined:
    """A tile's objects after refinement (pixels of the tile image), ``outlines`` parallel to ``objects``
    (``None`` where there is none to write beside the object), and what went wrong."""

    objects: list[GeoObject]
    outlines: list[PolygonRegion | None]
    warnings: list[str] = field(default_factory=list)


def refine_objects(objects: Sequence[GeoObject], images: Sequence[np.ndarray], segmenter, task: Task,
                   instruction: str) -> Refined:
    """Refine a tile's detection or change objects with ``segmenter`` (loaded); see module doc.
    ``images``: the tile as sent, one image (detection) or before and after (change)."""
    if task is Task.CHANGE and len(images) == 2:
        picks = [1 - int(shows_before(o.label, instruction)) if not isinstance(o, GeoPoint) else None
                 for o in objects]
    else:
        picks = [0 if not isinstance(o, GeoPoint) else None for o in objects]
    objects_out: list[GeoObject] = list(objects)
    outlines: list[PolygonRegion | None] = [None] * len(objects)
    unrefined = 0
    for image_index in sorted({p for p in picks if p is not None}):
        members = [i for i, p in enumerate(picks) if p == image_index]
        targets = [_target(objects[i]) for i in members]
        for i, target, seg in zip(members, targets, segmenter.segment_masks(images[image_index], targets)):
            outline = _outline(seg.polygons, target.bbox)
            if outline is None:
                unrefined += 1
                continue
            obj = objects[i]
            outline = PolygonRegion(outline.exterior, outline.holes, label=obj.label, score=obj.score, span=obj.span)
            if task is Task.CHANGE:
                objects_out[i] = outline
            else:
                objects_out[i] = RotatedBox(min_rotated_rectangle(outline), label=obj.label, score=obj.score,
                                            span=obj.span)
                outlines[i] = outline
    warnings = []
    if unrefined:
        warnings.append(f"SAM2 found no outline for {unrefined} of {len(objects)} box(es): kept as answered")
    return Refined(objects_out, outlines, warnings)


def _target(obj: GeoObject) -> SegTarget:
    """The SAM2 prompt of an object: its horizontal envelope (and keypoints, for a segmentation target)."""
    if isinstance(obj, SegTarget):
        return obj
    return SegTarget(envelope_px(obj), label=obj.label, score=obj.score, span=obj.span)


def _outline(polygons: Sequence[PolygonRegion], bbox: tuple[float, float, float, float]) -> PolygonRegion | None:
    """The largest part of a mask's polygons within the box grown by ``MARGIN``; ``None`` if nothing is left."""
    x1, y1, x2, y2 = bbox
    grow = MARGIN * max(x2 - x1, y2 - y1)
    bounds = shapely.box(x1 - grow, y1 - grow, x2 + grow, y2 + grow)
    best: Polygon | None = None
    for region in polygons:
        part = Polygon(region.exterior, region.holes).intersection(bounds)
        for piece in getattr(part, "geoms", [part]):
            if isinstance(piece, Polygon) and not piece.is_empty and (best is None or piece.area > best.area):
                best = piece
    if best is None:
        return None
    return PolygonRegion(tuple(best.exterior.coords)[:-1], tuple(tuple(r.coords)[:-1] for r in best.interiors))


def min_rotated_rectangle(region: PolygonRegion) -> tuple:
    """The four corners of the minimum rotated rectangle of a polygon's outer ring (its own frame)."""
    rect = shapely.minimum_rotated_rectangle(Polygon(region.exterior))
    coords = list(rect.exterior.coords)[:4] if isinstance(rect, Polygon) else []
    if len(coords) != 4:  # a degenerate (line-like) outline: its envelope
        xs = [p[0] for p in region.exterior]
        ys = [p[1] for p in region.exterior]
        coords = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    return tuple((float(x), float(y)) for x, y in coords)
