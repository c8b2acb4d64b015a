"""Merge per-tile results into one set of objects for the whole raster.

Frame: every coordinate here is in RASTER pixels, corner convention ((0, 0) is the top-left corner of
the top-left pixel, x right, y down). Tile windows are ``(col_off, row_off, width, height)`` in raster
pixels. An edge of a window is a *seam* when it lies inside the raster (not on the raster's border).

- Boxes (``RotatedBox``, ``SegTarget``) go through non-maximum suppression by polygon IoU, per kind and
  label (labels compared case-insensitively). Priority: not cut by a seam, then higher score (``None``
  lowest), then larger area, then input order. A box mostly inside a higher-priority one of the same
  label is also a duplicate when either of the two is cut; and a *piece* (a box cut by a seam of its tile)
  is the same object as a box from another tile that covers it (``is_piece_of``): the part of an object
  that the neighbouring tile saw whole. Coverage is measured as intersection over the smaller area (as
  SAHI's IOS matching does), the covering object first clipped to the piece's tile: a model's box around
  the visible part of a rotated object can stick out of the whole object's box, but what the piece's tile
  can see of the whole object lies inside the piece.
- Polygons (``PolygonRegion``) that are pieces of a polygon from another tile are dropped the same way;
  the rest from different tiles that overlap or meet at a seam (within ``seam_tolerance_px``) are
  dissolved per label; scores become the area-weighted mean of the parts that have one.
- ``GeoPoint`` passes through unchanged.

Pair finding uses a shapely STRtree, so thousands of candidates cost O(n log n + pairs).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from .geometry.types import GeoObject, GeoPoint, PolygonRegion, RotatedBox, SegTarget

Window = tuple[int, int, int, int]  # col_off, row_off, width, height in raster pixels


@dataclass(frozen=True)
class Candidate:
    """One object found in one tile, already mapped into raster pixels, with the window it came from."""

    obj: GeoObject
    window: Window


@dataclass(frozen=True)
class Merged:
    """One merged object (raster pixels) and the indices of the input candidates it stands for: the
    kept box itself, or every polygon dissolved into it."""

    obj: GeoObject
    sources: tuple[int, ...]


def label_key(label: str | None) -> str | None:
    """Labels that name the same class: compared without case and outer whitespace."""
    return label.strip().casefold() if label is not None else None


def box_polygon(obj: RotatedBox | SegTarget) -> Polygon:
    """The box as a shapely polygon in the object's own frame. A rotated box is taken as the convex
    hull of its corners, so corner order cannot produce a bow-tie."""
    if isinstance(obj, SegTarget):
        return shapely.box(*obj.bbox)
    hull = shapely.convex_hull(shapely.multipoints(obj.corners))
    return hull if isinstance(hull, Polygon) else Polygon()


def seam_edges(window: Window, raster_size_px: tuple[int, int]) -> tuple[bool, bool, bool, bool]:
    """Which edges of a window are seams (inside the raster): (left, top, right, bottom)."""
    col_off, row_off, width, height = window
    raster_w, raster_h = raster_size_px
    return (col_off > 0, row_off > 0, col_off + width < raster_w, row_off + height < raster_h)


def is_cut(
    bounds_px: tuple[float, float, float, float],
    window: Window,
    raster_size_px: tuple[int, int],
    margin_px: float,
) -> bool:
    """Whether an object with raster-pixel ``bounds_px`` (minx, miny, maxx, maxy) touches, or comes
    within ``margin_px`` of, a seam of its tile window: the tile probably saw only part of it."""
    col_off, row_off, width, height = window
    left, top, right, bottom = seam_edges(window, raster_size_px)
    minx, miny, maxx, maxy = bounds_px
    return (
        (left and minx <= col_off + margin_px)
        or (top and miny <= row_off + margin_px)
        or (right and maxx >= col_off + width - margin_px)
        or (bottom and maxy >= row_off + height - margin_px)
    )


#: a piece is the same object as a covering object from another tile when the intersection over the smaller
#: of (piece, covering object clipped to the piece's tile) exceeds this ...
PIECE_IOS = 0.7
#: ... and at least this share of the piece lies inside the covering object (a small corner of a neighbour
#: poking into a piece's tile does not make the piece a duplicate)
PIECE_MIN_INSIDE = 0.3


def window_polygon(window: Window) -> Polygon:
    """A tile window ``(col_off, row_off, width, height)`` as a rectangle in raster pixels."""
    col_off, row_off, width, height = window
    return shapely.box(col_off, row_off, col_off + width, row_off + height)


def is_piece_of(
    piece: np.ndarray, piece_window: Sequence[Window], whole: np.ndarray, inter: np.ndarray | None = None,
    *, ios_threshold: float = PIECE_IOS, min_inside: float = PIECE_MIN_INSIDE,
) -> np.ndarray:
    """Element-wise: is each ``piece`` (raster pixels, cut by a seam of ``piece_window``) the part of the
    corresponding ``whole`` that the piece's tile saw? True when the intersection covers more than
    ``ios_threshold`` of the smaller of the piece and the whole clipped to the piece's tile, and more than
    ``min_inside`` of the piece. ``inter``: the pieces' intersection areas with the wholes, if known."""
    piece = np.asarray(piece, dtype=object)
    whole = np.asarray(whole, dtype=object)
    if inter is None:
        inter = shapely.area(shapely.intersection(piece, whole))
    visible = shapely.area(shapely.intersection(whole, np.asarray([window_polygon(w) for w in piece_window],
                                                                   dtype=object)))
    piece_area = shapely.area(piece)
    smaller = np.minimum(piece_area, visible)
    ios = np.divide(inter, smaller, out=np.zeros_like(inter, dtype=float), where=smaller > 0)
    inside = np.divide(inter, piece_area, out=np.zeros_like(inter, dtype=float), where=piece_area > 0)
    return (ios > ios_threshold) & (inside > min_inside)


