"""Object tasks (detection, segmentation, change) and counting: tiles -> model chain per tile -> candidates in
raster pixels -> merge across tiles -> map coordinates -> GIS conditions and area of interest -> features.
References the model must find first ("within 100 m of a bridge" with no bridge layer) are found in the same
tiles by the same worker, one more model call each (``pipeline.references``), merged across all tiles and
written as their own layers; the conditions measure against them.

Tiles are read lazily on the calling thread and sent to the engine with at most ``concurrency`` in flight
(``scheduler.pipelined``). Each finished tile's candidates go to the run's journal as it finishes (durable
at once, see ``resume``); the output GeoPackage is rewritten from time to time with what is done, marked
partial, and at the end. A cancelled or failed run stops within one tile and writes what is done, marked
partial; a resumed run takes the tiles finished before from the journal and reads only the others.
"""

from __future__ import annotations

import re

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import shapely
from shapely.geometry import Polygon

from ...conditions.executor import execute_plan
from ...conditions.image_parts import ImageExtent
from ...conditions.layers import check_plan
from ...conditions.measure import ContextLayers
from ...conditions.plan import ModelStep, Plan, Target
from ...errors import ConfigError, EngineError, GeoRSMLLMError, OutputError, RasterError
from ...geometry import GeoObject, PolygonRegion, RotatedBox
from ...geometry.codec import object_from_dict, object_to_dict
from ...geometry.shapes import to_shapely
from ...merge import Candidate, Merged, merge_candidates
from ...nouns import class_label, plural
from ...raster import iter_tile_pairs, iter_tiles, open_pair, plan_pair_tiles, plan_tiles
from ...raster.georef import Georef, crs_to_string
from ...tasks import Task
from ...vector.features import Feature, RunInfo
from ..events import Cancelled, RunEvent
from ..references import ReferenceCollector, find_references, reference_passes
from ..refine import min_rotated_rectangle, refines
from ..result import Answer
from ..scheduler import pipelined
from ..tilework import TileOutcome, process_tile
from ..wording import counted_objects
from .base import RunContext, image_extent

#: How often (seconds, at least) the output is rewritten with what is done so far, marked partial. Every
#: finished tile is durable in the journal at once; these checkpoints only let other programs see progress.
CHECKPOINT_SECONDS = 10.0
#: A checkpoint waits at least this many times as long as the last one took, so rewriting a large run's
#: layers never takes more than 1/20 of the run.
CHECKPOINT_COST_FACTOR = 20.0


