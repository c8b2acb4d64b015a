"""Ring sanitising: whatever points a model gives, the result is a valid simple ring or nothing."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from model_backend.geometry.rings import dedupe_ring, sanitize_quad, sanitize_ring

coord = st.integers(min_value=0, max_value=40).map(float)
point = st.tuples(coord, coord)


def test_valid_ring_is_returned_unchanged_without_warning():
    ring = [(0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (4.0, 8.0), (0.0, 5.0)]
    assert sanitize_ring(ring) == (ring, None)


def test_closing_point_and_consecutive_duplicates_are_dropped():
    ring, warning = sanitize_ring([(0, 0), (0, 0), (10, 0), (10, 10), (10, 10), (0, 10), (0, 0)])
    assert ring == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert warning is None


def test_bow_tie_is_repaired_to_its_largest_part_with_a_warning():
    # edges cross at (5, 5): lobes of area 25 (left) and 6.25 (right)
    ring, warning = sanitize_ring([(0, 0), (0, 10), (7.5, 2.5), (7.5, 7.5)])
    assert ring is not None and Polygon(ring).is_valid
    assert "self-intersecting" in warning and "largest of 2" in warning
    assert math.isclose(Polygon(ring).area, max(p.area for p in _lobes()), rel_tol=1e-9)


def _lobes():
    return [Polygon([(0, 0), (0, 10), (5, 5)]), Polygon([(5, 5), (7.5, 2.5), (7.5, 7.5)])]


def test_too_few_points_collinear_and_non_finite_are_dropped():
    assert sanitize_ring([(0, 0), (1, 1)])[0] is None
    assert sanitize_ring([(0, 0), (5, 5), (10, 10), (0, 0)])[0] is None
    assert "zero area" in sanitize_ring([(0, 0), (5, 0), (10, 0)])[1]
    ring, warning = sanitize_ring([(0, 0), (float("nan"), 3), (4, 0), (4, 4)])
    assert ring == [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)] and "non-finite" in warning


def test_quad_in_crossing_order_is_reordered():
    corners, warning = sanitize_quad([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert sorted(corners) == [(0.0, 0.0), (0.0, 10.0), (10.0, 0.0), (10.0, 10.0)]
    assert Polygon(corners).is_valid and Polygon(corners).area == 100.0
    assert "reordered" in warning


def test_degenerate_quads_are_dropped():
    assert sanitize_quad([(0, 0), (10, 0), (20, 0), (30, 0)])[0] is None
    assert sanitize_quad([(0, 0), (10, 0), (10, 10), (10, 10)])[0] is None
    assert sanitize_quad([(0, 0), (10, 0), (10, 10)])[0] is None


def test_dedupe_ring():
    assert dedupe_ring([(1, 1), (1, 1), (2, 2), (1, 1)]) == [(1, 1), (2, 2)]


@settings(max_examples=150, deadline=None)
@given(st.lists(point, max_size=12))
def test_any_points_give_a_valid_ring_inside_their_envelope_or_none(points):
    ring, warning = sanitize_ring(points)
    if ring is None:
        assert warning
        return
    poly = Polygon(ring)
    assert poly.is_valid and poly.area > 0
    assert ring[0] != ring[-1] and all(a != b for a, b in zip(ring, ring[1:]))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert all(min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys) for x, y in ring)
    if Polygon(dedupe_ring([(float(x), float(y)) for x, y in points])).is_valid:
        assert warning is None


@settings(max_examples=100, deadline=None)
@given(st.lists(point, min_size=4, max_size=4))
def test_any_four_points_give_a_valid_quad_or_none(points):
    corners, warning = sanitize_quad(points)
    if corners is None:
        assert warning
        return
    assert len(corners) == 4 and sorted(corners) == sorted((float(x), float(y)) for x, y in points)
    assert Polygon(corners).is_valid and Polygon(corners).area > 0
