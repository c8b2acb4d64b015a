"""GeoJSON export (RFC 7946): WGS84 longitude/latitude, written atomically.

Geometries in map coordinates of the raster's CRS are reprojected to EPSG:4326 with pyproj
(``always_xy=True``, so x = longitude, y = latitude whatever the CRS's axis order); ``GeoPoint``s are
already lon/lat. Polygons are written counter-clockwise (RFC 7946's right-hand rule). Properties are the
same fields as the GeoPackage layers (polygons with ``area_m2`` and ``length_m``, measured in the map CRS
before reprojecting). No ``crs`` member (RFC 7946 drops it); the run recipe goes into a
foreign member ``georsmllm`` of the FeatureCollection.
"""

from __future__ import annotations

import json
import math
import os
from typing import Iterable

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping

from ..errors import OutputError
from ..geometry.types import GeoPoint
from .atomic import atomic_replace
from .features import (
    PARTIAL_FIELD,
    WGS84,
    FeatureLike,
    RunInfo,
    add_measures,
    as_feature,
    field_names,
    properties,
    resolve_crs,
    to_shapely,
    with_measure_fields,
)


def _to_lonlat(geom, transformer: pyproj.Transformer | None):
    if transformer is None:
        return geom

    def fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fn)


def feature_collection(
    features: Iterable[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    name: str | None = None,
    partial: bool | None = None,
) -> dict:
    """The GeoJSON FeatureCollection (a dict) of features in map coordinates of ``crs``."""
    feats = [as_feature(f) for f in features]
    crs_obj = resolve_crs(crs)
    transformer = None
    if any(not isinstance(f.geometry, GeoPoint) for f in feats):
        if crs_obj is None:
            raise OutputError("GeoJSON needs the raster's CRS to reproject to EPSG:4326; the raster has none")
        if not crs_obj.equals(WGS84):
            transformer = pyproj.Transformer.from_crs(crs_obj, WGS84, always_xy=True)
    names = field_names(feats)
    geoms_map = [to_shapely(f.geometry) for f in feats]
    measured = any(g.geom_type in ("Polygon", "MultiPolygon") for g in geoms_map)
    if measured:
        names = with_measure_fields(names)
    if partial is not None and PARTIAL_FIELD not in names:
        names.append(PARTIAL_FIELD)
    rows = [properties(f, run, names) for f in feats]
    if measured:
        add_measures(rows, geoms_map, crs_obj)  # measured in the map CRS, before reprojecting
    out_features = []
    for feat, geom, props in zip(feats, geoms_map, rows, strict=True):
        if not isinstance(feat.geometry, GeoPoint):
            geom = _to_lonlat(geom, transformer)
        coords = shapely.get_coordinates(geom)
        if not np.isfinite(coords).all():
            raise OutputError(
                "a geometry lies outside the area where the raster's CRS converts to longitude/latitude"
            )
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            geom = shapely.orient_polygons(geom, exterior_cw=False)
        if partial is not None:
            props[PARTIAL_FIELD] = "true" if partial else "false"
        if props["score"] is not None and not math.isfinite(props["score"]):
            props["score"] = None  # JSON has no NaN
        out_features.append(
            {"type": "Feature", "geometry": mapping(geom), "properties": props}
        )
    collection: dict = {"type": "FeatureCollection"}
    if name:
        collection["name"] = name
    collection["georsmllm"] = {"run_id": run.run_id, "recipe": json.loads(run.recipe_json())}
    collection["features"] = out_features
    return collection


def write_geojson(
    path: str | os.PathLike,
    features: Iterable[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    name: str | None = None,
    partial: bool | None = None,
) -> None:
    """Write features (map coordinates of ``crs``; GeoPoints lon/lat) as an RFC 7946 GeoJSON file in
    EPSG:4326, atomically (the old file stays intact on any failure)."""
    collection = feature_collection(features, crs=crs, run=run, name=name, partial=partial)
    text = json.dumps(collection, ensure_ascii=False, allow_nan=False)
    with atomic_replace(path) as tmp:
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise OutputError(f"cannot write {os.fspath(path)} ({exc.strerror or exc})") from exc
