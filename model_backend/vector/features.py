"""Features for vector output: geometry in MAP coordinates plus the attribute fields every layer has.

The caller georeferences first: ``RotatedBox``/``SegTarget``/``PolygonRegion`` coordinates are map
coordinates in the raster's CRS; ``GeoPoint`` is WGS84 (EPSG:4326) lat/lon and is written as a point
(x = lon, y = lat). Shapely geometries are taken as map coordinates in the raster's CRS.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Union

import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import OutputError
from ..geometry.shapes import to_shapely as geometry_to_shapely
from ..geometry.types import GeoObject, GeoPoint, PolygonRegion, RotatedBox, SegTarget

#: Fields on every layer, in this order; extra text fields follow.
BASE_FIELDS = (
    "label",
    "score",
    "task",
    "instruction",
    "model",
    "dialect",
    "source",
    "tile",
    "run_id",
    "created",
)
#: Measures in metres on polygon layers (boxes, polygons), right after ``score``: see ``vector.measures``.
MEASURE_FIELDS = ("area_m2", "length_m")
#: Fields holding numbers (written as reals); every other field is text.
NUMERIC_FIELDS = ("score", *MEASURE_FIELDS)
#: Extra text fields the pipeline adds for text tasks (a caption, or the model's answer).
ANSWER_FIELDS = ("caption", "answer")
#: Added when the writer is told whether the run finished: "true" for a cancelled run's partial output.
PARTIAL_FIELD = "partial"
#: Run-level fields a feature may override through ``Feature.extra``.
RUN_FIELDS = ("task", "instruction", "model", "dialect", "source", "run_id", "created")

#: Layer name suffix per geometry kind.
KINDS = ("boxes", "polygons", "points", "lines")

WGS84 = "EPSG:4326"


def utc_now_iso() -> str:
    """Current time as ISO 8601 UTC with a ``Z`` suffix, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunInfo:
    """What is the same for every feature of one run. ``recipe`` (JSON-serialisable) is stored as
    layer metadata so a run can be reproduced."""

    run_id: str
    task: str | None = None
    instruction: str | None = None
    model: str | None = None
    dialect: str | None = None
    source: str | None = None
    created: str = field(default_factory=utc_now_iso)
    recipe: Mapping[str, Any] = field(default_factory=dict)

    def recipe_json(self) -> str:
        try:
            return json.dumps(dict(self.recipe), sort_keys=True, default=str)
        except (TypeError, ValueError) as exc:
            raise OutputError(f"the run recipe cannot be stored as JSON: {exc}") from exc


@dataclass(frozen=True)
class Feature:
    """One output feature. ``label``/``score`` default to the GeoObject's own; ``tile`` names the tile
    (or tiles) it came from; ``extra`` holds further text fields (``caption``, ``answer``, ...); an
    ``extra`` key named like a run field (e.g. ``instruction``) overrides the run's value."""

    geometry: Union[GeoObject, BaseGeometry]
    label: str | None = None
    score: float | None = None
    tile: str | None = None
    extra: Mapping[str, str | None] = field(default_factory=dict)


FeatureLike = Union[Feature, GeoObject, BaseGeometry]


def as_feature(item: FeatureLike) -> Feature:
    return item if isinstance(item, Feature) else Feature(item)


def geometry_kind(geom: Union[GeoObject, BaseGeometry]) -> str:
    """Layer kind of a geometry: ``boxes``, ``polygons``, ``points`` or ``lines``."""
    if isinstance(geom, (RotatedBox, SegTarget)):
        return "boxes"
    if isinstance(geom, PolygonRegion):
        return "polygons"
    if isinstance(geom, GeoPoint):
        return "points"
    if isinstance(geom, BaseGeometry):
        name = geom.geom_type
        if name in ("Polygon", "MultiPolygon"):
            return "polygons"
        if name in ("Point", "MultiPoint"):
            return "points"
        if name in ("LineString", "MultiLineString", "LinearRing"):
            return "lines"
    shown = getattr(geom, "geom_type", type(geom).__name__)
    raise OutputError(f"cannot write a {shown} to a vector layer: use boxes, polygons, points or lines")


def to_shapely(geom: Union[GeoObject, BaseGeometry]) -> BaseGeometry:
    """Shapely geometry of a feature, in the coordinates it holds (map CRS; lon/lat for GeoPoint)."""
    try:
        return geometry_to_shapely(geom)
    except TypeError:
        raise OutputError(f"cannot write a {type(geom).__name__} to a vector layer") from None


def resolve_crs(crs: str | pyproj.CRS | None) -> pyproj.CRS | None:
    """The caller's CRS (WKT, ``EPSG:n`` or anything pyproj reads) as a pyproj CRS; ``None`` stays
    ``None`` (a layer without CRS)."""
    if crs is None or isinstance(crs, pyproj.CRS):
        return crs
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        shown = crs if len(str(crs)) < 80 else str(crs)[:77] + "..."
        raise OutputError(
            f"unknown CRS {shown!r}: give an EPSG code (e.g. 'EPSG:32618') or WKT of the raster's CRS"
        ) from exc


