"""Request and response bodies of the backend's HTTP API (typed, validated by pydantic).

Every list and every GeoJSON input is capped (counts below), numbers must be finite, and GeoJSON is checked
for its structure before any geometry library sees it, so bad or huge input is refused up front with 422
and a message naming the field, never a 500 or a long stall. The body itself is capped by the server
(``--max-body-mb``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..pipeline.reprompt import MAX_POINTS as MAX_REFINE_POINTS

#: Caps on what one request may carry.
MAX_CONTEXT_LAYERS = 32
MAX_CLASSES = 256
MAX_FEATURES = 10_000  # per GeoJSON input (regions, area, each inline context layer)
MAX_VERTICES = 1_000_000  # all GeoJSON inputs of one request together
MAX_PATH_CHARS = 4096
MAX_REFINE_VERTICES = 100_000  # the geometry of the feature to refine

Path_ = Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)]
Finite = Annotated[float, Field(allow_inf_nan=False)]

_GEOMETRY_TYPES = {
    # type -> nesting depth of its "coordinates" (0: a position [x, y])
    "Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3,
}


class _Budget:
    """Vertices left for the request's GeoJSON inputs together."""

    def __init__(self, vertices: int = MAX_VERTICES):
        self.limit = self.vertices = vertices


def _positions(value: Any, depth: int, what: str, budget: _Budget) -> None:
    if not isinstance(value, list):
        raise ValueError(f"{what}: coordinates must be nested lists")
    if depth == 0:
        if len(value) not in (2, 3) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                for v in value):
            raise ValueError(f"{what}: a position is [x, y] (or [x, y, z]) numbers")
        if not all(math.isfinite(v) for v in value):
            raise ValueError(f"{what}: coordinates must be finite numbers (no NaN or infinity)")
        budget.vertices -= 1
        if budget.vertices < 0:
            raise ValueError(f"the request's GeoJSON has more than {budget.limit:,} vertices")
        return
    for item in value:
        _positions(item, depth - 1, what, budget)


