"""Binary mask -> polygons, in the mask's own pixel frame.

Corner convention: pixel (row r, column c) covers x in [c, c+1], y in [r, r+1]; (0, 0) is the top-left
corner of the top-left pixel, x right, y down. Foreground pixels are joined through their four edge
neighbours (pixels touching only diagonally are separate polygons), which keeps every ring valid.
"""

from __future__ import annotations

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from shapely.geometry import Polygon, shape

from ..geometry.types import PolygonRegion


def _fill_small_holes(poly: Polygon, min_area_px: float) -> Polygon:
    holes = [r for r in poly.interiors if Polygon(r).area >= min_area_px]
    if len(holes) == len(poly.interiors):
        return poly
    return Polygon(poly.exterior, holes)


def _simplify(poly: Polygon, tolerance_px: float) -> Polygon:
    """Topology-preserving simplification. A tolerance as wide as a thin feature collapses it (a
    one-pixel line becomes a triangle), so when the area changes by more than a fifth the tolerance is
    halved, down to 0 (which still drops collinear vertices). Results are valid single polygons."""
    area = poly.area
    tol = max(float(tolerance_px), 0.0)
    for attempt in (tol, tol / 2, tol / 4, 0.0):
        simple = shapely.simplify(poly, attempt, preserve_topology=True)
        if (
            isinstance(simple, Polygon)
            and not simple.is_empty
            and simple.is_valid
            and abs(simple.area - area) <= 0.2 * area
        ):
            return simple
    return poly


def mask_to_polygons(
    mask: np.ndarray, *, min_area_px: float = 16.0, simplify_px: float = 1.0
) -> list[PolygonRegion]:
    """Polygons of the foreground of ``mask`` (``(H, W)``, bool or 0/1; any nonzero is foreground).

    Coordinates are in pixels of the mask, corner convention. Holes are kept, except those smaller
    than ``min_area_px`` (filled); polygons smaller than ``min_area_px`` (after filling) are dropped.
    Rings are simplified with a tolerance of ``simplify_px`` pixels, preserving topology; results are
    valid polygons. ``label`` and ``score`` are left ``None`` for the caller to set.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {arr.shape}")
    fg = arr.astype(bool)
    if not fg.any():
        return []
    # The identity transform maps pixel corners to (col, row): exactly the corner convention.
    shapes = rasterio.features.shapes(
        fg.astype(np.uint8), mask=fg, connectivity=4, transform=Affine.identity()
    )
    out: list[PolygonRegion] = []
    for geojson, _value in shapes:
        poly = shape(geojson)
        if not isinstance(poly, Polygon):
            continue
        poly = _fill_small_holes(poly, min_area_px)
        if poly.area < min_area_px:
            continue
        if not poly.is_valid:
            # 4-connected rings from GDAL are valid in practice; repair rather than fail if not.
            fixed = shapely.make_valid(poly)
            parts = [p for p in getattr(fixed, "geoms", [fixed]) if isinstance(p, Polygon)]
            if not parts:
                continue
            poly = max(parts, key=lambda p: p.area)
        poly = _simplify(poly, simplify_px)
        out.append(
            PolygonRegion(
                exterior=poly.exterior.coords[:-1],
                holes=tuple(tuple(r.coords[:-1]) for r in poly.interiors),
            )
        )
    return out
