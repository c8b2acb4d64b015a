"""The model side of the server: one loaded engine (and SAM2 when a job needs it) shared by every job."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

from ..engines.base import Engine
from ..pipeline.config import RunConfig
from ..pipeline.context import read_context_layers
from ..pipeline.factory import build_parser_engine, build_segmenter, needs_segmenter
from ..pipeline.journal import iter_journal_runs
from ..pipeline.reprompt import Clicks, RunFrame, reprompt
from ..pipeline.runner import Pipeline
from ..segmenters.encodings import EncodingCache
from .jobs import JobFn
from .schemas import JobRequest, PlanRequest, RefineRequest


#: The run's frame (``pipeline.reprompt.RunFrame``) in its job's folder.
FRAME_FILE = "frame.json"


class PipelineBackend:
    """Builds a ``Pipeline`` per job from the server's base settings plus the job's request, and refines
    results by clicks with the same segmenter. ``encoding_cache``: where the segmenter keeps image encodings
    (the tiles of runs), so refining an object of a run needs no new encoding while its tile is kept."""

    def __init__(self, base: RunConfig, engine: Engine, *, lazy: bool = False,
                 encoding_cache: EncodingCache | None = None):
        self.base = base
        self.engine = engine
        self.parser_engine = None
        self.encoding_cache = encoding_cache if encoding_cache is not None else EncodingCache()
        self._segmenter = None
        self._lock = threading.Lock()
        self._loaded = False
        self.loading = False
        self.load_error: str | None = None
        if not lazy:
            self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        """Load the model(s) once; jobs call this first, so a job submitted while loading waits for it.
        A failure is remembered for health checks and raised; the next job tries again."""
        with self._lock:
            if self._loaded:
                return
            self.loading = True
            try:
                self.engine.load()
                self.parser_engine = build_parser_engine(self.base, self.engine)
                if self.parser_engine is not None and self.parser_engine is not self.engine:
                    self.parser_engine.load()
                self._loaded, self.load_error = True, None
            except Exception as exc:
                self.load_error = str(exc)
                raise
            finally:
                self.loading = False

    def load_in_background(self) -> threading.Thread:
        """Start loading in a thread so the server answers health checks (``model_loaded: false``) meanwhile."""

        def target() -> None:
            try:
                self._ensure_loaded()
            except Exception:  # kept in load_error, shown by /v1/health, raised again to the first job
                pass

        thread = threading.Thread(target=target, name="model-load", daemon=True)
        thread.start()
        return thread

    def segmenter(self):
        with self._lock:
            if self._segmenter is None:
                self._segmenter = build_segmenter(self.base)
                if self._segmenter is not None:
                    self._segmenter.encodings = self.encoding_cache
            return self._segmenter

    def describe(self) -> dict[str, Any]:
        info = {"engine": self.engine.describe() if self._loaded else {"engine": self.engine.name, "loaded": False},
                "model_loaded": self._loaded, "model_loading": self.loading, "load_error": self.load_error,
                "defaults": {k: v for k, v in self.base.to_dict().items()
                                                           if k in ("tile_size", "overlap", "gsd", "concurrency",
                                                                    "segmenter", "dialect", "refine")}}
        info["device"] = info["engine"].get("device")
        info["model"] = info["engine"].get("model") or (self.base.script if self.base.engine == "scripted"
                                                        else self.base.model)
        if self._segmenter is not None:
            info["segmenter"] = self._segmenter.describe()
        memory: dict[str, Any] = {}
        try:
            import sys

            # Not ``import torch``: while the model thread is still importing it, that would wait on the
            # import lock for as long as the import takes (seconds), and health checks would time out.
            torch = sys.modules.get("torch")
            importing = getattr(getattr(torch, "__spec__", None), "_initializing", False)
            if torch is not None and not importing:
                if torch.cuda.is_available():
                    memory["cuda_allocated_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
                    memory["cuda_total_mb"] = round(torch.cuda.get_device_properties(0).total_memory / 2**20, 1)
        except Exception:  # memory figures are informative only
            pass
        info["memory"] = memory
        return info

    def _config(self, request: JobRequest, job_dir: Path) -> RunConfig:
        values = dataclasses.asdict(self.base)
        for key in ("raster", "raster_b", "stac_assets", "instruction", "task", "tile_size", "overlap", "gsd", "bands",
                    "classes", "context_layers", "run_name", "concurrency", "refine", "follow_up"):
            value = getattr(request, key)
            if value is not None and value != []:
                values[key] = value
        values["output"] = request.output or str(job_dir / "result.gpkg")
        return RunConfig(**values)

    def plan(self, request: PlanRequest) -> dict[str, Any]:
        values = dataclasses.asdict(self.base) | {"instruction": request.instruction, "task": request.task,
                                                   "raster_b": "after" if request.n_rasters == 2 else None}
        if request.follow_up:
            values["follow_up"] = request.follow_up
        names = {name: ([], None) for name in request.layer_names}  # names only: nothing is measured here
        return Pipeline(RunConfig(**values), self.engine, parser_engine=self.parser_engine, context_layers=names,
                        previous=_previous(request.previous, None)).describe_plan()

    def job(self, request: JobRequest, job_dir: Path) -> JobFn:
        config = self._config(request, job_dir)
        context = read_context_layers(config.context_layers) if config.context_layers else {}
        for name, collection in (request.context_geojson or {}).items():
            context[name] = ([geom for geom, _props in _regions(collection)], None)  # None: the raster's CRS
        regions = _regions(request.regions) if request.regions else None
        area = _area(request.area) if request.area else None
        previous = _previous(request.previous, config.raster, config.stac_assets)
        # Built now to refuse a bad request before it is queued; built again once the model is loaded, since
        # the dialect (answer format) is the loaded model's own unless the request's settings name one.
        checked = Pipeline(config, self.engine, context_layers=context, regions=regions, area=area,
                           aoi_bounds=request.window, geojson_path=str(job_dir / "result.geojson"),
                           previous=previous)

        run_id = job_dir.name  # the job's run is named after the job, so a resumed job finds it in its journal

        def run(emit, cancel) -> dict[str, Any]:
            self._ensure_loaded()
            segmenter = self.segmenter() if needs_segmenter(config, checked.choice.task) else None
            pipeline = dataclasses.replace(checked, parser_engine=self.parser_engine, segmenter=segmenter)
            # a job that finished tiles before (interrupted, cancelled, failed, then resumed) goes on from them
            resume = any(r.run_id == run_id for r in iter_journal_runs(config.output))
            result = pipeline.run(on_event=emit, cancel=cancel, run_id=run_id, resume=resume)
            out = result.to_dict()
            out["gpkg"] = result.outputs.get("gpkg")
            out["geojson"] = result.outputs.get("geojson")
            # what a refinement re-reads: the whole frame stays in the job's folder (never served); clients see it
            # without URL credentials, to send back should the server have forgotten the job
            frame = RunFrame.of_pipeline(pipeline)
            (job_dir / FRAME_FILE).write_text(json.dumps(frame.to_dict()), encoding="utf-8")
            out["frame"] = frame.shown().to_dict()
            return out

        return run

    def refine(self, request: RefineRequest, frame: RunFrame) -> dict[str, Any]:
        """Refine one feature of the run read as ``frame`` (paths already checked) by the request's clicks; see
        ``pipeline.reprompt``. Runs in the caller's thread; only the segmenter is used."""
        from ..errors import ConfigError

        segmenter = self.segmenter()
        if segmenter is None:
            raise ConfigError("this server has no segmenter (it was started with --segmenter none): refining by "
                              "clicking needs SAM2")
        clicks = Clicks(points=tuple((p.x, p.y) for p in request.points),
                        labels=tuple(p.label for p in request.points),
                        box=None if request.box is None else tuple(request.box))
        feature = _shape(request.feature, "feature")
        return reprompt(segmenter, frame, feature, clicks, crs=request.crs, label=request.label).to_dict()


