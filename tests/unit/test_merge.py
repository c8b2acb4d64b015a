"""Merging per-tile results in raster pixels: rotated-box NMS with seam awareness, polygon dissolve."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget, box_corners
from model_backend.merge import (
    Candidate,
    box_polygon,
    dissolve_polygons,
    is_cut,
    merge_candidates,
    nms_boxes,
)

WHOLE = (0, 0, 200, 100)  # one window covering the whole 200 x 100 raster: no seams
RASTER = (200, 100)


def rbox(x1, y1, x2, y2, label="ship", score=None) -> RotatedBox:
    return RotatedBox(tuple(box_corners((x1, y1, x2, y2))), label=label, score=score)


def rotated(cx, cy, w, h, angle_deg, label="ship", score=None) -> RotatedBox:
    a = np.deg2rad(angle_deg)
    u = np.array([np.cos(a), np.sin(a)]) * w / 2
    v = np.array([-np.sin(a), np.cos(a)]) * h / 2
    c = np.array([cx, cy])
    corners = (c - u - v, c + u - v, c + u + v, c - u + v)
    return RotatedBox(tuple(tuple(p) for p in corners), label=label, score=score)


def kept_objects(result):
    return [m.obj for m in result]


# ---- cut detection -------------------------------------------------------------------------------


def test_is_cut_only_at_interior_seams():
    left_tile = (0, 0, 120, 100)
    # touching the right edge of the left tile: that edge (x=120) is inside the raster -> cut
    assert is_cut((110, 10, 120, 20), left_tile, RASTER, 2.0)
    assert is_cut((110, 10, 118.5, 20), left_tile, RASTER, 2.0)  # within the margin
    assert not is_cut((110, 10, 117, 20), left_tile, RASTER, 2.0)
    # touching the raster's own border (x=0, y=0, y=100) is not a cut
    assert not is_cut((0, 0, 10, 100), left_tile, RASTER, 2.0)
    right_tile = (80, 0, 120, 100)
    assert is_cut((80, 10, 90, 20), right_tile, RASTER, 2.0)
    assert not is_cut((190, 10, 200, 20), right_tile, RASTER, 2.0)


# ---- NMS -----------------------------------------------------------------------------------------


def test_uncut_box_beats_higher_scored_cut_duplicate_at_seam():
    # Two tiles overlapping by 40 px. A ship at x 110..130 is seen whole by the right tile and
    # clipped at the seam x=120 by the left tile, which is more confident about its half.
    left, right = (0, 0, 120, 100), (80, 0, 120, 100)
    cut_half = Candidate(rbox(110, 40, 120, 60, score=0.95), left)
    whole = Candidate(rbox(110, 40, 130, 60, score=0.6), right)
    result = merge_candidates([cut_half, whole], RASTER)
    assert [m.sources for m in result] == [(1,)]
    assert result[0].obj == whole.obj


def test_small_whole_box_inside_big_cut_box_is_another_object():
    # The left tile sees a big ship cut at its seam (x=120); a small ship lies inside that box and is
    # seen whole. The small one is not a part of the big one: keep both.
    left = (0, 0, 120, 100)
    big_cut = Candidate(rbox(80, 20, 120, 80, score=0.9), left)
    small_whole = Candidate(rbox(90, 40, 100, 50, score=0.5), left)
    assert len(merge_candidates([big_cut, small_whole], RASTER)) == 2


def test_contained_box_is_kept_when_neither_is_cut():
    # The same geometry but both in tiles whose edges are the raster border: a small box inside a
    # big one is a separate object (IoU 0.5 is not above the threshold), not a cut duplicate.
    big = Candidate(rbox(110, 40, 130, 60, score=0.6), WHOLE)
    small = Candidate(rbox(110, 40, 120, 60, score=0.95), WHOLE)
    assert len(merge_candidates([big, small], RASTER)) == 2


def test_iou_threshold_behaviour():
    # 10x10 boxes shifted by 2.5 px: intersection 75, union 125, IoU 0.6
    a = Candidate(rbox(10, 10, 20, 20, score=0.9), WHOLE)
    b = Candidate(rbox(12.5, 10, 22.5, 20, score=0.8), WHOLE)
    assert [m.sources for m in merge_candidates([a, b], RASTER, iou_threshold=0.5)] == [(0,)]
    assert len(merge_candidates([a, b], RASTER, iou_threshold=0.6)) == 2  # not strictly above
    assert len(merge_candidates([a, b], RASTER, iou_threshold=0.7)) == 2


def test_labels_are_independent_and_case_insensitive():
    a = Candidate(rbox(10, 10, 20, 20, label="ship", score=0.9), WHOLE)
    b = Candidate(rbox(10, 10, 20, 20, label="plane", score=0.8), WHOLE)
    c = Candidate(rbox(10, 10, 20, 20, label=" Ship", score=0.7), WHOLE)
    result = merge_candidates([a, b, c], RASTER)
    assert sorted(m.sources for m in result) == [(0,), (1,)]


def test_priority_score_none_lowest_then_area():
    none_score = Candidate(rbox(10, 10, 20, 20, score=None), WHOLE)
    low_score = Candidate(rbox(10, 10, 20, 21, score=0.1), WHOLE)
    assert [m.sources for m in merge_candidates([none_score, low_score], RASTER)] == [(1,)]
    small = Candidate(rbox(10, 10, 20, 20), WHOLE)
    large = Candidate(rbox(10, 10, 20, 21), WHOLE)
    assert [m.sources for m in merge_candidates([small, large], RASTER)] == [(1,)]


def test_rotated_boxes_use_polygon_iou():
    # Two 40x4 boxes crossing at 90 degrees: their axis-aligned bounds coincide (IoU 1) but the
    # rotated polygons overlap only 16 px^2.
    a = Candidate(rotated(50, 50, 40, 4, 45, score=0.9), WHOLE)
    b = Candidate(rotated(50, 50, 40, 4, -45, score=0.8), WHOLE)
    assert len(merge_candidates([a, b], RASTER)) == 2
    c = Candidate(rotated(50.5, 50, 40, 4, 45, score=0.8), WHOLE)
    assert [m.sources for m in merge_candidates([a, c], RASTER)] == [(0,)]


def test_seg_targets_suppressed_by_box_and_kept_apart_from_rotated_boxes():
    left, right = (0, 0, 120, 100), (80, 0, 120, 100)
    cut_half = Candidate(SegTarget((110, 40, 120, 60), keypoints=((115, 50),), label="lake", score=0.9), left)
    whole = Candidate(SegTarget((110, 40, 130, 60), keypoints=((120, 50),), label="lake", score=0.5), right)
    box = Candidate(rbox(110, 40, 130, 60, label="lake", score=0.99), right)
    result = merge_candidates([cut_half, whole, box], RASTER)
    assert sorted(m.sources for m in result) == [(1,), (2,)]


def test_points_pass_through_unchanged():
    p = GeoPoint(48.85, 2.35, label="paris")
    result = merge_candidates([Candidate(p, WHOLE), Candidate(p, (0, 0, 100, 100))], RASTER)
    assert [m.obj for m in result] == [p, p]


def _iou(a, b) -> float:
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _is_piece(piece, piece_window, whole) -> bool:
    """A cut box is the part of a whole box from another tile that its own tile saw."""
    c, r, w, h = piece_window
    inter = piece.intersection(whole).area
    visible = whole.intersection(shapely.box(c, r, c + w, r + h)).area
    smaller = min(piece.area, visible)
    return smaller > 0 and inter / smaller > 0.7 and inter / piece.area > 0.3


def _reference_nms(polys, scores, cut, thr, contain_thr, windows=None):
    """Straightforward O(n^2) greedy NMS with the same priority and duplicate rule."""
    order = sorted(
        range(len(polys)),
        key=lambda i: (cut[i], -(scores[i] if scores[i] is not None else -np.inf), -polys[i].area, i),
    )
    kept = []
    for i in order:
        dup = False
        for k in kept:
            if polys[i].area <= 0 or polys[k].area <= 0:
                continue
            inside = polys[i].intersection(polys[k]).area / polys[i].area  # part of i inside kept k
            if _iou(polys[i], polys[k]) > thr or ((cut[i] or cut[k]) and inside > contain_thr):
                dup = True
                break
            if (windows is not None and cut[i] and not cut[k] and tuple(windows[i]) != tuple(windows[k])
                    and _is_piece(polys[i], windows[i], polys[k])):
                dup = True
                break
        if not dup:
            kept.append(i)
    return kept


box_strategy = st.tuples(
    st.floats(0, 180),  # cx
    st.floats(0, 80),  # cy
    st.floats(1, 40),  # w
    st.floats(1, 20),  # h
    st.sampled_from([0.0, 15.0, 45.0, 90.0, 130.0]),  # angle
    st.sampled_from(["ship", "Ship", "plane"]),
    st.one_of(st.none(), st.floats(0, 1)),
    st.sampled_from([(0, 0, 120, 100), (80, 0, 120, 100), WHOLE]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(box_strategy, max_size=25), st.sampled_from([0.3, 0.5, 0.7]))
def test_nms_properties(specs, thr):
    cands = [
        Candidate(rotated(cx, cy, w, h, ang, label=lab, score=s), win)
        for cx, cy, w, h, ang, lab, s, win in specs
    ]
    result = merge_candidates(cands, RASTER, iou_threshold=thr)
    kept = [m.sources[0] for m in result]
    # subset, no repeats
    assert len(set(kept)) == len(kept) and set(kept) <= set(range(len(cands)))
    polys = [box_polygon(c.obj) for c in cands]
    # no two kept boxes of one label overlap above the threshold
    for i, j in itertools.combinations(kept, 2):
        if cands[i].obj.label.lower() == cands[j].obj.label.lower():
            assert _iou(polys[i], polys[j]) <= thr + 1e-9
    # identical to a brute-force greedy NMS, label by label
    for label in ("ship", "plane"):
        idx = [i for i, c in enumerate(cands) if c.obj.label.lower() == label]
        cut = [is_cut(polys[i].bounds, cands[i].window, RASTER, 2.0) for i in idx]
        scores = [cands[i].obj.score for i in idx]
        windows = [cands[i].window for i in idx]
        ref = {idx[k] for k in _reference_nms([polys[i] for i in idx], scores, cut, thr, 0.8, windows)}
        assert ref == {i for i in kept if i in set(idx)}


def test_nms_boxes_empty_and_degenerate():
    assert nms_boxes([], [], []) == []
    flat = shapely.box(0, 0, 10, 0)  # zero area never suppresses nor is suppressed
    assert sorted(nms_boxes([flat, shapely.box(0, 0, 10, 10)], [0.9, 0.1], [False, False])) == [0, 1]


# ---- polygon dissolve ----------------------------------------------------------------------------


def region(poly, label="water", score=None) -> PolygonRegion:
    holes = tuple(tuple(r.coords[:-1]) for r in poly.interiors)
    return PolygonRegion(poly.exterior.coords[:-1], holes, label=label, score=score)


def test_dissolve_joins_halves_across_seam():
    left, right = (0, 0, 100, 100), (100, 0, 100, 100)
    a = Candidate(region(shapely.box(60, 20, 100, 60), score=0.8), left)  # area 1600
    b = Candidate(region(shapely.box(100, 20, 150, 60), label="Water", score=0.4), right)  # area 2000
    result = merge_candidates([a, b], RASTER)
    assert len(result) == 1
    merged = result[0]
    assert merged.sources == (0, 1)
    poly = shapely.Polygon(merged.obj.exterior, merged.obj.holes)
    assert poly.is_valid
    assert poly.area == pytest.approx(90 * 40)
    assert poly.bounds == (60, 20, 150, 60)
    assert len(merged.obj.exterior) == 4  # the seam vertices are gone
    assert merged.obj.score == pytest.approx((0.8 * 1600 + 0.4 * 2000) / 3600)
    assert merged.obj.label == "Water"  # label of the largest part


def test_dissolve_keeps_hole_made_across_seam():
    whole = shapely.box(60, 20, 140, 80).difference(shapely.box(90, 40, 110, 60))
    left, right = (0, 0, 100, 100), (100, 0, 100, 100)
    a = whole.intersection(shapely.box(0, 0, 100, 100))
    b = whole.intersection(shapely.box(100, 0, 200, 100))
    result = merge_candidates([Candidate(region(a), left), Candidate(region(b), right)], RASTER)
    assert len(result) == 1
    obj = result[0].obj
    assert len(obj.holes) == 1
    poly = shapely.Polygon(obj.exterior, obj.holes)
    assert poly.is_valid and poly.area == pytest.approx(80 * 60 - 20 * 20)
    assert obj.score is None


def test_dissolve_bridges_subpixel_gap_but_not_distant_parts():
    left, right = (0, 0, 100, 100), (100, 0, 100, 100)
    a = Candidate(region(shapely.box(60, 20, 99.6, 60)), left)
    b = Candidate(region(shapely.box(100, 20, 150, 60)), right)
    far = Candidate(region(shapely.box(105, 70, 120, 90)), right)
    result = merge_candidates([a, b, far], RASTER)
    assert sorted(m.sources for m in result) == [(0, 1), (2,)]
    joined = next(m.obj for m in result if m.sources == (0, 1))
    poly = shapely.Polygon(joined.exterior)
    assert poly.is_valid and poly.area == pytest.approx(90 * 40, abs=1.0)


def test_dissolve_leaves_same_tile_and_other_label_polygons_apart():
    tile = (0, 0, 100, 100)
    a = Candidate(region(shapely.box(10, 10, 30, 30)), tile)
    b = Candidate(region(shapely.box(30, 10, 50, 30)), tile)  # touches a, same tile: two instances
    c = Candidate(region(shapely.box(100, 10, 120, 30), label="field"), (100, 0, 100, 100))
    d = Candidate(region(shapely.box(80, 10, 100, 30), label="water"), tile)  # meets c: other label
    result = merge_candidates([a, b, c, d], RASTER)
    assert [m.sources for m in result] == [(0,), (1,), (2,), (3,)]
    assert [m.obj for m in result] == [a.obj, b.obj, c.obj, d.obj]


def test_dissolve_chain_across_three_tiles():
    wins = [(0, 0, 100, 100), (100, 0, 100, 100), (200, 0, 100, 100)]
    parts = [shapely.box(50, 10, 100, 20), shapely.box(100, 10, 200, 20), shapely.box(200, 10, 260, 20)]
    out = dissolve_polygons([region(p, score=0.5) for p in parts], wins)
    assert len(out) == 1
    obj, sources = out[0]
    assert sources == (0, 1, 2)
    assert shapely.Polygon(obj.exterior).area == pytest.approx(210 * 10)
    assert obj.score == pytest.approx(0.5)


def test_merge_scales_to_thousands_with_strtree():
    rng = np.random.default_rng(1)
    tile = 256
    raster = (tile * 10, tile * 10)
    cands = []
    for _ in range(3000):
        c0, r0 = (int(v) * tile for v in rng.integers(0, 10, 2))
        x, y = c0 + rng.uniform(0, tile - 30), r0 + rng.uniform(0, tile - 30)
        w = rng.uniform(5, 30)
        # duplicates: each object reported twice with jitter
        for dx in (0.0, rng.uniform(-1, 1)):
            box = rbox(x + dx, y, x + dx + w, y + w, score=float(rng.random()))
            cands.append(Candidate(box, (c0, r0, tile, tile)))
    for _ in range(1000):
        c0, r0 = (int(v) * tile for v in rng.integers(0, 9, 2))
        y = r0 + rng.uniform(0, tile - 20)
        seam = c0 + tile
        cands.append(Candidate(region(shapely.box(seam - 10, y, seam, y + 10)), (c0, r0, tile, tile)))
        cands.append(Candidate(region(shapely.box(seam, y, seam + 10, y + 10)), (seam, r0, tile, tile)))
    start = time.perf_counter()
    result = merge_candidates(cands, raster)
    elapsed = time.perf_counter() - start
    boxes = [m for m in result if isinstance(m.obj, RotatedBox)]
    polys = [m for m in result if isinstance(m.obj, PolygonRegion)]
    assert len(boxes) <= 3000  # every jittered duplicate (IoU > 0.8) is gone
    assert len(polys) <= 1000  # every pair of seam halves is joined
    assert all(shapely.Polygon(m.obj.exterior, m.obj.holes).is_valid for m in polys)
    assert elapsed < 20.0, f"merging 8000 candidates took {elapsed:.1f} s"


# -- objects larger than the overlap: cut in every tile that sees them ------------------------------------

SEAM_RASTER = (480, 256)
LEFT_TILE, RIGHT_TILE = (0, 0, 256, 256), (224, 0, 256, 256)  # 32 px overlap, seams at x=256 and x=224


def test_pieces_of_an_object_wider_than_the_overlap_are_joined():
    # the object spans x 150..400: the left tile sees 150..256, the right one 224..400, both cut
    left = Candidate(rbox(150, 60, 256, 120, label="field", score=0.8), LEFT_TILE)
    right = Candidate(rbox(224, 60, 400, 120, label="field", score=0.6), RIGHT_TILE)
    merged = merge_candidates([left, right], SEAM_RASTER)
    assert len(merged) == 1 and merged[0].sources == (0, 1)
    joined = shapely.Polygon(merged[0].obj.corners)
    assert joined.symmetric_difference(shapely.box(150, 60, 400, 120)).area < 1e-6
    assert merged[0].obj.score == pytest.approx(0.7) and merged[0].obj.label == "field"


def test_distinct_cut_objects_meeting_at_a_corner_stay_apart():
    # an L: their union fills well under 70 % of its bounding rectangle
    left = Candidate(rbox(200, 10, 256, 200, label="field"), LEFT_TILE)
    right = Candidate(rbox(224, 190, 450, 250, label="field"), RIGHT_TILE)
    assert len(merge_candidates([left, right], SEAM_RASTER)) == 2


def test_pieces_of_different_labels_or_the_same_tile_are_not_joined():
    a = Candidate(rbox(150, 60, 256, 120, label="field"), LEFT_TILE)
    b = Candidate(rbox(224, 60, 400, 120, label="lake"), RIGHT_TILE)
    c = Candidate(rbox(240, 130, 256, 200, label="field"), LEFT_TILE)
    d = Candidate(rbox(200, 125, 256, 135, label="field"), LEFT_TILE)
    assert len(merge_candidates([a, b], SEAM_RASTER)) == 2
    assert len(merge_candidates([c, d], SEAM_RASTER)) == 2


def test_segmentation_targets_join_with_all_their_keypoints():
    left = Candidate(SegTarget((150, 60, 256, 120), ((200, 90),), label="roof"), LEFT_TILE)
    right = Candidate(SegTarget((224, 60, 400, 120), ((300, 90), (350, 100)), label="roof"), RIGHT_TILE)
    (merged,) = merge_candidates([left, right], SEAM_RASTER)
    assert merged.obj.bbox == (150, 60, 400, 120)
    assert sorted(merged.obj.keypoints) == [(200, 90), (300, 90), (350, 100)]


# ---- pieces cut by a tile edge ---------------------------------------------------------------------

LEFT, RIGHT = (0, 0, 120, 100), (80, 0, 120, 100)  # 40 px of overlap: a seam at x=80 and one at x=120


def test_rotated_sliver_of_an_object_the_other_tile_saw_whole_is_dropped():
    whole = rotated(88, 50, 36, 12, -20, label="plane")  # inside the left tile, crossing the right's edge x=80
    # the right tile sees the part right of x=80 and answers a box around it, axis-aligned: it sticks out of
    # the whole box, so less than 80 % of it lies inside (the old containment rule kept it)
    visible = box_polygon(whole).intersection(shapely.box(80, 0, 200, 100))
    sliver = rbox(*visible.bounds, label="plane")
    assert box_polygon(sliver).intersection(box_polygon(whole)).area / box_polygon(sliver).area < 0.8
    result = merge_candidates([Candidate(whole, LEFT), Candidate(sliver, RIGHT)], RASTER)
    assert [m.obj for m in result] == [whole]


def test_distinct_objects_a_few_pixels_apart_across_a_seam_stay_distinct():
    a, b = rbox(70, 20, 100, 30, label="car"), rbox(70, 33, 100, 43, label="car")  # 3 px apart, seam at x=80
    piece_a, piece_b = rbox(80, 20, 100, 30, label="car"), rbox(80, 33, 100, 43, label="car")
    result = merge_candidates([Candidate(a, LEFT), Candidate(b, LEFT), Candidate(piece_a, RIGHT),
                               Candidate(piece_b, RIGHT)], RASTER)
    assert sorted(box_polygon(m.obj).bounds for m in result) == sorted([box_polygon(a).bounds, box_polygon(b).bounds])


def test_polygon_piece_is_dropped_instead_of_growing_the_whole_polygon():
    whole = shapely.Polygon([(90, 30), (110, 25), (115, 45), (95, 50)])  # seen whole by the left tile
    # the right tile's outline of the part right of x=80 is off by a few pixels: dissolving it would add area
    piece = shapely.Polygon([(80, 28), (112, 22), (117, 47), (80, 52)])
    result = merge_candidates([Candidate(region(whole, label="pond"), LEFT),
                               Candidate(region(piece, label="pond"), RIGHT)], RASTER)
    assert len(result) == 1
    assert shapely.Polygon(result[0].obj.exterior).equals(whole) and result[0].sources == (0,)


def test_polygons_cut_in_both_tiles_are_still_dissolved():
    left_part = shapely.box(60, 20, 120, 60)  # cut by the left tile's edge x=120
    right_part = shapely.box(80, 20, 150, 60)  # cut by the right tile's edge x=80
    result = merge_candidates([Candidate(region(left_part), LEFT), Candidate(region(right_part), RIGHT)], RASTER)
    assert len(result) == 1 and shapely.Polygon(result[0].obj.exterior).equals(shapely.box(60, 20, 150, 60))
