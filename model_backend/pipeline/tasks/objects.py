"""Object tasks (detection, segmentation, change) and counting: tiles -> model chain per tile -> candidates in
raster pixels -> merge across tiles -> map coordinates -> GIS conditions and area of interest -> features.

Tiles are read lazily on the calling thread and sent to the engine with at most ``concurrency`` in flight
(``scheduler.pipelined``); results are checkpointed to the output as they arrive, and a cancelled run stops
within one tile and keeps what is done, marked partial.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from ...conditions.gis_filters import apply_gis_filters
from ...conditions.measure import ContextLayers
from ...conditions.plan import Plan, Step
from ...errors import ConfigError, GeoRSMLLMError
from ...geometry import GeoObject
from ...merge import Candidate, merge_candidates
from ...raster import iter_tile_pairs, iter_tiles, open_pair, plan_pair_tiles, plan_tiles
from ...raster.georef import Georef, crs_to_string
from ...tasks import Task
from ...vector.features import Feature, RunInfo
from ..events import Cancelled, RunEvent
from ..result import Answer
from ..scheduler import pipelined
from ..tilework import TileOutcome, process_tile
from ..wording import counted_objects
from .base import RunContext

#: How often (seconds) the output is rewritten with what is done so far, marked partial.
CHECKPOINT_SECONDS = 10.0


@dataclass
class ObjectCollector:
    """Candidates from finished tiles (raster pixels) and what turns them into output features: merge across
    tiles, georeference (``georef``: raster pixels -> map coordinates of ``crs``), then keep the objects that
    meet the plan's GIS conditions and touch the area of interest."""

    raster_size: tuple[int, int]
    georef: Georef
    crs: str
    candidates: list[Candidate] = field(default_factory=list)
    candidate_tiles: list[int] = field(default_factory=list)

    def add(self, outcome: TileOutcome) -> None:
        self.candidates.extend(outcome.candidates)
        self.candidate_tiles.extend([outcome.tile.index] * len(outcome.candidates))

    def features(self, plan: Plan, context_layers: ContextLayers, keep=None) -> list[Feature]:
        """The merged objects as features in map coordinates, after the plan's GIS conditions and ``keep`` (a
        predicate on a map-coordinate object, e.g. "touches the area of interest"). ``tile`` says which
        tiles saw each object."""
        merged = merge_candidates(self.candidates, self.raster_size)
        objects_map = self.georef.objects_to_map([m.obj for m in merged])
        tiles = [",".join(str(self.candidate_tiles[i]) for i in m.sources) for m in merged]
        pairs = list(zip(objects_map, tiles))
        if plan.gis_filters and objects_map:
            kept = {id(o) for o in apply_gis_filters(objects_map, self.crs, plan.gis_filters, context_layers)}
            pairs = [(o, t) for o, t in pairs if id(o) in kept]
        if keep is not None:
            pairs = [(o, t) for o, t in pairs if keep(o)]
        return [Feature(o, tile=t) for o, t in pairs]


def counts_of(features: list[Feature]) -> dict[str, int]:
    """Objects per label."""
    return dict(Counter(_label(f.geometry) for f in features))


def _label(obj: GeoObject) -> str:
    return getattr(obj, "label", None) or "(no label)"


def run_objects(ctx: RunContext, plan: Plan | None = None, task: Task | None = None) -> list[Feature]:
    """Find the plan's objects over the raster (or the two rasters' overlap for change), within the area of
    interest; write them and return the features written."""
    plan = plan or ctx.plan
    task = task or ctx.task
    cfg = ctx.config
    pipeline = ctx.pipeline
    steps = plan.model_steps
    if not steps:
        raise ConfigError("the instruction names nothing for the model to find: " + plan.describe())
    if task is Task.CHANGE:
        pair = open_pair(cfg.raster, cfg.raster_b, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords)
        source, closer = pair.first, pair
        try:
            tile_plan = plan_pair_tiles(pair, ctx.layout(), aoi_bounds=pipeline.aoi_bounds)
        except Exception:
            pair.close()
            raise
        tiles: Iterator = ((tp.tile, (tp.first.rgb, tp.second.rgb), tp.first.valid & tp.second.valid)
                           for tp in iter_tile_pairs(pair, tile_plan, skip_empty=True))
    else:
        source = closer = ctx.open()
        try:
            tile_plan = plan_tiles(source, ctx.layout(), aoi_bounds=pipeline.aoi_bounds)
        except Exception:
            source.close()
            raise
        tiles = ((ti.tile, (ti.rgb,), ti.valid) for ti in iter_tiles(source, tile_plan, skip_empty=True))
    try:
        if task is Task.SEGMENTATION and pipeline.segmenter is not None:
            pipeline.segmenter.load()
        collector = ObjectCollector((source.grid.width, source.grid.height), source.georef, source.crs_string)
        return _objects_loop(ctx, tiles, len(tile_plan), steps, task, plan, collector, source)
    finally:
        closer.close()