def _previous(request, raster: str | None, assets=None):
    """The previous result of a follow-up (``schemas.PreviousRequest``, its path already checked), in the
    raster's CRS; ``None`` when there is none."""
    if request is None:
        return None
    from ..pipeline.inputs import raster_crs
    from ..pipeline.previous import previous_from_geojson, read_previous_layer

    if request.layer is not None:
        return read_previous_layer(request.layer, raster_crs(raster, assets) if raster else None)
    return previous_from_geojson(request.geojson, request.name, request.recipe, request.siblings)


#: Most vertices an invalid (self-intersecting) area geometry may have to be repaired here: repair time grows
#: with the number of crossings, up to vertices squared (about 1 s at 256 for the worst case). Larger invalid
#: areas are refused with a message instead of stalling the server.
AREA_REPAIR_MAX_VERTICES = 256


def _shape(geometry: Any, what: str):
    """A shapely geometry from a GeoJSON geometry (structure already checked by the request schema)."""
    import shapely.geometry

    from ..errors import ConfigError

    try:
        return shapely.geometry.shape(geometry)
    except Exception as exc:  # shapely raises ValueError, TypeError, GeometryTypeError, GEOSException...
        raise ConfigError(f"{what} is not valid GeoJSON: {exc}") from None


def _regions(collection: dict[str, Any]):
    features = collection.get("features", []) if collection.get("type") == "FeatureCollection" else [collection]
    regions = []
    for i, feature in enumerate(features):
        geom = _shape(feature.get("geometry"), f"feature {i}")
        props = dict(feature.get("properties") or {})
        props.setdefault("id", str(feature.get("id", i)))
        regions.append((geom, props))
    return regions


def _area(geojson: dict[str, Any]):
    """The union of a GeoJSON geometry, Feature or FeatureCollection (raster CRS) as one shapely geometry;
    self-intersecting parts are repaired when small enough (``AREA_REPAIR_MAX_VERTICES``), else refused."""
    import shapely

    from ..errors import ConfigError
    from ..geometry.rings import repair_polygon

    if geojson.get("type") == "FeatureCollection":
        parts = [f.get("geometry") for f in geojson.get("features", [])]
    elif geojson.get("type") == "Feature":
        parts = [geojson.get("geometry")]
    else:
        parts = [geojson]
    geoms = []
    for i, part in enumerate(p for p in parts if p):
        geom = _shape(part, "area")
        if not geom.is_valid:
            vertices = shapely.get_num_coordinates(geom)
            if vertices > AREA_REPAIR_MAX_VERTICES:
                raise ConfigError(f"area geometry {i} is not valid ({shapely.is_valid_reason(geom)}) and has "
                                  f"{vertices} vertices, too many to repair here: fix it before sending "
                                  "(QGIS: Vector > Geometry Tools > Fix Geometries)")
            geom = repair_polygon(geom)
        geoms.append(geom)
    area = shapely.union_all(geoms) if geoms else None
    if area is None or area.is_empty:
        raise ConfigError("area has no geometry")
    return area
