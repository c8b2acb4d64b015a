"""Exact measures of georeferenced results: areas, lengths, perimeters, distances, intersections,
containment and directions, in metres.

Inputs are objects in MAP coordinates (``GeoObject`` after georeferencing: x = easting or longitude,
y = northing or latitude, whatever the CRS's axis order) plus that CRS (pyproj CRS, WKT or
``"EPSG:n"``). ``GeoPoint`` objects hold WGS84 lon/lat and are converted to the results' CRS.

Where lengths are measured (the *metric frame*):

- projected CRS (UTM, national grids, ...): planar measures in the CRS's own grid, converted from its
  axis unit to metres (US survey feet etc.). "North" is grid north (+y).
- geographic CRS (e.g. EPSG:4326) and Mercator / Web Mercator (whose scale grows as 1/cos(latitude)):
  areas and perimeters are geodesic (``pyproj.Geod`` on the CRS's ellipsoid); lengths, distances and
  directions are planar in a local transverse Mercator (scale 1 at the centre of the results' extent),
  which is accurate to better than 0.01 % within ~100 km of that centre. "North" is then true north at
  the centre. Not meant for extents crossing the antimeridian or a pole.

Reference geometries (``name -> (geometries, CRS)``: context layers, or what the model found for a
reference) in another CRS are reprojected into the same frame; CRS ``None`` means the results' CRS.

Measures:

- area: of the polygon (rotated box, change/segmentation polygon; a segmentation target not yet turned
  into a mask counts as its box); perimeter: the length of its outline, holes included.
- length / width: the longer / shorter side of the object's minimum rotated rectangle (for a rotated
  box, its own longer / shorter side).
- distance to a reference: shortest distance between the object's outline and the nearest feature
  (0 when they touch or overlap): edge to edge.
- intersects: the object and at least one feature share a point; covered: the object lies inside one
  polygon feature (boundary included).
- direction ("north of R"): the offset from R to the object's centroid, taken from the point of R
  nearest that centroid; for a LINE feature, the side of the line the centroid is on (the unit normal
  of the nearest segment, pointing at the centroid), so "the east bank of the river" is the river's
  eastern side all along it. North = offset y > 0 (a half-plane); the intercardinal directions need
  both ("north-east": y > 0 and x > 0). An object whose centroid is inside (or on) a reference polygon
  or on a line is in no direction of it.
- between ("between R1 and R2"): seen from the object's centroid, the nearest point of R1 and the
  nearest point of R2 lie in opposite directions (the angle between the two vectors is more than 90
  degrees: a negative dot product, so no scale or distance enters).
"""

from __future__ import annotations

from typing import Mapping, Sequence, Union

import numpy as np
import pyproj
import shapely
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from ..errors import ConfigError
from ..geometry import GeoObject, GeoPoint
from ..geometry.shapes import to_shapely

CrsLike = Union[pyproj.CRS, str, int]
#: layer name -> (shapely geometries in the layer's CRS, that CRS or None for "same as the results")
ContextLayers = Mapping[str, tuple[Sequence[BaseGeometry], Union[CrsLike, None]]]
#: compass direction -> the cardinal components it needs (x east, y north)
COMPASS: dict[str, tuple[str, ...]] = {
    "north": ("north",), "south": ("south",), "east": ("east",), "west": ("west",),
    "north-east": ("north", "east"), "north-west": ("north", "west"),
    "south-east": ("south", "east"), "south-west": ("south", "west"),
}


# --------------------------------------------------------------------------------------------------
# CRS and the metric frame