def nms_boxes(
    polygons_px: Sequence[Polygon],
    scores: Sequence[float | None],
    cut: Sequence[bool],
    *,
    iou_threshold: float = 0.5,
    containment_threshold: float = 0.8,
    windows: Sequence[Window] | None = None,
) -> list[int]:
    """Greedy non-maximum suppression of one label's boxes; returns the kept indices in priority order.

    A lower-priority ``j`` is a duplicate of a kept ``i`` when IoU > ``iou_threshold``, or when
    either is cut and more than ``containment_threshold`` of ``j``'s area lies inside ``i``, or (given the
    tile ``windows``) when ``j`` is cut, ``i`` is not, and ``j`` is a piece of ``i`` from another tile
    (``is_piece_of``): pieces of an object wider than the overlap are cut in every tile and are joined
    later instead (``join_cut_boxes``). Boxes
    of zero area never suppress nor are suppressed.
    """
    n = len(polygons_px)
    if n == 0:
        return []
    geoms = np.asarray(polygons_px, dtype=object)
    areas = shapely.area(geoms)
    score_key = np.array([-np.inf if s is None else float(s) for s in scores])
    cut_arr = np.asarray(cut, dtype=bool)
    # lexsort: last key is primary -> uncut first, then higher score, larger area, input order
    order = np.lexsort((np.arange(n), -areas, -score_key, cut_arr))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pair = (left < right) & (areas[left] > 0) & (areas[right] > 0)
    left, right = left[pair], right[pair]
    # orient every pair from the higher-priority box to the lower-priority one
    swap = rank[left] > rank[right]
    hi = np.where(swap, right, left)
    lo = np.where(swap, left, right)
    inter = shapely.area(shapely.intersection(geoms[hi], geoms[lo]))
    union = areas[hi] + areas[lo] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    # only the lower-priority box can be the part inside: a small whole object inside a big cut
    # box is another object, not a duplicate
    lo_inside = inter / areas[lo]
    duplicate = (iou > iou_threshold) | (
        (lo_inside > containment_threshold) & (cut_arr[hi] | cut_arr[lo])
    )
    if windows is not None:
        win = [tuple(w) for w in windows]
        check = np.flatnonzero(~duplicate & cut_arr[lo] & ~cut_arr[hi] & np.array([win[a] != win[b] for a, b in zip(hi, lo)],
                                                                     dtype=bool))
        if len(check):
            duplicate[check] = is_piece_of(geoms[lo[check]], [win[k] for k in lo[check]], geoms[hi[check]],
                                           inter[check])

    # duplicates_of[i]: lower-priority boxes that i suppresses if i is kept
    duplicates_of: dict[int, list[int]] = defaultdict(list)
    for a, b in zip(hi[duplicate].tolist(), lo[duplicate].tolist()):
        duplicates_of[a].append(b)

    suppressed = np.zeros(n, dtype=bool)
    kept: list[int] = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        kept.append(i)
        for j in duplicates_of.get(i, ()):
            suppressed[j] = True
    return kept