def check_geometry(geometry: Any, what: str, budget: _Budget) -> None:
    """A GeoJSON geometry object of a known type with well-formed, finite coordinates (``ValueError``)."""
    if not isinstance(geometry, dict):
        raise ValueError(f"{what}: a geometry must be a JSON object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list):
            raise ValueError(f"{what}: a GeometryCollection needs a 'geometries' list")
        for part in parts:
            check_geometry(part, what, budget)
        return
    if kind not in _GEOMETRY_TYPES:
        raise ValueError(f"{what}: unknown geometry type {str(kind)[:40]!r} (expected one of "
                         f"{', '.join([*_GEOMETRY_TYPES, 'GeometryCollection'])})")
    _positions(geometry.get("coordinates"), _GEOMETRY_TYPES[kind], what, budget)


def check_geojson(value: Any, what: str, budget: _Budget, *, bare_geometry: bool) -> None:
    """A FeatureCollection or Feature (or, with ``bare_geometry``, a geometry) within the caps."""
    if not isinstance(value, dict):
        raise ValueError(f"{what}: expected a GeoJSON object")
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise ValueError(f"{what}: a FeatureCollection needs a 'features' list")
        if len(features) > MAX_FEATURES:
            raise ValueError(f"{what}: more than {MAX_FEATURES:,} features")
    elif kind == "Feature":
        features = [value]
    elif bare_geometry:
        check_geometry(value, what, budget)
        return
    else:
        raise ValueError(f"{what}: expected a GeoJSON FeatureCollection or Feature, got type {str(kind)[:40]!r}")
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ValueError(f"{what}: item {i} is not a GeoJSON Feature")
        if feature.get("geometry") is None:
            raise ValueError(f"{what}: feature {i} has no geometry")
        check_geometry(feature["geometry"], f"{what} feature {i}", budget)
        if not isinstance(feature.get("properties") or {}, dict):
            raise ValueError(f"{what}: feature {i} properties must be an object")


class PreviousRequest(BaseModel):
    """The result a follow-up works on ("now only those larger than 500 m²"): a result layer the server can
    read (``layer``: ``PATH|LAYER`` of a GeoPackage in its allowed folders; its recipe is read from its
    metadata), or its features sent inline (``geojson``, in the raster's CRS, with the layer's ``name``, e.g.
    ``ponds_20261202_140312_boxes``, and optionally its ``recipe``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    layer: Path_ | None = Field(default=None, description="PATH|LAYER of a result layer the server can read")
    geojson: dict[str, Any] | None = Field(
        default=None, description="the result's features: GeoJSON FeatureCollection in the raster's CRS")
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="the result layer's name (<run>_boxes or <run>_polygons)")
    recipe: dict[str, Any] | None = Field(default=None, description="the result's run recipe, when sent inline")
    siblings: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=1000,
        description="the layer names beside it in the client's file: the follow-up's names will be new there")

    @model_validator(mode="after")
    def _one_source(self) -> PreviousRequest:
        if (self.layer is None) == (self.geojson is None):
            raise ValueError("give the previous result as 'layer' (PATH|LAYER) or as 'geojson', not both or neither")
        if self.geojson is not None and not self.name:
            raise ValueError("a previous result sent as 'geojson' needs its layer 'name'")
        return self


class JobRequest(BaseModel):
    """A run submitted by a client. Paths must lie in the server's allowed folders; ``upload:<id>`` names
    an image uploaded through ``POST /v1/uploads``. Sizes are pixels of the image sent to the model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    raster: Path_
    raster_b: Path_ | None = None
    stac_assets: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=3,
        description="STAC items: the asset to read, or three single-band assets read as R, G, B; default: the "
        "visual asset, else red/green/blue"
    )
    instruction: str = Field(min_length=1, max_length=4000)
    task: str | None = Field(default=None, max_length=40)
    tile_size: int | None = Field(default=None, ge=32, le=8192)
    overlap: int | None = Field(default=None, ge=0, le=4096)
    gsd: Finite | None = Field(default=None, gt=0)
    bands: list[Annotated[int, Field(ge=1, le=65535)]] | None = Field(default=None, min_length=1, max_length=3)
    classes: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=MAX_CLASSES)
    context_layers: list[Path_] = Field(
        default_factory=list, max_length=MAX_CONTEXT_LAYERS,
        description="vector files the instruction may name: PATH, PATH|LAYER or NAME=PATH[|LAYER]"
    )
    context_geojson: dict[Annotated[str, Field(min_length=1, max_length=200)], dict[str, Any]] | None = Field(
        default=None, max_length=MAX_CONTEXT_LAYERS,
        description="context layers sent inline: layer name -> GeoJSON FeatureCollection in the raster's CRS "
        "(for clients whose files the server cannot open)"
    )
    regions: dict[str, Any] | None = Field(
        default=None, description="GeoJSON FeatureCollection in the raster's CRS: the regions to caption ([identify])"
    )
    area: dict[str, Any] | None = Field(
        default=None, description="GeoJSON geometry, Feature or FeatureCollection in the raster's CRS: the area "
        "of interest (tiles cover its bounds; objects and tiles not touching it are dropped)"
    )
    window: list[Finite] | None = Field(
        default=None, min_length=4, max_length=4,
        description="area of interest as map bounds [xmin, ymin, xmax, ymax] in the raster's CRS"
    )
    run_name: str | None = Field(default=None, max_length=80)
    output: Path_ | None = Field(default=None, description="GeoPackage path; default: the job's folder on the server")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    refine: Literal["none", "sam2"] | None = Field(
        default=None, description="sam2: boxes of detection and change prompt SAM2, giving outlines (polygons layer) "
        "and rotated boxes (boxes layer); default: the server's setting"
    )
    previous: PreviousRequest | None = Field(
        default=None, description="a result the instruction may follow up on (\"now only those larger than 500 m²\")")
    follow_up: Literal["auto", "yes", "no"] | None = Field(
        default=None, description="with previous: follow up on it when the wording refers to it (auto), always, never")

    @field_validator("window")
    @classmethod
    def _window_ordered(cls, window: list[float] | None) -> list[float] | None:
        if window is not None and not (window[0] < window[2] and window[1] < window[3]):
            raise ValueError("window must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax")
        return window

    @model_validator(mode="after")
    def _geojson_inputs(self) -> JobRequest:
        budget = _Budget()
        if self.regions is not None:
            check_geojson(self.regions, "regions", budget, bare_geometry=False)
        if self.area is not None:
            check_geojson(self.area, "area", budget, bare_geometry=True)
        for name, collection in (self.context_geojson or {}).items():
            check_geojson(collection, f"context layer {name[:40]!r}", budget, bare_geometry=False)
        if self.previous is not None and self.previous.geojson is not None:
            check_geojson(self.previous.geojson, "previous result", budget, bare_geometry=False)
        return self

    def summary(self) -> dict[str, Any]:
        """What job listings show of the request: names and counts, never the large inputs themselves."""
        def features(value: dict[str, Any] | None) -> int | None:
            if value is None:
                return None
            return len(value.get("features", [])) if value.get("type") == "FeatureCollection" else 1

        from ..raster.remote import is_url, redact

        def shown(location: str | None) -> str | None:  # a signed URL's query string is a credential
            return redact(location) if location and is_url(location) else location

        return {
            "raster": shown(self.raster), "raster_b": shown(self.raster_b), "stac_assets": self.stac_assets,
            "instruction": self.instruction if len(self.instruction) <= 200 else self.instruction[:200] + "…",
            "task": self.task, "run_name": self.run_name, "output": self.output,
            "tile_size": self.tile_size, "overlap": self.overlap, "gsd": self.gsd, "bands": self.bands,
            "context_layers": list(self.context_layers),  # few (capped) short specs: name=path|layer
            "context_geojson": {name: features(value) for name, value in (self.context_geojson or {}).items()},
            "regions": features(self.regions), "area": features(self.area), "window": self.window,
            "previous": None if self.previous is None else {
                "layer": self.previous.layer, "name": self.previous.name, "features": features(self.previous.geojson)},
            "follow_up": self.follow_up,
        }


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1, max_length=4000)
    task: str | None = Field(default=None, max_length=40)
    n_rasters: int = Field(default=1, ge=1, le=2)
    layer_names: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_CONTEXT_LAYERS, description="context layers the instruction may name")
    previous: PreviousRequest | None = Field(default=None, description="a result the instruction may follow up on")
    follow_up: Literal["auto", "yes", "no"] | None = None

    @model_validator(mode="after")
    def _previous_geojson(self) -> PlanRequest:
        if self.previous is not None and self.previous.geojson is not None:
            check_geojson(self.previous.geojson, "previous result", _Budget(), bare_geometry=False)
        return self