def as_crs(crs: CrsLike | None, what: str = "the results") -> pyproj.CRS:
    """A pyproj CRS from anything pyproj reads; ``ConfigError`` when missing or unknown."""
    if crs is None:
        raise ConfigError(
            f"{what} have no CRS, so areas and distances cannot be measured: "
            "georeference the raster (or give the layer a CRS) first"
        )
    if isinstance(crs, pyproj.CRS):
        out = crs
    else:
        try:
            out = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            shown = str(crs) if len(str(crs)) < 80 else str(crs)[:77] + "..."
            raise ConfigError(f"unknown CRS {shown!r} for {what}: give an EPSG code or WKT") from exc
    if out.is_compound:
        out = out.sub_crs_list[0]
    if not (out.is_geographic or out.is_projected):
        raise ConfigError(f"{what} are in CRS {out.name!r}, which is neither geographic nor projected")
    return out


def _is_mercator(crs: pyproj.CRS) -> bool:
    op = crs.coordinate_operation
    name = (op.method_name if op is not None else "").lower()
    return "mercator" in name and "transverse" not in name


def _transform_geoms(geoms: np.ndarray, transformer: pyproj.Transformer) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


class MetricFrame:
    """Where to measure objects given in ``crs`` (see the module docstring)."""

    def __init__(self, crs: CrsLike, geoms_map: Sequence[BaseGeometry]):
        self.crs = as_crs(crs)
        self.geodesic = self.crs.is_geographic or _is_mercator(self.crs)
        if self.geodesic:
            self._to_lonlat = (
                None
                if self.crs.is_geographic
                else pyproj.Transformer.from_crs(self.crs, self.crs.geodetic_crs, always_xy=True)
            )
            lon0, lat0 = self._centre_lonlat(np.asarray(geoms_map, dtype=object))
            self.metric_crs = ProjectedCRS(
                conversion=TransverseMercatorConversion(
                    latitude_natural_origin=lat0,
                    longitude_natural_origin=lon0,
                    false_easting=0.0,
                    false_northing=0.0,
                    scale_factor_natural_origin=1.0,
                ),
                geodetic_crs=self.crs.geodetic_crs,
            )
            self.unit_m = 1.0
            self.geod = self.crs.get_geod()
        else:
            self.metric_crs = self.crs
            self.unit_m = float(self.crs.axis_info[0].unit_conversion_factor or 1.0)
            self.geod = None

    def _lonlat(self, geoms_map: np.ndarray) -> np.ndarray:
        return geoms_map if self._to_lonlat is None else _transform_geoms(geoms_map, self._to_lonlat)

    def _centre_lonlat(self, geoms_map: np.ndarray) -> tuple[float, float]:
        lonlat = self._lonlat(geoms_map)
        xmin, ymin, xmax, ymax = shapely.total_bounds(lonlat)
        if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
            return 0.0, 0.0
        return (xmin + xmax) / 2.0, (ymin + ymax) / 2.0

    def to_metric(self, geoms: Sequence[BaseGeometry], src_crs: CrsLike | None = None) -> np.ndarray:
        """Geometries in ``src_crs`` (default: the results' CRS) -> the metric frame, in metres."""
        arr = np.asarray(geoms, dtype=object)
        src = self.crs if src_crs is None else as_crs(src_crs, "a context layer")
        if src != self.metric_crs:
            arr = _transform_geoms(arr, pyproj.Transformer.from_crs(src, self.metric_crs, always_xy=True))
        if self.unit_m != 1.0:
            arr = shapely.transform(arr, lambda xy: xy * self.unit_m)
        return arr

    def areas_m2(self, geoms_map: Sequence[BaseGeometry]) -> np.ndarray:
        """Area of each geometry (given in the results' CRS) in square metres."""
        arr = np.asarray(geoms_map, dtype=object)
        if self.geod is None:
            return shapely.area(arr) * self.unit_m**2
        # Geod wants counter-clockwise exteriors (clockwise holes) for a positive area.
        return np.array(
            [abs(self.geod.geometry_area_perimeter(_oriented(g))[0]) for g in self._lonlat(arr)],
            dtype=float,
        )


    def perimeters_m(self, geoms_map: Sequence[BaseGeometry]) -> np.ndarray:
        """Outline length of each geometry (holes included; a line's own length) in metres."""
        arr = np.asarray(geoms_map, dtype=object)
        if self.geod is None:
            return shapely.length(arr) * self.unit_m
        # a polygon's boundary holds its holes too (pyproj measures only the exterior of a polygon)
        outlines = [shapely.boundary(g) if g.geom_type in ("Polygon", "MultiPolygon") else g for g in self._lonlat(arr)]
        return np.array([self.geod.geometry_length(g) for g in outlines], dtype=float)


