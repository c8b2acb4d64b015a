"""A follow-up on the previous result ("now only those larger than 500 m²", "which of these are damaged?",
"remove the ones inside the parks layer", "how many of them are north of the river?").

The objects are the previous result's, in map coordinates of the raster's CRS; nothing is searched again:

1. a label filter and the GIS conditions (``executor.execute_plan``) -- no model call;
2. visual conditions: only the tiles holding the objects still selected are read, each object sent with the
   one tile that holds it best (the whole object, nearest the tile's centre; else the tile that holds most of
   it), as regions of a chain step (``chain.filter_found_objects``); the objects the answer covers stay;
3. the ranking, on what is left;
4. "keep" writes the objects selected, "remove" the others, "count" the objects selected and answers their
   number. The new layer carries the previous objects' attributes and a recipe whose ``chain`` lists every
   step from the first search on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import shapely

from ...conditions.chain import filter_found_objects
from ...conditions.executor import execute_plan
from ...conditions.followup import FollowUp
from ...conditions.layers import check_plan
from ...errors import ConfigError
from ...geometry import GeoObject, PolygonRegion
from ...geometry.shapes import to_shapely
from ...nouns import singular
from ...raster import open_pair, plan_pair_tiles, plan_tiles
from ...raster.tiling import Tile, TilePlan, auto_resampling
from ...tasks import Task
from ..events import Cancelled, RunEvent
from ..previous import PreviousResult
from ..result import Answer
from ..scheduler import pipelined
from .base import RunContext, image_extent
from .objects import count_answer, counts_of, found_phrase


@dataclass
class VisualOutcome:
    """What the model kept of one tile's objects (indices into the previous result)."""

    tile: Tile
    sent: list[int]
    kept: list[int]
    calls: int
    warnings: list[str] = field(default_factory=list)


def run_followup(ctx: RunContext) -> None:
    """Apply the pipeline's follow-up to its previous result; write the new layer and answer."""
    pipeline, result = ctx.pipeline, ctx.result
    follow: FollowUp = pipeline.followup
    previous: PreviousResult = pipeline.previous
    plan = check_plan(follow.plan, pipeline.context_layers, model_can_find=False)
    if not follow.has_conditions:
        raise ConfigError(f"the follow-up \u201c{follow.text}\u201d names no condition to choose among "
                          f"{previous.describe()} (e.g. \u201cnow only those larger than 500 m\u00b2\u201d)")
    if not len(previous):
        raise ConfigError(f"nothing to follow up on: {previous.describe()} (the previous result is empty)")
    source = ctx.open()
    try:
        crs = source.crs_string
        objects = previous.objects
        selected = list(range(len(previous)))
        if follow.labels:
            selected = [i for i in selected
                        if singular(str(previous.attributes[i].get("label") or "").lower()) in follow.labels]
        if plan.where is not None and selected:
            gis = plan.replace(rank=None, count=False, visual=())
            selected = [selected[j] for j in execute_plan(gis, [objects[i] for i in selected], crs,
                                                          pipeline.context_layers, image=image_extent(source)).indices]
        judged, calls = set(selected), 0
        if plan.visual and selected:
            selected, judged, calls = _visual_filter(ctx, previous, selected, follow)
        if plan.rank is not None and selected:
            ranking = plan.replace(where=None, count=False, visual=())
            selected = [selected[j] for j in execute_plan(ranking, [objects[i] for i in selected], crs,
                                                          pipeline.context_layers).indices]
        if follow.mode == "remove":
            chosen = set(selected)
            kept = [i for i in range(len(previous)) if i not in chosen]  # unjudged ones (cancelled) stay
        else:
            kept = selected
        features = previous.features(kept)
        result.counts = counts_of(features)
        result.followup = _summary(ctx, follow, previous, selected, kept, calls, len(judged))
        _answer(ctx, follow, previous, kept, features)
        ctx.write(features, source, partial=result.partial)
    finally:
        source.close()


def _answer(ctx: RunContext, follow: FollowUp, previous: PreviousResult, kept: list[int], features) -> None:
    total = len(previous)
    found = ", ".join(found_phrase(n, label) for label, n in sorted(counts_of(features).items())) or "none"
    if follow.plan.count:
        ctx.result.answers.append(Answer("count", count_answer(follow.text, len(kept)), question=follow.text,
                                         how=f"counted the objects of {previous.name} that meet the conditions "
                                             f"({len(kept)} of {total}; no new search)"))
    elif follow.question:
        ctx.result.answers.append(Answer("answer", f"{found} (of {total}; see the layer)", question=follow.question,
                                         how=f"the objects of {previous.name} that meet the conditions"))


