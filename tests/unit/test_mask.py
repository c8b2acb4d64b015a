"""Binary mask -> polygons in the mask's pixel frame (corner convention)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model_backend.geometry import PolygonRegion
from model_backend.vector.mask import mask_to_polygons


def as_shapely(region: PolygonRegion) -> shapely.Polygon:
    return shapely.Polygon(region.exterior, region.holes)


def test_square_area_and_bounds_exact():
    mask = np.zeros((20, 30), dtype=bool)
    mask[4:14, 7:17] = True  # rows 4..13, columns 7..16
    [region] = mask_to_polygons(mask)
    poly = as_shapely(region)
    assert poly.area == 100.0
    assert poly.bounds == (7.0, 4.0, 17.0, 14.0)
    assert len(region.exterior) == 4
    assert region.label is None and region.score is None


def test_single_pixel_wide_line_follows_corner_convention():
    mask = np.zeros((10, 12), dtype=np.uint8)
    mask[:, 5] = 1  # column 5 covers x in [5, 6]
    [region] = mask_to_polygons(mask, min_area_px=1)
    poly = as_shapely(region)
    assert poly.bounds == (5.0, 0.0, 6.0, 10.0)
    assert poly.area == 10.0  # simplification must not collapse a thin line


def test_single_pixel():
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 3] = True
    [region] = mask_to_polygons(mask, min_area_px=1)
    assert as_shapely(region).bounds == (3.0, 2.0, 4.0, 3.0)


def test_hole_kept():
    mask = np.zeros((30, 30), dtype=bool)
    mask[2:22, 3:23] = True
    mask[8:14, 9:15] = False  # a 6x6 hole
    [region] = mask_to_polygons(mask)
    assert len(region.holes) == 1
    poly = as_shapely(region)
    assert poly.is_valid
    assert poly.area == 400 - 36
    assert shapely.Polygon(region.holes[0]).bounds == (9.0, 8.0, 15.0, 14.0)


def test_small_hole_filled_and_speck_dropped():
    mask = np.zeros((30, 30), dtype=bool)
    mask[2:22, 3:23] = True
    mask[10:12, 10:12] = False  # 4 px hole < 16: filled
    mask[26:28, 26:28] = True  # 4 px speck < 16: dropped
    regions = mask_to_polygons(mask)
    assert len(regions) == 1
    assert regions[0].holes == ()
    assert as_shapely(regions[0]).area == 400
    # with a lower threshold both survive
    regions = mask_to_polygons(mask, min_area_px=4)
    assert sorted(as_shapely(r).area for r in regions) == [4, 396]


def test_l_shape():
    mask = np.zeros((10, 10), dtype=bool)
    mask[0:8, 0:3] = True
    mask[5:8, 0:9] = True
    [region] = mask_to_polygons(mask)
    poly = as_shapely(region)
    assert poly.area == 8 * 3 + 3 * 6
    assert len(region.exterior) == 6
    assert shapely.normalize(poly).equals_exact(
        shapely.normalize(shapely.Polygon([(0, 0), (3, 0), (3, 5), (9, 5), (9, 8), (0, 8)])), 1e-9
    )


def test_diagonal_pixels_are_separate_polygons():
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:3, 1:3] = True
    mask[3:5, 3:5] = True
    regions = mask_to_polygons(mask, min_area_px=1)
    assert sorted(as_shapely(r).area for r in regions) == [4, 4]


def test_simplify_reduces_staircase_and_keeps_valid():
    yy, xx = np.mgrid[:200, :200]
    mask = (yy - 100) ** 2 + (xx - 100) ** 2 < 60**2
    [rough] = mask_to_polygons(mask, simplify_px=0)
    [smooth] = mask_to_polygons(mask, simplify_px=1.0)
    assert len(smooth.exterior) < len(rough.exterior) / 4
    assert as_shapely(smooth).is_valid
    assert as_shapely(rough).area == mask.sum()
    assert as_shapely(smooth).area == pytest.approx(mask.sum(), rel=0.02)


def test_empty_and_bad_shape():
    assert mask_to_polygons(np.zeros((4, 4), dtype=bool)) == []
    with pytest.raises(ValueError, match="2-D"):
        mask_to_polygons(np.zeros((1, 4, 4), dtype=bool))


def count_components_4(mask: np.ndarray) -> int:
    """Edge-connected foreground components, by flood fill (reference for small masks)."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    count = 0
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        count += 1
        stack = [(r0, c0)]
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
    return count


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 24), st.integers(1, 24))))
def test_unsimplified_polygons_cover_exactly_the_mask(mask):
    regions = mask_to_polygons(mask, min_area_px=0, simplify_px=0)
    polys = [as_shapely(r) for r in regions]
    assert all(p.is_valid for p in polys)
    assert sum(p.area for p in polys) == mask.sum()
    assert len(polys) == count_components_4(mask)
    # every polygon is in the mask's corner frame
    h, w = mask.shape
    for p in polys:
        minx, miny, maxx, maxy = p.bounds
        assert 0 <= minx and 0 <= miny and maxx <= w and maxy <= h


@settings(max_examples=30, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 32), st.integers(1, 32))), st.floats(0, 3))
def test_simplified_polygons_valid(mask, tol):
    for region in mask_to_polygons(mask, min_area_px=2, simplify_px=tol):
        assert as_shapely(region).is_valid
