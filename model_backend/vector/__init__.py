"""Vector side of the pipeline: masks to polygons (pixel frame) and GeoPackage / GeoJSON output (map
frame), both files written atomically.

``mask`` needs only rasterio and shapely (the SAM2 segmenter imports it); the writers, which need
pyogrio, load on first use of their names here.
"""

from __future__ import annotations

import importlib

from .mask import mask_to_polygons

_LAZY = {
    "Feature": "features",
    "RunInfo": "features",
    "layer_name": "features",
    "utc_now_iso": "features",
    "GpkgRunWriter": "gpkg",
    "write_layer": "gpkg",
    "write_run": "gpkg",
    "read_layer_metadata": "gpkg",
    "write_geojson": "geojson",
    "feature_collection": "geojson",
}

__all__ = ["mask_to_polygons", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
