"""Measures in metres that every polygon feature carries: ``area_m2`` and ``length_m``.

Geometries are in MAP coordinates of the layer's CRS. The metric frame is the condition filters' own
(``conditions.measure.MetricFrame``), so a written ``area_m2`` is the value a "larger than 500 m²" filter
compares:

- projected CRS: planar area and side lengths in the CRS's grid, converted from its unit to metres;
- geographic CRS (and Mercator): geodesic area on the CRS's ellipsoid; the minimum rotated rectangle is
  found in the frame's local transverse Mercator and its sides are then measured geodesically between its
  corners, so lengths stay exact far from the centre of the layer's extent too.

``length_m`` is the longer side of the minimum rotated rectangle (for a rotated box: its longer side).
Features that are not polygons, and layers without a CRS (pixel coordinates), get no measures (``None``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ..conditions.measure import MetricFrame, extents_m

#: decimals kept: centimetres and square centimetres are far below what imagery resolves.
_DECIMALS = 2


def _is_polygonal(geom: BaseGeometry | None) -> bool:
    return geom is not None and not geom.is_empty and geom.geom_type in ("Polygon", "MultiPolygon")


def polygon_measures(geoms_map: Sequence[BaseGeometry], crs: pyproj.CRS | str | None
                     ) -> list[tuple[float, float] | None]:
    """``(area_m2, length_m)`` of each polygonal geometry (map coordinates of ``crs``), ``None`` for the
    others and for every geometry when ``crs`` is ``None``."""
    out: list[tuple[float, float] | None] = [None] * len(geoms_map)
    index = [i for i, g in enumerate(geoms_map) if _is_polygonal(g)]
    if crs is None or not index:
        return out
    polys = np.asarray([geoms_map[i] for i in index], dtype=object)
    frame = MetricFrame(crs, polys)
    areas = frame.areas_m2(polys)
    metric = frame.to_metric(polys)
    lengths = _geodesic_lengths(frame, metric) if frame.geodesic else extents_m(metric)[0]
    for i, area, length in zip(index, areas, lengths, strict=True):
        out[i] = (round(float(area), _DECIMALS), round(float(length), _DECIMALS))
    return out


def _geodesic_lengths(frame: MetricFrame, geoms_metric: np.ndarray) -> np.ndarray:
    """Longer side of each geometry's minimum rotated rectangle (found in the frame's local transverse
    Mercator), measured on the ellipsoid between the rectangle's corners."""
    to_lonlat = pyproj.Transformer.from_crs(frame.metric_crs, frame.metric_crs.geodetic_crs, always_xy=True)
    lengths = np.zeros(len(geoms_metric))
    for i, geom in enumerate(geoms_metric):
        rect = shapely.oriented_envelope(geom)
        if rect.geom_type != "Polygon":  # degenerate (collinear points): a segment
            corners = shapely.get_coordinates(rect)[[0, -1]]
        else:
            corners = np.asarray(rect.exterior.coords)[:3]
        lon, lat = to_lonlat.transform(corners[:, 0], corners[:, 1])
        _az, _back, sides = frame.geod.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        lengths[i] = float(np.max(sides))
    return lengths
