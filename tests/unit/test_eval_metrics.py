"""Benchmark metrics against hand-computed cases (model_backend.evaluation.metrics)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_backend.evaluation import (
    ChangeScore,
    GroundingScore,
    SegmentationScore,
    box_iou_xyxy,
    exact_match,
    mask_inter_union,
    normalize_answer,
    polygon_iou,
    rasterize_rings,
)


def test_box_iou_by_hand():
    # (0,0,10,10) and (5,5,15,15): intersection 5*5 = 25, union 100 + 100 - 25 = 175 -> 1/7
    assert box_iou_xyxy((0, 0, 10, 10), (5, 5, 15, 15)) == pytest.approx(1 / 7)
    assert box_iou_xyxy((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    ring = lambda b: [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]  # noqa: E731
    assert polygon_iou(ring((0, 0, 10, 10)), ring((5, 5, 15, 15))) == pytest.approx(1 / 7)


def test_rotated_iou_by_hand():
    # The 2x2 square (area 4) is inscribed in the diamond |x-1|+|y-1| <= 2 (area 4*4/2 = 8):
    # intersection 4, union 8 -> 0.5
    square = [(0, 0), (2, 0), (2, 2), (0, 2)]
    diamond = [(1, -1), (3, 1), (1, 3), (-1, 1)]
    assert polygon_iou(square, diamond) == pytest.approx(0.5)
    # A 45-degree rotated copy of a square about its centre: side 2 centred (1,1); the overlap is a
    # regular octagon of area 8(sqrt2-1) = 3.3137; union 4 + 4 - 3.3137 = 4.6863 -> 0.70711
    r = np.sqrt(2)
    rotated = [(1, 1 - r), (1 + r, 1), (1, 1 + r), (1 - r, 1)]
    assert polygon_iou(square, rotated) == pytest.approx(8 * (r - 1) / (8 - 8 * (r - 1)), rel=1e-6)


def test_grounding_accuracy_by_hand():
    g = GroundingScore()
    for iou in (1 / 7, 0.5, 0.9):
        g.add(iou)
    # 0.5 counts as a hit: 2 of 3; mean (0.142857 + 0.5 + 0.9) / 3 = 0.514286
    assert g.accuracy == pytest.approx(2 / 3)
    assert g.mean_iou == pytest.approx(0.514286, abs=1e-6)


def test_referring_segmentation_by_hand():
    s = SegmentationScore()
    for inter, union in ((30, 40), (10, 50), (0, 20)):
        s.add(inter, union)
    # IoUs 0.75, 0.2, 0 -> mIoU 0.95/3 = 0.316667; oIoU (30+10+0)/(40+50+20) = 40/110; P@0.5 1/3
    assert s.miou == pytest.approx(0.95 / 3)
    assert s.oiou == pytest.approx(40 / 110)
    assert s.precision == pytest.approx(1 / 3)


def test_change_miou_by_hand():
    c = ChangeScore()
    ref = np.zeros((4, 4), bool)
    ref[0:2, 0:2] = True  # 4 px
    pred = np.zeros((4, 4), bool)
    pred[0:2, 0:3] = True  # 6 px covering the reference
    c.add("building", pred, ref)  # tp 4, fp 2, fn 0, tn 10
    ref2 = np.zeros((4, 4), bool)
    ref2[3, 0:2] = True  # 2 px, nothing predicted: tp 0, fp 0, fn 2, tn 14
    c.add("road", np.zeros((4, 4), bool), ref2)
    ious = c.class_iou()
    # building 4/(4+2+0); road 0/2; background tp 10+14, fp 0+2, fn 2+0 -> 24/28
    assert ious == pytest.approx({"background": 24 / 28, "building": 4 / 6, "road": 0.0})
    assert c.miou == pytest.approx((24 / 28 + 4 / 6 + 0) / 3)


def test_vqa_normalisation():
    assert normalize_answer("The  Airport!") == "airport"
    assert exact_match("an airport.", ["Airport"])
    assert exact_match("Yes", ["no", "yes"])
    assert not exact_match("two", ["2"])


def test_rasterize_and_mask_counts():
    m = rasterize_rings([[(2, 1), (6, 1), (6, 3), (2, 3)]], (8, 5))
    assert m.shape == (5, 8) and m.sum() == 8 and m[1:3, 2:6].all()
    assert mask_inter_union(m, np.ones((5, 8), bool)) == (8, 40)
    with pytest.raises(ValueError):
        mask_inter_union(m, np.ones((4, 8), bool))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 50), min_size=4, max_size=4), st.lists(st.floats(0, 50), min_size=4, max_size=4))
def test_property_box_and_polygon_iou_agree(a, b):
    a = (min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]) + 1, max(a[1], a[3]) + 1)
    b = (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]) + 1, max(b[1], b[3]) + 1)
    ring = lambda q: [(q[0], q[1]), (q[2], q[1]), (q[2], q[3]), (q[0], q[3])]  # noqa: E731
    iou = box_iou_xyxy(a, b)
    assert 0.0 <= iou <= 1.0
    assert iou == pytest.approx(polygon_iou(ring(a), ring(b)), abs=1e-9)
    assert box_iou_xyxy(a, a) == pytest.approx(1.0)
