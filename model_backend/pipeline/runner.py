"""One run end to end: raster -> tiles -> prompt (dialect) -> engine -> text -> parser (dialect) -> pixel
geometry -> raster pixels -> merge across tiles -> map coordinates -> vector layer.

Tiles are read lazily on the calling thread (datasets are not thread-safe) and sent to the engine from a
pool with at most ``concurrency`` tiles in flight, so a model server can batch them. Results are merged,
georeferenced and checkpointed to the GeoPackage as they arrive; a cancelled run stops within one tile
and keeps what is done, marked partial.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..conditions.executor import execute_plan
from ..conditions.layers import check_plan
from ..conditions.measure import ContextLayers
from ..conditions.parse import parse_plan
from ..conditions.plan import Plan, Target
from ..dialects import get_dialect
from ..dialects.base import Dialect
from ..engines.base import Engine, EngineRequest
from ..errors import ConfigError, GeoRSMLLMError, RasterError
from ..geometry import GeoObject, GeoPoint, PolygonRegion, RotatedBox
from ..merge import Candidate, merge_candidates
from ..raster import Tile, TileLayout, iter_tile_pairs, iter_tiles, open_pair, open_raster, plan_tiles
from ..raster.georef import Georef, crs_to_string, shapely_params
from ..tasks import Task
from ..vector.features import BASE_FIELDS, Feature, RunInfo
from .config import RunConfig
from .events import CancelToken, Cancelled, EventSink, RunEvent
from .inference import TaskChoice, infer_task
from .tilework import TileOutcome, process_tile

#: Scene classes offered when a classification instruction names none (NWPU-RESISC45's 45 classes).
DEFAULT_CLASSES = (
    "airplane, airport, baseball diamond, basketball court, beach, bridge, chaparral, church, circular farmland, "
    "cloud, commercial area, dense residential, desert, forest, freeway, golf course, ground track field, harbor, "
    "industrial area, intersection, island, lake, meadow, medium residential, mobile home park, mountain, overpass, "
    "palace, parking lot, railway, railway station, rectangular farmland, river, roundabout, runway, sea ice, ship, "
    "snowberg, sparse residential, stadium, storage tank, tennis court, terrace, thermal power station, wetland"
).split(", ")

_COUNT = re.compile(r"^\s*(how many|count(?: the| all)?|number of)\s+(?P<what>.+?)(\s+(are|is|can|do|does|there|in|on|"
                    r"within|visible|appear)\b.*)?\??\s*$", re.IGNORECASE)


@dataclass
class RunResult:
    """What a run did. ``outputs``: ``{"gpkg": path, "layers": {kind: name}, "geojson": path}``;
    ``answers``: text answers (caption, VQA, classes, geolocation) with where they apply."""

    run_id: str
    task: str
    task_source: str
    task_reason: str
    instruction: str
    plan: dict[str, Any]
    tiles_total: int = 0
    tiles_done: int = 0
    partial: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    engine: dict[str, Any] = field(default_factory=dict)
    dialect: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Pipeline:
    """Runs a ``RunConfig`` with a loaded engine (and segmenter / parser engine when the task needs them).

    ``context_layers``: vector layers instructions may name (see ``pipeline.context``). ``regions``: the
    features to caption for ``[identify]``, as ``(shapely geometry in the raster's CRS, properties)``.
    ``aoi_bounds``: area of interest ``(xmin, ymin, xmax, ymax)`` in the raster's CRS.
    """

    checkpoint_seconds = 10.0

    def __init__(
        self,
        config: RunConfig,
        engine: Engine,
        *,
        segmenter=None,
        parser_engine: Engine | None = None,
        context_layers: ContextLayers | None = None,
        regions: Sequence[tuple[Any, dict]] | None = None,
        aoi_bounds: Sequence[float] | None = None,
        area=None,
        geojson_path: str | None = None,
    ):
        self.config = config
        self.engine = engine
        self.segmenter = segmenter
        self.parser_engine = parser_engine
        self.context_layers = dict(context_layers or {})
        self.regions = list(regions or [])
        # area: a shapely geometry in the raster's CRS; tiles cover its bounds, results must touch it
        self.area = area
        self.aoi_bounds = aoi_bounds if aoi_bounds is not None or area is None else tuple(area.bounds)
        self.geojson_path = geojson_path
        n_rasters = 2 if config.raster_b else 1
        self.choice: TaskChoice = infer_task(config.instruction, config.task, n_rasters)
        if self.choice.task is Task.CHANGE and not config.raster_b:
            raise ConfigError("change detection needs two rasters: give the 'after' raster as raster_b")
        self.dialect: Dialect = get_dialect(config.dialect or engine.describe().get("dialect") or "georsmllm")
        if hasattr(self.dialect, "supports") and not self.dialect.supports(self.choice.task):
            raise ConfigError(f"the {self.dialect.name} dialect (model family) cannot do the "
                              f"{self.choice.task.value} task; choose another model or task")

    # -- plan --------------------------------------------------------------------------------------

    def make_plan(self) -> Plan:
        """The parsed plan (model steps and GIS filters) for this run's instruction and task."""
        return parse_plan(self.choice.task.tag + " " + self.choice.instruction, self.parser_engine,
                          layer_names=list(self.context_layers))

    def describe_plan(self) -> dict[str, Any]:
        plan = self.make_plan()
        return {"task": self.choice.task.value, "task_source": self.choice.source, "task_reason": self.choice.reason,
                "dialect": self.dialect.name, **plan.report()}

    # -- run ---------------------------------------------------------------------------------------

    def run(self, on_event: EventSink | None = None, cancel: CancelToken | None = None) -> RunResult:
        """Run to the end (or until ``cancel``); returns what was done. GDAL's block cache is bounded for the
        run (``gdal_cache_mb``): by default it takes 5 % of RAM, which alone exceeds the memory target."""
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=self.config.gdal_cache_mb):
            return self._run(on_event, cancel)

    def _run(self, on_event: EventSink | None, cancel: CancelToken | None) -> RunResult:
        emit = on_event or (lambda _e: None)
        cancel = cancel or CancelToken()
        started = time.monotonic()
        plan = self.make_plan()
        result = RunResult(
            run_id=uuid.uuid4().hex[:12], task=self.choice.task.value, task_source=self.choice.source,
            task_reason=self.choice.reason, instruction=self.config.instruction, plan=plan.report(),
            engine=self.engine.describe(), dialect=self.dialect.name,
        )
        result.warnings += plan.warnings
        emit(RunEvent("plan", message=plan.describe(), data=result.plan | {"task": result.task,
                                                                              "task_reason": result.task_reason}))
        self._run_name = _safe_name(self.config.run_name or f"{result.task}_{time.strftime('%Y%m%d_%H%M%S')}")
        task = self.choice.task
        count_what = _COUNT.match(self.choice.instruction) if task is Task.VQA else None
        if task in (Task.DETECTION, Task.SEGMENTATION, Task.CHANGE):
            self._run_objects(plan, task, result, emit, cancel)
        elif count_what:
            counted = plan if plan.count else Plan(task.value, (Target(count_what.group("what")),), count=True)
            self._run_objects(counted, Task.DETECTION, result, emit, cancel)
            n = sum(result.counts.values())
            result.answers.append({"answer": str(n), "question": self.choice.instruction,
                                   "how": f"counted the merged detections of {count_what.group('what')!r}"})
        elif task is Task.CLASSIFY:
            self._run_classify(result, emit, cancel)
        elif task is Task.IDENTIFY:
            self._run_identify(result, emit, cancel)
        else:
            self._run_overview(task, result, emit)
        result.elapsed_s = round(time.monotonic() - started, 3)
        return result

    # -- object tasks (detection, segmentation, change) ---------------------------------------------

    def _layout(self) -> TileLayout:
        return TileLayout(tile_size=self.config.tile_size, overlap=self.config.overlap, gsd=self.config.gsd)

    def _open(self):
        cfg = self.config
        return open_raster(cfg.raster, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords)

    def _run_objects(self, plan: Plan, task: Task, result: RunResult, emit: EventSink, cancel: CancelToken) -> None:
        cfg = self.config
        plan = check_plan(plan, self.context_layers, model_can_find=False)  # refused before any tile is sent
        steps = plan.model_steps
        if not steps:
            raise ConfigError("the instruction names nothing for the model to find: " + plan.describe())
        if task is Task.CHANGE:
            pair = open_pair(cfg.raster, cfg.raster_b, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords)
            source = pair.first
            tile_plan = plan_tiles(source, self._layout(), aoi_window=pair.overlap)
            tiles: Iterator = ((tp.tile, (tp.first.rgb, tp.second.rgb), tp.first.valid & tp.second.valid)
                               for tp in iter_tile_pairs(pair, self._layout(), aoi_window=pair.overlap,
                                                         skip_empty=True))
            closer = pair
        else:
            source = self._open()
            tile_plan = plan_tiles(source, self._layout(), aoi_bounds=self.aoi_bounds)
            tiles = ((ti.tile, (ti.rgb,), ti.valid) for ti in iter_tiles(source, tile_plan, skip_empty=True))
            closer = source
        try:
            if task is Task.SEGMENTATION and self.segmenter is not None:
                self.segmenter.load()
            self._objects_loop(tiles, len(tile_plan), steps, task, plan, source, result, emit, cancel)
        finally:
            closer.close()

    def _objects_loop(self, tiles, total, steps, task, plan, source, result, emit, cancel) -> None:
        cfg = self.config
        result.tiles_total = total
        candidates: list[Candidate] = []
        cand_tiles: list[int] = []
        last_checkpoint = time.monotonic()
        georef: Georef = source.georef
        raster_size = (source.grid.width, source.grid.height)

        def work(item):
            tile, images, valid = item
            return process_tile(tile, images, valid, task=task, steps=steps, dialect=self.dialect,
                                engine=self.engine, segmenter=self.segmenter, max_new_tokens=cfg.max_new_tokens)

        def finish(partial: bool) -> None:
            merged = merge_candidates(candidates, raster_size)
            raster_objs = [m.obj for m in merged]
            objects_map = georef.objects_to_map(raster_objs)
            tile_names = [",".join(str(cand_tiles[i]) for i in m.sources) for m in merged]
            if plan.needs_gis and objects_map:
                kept = execute_plan(plan, objects_map, source.crs_string, self.context_layers).objects
                kept_ids = {id(o) for o in kept}
                pairs = [(o, t) for o, t in zip(objects_map, tile_names) if id(o) in kept_ids]
            else:
                pairs = list(zip(objects_map, tile_names))
            if self.area is not None:
                pairs = [(o, t) for o, t in pairs if _touches_area(o, self.area)]
            features = [Feature(o, tile=t) for o, t in pairs]
            result.counts = dict(Counter(o.label or "(no label)" for o, _ in pairs))
            self._write(features, source, result, partial=partial)

        try:
            for outcome in self._pipelined(tiles, work, cancel):
                result.tiles_done += 1
                candidates.extend(outcome.candidates)
                cand_tiles.extend([outcome.tile.index] * len(outcome.candidates))
                result.warnings += outcome.warnings
                emit(RunEvent("tile", result.tiles_done, total, features=self._display_features(outcome),
                              data={"tile": outcome.tile.index, "objects": len(outcome.candidates)}))
                if time.monotonic() - last_checkpoint > self.checkpoint_seconds:
                    finish(partial=True)
                    last_checkpoint = time.monotonic()
        except Cancelled:
            result.partial = True
            result.warnings.append(f"cancelled after {result.tiles_done} of {total} tiles: the output is partial")
        finish(partial=result.partial)

    def _pipelined(self, items: Iterable, work: Callable, cancel: CancelToken) -> Iterator[TileOutcome]:
        """Apply ``work`` to ``items`` with at most ``concurrency`` in flight; yield results as they finish.
        Items are pulled lazily from the calling thread, one ahead, so a freed slot gets work without
        waiting for a read. On cancel, raises ``Cancelled`` at once: tiles in flight are abandoned (their
        results are not used)."""
        iterator = iter(items)
        pool = cf.ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="tile")
        in_flight: set[cf.Future] = set()
        ahead: list = []  # at most one item read in advance
        exhausted = False

        def pull() -> bool:
            nonlocal exhausted
            if not exhausted:
                try:
                    ahead.append(next(iterator))
                except StopIteration:
                    exhausted = True
            return bool(ahead)

        try:
            while True:
                while len(in_flight) < self.config.concurrency:
                    cancel.raise_if_cancelled()
                    if not (ahead or pull()):
                        break
                    in_flight.add(pool.submit(work, ahead.pop()))
                if not in_flight:
                    return
                if not ahead:
                    cancel.raise_if_cancelled()
                    pull()  # read the next tile while the engine works on those in flight
                done, in_flight = cf.wait(in_flight, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                cancel.raise_if_cancelled()
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _display_features(self, outcome: TileOutcome) -> list[dict[str, Any]]:
        """The tile's objects as GeoJSON features in EPSG:4326, for live display (not merged yet)."""
        if not outcome.objects_px:
            return []
        from ..vector.geojson import feature_collection

        try:
            objects_map = outcome.tile.objects_to_map(outcome.objects_px)
            run = RunInfo(run_id="live", task=self.choice.task.value)
            fc = feature_collection([Feature(o, tile=str(outcome.tile.index)) for o in objects_map],
                                    crs=outcome.tile.crs and crs_to_string(outcome.tile.crs), run=run)
            return fc["features"]
        except GeoRSMLLMError:
            return []  # no CRS (pixel-coordinate run): nothing to show on a map

    # -- text tasks ----------------------------------------------------------------------------------

    def _ask(self, task: Task, instruction: str, image: np.ndarray, regions: Sequence[GeoObject] = ()):
        size = (image.shape[1], image.shape[0])
        prompt = self.dialect.build_prompt(task, instruction, size, regions=regions)
        response = self.engine.generate(EngineRequest(prompt=prompt, images=(image,),
                                                      max_new_tokens=self.config.max_new_tokens))
        return self.dialect.parse(response.text, task, size)

    def _overview(self, source, window=None) -> tuple[np.ndarray, Georef]:
        """The whole raster (or ``window``) downsampled so its longer side is at most ``tile_size`` px."""
        from rasterio.enums import Resampling

        col, row, w, h = window or (0, 0, source.grid.width, source.grid.height)
        scale = max(w, h) / self.config.tile_size
        out_w, out_h = (w, h) if scale <= 1 else (max(1, round(w / scale)), max(1, round(h / scale)))
        image = source.read(window=(col, row, w, h), out_shape=(out_h, out_w),
                            resampling=Resampling.average if scale > 1 else Resampling.nearest)
        from affine import Affine

        image_to_raster = Affine.translation(col, row) @ Affine.scale(w / out_w, h / out_h)
        return image.rgb, Georef(source.georef.transform @ image_to_raster, source.georef.crs)

    def _run_overview(self, task: Task, result: RunResult, emit: EventSink) -> None:
        """Caption, VQA or geolocation of the whole raster (or area of interest) as one image."""
        with self._open() as source:
            window = None
            if self.aoi_bounds is not None:
                window = source.grid.window_from_bounds(self.aoi_bounds)
            image, georef = self._overview(source, window)
            result.tiles_total = 1
            parsed = self._ask(task, self.choice.instruction, image)
            result.tiles_done = 1
            answer = parsed.text.strip()
            result.warnings += parsed.warnings
            result.answers.append({"task": task.value, "answer": answer})
            h, w = image.shape[:2]
            extent = PolygonRegion(georef.objects_to_map([PolygonRegion([(0, 0), (w, 0), (w, h), (0, h)])])[0].exterior)
            features: list[Feature] = []
            key = {Task.CAPTION: "caption", Task.GEOLOCATION: "answer"}.get(task, "answer")
            if task is Task.GEOLOCATION:
                points = [o for o in parsed.objects if isinstance(o, GeoPoint)]
                if not points:
                    result.warnings.append("the model gave no <gps>[lat, lon]</gps> location")
                features += [Feature(p, label="location", extra={key: answer}) for p in points]
                result.counts = {"location": len(points)}
            else:
                features.append(Feature(extent, label=task.value, extra={key: answer}))
                result.counts = {task.value: 1}
                objects = [o for o in parsed.objects if not isinstance(o, GeoPoint)]
                features += [Feature(o, extra={key: answer}) for o in georef.objects_to_map(objects)]
            emit(RunEvent("tile", 1, 1, message=answer))
            self._write(features, source, result, partial=False)

    def _run_classify(self, result: RunResult, emit: EventSink, cancel: CancelToken) -> None:
        """Zero-shot scene classification per tile: each tile's core footprint labelled with a class."""
        classes = list(self.config.classes or _classes_from(self.choice.instruction) or DEFAULT_CLASSES)
        question = f"{self.choice.instruction.rstrip('?. ')}. Answer with one of: {', '.join(classes)}."
        source = self._open()
        try:
            tile_plan = plan_tiles(source, self._layout(), aoi_bounds=self.aoi_bounds)
            result.tiles_total = len(tile_plan)
            features: list[Feature] = []

            def work(tile_image):
                parsed = self._ask(Task.CLASSIFY, question, tile_image.rgb)
                return tile_image.tile, parsed

            try:
                for tile, parsed in self._pipelined(iter_tiles(source, tile_plan, skip_empty=True), work, cancel):
                    result.tiles_done += 1
                    label = _match_class(parsed.text, classes)
                    footprint = tile.objects_to_map([PolygonRegion(_core_ring(tile, self.config.overlap))])[0]
                    if self.area is not None and not _touches_area(footprint, self.area):
                        continue
                    features.append(Feature(footprint, label=label, tile=str(tile.index),
                                            extra={"answer": parsed.text.strip()}))
                    emit(RunEvent("tile", result.tiles_done, result.tiles_total, message=f"tile {tile.index}: {label}"))
            except Cancelled:
                result.partial = True
            result.counts = dict(Counter(f.label for f in features))
            self._write(features, source, result, partial=result.partial)
        finally:
            source.close()

    def _run_identify(self, result: RunResult, emit: EventSink, cancel: CancelToken) -> None:
        """Region captions (cyclic referring): each region is shown to the model in set-of-points on an
        image centred on it, and the answer becomes the feature's ``caption``."""
        if not self.regions:
            raise ConfigError("region captioning needs features to describe (regions): select features first")
        import shapely

        with self._open() as source:
            result.tiles_total = len(self.regions)
            features: list[Feature] = []
            for geom, props in self.regions:
                if cancel.cancelled:
                    result.partial = True
                    break
                shape_px = shapely.affinity.affine_transform(geom, shapely_params(~source.georef.transform))
                window = _window_around(shape_px.bounds, source.grid.width, source.grid.height, self.config.tile_size)
                image, georef = self._overview(source, window)
                region_img = shapely.affinity.affine_transform(geom, shapely_params(~georef.transform))
                region = _as_region(region_img)
                if region is None:
                    result.warnings.append(f"region {props.get('id', len(features))} is empty or outside the raster")
                    continue
                parsed = self._ask(Task.IDENTIFY, self.choice.instruction or "describe this region", image, [region])
                caption = parsed.text.strip()
                features.append(Feature(geom, label=props.get("label"), extra={"caption": caption,
                                        **_carried_properties(props)}))
                result.tiles_done += 1
                result.answers.append({"region": props.get("id", len(features) - 1), "caption": caption})
                emit(RunEvent("tile", result.tiles_done, result.tiles_total, message=caption))
            result.counts = {"regions": len(features)}
            self._write(features, source, result, partial=result.partial)

    # -- output --------------------------------------------------------------------------------------

    def _write(self, features: list[Feature], source, result: RunResult, *, partial: bool) -> None:
        from ..vector.geojson import write_geojson
        from ..vector.gpkg import write_run

        run = RunInfo(run_id=result.run_id, task=result.task, instruction=self.config.instruction,
                      model=str(result.engine.get("model")), dialect=self.dialect.name, source=str(self.config.raster),
                      recipe={**self.config.to_dict(), "tiles_total": result.tiles_total,
                              "tiles_done": result.tiles_done, "plan": result.plan})
        result.outputs = {"gpkg": None, "layers": {}, "geojson": None}
        if not features:
            result.warnings.append("nothing found: no layer written")
            return
        crs = source.crs_string if source.georeferenced else None
        layers = write_run(self.config.output, self._run_name, features, crs=crs, run=run, partial=partial)
        result.outputs.update(gpkg=str(Path(self.config.output).resolve()), layers=layers)
        if self.geojson_path and crs is not None:
            write_geojson(self.geojson_path, features, crs=crs, run=run, name=self._run_name, partial=partial)
            result.outputs["geojson"] = str(Path(self.geojson_path).resolve())


# -- helpers ------------------------------------------------------------------------------------------


#: Names a region's own attributes cannot keep in the output (GeoPackage's FID and geometry columns, and the
#: fields every layer has): they are carried over as ``src_<name>``.
_RESERVED = {"fid", "ogc_fid", "geom", "geometry", "caption"} | set(BASE_FIELDS)


def _carried_properties(props: dict) -> dict[str, str]:
    """A region's attributes as text fields for the output, renaming those that would clash."""
    out = {}
    for key, value in props.items():
        if key == "label" or value is None:
            continue
        name = f"src_{key}" if key.lower() in _RESERVED else key
        out[name] = str(value)
    return out


def _touches_area(obj: GeoObject, area) -> bool:
    """Whether an object in map coordinates (raster CRS) intersects the area of interest."""
    from ..geometry.shapes import to_shapely

    return isinstance(obj, GeoPoint) or to_shapely(obj).intersects(area)


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    return cleaned[:60] or "run"



def _classes_from(instruction: str) -> list[str] | None:
    """Candidate classes written in the instruction: "... as forest, farmland or urban" -> 3 classes."""
    match = re.search(r"\b(?:as|into|among|between|one of)\s*:?\s+(.+)$", instruction, re.IGNORECASE)
    if not match:
        return None
    parts = [p.strip(" .?!'\"") for p in re.split(r",|\bor\b|\band\b|/", match.group(1))]
    parts = [p for p in parts if p]
    return parts if len(parts) >= 2 else None


def _match_class(answer: str, classes: Sequence[str]) -> str:
    """The candidate class the answer names (longest match first, case-insensitive), else the answer."""
    lowered = answer.lower()
    for name in sorted(classes, key=len, reverse=True):
        if re.search(r"\b" + re.escape(name.lower()) + r"\b", lowered):
            return name
    return answer.strip().splitlines()[0][:80] if answer.strip() else "(no answer)"


def _core_ring(tile: Tile, overlap: int) -> list[tuple[float, float]]:
    """The tile's footprint less half the overlap on each side, in image pixels (tiles then barely overlap)."""
    w, h = tile.image_size
    m = overlap / 2 * (w / max(tile.window[2], 1))
    m = min(m, w / 4, h / 4)
    return [(m, m), (w - m, m), (w - m, h - m), (m, h - m)]



def _window_around(bounds_px, width: int, height: int, tile_size: int) -> tuple[int, int, int, int]:
    """A square-ish raster window around ``bounds_px`` (x0, y0, x1, y1) with context, clipped to the raster."""
    x0, y0, x1, y1 = bounds_px
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise RasterError("a region to describe lies outside the raster")
    side = max(x1 - x0, y1 - y0) * 2.0
    side = max(side, min(tile_size, width, height) / 2)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    c0 = int(max(0, min(cx - side / 2, width - side)))
    r0 = int(max(0, min(cy - side / 2, height - side)))
    return c0, r0, int(min(side, width - c0)) or 1, int(min(side, height - r0)) or 1


def _as_region(geom) -> GeoObject | None:
    """A shapely geometry (image pixels) as a set-of-points region: a rotated box when it is a
    four-cornered rectangle, else its largest polygon's outline."""
    if geom.is_empty:
        return None
    if geom.geom_type == "MultiPolygon":
        geom = max(geom.geoms, key=lambda g: g.area)
    if geom.geom_type != "Polygon":
        geom = geom.envelope if geom.geom_type != "Point" else geom.buffer(4, cap_style=3)
    coords = list(geom.exterior.coords)[:-1]
    if len(coords) == 4 and abs(geom.minimum_rotated_rectangle.area - geom.area) < 1e-6 * max(geom.area, 1):
        return RotatedBox(tuple(coords))
    try:
        return PolygonRegion(coords)
    except ValueError:
        return None
