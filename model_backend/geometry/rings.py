"""Sanitising rings that come out of model answers.

Everything here works on plain ``(x, y)`` tuples in whatever frame the caller uses (pixels of the
image as sent, in the dialects). Functions never raise on bad input: they return ``None`` plus a
warning when nothing usable is left, and a repaired geometry plus a warning when they changed it.
The rings they return are open (first point not repeated) and ``shapely.Polygon(ring).is_valid``.

Repair cost is bounded: an exact repair of a self-intersecting ring costs time in the number of its
crossings, which grows with the square of its points (a 400-point "star" takes seconds). Rings with more
than ``REPAIR_MAX_POINTS`` points are first thinned (Douglas-Peucker, then evenly spaced points), so any
polygon is repaired in well under a second whatever a model emits.
"""

from __future__ import annotations

import math
from typing import Sequence

import shapely
from shapely.geometry import Polygon

from .types import XY

#: Most points a self-intersecting ring keeps before repair (repair time grows with crossings, up to
#: points squared: about 0.03 s at 64 points for the worst case, a star polygon, on a laptop core).
REPAIR_MAX_POINTS = 64
#: Douglas-Peucker tolerance tried first when thinning, as a fraction of the ring's bounding-box diagonal.
_THIN_TOLERANCE = 0.002


def _finite_points(points_xy: Sequence[XY]) -> tuple[list[XY], int]:
    pts: list[XY] = []
    bad = 0
    for p in points_xy:
        x, y = float(p[0]), float(p[1])
        if math.isfinite(x) and math.isfinite(y):
            pts.append((x, y))
        else:
            bad += 1
    return pts, bad


def dedupe_ring(points_xy: Sequence[XY]) -> list[XY]:
    """Drop consecutive duplicate points, including a closing point equal to the first."""
    out: list[XY] = []
    for p in points_xy:
        if not out or out[-1] != p:
            out.append(p)
    while len(out) >= 2 and out[0] == out[-1]:
        out.pop()
    return out


def _is_good(ring: Sequence[XY]) -> bool:
    if len(ring) < 3:
        return False
    poly = Polygon(ring)
    return poly.is_valid and poly.area > 0.0


def _largest_polygon(geom) -> Polygon | None:
    """The polygon of largest area in any shapely geometry (collections included)."""
    best: Polygon | None = None
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            cand = part
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            cand = _largest_polygon(part)
        else:
            continue
        if cand is not None and cand.area > 0 and (best is None or cand.area > best.area):
            best = cand
    return best


def _count_areal_parts(geom) -> int:
    n = 0
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            n += part.area > 0
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            n += _count_areal_parts(part)
    return n


def sanitize_ring(points_xy: Sequence[XY]) -> tuple[list[XY] | None, str | None]:
    """Make a simple polygon ring out of model-given points (open or closed).

    Drops non-finite and consecutive duplicate points; rejects fewer than three distinct points and
    zero area; repairs a self-intersecting ring (thinned first when longer than ``REPAIR_MAX_POINTS``)
    and keeps the exterior of the largest resulting part (holes dropped). Returns ``(ring, warning)``:
    ``ring`` is an open list of points or ``None``; ``warning`` says what was dropped or repaired, or is
    ``None``.
    """
    pts, bad = _finite_points(points_xy)
    notes = [f"{bad} non-finite point(s) dropped"] if bad else []
    ring = dedupe_ring(pts)
    if len(ring) < 3:
        return None, f"polygon with {len(ring)} distinct point(s) dropped (needs at least 3)"
    poly = Polygon(ring)
    if poly.is_valid:
        if poly.area > 0.0:
            return ring, ("polygon: " + "; ".join(notes)) if notes else None
        return None, "polygon of zero area dropped"
    if poly.area == 0.0 and shapely.area(shapely.convex_hull(poly)) == 0.0:
        return None, "polygon of zero area (all points on one line) dropped"
    thinned = thin_ring(ring)
    fixed = repair_polygon(Polygon(thinned))
    repaired = _largest_polygon(fixed)
    if repaired is None:
        return None, "self-intersecting polygon dropped: no part with area left after repair"
    new_ring = dedupe_ring([(float(x), float(y)) for x, y in repaired.exterior.coords])
    if not _is_good(new_ring):
        return None, "self-intersecting polygon dropped: repair gave no valid ring"
    n_parts = _count_areal_parts(fixed)
    msg = "self-intersecting polygon repaired"
    if len(thinned) < len(ring):
        msg = f"self-intersecting polygon of {len(ring)} points thinned to {len(thinned)} and repaired"
    if n_parts > 1:
        msg += f": kept the largest of {n_parts} parts"
    if repaired.interiors:
        msg += " (holes dropped)"
    notes.insert(0, msg)
    return new_ring, "; ".join(notes)


def repair_polygon(poly):
    """A valid geometry covering ``poly``'s shape (any shapely geometry): GEOS's "structure" repair (the union of its shells minus
    its holes), which unlike the default "linework" method stays fast on rings that cross themselves many
    times. Cost still grows with the number of crossings: thin long rings first (``thin_ring``)."""
    return shapely.make_valid(poly, method="structure", keep_collapsed=False)


def thin_ring(ring: Sequence[XY], max_points: int = REPAIR_MAX_POINTS) -> list[XY]:
    """At most ``max_points`` points of an open ring, in order: first Douglas-Peucker at a small tolerance
    (drops near-collinear points of a dense outline), then evenly spaced points if still too many.
    Time linear-ish in ``len(ring)``; the ring is returned as is when short enough."""
    if len(ring) <= max_points:
        return list(ring)
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    diagonal = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
    line = shapely.LineString([*ring, ring[0]])
    simplified = shapely.simplify(line, diagonal * _THIN_TOLERANCE, preserve_topology=False)
    points = dedupe_ring([(float(x), float(y)) for x, y in simplified.coords])
    if len(points) < 3:
        points = list(ring)
    if len(points) > max_points:
        step = len(points) / max_points
        points = [points[int(i * step)] for i in range(max_points)]
    return points


def _angle_order(corners: list[XY]) -> list[XY]:
    cx = sum(p[0] for p in corners) / len(corners)
    cy = sum(p[1] for p in corners) / len(corners)
    return sorted(corners, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))


def sanitize_quad(corners_xy: Sequence[XY]) -> tuple[list[XY] | None, str | None]:
    """Check the four corners of a rotated box.

    A box with repeated corners, non-finite values or zero area is dropped. Corners given in crossing
    order (a bow tie) are put back into ring order by their angle about the centroid. Returns
    ``(corners, warning)`` with ``corners`` a list of four points or ``None``.
    """
    pts, bad = _finite_points(corners_xy)
    if bad or len(pts) != 4:
        return None, f"rotated box dropped: needs 4 finite corners, got {len(pts)}"
    if len(set(pts)) < 4:
        return None, "degenerate rotated box (repeated corners, zero area) dropped"
    if _is_good(pts):
        return pts, None
    reordered = _angle_order(pts)
    if _is_good(reordered):
        return reordered, "rotated box corners were not in ring order: reordered"
    return None, "degenerate rotated box (zero area) dropped"