def _region_polygon(obj: PolygonRegion) -> Polygon | MultiPolygon:
    poly = Polygon(obj.exterior, obj.holes)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        parts = [g for g in getattr(poly, "geoms", [poly]) if isinstance(g, (Polygon, MultiPolygon))]
        poly = shapely.union_all(parts) if parts else Polygon()
    return poly


def _to_regions(geom, template: PolygonRegion, score: float | None) -> list[PolygonRegion]:
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if not isinstance(poly, Polygon) or poly.is_empty or poly.area <= 0:
            continue
        out.append(
            PolygonRegion(
                exterior=poly.exterior.coords[:-1],
                holes=tuple(tuple(r.coords[:-1]) for r in poly.interiors),
                label=template.label,
                score=score,
                span=template.span,
            )
        )
    return out


def pieces_of_whole(geoms: np.ndarray, windows: Sequence[Window], cut: Sequence[bool]) -> np.ndarray:
    """Which geometries (raster pixels) are pieces (cut by a seam of their tile) of an uncut geometry from
    another tile (``is_piece_of``)."""
    cut_arr = np.asarray(cut, dtype=bool)
    out = np.zeros(len(geoms), dtype=bool)
    if not cut_arr.any() or cut_arr.all():
        return out
    win = [tuple(w) for w in windows]
    piece, whole = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = cut_arr[piece] & ~cut_arr[whole] & np.array([win[a] != win[b] for a, b in zip(piece, whole)], dtype=bool)
    piece, whole = piece[pair], whole[pair]
    if len(piece):
        hit = is_piece_of(geoms[piece], [win[k] for k in piece], geoms[whole])
        out[piece[hit]] = True
    return out