def _summary(ctx: RunContext, follow: FollowUp, previous: PreviousResult, selected: list[int], kept: list[int],
             calls: int, judged: int) -> dict[str, Any]:
    """The follow-up as the result and the recipe record it, with the chain of steps that led here."""
    step = {"instruction": follow.text, "mode": follow.mode, "run_id": ctx.result.run_id,
            "run_name": ctx.output.run_name, "objects": len(kept)}
    earlier = previous.recipe.get("chain")
    if not isinstance(earlier, list) or not earlier:
        earlier = [{"instruction": previous.instruction, "mode": "find", "task": previous.task,
                    "run_id": previous.run_id, "run_name": previous.run_name, "objects": len(previous)}]
    return {
        "of": {"layer": previous.name, "run_name": previous.run_name, "run_id": previous.run_id,
               "source": previous.source, "instruction": previous.instruction, "objects": len(previous)},
        "mode": follow.mode, "labels": list(follow.labels), "selected": len(selected), "kept": len(kept),
        "judged_by_model": judged if follow.uses_model else 0, "model_calls": calls,
        "chain": [*earlier, step],
    }


# --------------------------------------------------------------------------------------------------
# visual conditions: the model, only where the objects are


def _visual_filter(ctx: RunContext, previous: PreviousResult, indices: list[int], follow: FollowUp
                   ) -> tuple[list[int], set[int], int]:
    """The objects at ``indices`` that the model keeps; also which were judged (all, unless cancelled) and
    the number of model calls."""
    cfg, pipeline, result = ctx.config, ctx.pipeline, ctx.result
    task = Task(previous.task)
    geoms = [to_shapely(previous.objects[i]) for i in indices]
    bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
    if task is Task.CHANGE:
        if not cfg.raster_b:
            raise ConfigError("a visual follow-up on a change result needs both images: give the 'after' raster too")
        reader = open_pair(cfg.raster, cfg.raster_b, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords)
        grid_source = reader.first
    else:
        reader = grid_source = ctx.open()
    try:
        tile_plan = _tile_plan(ctx, reader, grid_source, task, tuple(bounds))
        found_in = [_tile_numbers(previous.attributes[i].get("tile")) for i in indices]
        groups = assign_to_tiles(tile_plan, geoms, grid_source.georef, found_in)
        result.tiles_total = len(groups)
        found = previous.class_phrase or "objects"

        def items() -> Iterator[tuple[Tile, tuple[np.ndarray, ...], list[int]]]:
            for tile, members in groups:
                rs = auto_resampling(tile)
                read = reader.read(tile.window, out_shape=tile.out_shape, resampling=rs)
                images = tuple(img.rgb for img in read) if isinstance(read, tuple) else (read.rgb,)
                yield tile, images, [indices[m] for m in members]

        def work(item) -> VisualOutcome:
            tile, images, members = item
            regions = [_in_image(previous.objects[i], tile) for i in members]
            sent = [(i, r) for i, r in zip(members, regions) if r is not None]
            chain = filter_found_objects(follow.filter_steps, images, task, pipeline.dialect, pipeline.engine,
                                         tile.image_size, [r for _i, r in sent], found_phrase=found,
                                         max_new_tokens=cfg.max_new_tokens)
            kept_ids = {id(o) for o in chain.objects}
            return VisualOutcome(tile, members, [i for i, r in sent if id(r) in kept_ids], len(chain.steps),
                                 [f"tile {tile.index}: {w}" for w in chain.warnings])

        kept: list[int] = []
        judged: set[int] = set()
        calls = 0
        try:
            for outcome in pipelined(items(), work, cfg.concurrency, ctx.cancel):
                result.tiles_done += 1
                kept += outcome.kept
                judged.update(outcome.sent)
                calls += outcome.calls
                result.warnings += outcome.warnings
                ctx.emit(RunEvent("tile", result.tiles_done, result.tiles_total,
                                  data={"tile": outcome.tile.index, "objects": len(outcome.kept)}))
        except Cancelled:
            result.partial = True
        chosen = set(kept)
        return [i for i in indices if i in chosen], judged, calls
    finally:
        reader.close()