@dataclass
class ObjectCollector:
    """Candidates from finished tiles (raster pixels) and what turns them into output features: merge across
    tiles, georeference (``georef``: raster pixels -> map coordinates of ``crs``), then keep the objects that
    meet the plan's GIS conditions and touch the area of interest. ``image``: where the raster lies in ``crs``
    (for "in the northern half of the image"; for change, the first image's). Candidates are merged in tile order, so
    the features do not depend on the order tiles finished in (nor on a run being resumed).

    With SAM2 refinement (``pipeline.refine``) each kept object brings a companion feature: a refined
    detection its outline (the union of its sources' outlines; a tile's outlines are parallel to its
    candidates), a refined change region (``box_regions``) its minimum rotated rectangle, computed in map
    coordinates."""

    raster_size: tuple[int, int]
    georef: Georef
    crs: str
    box_regions: bool = False
    image: ImageExtent | None = None
    by_tile: dict[int, tuple[list[Candidate], list[PolygonRegion | None]]] = field(default_factory=dict)

    def add(self, tile_index: int, candidates: list[Candidate], outlines: list[PolygonRegion | None] = ()) -> None:
        """A finished tile's candidates and their outlines (raster pixels; ``None`` where there is none)."""
        self.by_tile[tile_index] = (list(candidates), list(outlines) or [None] * len(candidates))

    def features(self, plan: Plan, context_layers: ContextLayers, keep=None, default_label: str | None = None,
                 found=None) -> tuple[list[Feature], list[Feature]]:
        """The merged objects as features in map coordinates, after the plan's GIS conditions and ``keep`` (a
        predicate on a map-coordinate object, e.g. "touches the area of interest"), and their companions
        (outlines or rotated boxes of refined objects; see the class doc). ``tile`` says which tiles saw each
        object; objects the model left unlabelled are labelled ``default_label`` (the class the instruction
        names, "new building"); ``found``: what the model found for the plan's model-found references, as
        ``execute_plan`` takes it."""
        candidates: list[Candidate] = []
        candidate_tiles: list[int] = []
        outlines: list[PolygonRegion | None] = []
        for index in sorted(self.by_tile):
            tile_candidates, tile_outlines = self.by_tile[index]
            candidates += tile_candidates
            candidate_tiles += [index] * len(tile_candidates)
            outlines += tile_outlines
        merged = merge_candidates(candidates, self.raster_size)
        objects_map = self.georef.objects_to_map([m.obj for m in merged])
        tiles = [",".join(str(candidate_tiles[i]) for i in m.sources) for m in merged]
        companions = [self._companions(m, obj, outlines) for m, obj in zip(merged, objects_map)]
        rows = list(zip(objects_map, tiles, companions))
        if plan.needs_gis and objects_map:
            kept = {id(o) for o in execute_plan(plan, objects_map, self.crs, context_layers, found,
                                                image=self.image).objects}
            rows = [row for row in rows if id(row[0]) in kept]
        if keep is not None:
            rows = [row for row in rows if keep(row[0])]
        features = [Feature(o, label=o.label or default_label, tile=t) for o, t, _ in rows]
        return features, [Feature(c, label=c.label or default_label, tile=t) for _, t, cs in rows for c in cs]

    def _companions(self, merged: Merged, obj_map: GeoObject, outlines: list[PolygonRegion | None]) -> list[GeoObject]:
        """A merged object's companion geometries in map coordinates (``outlines``: parallel to the candidates
        merged)."""
        if isinstance(obj_map, PolygonRegion) and self.box_regions:
            corners = min_rotated_rectangle(obj_map)
            return [RotatedBox(corners, label=obj_map.label, score=obj_map.score)]
        parts = [outlines[i] for i in merged.sources if outlines[i] is not None]
        if not parts:
            return []
        union = shapely.union_all([to_shapely(p) for p in parts])
        polygons = [g for g in getattr(union, "geoms", [union]) if isinstance(g, Polygon) and not g.is_empty]
        outlines = [PolygonRegion(tuple(g.exterior.coords)[:-1], tuple(tuple(r.coords)[:-1] for r in g.interiors),
                                  label=merged.obj.label, score=merged.obj.score) for g in polygons]
        return self.georef.objects_to_map(outlines)


def tile_payload(outcome: TileOutcome) -> dict:
    """What the journal keeps of a finished tile: its candidates, their outlines when refined, the candidates
    of each model-found reference (all in raster pixels), and its warnings."""
    payload: dict = {"candidates": [object_to_dict(c.obj) for c in outcome.candidates], "warnings": outcome.warnings}
    if any(o is not None for o in outcome.outlines):
        payload["outlines"] = [None if o is None else object_to_dict(o) for o in outcome.outlines]
    if outcome.references:
        payload["references"] = {ref_id: [object_to_dict(c.obj) for c in found]
                                 for ref_id, found in outcome.references.items()}
    return payload


def restore_tiles(ctx: RunContext, tile_plan, collector: ObjectCollector, references: ReferenceCollector) -> set[int]:
    """Put the tiles a resumed run finished before into ``collector`` and ``references``; returns their
    indexes."""
    done = ctx.finished_tiles()
    if not done:
        return set()
    ctx.log.check_windows({tile.index: tile.window for tile in tile_plan if tile.index in done})
    for index, payload in done.items():
        window = ctx.log.done[index].window
        outlines = [None if d is None else object_from_dict(d) for d in payload.get("outlines", [])]
        collector.add(index, [Candidate(object_from_dict(d), window) for d in payload.get("candidates", [])], outlines)
        references.add(index, {ref_id: [Candidate(object_from_dict(d), window) for d in found]
                               for ref_id, found in payload.get("references", {}).items()})
        ctx.result.warnings += payload.get("warnings", [])
    ctx.result.tiles_done = len(done)
    return set(done)


#: The ``counts`` key of objects without a label (no class named by the model or the instruction).
UNLABELLED = "(no label)"


def counts_of(features: list[Feature]) -> dict[str, int]:
    """Objects per label."""
    return dict(Counter(_label(f) for f in features))


def _label(feature: Feature) -> str:
    return feature.label or getattr(feature.geometry, "label", None) or UNLABELLED