def dissolve_polygons(
    regions: Sequence[PolygonRegion],
    windows: Sequence[Window],
    *,
    seam_tolerance_px: float = 1.0,
    cut: Sequence[bool] | None = None,
) -> list[tuple[PolygonRegion, tuple[int, ...]]]:
    """Dissolve one label's polygons (raster pixels) that come from different tiles and overlap or lie
    within ``seam_tolerance_px`` of each other; each result with the indices of its parts.

    Given ``cut`` (which polygons touch a seam of their tile), a piece of a polygon that another tile saw
    whole is dropped first (``pieces_of_whole``): its outline is a model's guess at a cut object and would
    only grow the whole one. Parts from the same tile are joined only through a part from another tile
    (instances seen in one tile stay separate). A gap up to the tolerance between joined parts is closed at
    the seam (a morphological closing of the pair, clipped to the zone within the tolerance of both). A
    component may still dissolve into several polygons; holes are kept. Unjoined regions are
    returned unchanged. The label and span of the largest part are kept.
    """
    geoms = np.array([_region_polygon(r) for r in regions], dtype=object)
    if cut is not None:
        keep = np.flatnonzero(~pieces_of_whole(geoms, windows, cut))
        if len(keep) < len(regions):
            kept = dissolve_polygons([regions[i] for i in keep], [windows[i] for i in keep],
                                     seam_tolerance_px=seam_tolerance_px)
            return [(region, tuple(int(keep[k]) for k in parts)) for region, parts in kept]
    n = len(regions)
    areas = shapely.area(geoms)
    win_ids: dict[Window, int] = {}
    win = np.array([win_ids.setdefault(tuple(w), len(win_ids)) for w in windows], dtype=np.int64)

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=seam_tolerance_px)
    pair = (left < right) & (win[left] != win[right])
    left, right = left[pair], right[pair]

    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left.tolist(), right.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    bridges: dict[int, list] = defaultdict(list)
    if len(left):
        apart = shapely.distance(geoms[left], geoms[right]) > 0
        for a, b in zip(left[apart].tolist(), right[apart].tolist()):
            tol = seam_tolerance_px
            near_both = shapely.intersection(
                shapely.buffer(geoms[a], tol, join_style="mitre"),
                shapely.buffer(geoms[b], tol, join_style="mitre"),
            )
            # a morphological closing fills the gap without growing past the parts' outline;
            # clipping it to the zone near both keeps the change at the seam
            pair_union = shapely.union(geoms[a], geoms[b])
            closed = shapely.buffer(
                shapely.buffer(pair_union, tol, join_style="mitre"), -tol, join_style="mitre"
            )
            bridges[find(a)].append(shapely.intersection(closed, near_both))

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[find(i)].append(i)

    results: list[tuple[PolygonRegion, tuple[int, ...]]] = []
    for root, idx in members.items():
        if len(idx) == 1:
            results.append((regions[idx[0]], (idx[0],)))
            continue
        union = shapely.union_all([geoms[i] for i in idx] + bridges.get(root, []))
        # drops the collinear vertices left where the parts met at the seam
        union = shapely.simplify(union, 0.0, preserve_topology=True)
        if not union.is_valid:
            union = shapely.make_valid(union)
        template = regions[max(idx, key=lambda i: areas[i])]
        for piece in getattr(union, "geoms", [union]):
            if not isinstance(piece, Polygon) or piece.area <= 0:
                continue
            part_idx = [i for i in idx if shapely.intersection(piece, geoms[i]).area > 0] or idx
            scored = [i for i in part_idx if regions[i].score is not None]
            if scored and sum(areas[i] for i in scored) > 0:
                w = np.array([areas[i] for i in scored])
                s = np.array([regions[i].score for i in scored], dtype=float)
                score = float((w * s).sum() / w.sum())
            elif scored:
                score = float(np.mean([regions[i].score for i in scored]))
            else:
                score = None
            for region in _to_regions(piece, template, score):
                results.append((region, tuple(sorted(part_idx))))
    return results


def join_cut_boxes(
    polygons_px: Sequence[Polygon],
    cut: Sequence[bool],
    windows: Sequence[Window],
    kept: Sequence[int],
    *,
    tolerance_px: float = 1.0,
    min_fill: float = 0.7,
) -> list[list[int]]:
    """Group the kept boxes that are pieces of one object larger than the tile overlap: each piece is cut
    by a seam of its own tile, comes from another tile than its partner, and touches it (within
    ``tolerance_px``); the pieces' union must fill at least ``min_fill`` of its minimum rotated rectangle
    (two distinct objects meeting at a corner do not). Returns groups of indices (singletons included),
    in ``kept`` order."""
    kept = list(kept)
    parent = {k: k for k in kept}

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    pieces = [k for k in kept if cut[k] and not polygons_px[k].is_empty]
    if len(pieces) > 1:
        geoms = np.asarray([polygons_px[k].buffer(tolerance_px) for k in pieces], dtype=object)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        for a, b in zip(left.tolist(), right.tolist()):
            i, j = pieces[a], pieces[b]
            if a >= b or tuple(windows[i]) == tuple(windows[j]) or find(i) == find(j):
                continue
            union = shapely.union_all([polygons_px[i], polygons_px[j]])
            if union.area >= min_fill * union.minimum_rotated_rectangle.area:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for k in kept:
        groups[find(k)].append(k)
    return list(groups.values())


