"""Sanitising rings that come out of model answers.

Everything here works on plain ``(x, y)`` tuples in whatever frame the caller uses (pixels of the
image as sent, in the dialects). Functions never raise on bad input: they return ``None`` plus a
warning when nothing usable is left, and a repaired geometry plus a warning when they changed it.
The rings they return are open (first point not repeated) and ``shapely.Polygon(ring).is_valid``.
"""

from __future__ import annotations

import math
from typing import Sequence

import shapely
from shapely.geometry import Polygon

from .types import XY


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
    zero area; repairs a self-intersecting ring with ``shapely.make_valid`` and keeps the exterior of
    the largest resulting part (holes dropped). Returns ``(ring, warning)``: ``ring`` is an open list
    of points or ``None``; ``warning`` says what was dropped or repaired, or is ``None``.
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
    fixed = shapely.make_valid(poly)
    repaired = _largest_polygon(fixed)
    if repaired is None:
        return None, "self-intersecting polygon dropped: no part with area left after repair"
    new_ring = dedupe_ring([(float(x), float(y)) for x, y in repaired.exterior.coords])
    if not _is_good(new_ring):
        return None, "self-intersecting polygon dropped: repair gave no valid ring"
    n_parts = _count_areal_parts(fixed)
    msg = "self-intersecting polygon repaired"
    if n_parts > 1:
        msg += f": kept the largest of {n_parts} parts"
    if repaired.interiors:
        msg += " (holes dropped)"
    notes.insert(0, msg)
    return new_ring, "; ".join(notes)


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