def found_phrase(count: int, label: str) -> str:
    """``"1 ship"``, ``"6 ships"``, ``"2 objects"`` (unlabelled)."""
    if label == UNLABELLED:
        label = "object"
    return f"{count} {label if count == 1 else plural(label)}"


def run_objects(ctx: RunContext, plan: Plan | None = None, task: Task | None = None) -> list[Feature]:
    """Find the plan's objects over the raster (or the two rasters' overlap for change), within the area of
    interest; write them and return the features written."""
    plan = plan or ctx.plan
    task = task or ctx.task
    cfg = ctx.config
    pipeline = ctx.pipeline
    plan = check_plan(plan, pipeline.context_layers)  # a missing layer is refused before any tile is sent
    steps = plan.model_steps
    if not steps:
        raise ConfigError("the instruction names nothing for the model to find: " + plan.describe())
    passes = reference_passes(plan, pipeline.dialect)
    if task is Task.CHANGE:
        pair = open_pair(cfg.raster, cfg.raster_b, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords,
                         assets=cfg.stac_assets)
        source, closer = pair.first, pair
    else:
        source = closer = ctx.open()
    try:
        if refines(cfg.refine, task) and pipeline.segmenter is None:
            raise ConfigError(f"refine {cfg.refine} needs a segmenter, and this pipeline has none")
        if task is Task.CHANGE:
            tile_plan = plan_pair_tiles(pair, ctx.layout(), aoi_bounds=pipeline.aoi_bounds)
        else:
            tile_plan = plan_tiles(source, ctx.layout(), aoi_bounds=pipeline.aoi_bounds)
        size = (source.grid.width, source.grid.height)
        collector = ObjectCollector(size, source.georef, source.crs_string,
                                    box_regions=task is Task.CHANGE and refines(cfg.refine, task),
                                    image=image_extent(source))
        references = ReferenceCollector(passes, size, source.georef, source.crs_string)
        done = restore_tiles(ctx, tile_plan, collector, references)
        tiles: Iterator
        if task is Task.CHANGE:
            tiles = ((tp.tile, (tp.first.rgb, tp.second.rgb), tp.first.valid & tp.second.valid)
                     for tp in iter_tile_pairs(pair, tile_plan, skip_empty=True, skip=done))
        else:
            tiles = ((ti.tile, (ti.rgb,), ti.valid) for ti in iter_tiles(source, tile_plan, skip_empty=True,
                                                                           skip=done))
        segments = task is Task.SEGMENTATION or any(p.task is Task.SEGMENTATION for p in passes)
        if pipeline.segmenter is not None and (segments or refines(cfg.refine, task)):
            pipeline.segmenter.load()
        return _objects_loop(ctx, tiles, len(tile_plan), steps, task, plan, collector, references, source)
    finally:
        closer.close()