def _oriented(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "Polygon":
        return orient(geom, 1.0)
    if geom.geom_type == "MultiPolygon":
        return shapely.MultiPolygon([orient(p, 1.0) for p in geom.geoms])
    return geom


# --------------------------------------------------------------------------------------------------
# objects as shapely geometry


def object_geometries(objects_map: Sequence[GeoObject], crs: CrsLike) -> np.ndarray:
    """Shapely geometry of each object, in the results' CRS (boxes and seg targets as polygons,
    ``GeoPoint`` converted from WGS84 lon/lat)."""
    out: list[BaseGeometry] = []
    to_crs = None
    for obj in objects_map:
        if isinstance(obj, GeoPoint):
            if to_crs is None:
                to_crs = pyproj.Transformer.from_crs("EPSG:4326", as_crs(crs), always_xy=True)
            out.append(Point(*to_crs.transform(obj.lon, obj.lat)))
        else:
            out.append(to_shapely(obj))
    return np.asarray(out, dtype=object).reshape(-1)



# --------------------------------------------------------------------------------------------------
# pure measures (objects in map coordinates + their CRS)


def extents_m(geoms_metric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.zeros(len(geoms_metric))
    widths = np.zeros(len(geoms_metric))
    for i, geom in enumerate(geoms_metric):
        if geom is None or geom.is_empty:
            continue
        # GEOS loses ~1e-4 m at UTM-sized coordinates: measure around the origin instead.
        x0, y0 = shapely.get_coordinates(geom)[0]
        env = shapely.oriented_envelope(shapely.transform(geom, lambda xy, origin=(x0, y0): xy - origin))
        if env.geom_type == "Polygon":
            ring = np.asarray(env.exterior.coords)
            sides = np.hypot(*np.diff(ring[:3], axis=0).T)  # two adjacent sides of the rectangle
            lengths[i], widths[i] = sides.max(), sides.min()
        else:  # collinear points: a segment (or a single point)
            lengths[i] = env.length
    return lengths, widths


def layer_tree(frame: MetricFrame, geoms: Sequence[BaseGeometry], layer_crs) -> shapely.STRtree:
    arr = np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object)
    src = frame.crs if layer_crs is None else layer_crs
    return shapely.STRtree(frame.to_metric(arr, src) if len(arr) else arr)


def nearest_distances_m(geoms_metric: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    out = np.full(len(geoms_metric), np.inf)
    if len(geoms_metric) and len(tree.geometries):
        (src, _), dist = tree.query_nearest(geoms_metric, return_distance=True, all_matches=False)
        out[src] = dist
    return out


def _predicate_mask(geoms_metric: np.ndarray, tree: shapely.STRtree, predicate: str) -> np.ndarray:
    """Whether each object stands in ``predicate`` (shapely's, object first) to some feature of the layer."""
    out = np.zeros(len(geoms_metric), dtype=bool)
    if len(geoms_metric) and len(tree.geometries):
        src, _ = tree.query(geoms_metric, predicate=predicate)
        out[src] = True
    return out


def intersects_mask(geoms_metric: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Whether each object shares a point with a feature of the layer."""
    return _predicate_mask(geoms_metric, tree, "intersects")


def covered_mask(geoms_metric: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Whether each object is covered by one feature of the layer (lies inside it, boundary included)."""
    return _predicate_mask(geoms_metric, tree, "covered_by")


def _side_of_lines(centroids: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Unit normal of each line's segment nearest to each centroid, pointing at the centroid's side
    ((0, 0) when the centroid lies on the line)."""
    out = np.zeros((len(centroids), 2))
    for i, (point, line) in enumerate(zip(centroids, lines)):
        parts = getattr(line, "geoms", [line])
        best = None
        for part in parts:
            xy = shapely.get_coordinates(part)
            if len(xy) < 2:
                continue
            a, b = xy[:-1], xy[1:]
            d = b - a
            length2 = (d**2).sum(axis=1)
            p = np.array([point.x, point.y])
            t = np.clip(((p - a) * d).sum(axis=1) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
            dist2 = ((a + t[:, None] * d - p) ** 2).sum(axis=1)
            j = int(np.argmin(dist2))
            if best is None or dist2[j] < best[0]:
                best = (dist2[j], a[j], d[j])
        if best is None or not best[2].any():
            continue
        _, start, seg = best
        cross = seg[0] * (point.y - start[1]) - seg[1] * (point.x - start[0])
        if cross == 0:
            continue
        normal = np.array([-seg[1], seg[0]]) / np.hypot(*seg)  # left of the segment
        out[i] = normal if cross > 0 else -normal
    return out


def _nearest_features(geoms_metric: np.ndarray, tree: shapely.STRtree):
    """Each object's centroid, and (object indices, the layer's feature nearest each of those centroids,
    the offset from that feature's nearest point to the centroid, in metres). ``None`` for an empty layer."""
    if not len(geoms_metric) or not len(tree.geometries):
        return None
    centroids = shapely.centroid(geoms_metric)
    src, dst = tree.query_nearest(centroids, all_matches=False)
    features = tree.geometries[dst]
    shortest = shapely.shortest_line(centroids[src], features)
    offsets = shapely.get_coordinates(shapely.get_point(shortest, 0)) - shapely.get_coordinates(
        shapely.get_point(shortest, 1))
    return centroids, src, features, offsets


def nearest_offsets(geoms_metric: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """(dx, dy) from the layer's point nearest each object's centroid to that centroid, in metres (east,
    north of the metric frame); (0, 0) for a centroid on or inside a feature, NaN when the layer is empty."""
    out = np.full((len(geoms_metric), 2), np.nan)
    found = _nearest_features(geoms_metric, tree)
    if found is not None:
        _centroids, src, _features, offsets = found
        out[src] = offsets
    return out


def direction_offsets(geoms_metric: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """(dx, dy) saying where each object's centroid lies from the nearest feature of the layer: from its
    nearest point for polygons and points, the side of the line for lines (a unit normal). NaN when the
    layer is empty."""
    out = np.full((len(geoms_metric), 2), np.nan)
    found = _nearest_features(geoms_metric, tree)
    if found is None:
        return out
    centroids, src, features, offsets = found
    lines = np.isin(shapely.get_type_id(features), [1, 2, 5])  # LineString, LinearRing, MultiLineString
    if lines.any():
        offsets[lines] = _side_of_lines(centroids[src][lines], features[lines])
    out[src] = offsets
    return out


def opposite_mask(offsets_a: np.ndarray, offsets_b: np.ndarray) -> np.ndarray:
    """Whether, seen from each centroid, two references lie in opposite directions: the vectors to their
    nearest points (``nearest_offsets`` of each, which point the other way) make an angle of more than 90
    degrees (a negative dot product). False where either offset is zero or NaN (no feature)."""
    return (offsets_a * offsets_b).sum(axis=1) < 0  # NaN compares False


def compass_mask(offsets: np.ndarray, direction: str) -> np.ndarray:
    """Whether each offset points ``direction`` (one of ``COMPASS``): north = dy > 0, north-east =
    dy > 0 and dx > 0, ... NaN offsets (no reference) point nowhere."""
    dx, dy = offsets[:, 0], offsets[:, 1]
    tests = {"north": dy > 0, "south": dy < 0, "east": dx > 0, "west": dx < 0}
    mask = np.ones(len(offsets), dtype=bool)
    for part in COMPASS[direction]:
        mask &= tests[part]
    return mask
