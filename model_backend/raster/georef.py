"""Pixel <-> map coordinates through a full affine transform, and CRS helpers.

Pixel frames follow ``geometry.types``: (0, 0) is the top-left *corner* of the top-left pixel, x right,
y down, units pixels. A map frame is the CRS of the raster (or, for a raster without CRS opened with
``allow_pixel_coords=True``, the raster's own transform output with ``crs=None``). Transforms are
``affine.Affine`` objects mapping pixel ``(x, y)`` to map ``(x, y)``, rotation and shear terms included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from affine import Affine
from rasterio.crs import CRS

from ..errors import RasterError
from ..geometry.types import XY, GeoObject, PolygonRegion, SegTarget

# Relative size below which rotation/shear terms are treated as exactly zero (float noise in headers).
_ROTATION_EPS = 1e-12


def pixel_to_map(transform: Affine, xy_px: XY) -> XY:
    """One point from pixels of the frame ``transform`` belongs to, to map coordinates."""
    x_map, y_map = transform @ (float(xy_px[0]), float(xy_px[1]))
    return (float(x_map), float(y_map))


def invert(transform: Affine) -> Affine:
    """The map -> pixel transform; ``RasterError`` if ``transform`` is degenerate (zero determinant)."""
    if transform.is_degenerate:
        raise RasterError(f"the raster's geotransform {tuple(transform)[:6]} cannot be inverted")
    return ~transform


def map_to_pixel(transform: Affine, xy_map: XY) -> XY:
    """One map point to (fractional, corner-convention) pixels of the frame ``transform`` belongs to."""
    x_px, y_px = invert(transform) @ (float(xy_map[0]), float(xy_map[1]))
    return (float(x_px), float(y_px))


def is_axis_aligned(transform: Affine) -> bool:
    """Whether ``transform`` has no rotation or shear (scaling, flipping and translation only), so
    that horizontal boxes stay horizontal boxes."""
    scale = max(abs(transform.a), abs(transform.e), 1e-300)
    return abs(transform.b) <= _ROTATION_EPS * scale and abs(transform.d) <= _ROTATION_EPS * scale


def pixel_size(transform: Affine) -> tuple[float, float]:
    """Ground size of one pixel ``(along x, along y)`` in map units: the lengths of the transform's
    column vectors, so rotated rasters get their true pixel size (always positive)."""
    return (math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))


def transform_object(obj: GeoObject, transform: Affine) -> GeoObject:
    """``obj`` with every point passed through ``transform`` (any affine: pixel->map, map->pixel,
    image->raster pixels).

    A ``SegTarget`` keeps its horizontal box only when ``transform`` is axis-aligned; otherwise its box
    becomes a ``PolygonRegion`` of the four transformed corners (label, score and span kept; the
    keypoints are dropped because a polygon has none). ``GeoPoint`` is returned unchanged.
    """
    if isinstance(obj, SegTarget) and not is_axis_aligned(transform):
        ring = [pixel_to_map(transform, p) for p in obj.ring]
        return PolygonRegion(exterior=ring, label=obj.label, score=obj.score, span=obj.span)
    return obj.map_xy(lambda p: pixel_to_map(transform, p))


def transform_objects(objects: Iterable[GeoObject], transform: Affine) -> list[GeoObject]:
    """``transform_object`` over a sequence."""
    return [transform_object(o, transform) for o in objects]


def shapely_params(transform: Affine) -> list[float]:
    """``transform`` as the 6 numbers ``shapely.affinity.affine_transform`` expects."""
    return [transform.a, transform.b, transform.d, transform.e, transform.c, transform.f]


def crs_to_string(crs: CRS | None) -> str:
    """``"EPSG:<code>"`` when the CRS matches an EPSG code, else its WKT; ``""`` for no CRS."""
    if crs is None:
        return ""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_wkt()


def crs_to_wkt(crs: CRS | None) -> str:
    """The CRS as WKT (``""`` for no CRS)."""
    return "" if crs is None else crs.to_wkt()


@dataclass(frozen=True)
class Georef:
    """Where the pixels of one image frame lie: ``transform`` maps its pixels to map coordinates in
    ``crs``. ``crs`` is ``None`` for a raster opened in pixel coordinates: then "map" coordinates are the
    raster's own transform output (identity when it has none) and are not georeferenced."""

    transform: Affine
    crs: CRS | None

    def __repr__(self) -> str:
        t = self.transform
        return f"Georef(transform=Affine{(t.a, t.b, t.c, t.d, t.e, t.f)}, crs={self.crs_string or None!r})"

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None

    @property
    def crs_string(self) -> str:
        """``"EPSG:n"`` or WKT, ``""`` when not georeferenced."""
        return crs_to_string(self.crs)

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Map units per pixel ``(x, y)``, positive."""
        return pixel_size(self.transform)

    def to_map(self, xy_px: XY) -> XY:
        """Pixel of this frame -> map coordinates in ``crs``."""
        return pixel_to_map(self.transform, xy_px)

    def to_pixel(self, xy_map: XY) -> XY:
        """Map coordinates in ``crs`` -> fractional pixel of this frame."""
        return map_to_pixel(self.transform, xy_map)

    def objects_to_map(self, objects: Iterable[GeoObject]) -> list[GeoObject]:
        """Objects in pixels of this frame -> map coordinates (see ``transform_object``)."""
        return transform_objects(objects, self.transform)

    def objects_to_pixel(self, objects: Iterable[GeoObject]) -> list[GeoObject]:
        """Objects in map coordinates -> pixels of this frame (see ``transform_object``)."""
        return transform_objects(objects, invert(self.transform))

    def geometry_to_map(self, geom):
        """A shapely geometry in pixels of this frame -> map coordinates."""
        from shapely import affinity

        return affinity.affine_transform(geom, shapely_params(self.transform))

    def geometry_to_pixel(self, geom):
        """A shapely geometry in map coordinates -> pixels of this frame."""
        from shapely import affinity

        return affinity.affine_transform(geom, shapely_params(invert(self.transform)))

    def compose(self, px_to_px: Affine) -> "Georef":
        """The georef of a derived frame whose pixels map into this frame's pixels by ``px_to_px``
        (e.g. a tile image: image-sent pixels -> raster pixels)."""
        return Georef(self.transform @ px_to_px, self.crs)


@dataclass(frozen=True)
class RasterGrid:
    """A raster's pixel grid: ``width`` x ``height`` pixels placed on the map by ``georef``."""

    width: int
    height: int
    georef: Georef

    @property
    def transform(self) -> Affine:
        return self.georef.transform

    @property
    def crs(self) -> CRS | None:
        return self.georef.crs

    def map_bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in map units of the four outer corners (a rotated grid's
        axis-aligned envelope)."""
        corners = [self.georef.to_map(p) for p in _rect_corners(0, 0, self.width, self.height)]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (min(xs), min(ys), max(xs), max(ys))

    def window_from_bounds(
        self, bounds_map: Sequence[float], *, outward: bool = True
    ) -> tuple[int, int, int, int] | None:
        """Pixel window ``(col_off, row_off, width, height)`` covering map ``(left, bottom, right, top)``
        in this grid's CRS, clipped to the grid; ``None`` when it falls outside. ``outward`` rounds to
        whole pixels touched; otherwise only pixels fully inside are kept."""
        left, bottom, right, top = (float(v) for v in bounds_map)
        corners_px = [self.georef.to_pixel(p) for p in _rect_corners(left, bottom, right, top)]
        return _clip_px_box(
            min(c[0] for c in corners_px),
            min(c[1] for c in corners_px),
            max(c[0] for c in corners_px),
            max(c[1] for c in corners_px),
            self.width,
            self.height,
            outward,
        )


def _rect_corners(x0: float, y0: float, x1: float, y1: float) -> list[XY]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _clip_px_box(
    x0: float, y0: float, x1: float, y1: float, width: int, height: int, outward: bool
) -> tuple[int, int, int, int] | None:
    # A tolerance keeps float noise (e.g. 933.9999999) from adding or losing a whole pixel.
    tol = 1e-6
    if outward:
        c0, r0 = math.floor(x0 + tol), math.floor(y0 + tol)
        c1, r1 = math.ceil(x1 - tol), math.ceil(y1 - tol)
    else:
        c0, r0 = math.ceil(x0 - tol), math.ceil(y0 - tol)
        c1, r1 = math.floor(x1 + tol), math.floor(y1 + tol)
    c0, r0 = max(c0, 0), max(r0, 0)
    c1, r1 = min(c1, width), min(r1, height)
    if c1 <= c0 or r1 <= r0:
        return None
    return (c0, r0, c1 - c0, r1 - r0)
