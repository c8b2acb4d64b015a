"""Geometry types of the set-of-points representation.

Every pixel-space coordinate is ``(x, y)`` in pixels of a given image frame: (0, 0) is the top-left
corner of the top-left pixel, x right, y down (corner convention, not pixel centres). The same types
carry tile pixels, raster pixels or map coordinates once transformed: ``map_xy`` returns a copy with
every point passed through a function, and the frame is the caller's to name (``xy_px``, ``xy_map``).
``GeoPoint`` is the exception: it holds WGS84 latitude/longitude in degrees and is never transformed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Union

XY = tuple[float, float]
Span = tuple[int, int]


def _xy(p) -> XY:
    return (float(p[0]), float(p[1]))


def _open_ring(points) -> tuple[XY, ...]:
    pts = [_xy(p) for p in points]
    if len(pts) >= 2 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        raise ValueError(f"a polygon ring needs at least 3 distinct points, got {len(pts)}")
    return tuple(pts)


@dataclass(frozen=True)
class _Base:
    label: str | None = field(default=None, kw_only=True)
    score: float | None = field(default=None, kw_only=True)
    # Character span [start, end) of this object in the model's answer text; used to attach token
    # probabilities. Not part of the geometry's identity.
    span: Span | None = field(default=None, kw_only=True, compare=False)

    def with_(self, **changes):
        """A copy with fields replaced (label, score, span, geometry)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class RotatedBox(_Base):
    """An oriented rectangle as its four corners in ring order (any starting corner, any winding)."""

    corners: tuple[XY, XY, XY, XY]
    kind = "rotated_box"

    def __post_init__(self):
        if len(self.corners) != 4:
            raise ValueError(f"a rotated box needs 4 corners, got {len(self.corners)}")
        object.__setattr__(self, "corners", tuple(_xy(p) for p in self.corners))

    def map_xy(self, fn: Callable[[XY], XY]) -> "RotatedBox":
        return dataclasses.replace(self, corners=tuple(_xy(fn(p)) for p in self.corners))

    def points(self) -> list[XY]:
        return list(self.corners)

    @property
    def ring(self) -> list[XY]:
        """The outline as an open ring (first point not repeated)."""
        return list(self.corners)


@dataclass(frozen=True)
class SegTarget(_Base):
    """A segmentation prompt: a horizontal box ``(x1, y1, x2, y2)`` (x1<=x2, y1<=y2) plus keypoints
    inside the target. SAM2 turns it into a mask; until then the box stands for the geometry."""

    bbox: tuple[float, float, float, float]
    keypoints: tuple[XY, ...] = ()
    kind = "seg_target"

    def __post_init__(self):
        x1, y1, x2, y2 = (float(v) for v in self.bbox)
        object.__setattr__(self, "bbox", (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
        object.__setattr__(self, "keypoints", tuple(_xy(p) for p in self.keypoints))

    def map_xy(self, fn: Callable[[XY], XY]) -> "SegTarget":
        """Map the box corners and keypoints. The box stays horizontal: this is exact for
        translations and scalings only; for rotating transforms use ``ring`` instead."""
        x1, y1, x2, y2 = self.bbox
        a, b = fn((x1, y1)), fn((x2, y2))
        return dataclasses.replace(
            self, bbox=(a[0], a[1], b[0], b[1]), keypoints=tuple(_xy(fn(p)) for p in self.keypoints)
        )

    def points(self) -> list[XY]:
        x1, y1, x2, y2 = self.bbox
        return [(x1, y1), (x2, y2), *self.keypoints]

    @property
    def ring(self) -> list[XY]:
        return box_corners(self.bbox)


@dataclass(frozen=True)
class PolygonRegion(_Base):
    """A simple polygon (change region, segmentation result) as an open exterior ring (at least
    three points, first point not repeated) and optional open hole rings. Parsers only build valid,
    non-self-intersecting rings; model dialects never write holes, masks can have them."""

    exterior: tuple[XY, ...]
    holes: tuple[tuple[XY, ...], ...] = ()
    kind = "polygon"

    def __post_init__(self):
        object.__setattr__(self, "exterior", _open_ring(self.exterior))
        object.__setattr__(self, "holes", tuple(_open_ring(h) for h in self.holes))

    def map_xy(self, fn: Callable[[XY], XY]) -> "PolygonRegion":
        return dataclasses.replace(
            self,
            exterior=tuple(_xy(fn(p)) for p in self.exterior),
            holes=tuple(tuple(_xy(fn(p)) for p in h) for h in self.holes),
        )

    def points(self) -> list[XY]:
        return list(self.exterior)

    @property
    def ring(self) -> list[XY]:
        return list(self.exterior)


@dataclass(frozen=True)
class GeoPoint(_Base):
    """A geolocation answer: WGS84 latitude and longitude in degrees (EPSG:4326 axis order lat, lon)."""

    lat: float
    lon: float
    kind = "geo_point"

    def __post_init__(self):
        if not (-90.0 <= float(self.lat) <= 90.0 and -180.0 <= float(self.lon) <= 180.0):
            raise ValueError(f"latitude/longitude out of range: {self.lat}, {self.lon}")
        object.__setattr__(self, "lat", float(self.lat))
        object.__setattr__(self, "lon", float(self.lon))

    def map_xy(self, fn: Callable[[XY], XY]) -> "GeoPoint":
        return self  # already in WGS84 degrees

    def points(self) -> list[XY]:
        return []


GeoObject = Union[RotatedBox, SegTarget, PolygonRegion, GeoPoint]


def box_corners(bbox: tuple[float, float, float, float]) -> list[XY]:
    """Corners of a horizontal box ``(x1, y1, x2, y2)`` in ring order, clockwise on screen from top-left."""
    x1, y1, x2, y2 = bbox
    return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


@dataclass
class ParseResult:
    """What a dialect parser extracted from one model answer.

    ``objects`` are in pixels of the image as sent; ``text`` is the answer's free text (caption,
    answer, class name) with the geometry markup left in; ``warnings`` say what was dropped or
    repaired (never an exception for bad model output).
    """

    objects: list[GeoObject] = field(default_factory=list)
    text: str = ""
    warnings: list[str] = field(default_factory=list)
