"""Unified set-of-points representation: geometry types in pixel space of the image as sent."""

from .types import (
    XY,
    GeoObject,
    GeoPoint,
    ParseResult,
    PolygonRegion,
    RotatedBox,
    SegTarget,
    box_corners,
)
from .norm import clip_xy, norm_to_px, px_to_norm

__all__ = [
    "XY",
    "GeoObject",
    "GeoPoint",
    "ParseResult",
    "PolygonRegion",
    "RotatedBox",
    "SegTarget",
    "box_corners",
    "clip_xy",
    "norm_to_px",
    "px_to_norm",
]
