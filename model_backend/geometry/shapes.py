"""Set-of-points objects as shapely geometries, in whatever frame their coordinates are in."""

from __future__ import annotations

from typing import Union

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from .types import GeoObject, GeoPoint, PolygonRegion, RotatedBox, SegTarget


def to_shapely(obj: Union[GeoObject, BaseGeometry]) -> BaseGeometry:
    """Rotated boxes and segmentation targets (their box) as polygons, polygons with their holes, a
    ``GeoPoint`` as ``Point(lon, lat)`` (WGS84); shapely geometries are returned as they are.
    Raises ``TypeError`` for anything else."""
    if isinstance(obj, GeoPoint):
        return Point(obj.lon, obj.lat)
    if isinstance(obj, (RotatedBox, SegTarget)):
        return Polygon(obj.ring)
    if isinstance(obj, PolygonRegion):
        return Polygon(obj.exterior, obj.holes)
    if isinstance(obj, BaseGeometry):
        return obj
    raise TypeError(f"not a geometry: {type(obj).__name__}")