def _joined_box(objs: Sequence[RotatedBox | SegTarget], polys: Sequence[Polygon]):
    """One box for the pieces of an object: the minimum rotated rectangle of their union (a horizontal box
    with every piece's keypoints for segmentation targets); score the mean of the pieces' scores."""
    scores = [o.score for o in objs if o.score is not None]
    score = float(np.mean(scores)) if scores else None
    union = shapely.union_all(list(polys))
    first = objs[0]
    if isinstance(first, SegTarget):
        keypoints = tuple(p for o in objs for p in o.keypoints)
        return first.with_(bbox=union.bounds, keypoints=keypoints, score=score, span=None)
    corners = list(union.minimum_rotated_rectangle.exterior.coords)[:4]
    return first.with_(corners=tuple(corners), score=score, span=None)


def merge_candidates(
    candidates: Sequence[Candidate],
    raster_size_px: tuple[int, int],
    *,
    iou_threshold: float = 0.5,
    containment_threshold: float = 0.8,
    edge_margin_px: float = 2.0,
    seam_tolerance_px: float = 1.0,
) -> list[Merged]:
    """Merge the objects of all tiles of one raster (raster pixels, corner convention).

    ``raster_size_px`` is ``(width, height)``; it tells seams from the raster's border.
    ``edge_margin_px``: a box this close to a seam counts as cut. Boxes are suppressed per kind
    (rotated box / seg target) and label, then the pieces of an object wider than the tile overlap (cut
    in every tile that saw it) are joined (``join_cut_boxes``); polygons are dissolved per label; points
    pass through. The result is ordered by the smallest source index of each merged object.
    """
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    box_groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    poly_groups: dict[str | None, list[int]] = defaultdict(list)
    out: list[Merged] = []
    for i, cand in enumerate(candidates):
        obj = cand.obj
        if isinstance(obj, (RotatedBox, SegTarget)):
            box_groups[(obj.kind, label_key(obj.label))].append(i)
        elif isinstance(obj, PolygonRegion):
            poly_groups[label_key(obj.label)].append(i)
        elif isinstance(obj, GeoPoint):
            out.append(Merged(obj, (i,)))
        else:
            raise TypeError(f"cannot merge a {type(obj).__name__}")

    for idx in box_groups.values():
        polys = [box_polygon(candidates[i].obj) for i in idx]
        cut = [
            not p.is_empty
            and is_cut(p.bounds, candidates[i].window, raster_size_px, edge_margin_px)
            for p, i in zip(polys, idx)
        ]
        kept = nms_boxes(
            polys,
            [candidates[i].obj.score for i in idx],
            cut,
            iou_threshold=iou_threshold,
            containment_threshold=containment_threshold,
            windows=[candidates[i].window for i in idx],
        )
        for group in join_cut_boxes(polys, cut, [candidates[i].window for i in idx], kept,
                                    tolerance_px=seam_tolerance_px):
            objs = [candidates[idx[k]].obj for k in group]
            joined = objs[0] if len(group) == 1 else _joined_box(objs, [polys[k] for k in group])
            out.append(Merged(joined, tuple(sorted(idx[k] for k in group))))

    for idx in poly_groups.values():
        regions = [candidates[i].obj for i in idx]
        cut = [is_cut(_region_polygon(r).bounds, candidates[i].window, raster_size_px, edge_margin_px)
               for r, i in zip(regions, idx)]
        dissolved = dissolve_polygons(
            regions,
            [candidates[i].window for i in idx],
            seam_tolerance_px=seam_tolerance_px,
            cut=cut,
        )
        out.extend(Merged(region, tuple(idx[k] for k in parts)) for region, parts in dissolved)

    out.sort(key=lambda m: m.sources[0])
    return out