def _objects_loop(ctx: RunContext, tiles: Iterator, total: int, steps: list[ModelStep], task: Task, plan: Plan,
                  collector: ObjectCollector, references: ReferenceCollector, source) -> list[Feature]:
    pipeline, result = ctx.pipeline, ctx.result
    result.tiles_total = total  # a tile is done when the targets and every reference were asked for on it
    last_checkpoint, checkpoint_s = time.monotonic(), 0.0

    def work(item) -> TileOutcome:
        tile, images, valid = item
        outcome = process_tile(tile, images, valid, task=task, steps=steps, dialect=pipeline.dialect,
                               engine=pipeline.engine, segmenter=pipeline.segmenter, refine=ctx.config.refine,
                               max_new_tokens=ctx.config.max_new_tokens)
        if references.passes:  # the same image objects: one tile read for every pass
            outcome.references, warnings = find_references(
                tile, images, valid, references.passes, dialect=pipeline.dialect, engine=pipeline.engine,
                segmenter=pipeline.segmenter, max_new_tokens=ctx.config.max_new_tokens)
            outcome.warnings += warnings
        return outcome

    default_label = class_label(steps[0].text) if steps else None

    def finish(partial: bool) -> list[Feature]:
        found = references.found()
        features, companions = collector.features(plan, pipeline.context_layers, keep=ctx.touches_area,
                                                  default_label=default_label, found=references.for_plan(found))
        result.counts = counts_of(features)
        ctx.write(features + companions, source, partial=partial, references=references.layers(found))
        if references.passes:
            result.references = references.summary(found, result.outputs.get("layers") or {})
            if not partial:
                result.warnings += references.nothing_found(found)
        return features

    try:
        for outcome in pipelined(tiles, work, ctx.config.concurrency, ctx.cancel):
            ctx.record_tile(outcome.tile, tile_payload(outcome))
            result.tiles_done += 1
            collector.add(outcome.tile.index, outcome.candidates, outcome.outlines)
            references.add(outcome.tile.index, outcome.references)
            result.warnings += outcome.warnings
            data = {"tile": outcome.tile.index, "objects": len(outcome.candidates)}
            if outcome.references:
                data["references"] = {ref_id: len(c) for ref_id, c in outcome.references.items()}
            ctx.emit(RunEvent("tile", result.tiles_done, total,
                              features=display_features(ctx, outcome, default_label), data=data))
            if time.monotonic() - last_checkpoint > max(CHECKPOINT_SECONDS, CHECKPOINT_COST_FACTOR * checkpoint_s):
                began = time.monotonic()
                finish(partial=True)
                last_checkpoint = time.monotonic()
                checkpoint_s = last_checkpoint - began
    except Cancelled:
        result.partial = True  # the result says so (partial, tiles_done of tiles_total): no warning repeats it
    except GeoRSMLLMError as exc:
        # e.g. a raster read over HTTP whose server went away: keep the finished tiles, marked partial, and
        # say so in the error that ends the run
        result.partial = True
        if not result.tiles_done:
            raise
        try:
            finish(partial=True)
        except Exception:  # the error that stopped the run is the one to report
            raise exc from None
        kind = type(exc) if type(exc) in (RasterError, EngineError, OutputError) else GeoRSMLLMError
        raise kind(f"{exc}; the {result.tiles_done} of {total} tiles finished before were written to "
                   f"{ctx.output.gpkg} (layers marked partial)") from exc
    except Exception:
        # anything else that stops the run (a bug, an OS error): write what is done (the journal has it too)
        result.partial = True
        if result.tiles_done:
            try:
                finish(partial=True)
            except Exception:  # the error that stopped the run is the one to report
                pass
        raise
    return finish(partial=result.partial)


def display_features(ctx: RunContext, outcome: TileOutcome, default_label: str | None = None) -> list[dict]:
    """A tile's objects as GeoJSON features in EPSG:4326, for live display (not merged yet); unlabelled ones
    take ``default_label`` as in the written layers."""
    if not outcome.objects_px:
        return []
    from ...vector.geojson import feature_collection

    try:
        objects_map = outcome.tile.objects_to_map(outcome.objects_px)
        run = RunInfo(run_id="live", task=ctx.task.value)
        fc = feature_collection([Feature(o, label=o.label or default_label, tile=str(outcome.tile.index))
                                 for o in objects_map],
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
        found = ", ".join(found_phrase(n, label) for label, n in sorted(counts_of(features).items())) or "none"
        ctx.result.answers.append(Answer("answer", f"found: {found} (see the layer)", question=question,
                                         how=f"{ctx.task.value} of {ctx.instruction!r}"))


def run_count(ctx: RunContext, what: str) -> None:
    """"How many X ...?": detect X, merge across tiles, answer with the number of objects kept."""
    counted = ctx.plan if ctx.plan.count else Plan(ctx.plan.task, (Target(what),), count=True)
    features = run_objects(ctx, counted, Task.DETECTION)
    ctx.result.answers.append(Answer("count", count_answer(ctx.instruction, len(features)), question=ctx.instruction,
                                     how=f"counted the merged detections of {what!r}"))


# "Are there any ships in the harbour?", "Are any of these in the parks?": yes or no, with the number
_YES_NO = re.compile(r"^\s*(?:\[\w+\]\s*)?(?:(?:and|so|now|then)\s+)?(?:is|are)\s+(?:there\b|any\b|some\b)",
                     re.IGNORECASE)


def count_answer(question: str, n: int) -> str:
    """The answer to a counting question: the number, or for a yes-or-no question "yes (n)" / "no (0)"."""
    if _YES_NO.match(question or ""):
        return f"yes ({n})" if n else "no (0)"
    return str(n)


def counting_question(ctx: RunContext) -> str | None:
    """What a question counts, or ``None`` when it is not a counting question."""
    return counted_objects(ctx.instruction)