def crs_for_gdal(crs: pyproj.CRS | None) -> str | None:
    """``EPSG:n`` when the CRS is exactly an EPSG one (so the GeoPackage gets that srs_id), else WKT."""
    if crs is None:
        return None
    epsg = crs.to_epsg(min_confidence=100)
    return f"EPSG:{epsg}" if epsg is not None else crs.to_wkt()


def safe_layer_name(name: str) -> str:
    """A table name GDAL, SQLite and QGIS all accept: letters, digits, ``_`` and ``-``."""
    cleaned = re.sub(r"[^0-9A-Za-z_\-]+", "_", name).strip("_")
    if not cleaned:
        raise OutputError(f"layer name {name!r} has no usable characters: use letters, digits or _")
    return cleaned


def layer_name(run_name: str, kind: str) -> str:
    """``<run name>_<kind>``, e.g. ``ships_2024_boxes``."""
    if kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; one of {KINDS}")
    return safe_layer_name(f"{run_name}_{kind}")


def group_by_kind(features: Iterable[FeatureLike]) -> dict[str, list[Feature]]:
    """Features grouped by layer kind, input order kept within each kind."""
    groups: dict[str, list[Feature]] = {}
    for item in features:
        feat = as_feature(item)
        groups.setdefault(geometry_kind(feat.geometry), []).append(feat)
    return groups


def field_names(features: Iterable[Feature]) -> list[str]:
    """Base fields, then every extra field in order of first appearance."""
    names = list(BASE_FIELDS)
    seen = set(names)
    for feat in features:
        for key in feat.extra:
            if key not in seen:
                seen.add(key)
                names.append(key)
    return names


def with_measure_fields(names: list[str]) -> list[str]:
    """``names`` with ``area_m2`` and ``length_m`` inserted after ``score`` (once)."""
    out = [n for n in names if n not in MEASURE_FIELDS]
    at = out.index("score") + 1 if "score" in out else len(out)
    return out[:at] + list(MEASURE_FIELDS) + out[at:]


def add_measures(rows: list[dict[str, Any]], geoms_map: list[BaseGeometry], crs: pyproj.CRS | None) -> None:
    """Fill ``area_m2``/``length_m`` of each row from its geometry (map coordinates of ``crs``); rows of
    non-polygons, or all rows when there is no CRS, get ``None``."""
    from .measures import polygon_measures  # pulls in the condition measures (numpy, pyproj) on use only

    for row, measured in zip(rows, polygon_measures(geoms_map, crs), strict=True):
        row["area_m2"], row["length_m"] = measured if measured is not None else (None, None)


def properties(feat: Feature, run: RunInfo, names: list[str]) -> dict[str, Any]:
    """Attribute values of one feature for the given field names (missing ones are ``None``)."""
    geom = feat.geometry
    label = feat.label if feat.label is not None else getattr(geom, "label", None)
    score = feat.score if feat.score is not None else getattr(geom, "score", None)
    values: dict[str, Any] = {name: None for name in names}
    values.update(
        label=label,
        score=None if score is None else float(score),
        task=run.task,
        instruction=run.instruction,
        model=run.model,
        dialect=run.dialect,
        source=run.source,
        tile=feat.tile,
        run_id=run.run_id,
        created=run.created,
    )
    for key, value in feat.extra.items():
        if key in ("label", "score", "tile", *MEASURE_FIELDS):
            continue  # set through the Feature's own fields, or measured from its geometry
        values[key] = None if value is None else str(value)
    return values


def layer_crs(kind_features: list[Feature], crs: pyproj.CRS | None) -> pyproj.CRS | None:
    """A layer made only of GeoPoints is in EPSG:4326; any other layer is in the raster's CRS."""
    if kind_features and all(isinstance(f.geometry, GeoPoint) for f in kind_features):
        return pyproj.CRS.from_user_input(WGS84)
    return crs


def layer_geometries(
    kind_features: list[Feature], crs: pyproj.CRS | None
) -> list[BaseGeometry]:
    """Shapely geometries of one layer in ``layer_crs``: GeoPoints in a mixed layer are projected
    from EPSG:4326 into the raster's CRS."""
    target = layer_crs(kind_features, crs)
    geoms = []
    to_target = None
    for feat in kind_features:
        geom = to_shapely(feat.geometry)
        if isinstance(feat.geometry, GeoPoint) and target is None:
            raise OutputError(
                "a geolocation point cannot share a layer that has no CRS: give the raster's CRS"
            )
        if isinstance(feat.geometry, GeoPoint) and not target.equals(WGS84):
            if to_target is None:
                to_target = pyproj.Transformer.from_crs(WGS84, target, always_xy=True)
            geom = shapely.transform(geom, lambda xy, tr=to_target: _transform_xy(tr, xy))
        geoms.append(geom)
    return geoms


def _transform_xy(transformer: pyproj.Transformer, xy):
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    xy = xy.copy()
    xy[:, 0], xy[:, 1] = x, y
    return xy