class UploadRequest(BaseModel):
    """An image chunk rendered by the client (e.g. a WMS layer): PNG bytes plus where they lie on the map.

    ``geotransform`` is GDAL's six numbers (x0, dx, rx, y0, ry, dy) from the image's top-left *corner*, in
    units of ``crs`` (WKT, ``EPSG:n`` or PROJ string)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    png_base64: str
    geotransform: list[Finite] = Field(min_length=6, max_length=6)
    crs: str = Field(min_length=1, max_length=20_000)
    name: str | None = Field(default=None, max_length=80)

    @field_validator("geotransform")
    @classmethod
    def _invertible(cls, gt: list[float]) -> list[float]:
        if gt[1] * gt[5] - gt[2] * gt[4] == 0:
            raise ValueError("geotransform has zero pixel size (dx * dy - rx * ry is 0)")
        return gt


class JobCreated(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "cancelled", "error", "interrupted"]
    events: str
    result: str


class RefinePoint(BaseModel):
    """A clicked point in map coordinates of the request's CRS: ``label`` 1 (part of the object) or 0 (not)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    x: Finite
    y: Finite
    label: Literal[0, 1] = 1


class RunFrameBody(BaseModel):
    """How a run read its images (``pipeline.reprompt.RunFrame``), for a job the server no longer knows: the
    ``frame`` member of that job's result, sent back as it came."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    raster: Path_
    raster_b: Path_ | None = None
    bands: list[Annotated[int, Field(ge=1, le=65535)]] | None = Field(default=None, min_length=1, max_length=3)
    stac_assets: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=3)
    allow_pixel_coords: bool = False
    tile_size: int = Field(ge=32, le=8192)
    overlap: int = Field(ge=0, le=4096)
    gsd: Finite | None = Field(default=None, gt=0)
    aoi_bounds: list[Finite] | None = Field(default=None, min_length=4, max_length=4)
    task: str = Field(max_length=40)
    instruction: str = Field(default="", max_length=4000)
    refine: str = Field(default="none", max_length=40)


class RefineRequest(BaseModel):
    """Refine one feature of a finished run by clicks (``POST /v1/refine``; see ``pipeline.reprompt``).

    ``job_id``: the run's job; ``run``: its frame, used when the server no longer knows the job (one of the two
    is needed). ``feature``: the feature's current GeoJSON geometry (Polygon or MultiPolygon) and ``points``
    and ``box`` (``[xmin, ymin, xmax, ymax]``) in map coordinates of ``crs`` (the layer's CRS: an authority code
    or WKT; default the raster's). ``label``: the feature's label (picks the before or after image of a change
    run)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    job_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{1,64}$")
    run: RunFrameBody | None = None
    feature: dict[str, Any]
    crs: str | None = Field(default=None, min_length=1, max_length=20_000)
    label: str | None = Field(default=None, max_length=200)
    points: list[RefinePoint] = Field(default_factory=list, max_length=MAX_REFINE_POINTS)
    box: list[Finite] | None = Field(default=None, min_length=4, max_length=4)

    @model_validator(mode="after")
    def _complete(self) -> RefineRequest:
        if self.job_id is None and self.run is None:
            raise ValueError("say which run the feature comes from: job_id, or run (the job result's frame)")
        if self.feature.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("feature must be a GeoJSON Polygon or MultiPolygon geometry")
        check_geometry(self.feature, "feature", _Budget(MAX_REFINE_VERTICES))
        if not self.points and self.box is None:
            raise ValueError("give points (clicks) or a box to refine the feature with")
        if self.box is not None and not (self.box[0] < self.box[2] and self.box[1] < self.box[3]):
            raise ValueError("box must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax")
        return self
