"""Interior keypoints and boxes of masks (model_backend.data.keypoints)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from model_backend.data.keypoints import interior_keypoints, mask_bbox_xyxy_px, mask_to_seg_target


def test_bbox_is_in_pixel_corners():
    m = np.zeros((10, 20), bool)
    m[2:5, 3:9] = True  # rows 2..4, cols 3..8 -> x 3..9, y 2..5 in corner convention
    assert mask_bbox_xyxy_px(m) == (3.0, 2.0, 9.0, 5.0)
    assert mask_bbox_xyxy_px(np.zeros((4, 4), bool)) is None


def test_first_point_is_the_deepest_pixel_and_points_spread():
    m = np.zeros((21, 61), bool)
    m[0:21, 0:61] = True
    pts = interior_keypoints(m, 3, seed=0)
    # Deepest pixels are on the centre row (10); the border counts as background.
    assert pts[0][1] == 10.5
    xs = sorted(p[0] for p in pts)
    # Points are spread along the long axis, not clustered: gaps of at least 15 px.
    assert xs[1] - xs[0] >= 15 and xs[2] - xs[1] >= 15


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(3)
    m = ndimage.binary_dilation(rng.random((40, 40)) > 0.97, iterations=4)
    assert interior_keypoints(m, 4, seed=7) == interior_keypoints(m, 4, seed=7)


def test_l_shape_points_inside_and_away_from_edges():
    m = np.zeros((50, 50), bool)
    m[5:45, 5:15] = True
    m[35:45, 5:45] = True
    pts = interior_keypoints(m, 3, seed=1, min_depth=0.5)
    depth = ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
    for x, y in pts:
        assert m[int(y), int(x)]
        assert depth[int(y), int(x)] >= 0.5 * depth.max()
    assert len(set(pts)) == 3


def test_small_mask_gives_fewer_points_and_empty_none():
    m = np.zeros((5, 5), bool)
    m[2, 2] = True
    assert interior_keypoints(m, 3) == [(2.5, 2.5)]
    assert mask_to_seg_target(np.zeros((5, 5), bool)) is None
    with pytest.raises(ValueError):
        interior_keypoints(m, -1)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_property_points_inside_within_box(seed, n):
    rng = np.random.default_rng(seed)
    m = ndimage.binary_dilation(rng.random((30, 30)) > 0.98, iterations=3)
    if not m.any():
        m[10:14, 10:14] = True
    t = mask_to_seg_target(m, n, seed=seed)
    x1, y1, x2, y2 = t.bbox
    assert 1 <= len(t.keypoints) <= n
    for x, y in t.keypoints:
        assert m[int(y), int(x)]
        assert x1 < x < x2 and y1 < y < y2