def _tile_plan(ctx: RunContext, reader, grid_source, task: Task, bounds: tuple[float, ...]) -> TilePlan:
    """The tiles of a run over the whole raster (or the pair's overlap) with this run's layout: the grid the
    previous run most likely used, so the model sees each object in the tile it was found in. When that grid
    is too large (``max_tiles``), tiles over the objects' bounds only."""
    for aoi in (None, bounds):
        try:
            if task is Task.CHANGE:
                return plan_pair_tiles(reader, ctx.layout(), aoi_bounds=aoi)
            return plan_tiles(grid_source, ctx.layout(), aoi_bounds=aoi)
        except ConfigError:
            if aoi is not None:
                raise
    raise AssertionError("unreachable")


def assign_to_tiles(tile_plan: TilePlan, geoms_map: list, georef,
                    found_in: Sequence[Sequence[int]] | None = None) -> list[tuple[Tile, list[int]]]:
    """Each object (shapely, map coordinates) given to one tile of the plan: among the tiles whose window holds
    its whole bounding box (raster pixels), one it was found in (``found_in``: tile indices per object, from
    its ``tile`` attribute), else the one whose centre is nearest the box's; failing that, the tile holding the
    largest part of the box. Returns the tiles that got objects, in plan order, with the objects' positions.
    Only the few tiles around each object are looked at (the plan is a grid of start offsets)."""
    if not geoms_map:
        return []
    win_w, win_h = tile_plan.window_size
    cols, rows = np.asarray(tile_plan.col_starts), np.asarray(tile_plan.row_starts)
    members: dict[int, list[int]] = {}
    for obj, geom in enumerate(geoms_map):
        x0, y0, x1, y1 = georef.geometry_to_pixel(geom).bounds
        best, best_score = None, -np.inf
        for i in _overlapping(rows, win_h, y0, y1):
            for j in _overlapping(cols, win_w, x0, x1):
                c, r = cols[j], rows[i]
                if x0 >= c and y0 >= r and x1 <= c + win_w and y1 <= r + win_h:
                    score = -np.hypot((x0 + x1) / 2 - (c + win_w / 2), (y0 + y1) / 2 - (r + win_h / 2))
                    if found_in is not None and i * len(cols) + j in found_in[obj]:
                        score += 1e9  # the tile it was found in (same grid): the view the model had of it
                else:  # any whole fit beats any partial one
                    score = (min(x1, c + win_w) - max(x0, c)) * (min(y1, r + win_h) - max(y0, r)) - 1e12
                if score > best_score:
                    best, best_score = i * len(cols) + j, score
        if best is not None:
            members.setdefault(best, []).append(obj)
    return [(tile, members[tile.index]) for tile in tile_plan if tile.index in members]


def _tile_numbers(value: Any) -> list[int]:
    """The tiles a ``tile`` attribute names (``"3"``, ``"2,3"``)."""
    return [int(part) for part in str(value or "").split(",") if part.strip().isdigit()]


def _overlapping(starts: np.ndarray, size: int, low: float, high: float) -> range:
    """Positions of the windows ``[start, start + size)`` (sorted starts) that overlap ``[low, high]``."""
    first = int(np.searchsorted(starts + size, low, side="right"))
    last = int(np.searchsorted(starts, high, side="left"))
    return range(first, max(first, last))


def _in_image(obj: Any, tile: Tile) -> GeoObject | None:
    """An object in map coordinates as a region of the tile's image (pixels as sent), cut to the image."""
    w, h = tile.image_size
    if isinstance(obj, GeoObject):
        px = tile.georef.objects_to_pixel([obj])[0]
        shape = to_shapely(px)
    else:
        px, shape = None, tile.georef.geometry_to_pixel(obj)
    frame = shapely.box(0, 0, w, h)
    if px is not None and frame.covers(shape):
        return px
    part = shape.intersection(frame)
    polygons = [g for g in getattr(part, "geoms", [part]) if g.geom_type == "Polygon" and not g.is_empty]
    if not polygons:
        return None
    largest = max(polygons, key=lambda g: g.area)
    return PolygonRegion(tuple(largest.exterior.coords)[:-1], tuple(tuple(r.coords)[:-1] for r in largest.interiors))