def _objects_loop(ctx: RunContext, tiles: Iterator, total: int, steps: list[Step], task: Task, plan: Plan,
                  collector: ObjectCollector, source) -> list[Feature]:
    pipeline, result = ctx.pipeline, ctx.result
    result.tiles_total = total
    last_checkpoint = time.monotonic()

    def work(item) -> TileOutcome:
        tile, images, valid = item
        return process_tile(tile, images, valid, task=task, steps=steps, dialect=pipeline.dialect,
                            engine=pipeline.engine, segmenter=pipeline.segmenter,
                            max_new_tokens=ctx.config.max_new_tokens)

    def finish(partial: bool) -> list[Feature]:
        features = collector.features(plan, pipeline.context_layers, keep=ctx.touches_area)
        result.counts = counts_of(features)
        ctx.write(features, source, partial=partial)
        return features

    try:
        for outcome in pipelined(tiles, work, ctx.config.concurrency, ctx.cancel):
            result.tiles_done += 1
            collector.add(outcome)
            result.warnings += outcome.warnings
            ctx.emit(RunEvent("tile", result.tiles_done, total, features=display_features(ctx, outcome),
                              data={"tile": outcome.tile.index, "objects": len(outcome.candidates)}))
            if time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                finish(partial=True)
                last_checkpoint = time.monotonic()
    except Cancelled:
        result.partial = True
        result.warnings.append(f"cancelled after {result.tiles_done} of {total} tiles: the output is partial")
    return finish(partial=result.partial)


def display_features(ctx: RunContext, outcome: TileOutcome) -> list[dict]:
    """A tile's objects as GeoJSON features in EPSG:4326, for live display (not merged yet)."""
    if not outcome.objects_px:
        return []
    from ...vector.geojson import feature_collection

    try:
        objects_map = outcome.tile.objects_to_map(outcome.objects_px)
        run = RunInfo(run_id="live", task=ctx.task.value)
        fc = feature_collection([Feature(o, tile=str(outcome.tile.index)) for o in objects_map],
                                crs=outcome.tile.crs and crs_to_string(outcome.tile.crs), run=run)
        return fc["features"]
    except GeoRSMLLMError:
        return []  # no CRS (pixel-coordinate run): nothing to show on a map


def run_found_objects(ctx: RunContext) -> None:
    """Detection or segmentation; a question about which objects ("Where are the ships?") is answered with
    what was found."""
    features = run_objects(ctx)
    question = ctx.pipeline.choice.question
    if question:
        found = ", ".join(f"{n} {label}" for label, n in sorted(counts_of(features).items())) or "none"
        ctx.result.answers.append(Answer("answer", f"found: {found} (see the layer)", question=question,
                                         how=f"{ctx.task.value} of {ctx.instruction!r}"))


def run_count(ctx: RunContext, what: str) -> None:
    """"How many X ...?": detect X, merge across tiles, answer with the number of objects kept."""
    counted = Plan([Step(what, "model")], Task.DETECTION.tag, ctx.plan.parser, [])
    features = run_objects(ctx, counted, Task.DETECTION)
    ctx.result.answers.append(Answer("count", str(len(features)), question=ctx.instruction,
                                     how=f"counted the merged detections of {what!r}"))


def counting_question(ctx: RunContext) -> str | None:
    """What a question counts, or ``None`` when it is not a counting question."""
    return counted_objects(ctx.instruction)
