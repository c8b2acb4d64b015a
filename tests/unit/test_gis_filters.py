"""The GIS measures a plan's conditions use, on hand-computed cases, in a projected CRS (UTM 33N) and
in EPSG:4326.

The UTM fixtures sit on the zone's central meridian (x = 500 000), where the grid scale is exactly
k0 = 0.9996: a 100 m x 50 m grid box is 5000 m² in the grid and 5000 / 0.9996² m² on the ground, and
a 100 m grid distance is 100 / 0.9996 m on the ground. EPSG:4326 measures on the ground (geodesic
areas, local transverse Mercator with scale 1), so the 4326 cases expect the ground values.
"""

import math

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from model_backend.conditions import (
    Direction,
    Distance,
    Measure,
    Not,
    Plan,
    Quantity,
    Reference,
    Target,
    Topology,
    execute_plan,
    find_layer,
    resolve_layer,
)
from model_backend.conditions.executor import ObjectMeasures
from model_backend.errors import ConfigError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget

UTM = "EPSG:32633"
X0, Y0 = 500_000.0, 5_000_000.0
K0 = 0.9996
TO_4326 = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def utm_box(x, y, w, h, label=None) -> PolygonRegion:
    """Axis-aligned box with lower-left corner at (X0 + x, Y0 + y), in UTM metres."""
    return PolygonRegion(
        ((X0 + x, Y0 + y), (X0 + x + w, Y0 + y), (X0 + x + w, Y0 + y + h), (X0 + x, Y0 + y + h)), label=label
    )


def to_4326(obj):
    return obj.map_xy(lambda p: TO_4326.transform(*p))


def rotated_rect(cx, cy, length, width, angle_deg) -> RotatedBox:
    a = math.radians(angle_deg)
    ux, uy = math.cos(a), math.sin(a)
    vx, vy = -uy, ux
    hl, hw = length / 2, width / 2
    corners = [
        (cx + sx * hl * ux + sy * hw * vx, cy + sx * hl * uy + sy * hw * vy)
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    return RotatedBox(tuple(corners))


def ground(grid_m: float) -> float:
    return grid_m / K0


def areas(objs, crs):
    return ObjectMeasures(objs, crs).areas_m2()


def extents(objs, crs):
    m = ObjectMeasures(objs, crs)
    return m.lengths_m(), m.widths_m()


def against(objs, crs, geoms, layer_crs):
    """Measures of ``objs`` with reference ``r1`` = ``geoms`` in ``layer_crs``."""
    return ObjectMeasures(objs, crs, {"r1": (geoms, layer_crs)})


def keep(objs, crs, where, layers=None, refs=()):
    """The objects a plan with condition ``where`` keeps; ``refs``: (id, layer name) pairs."""
    references = tuple(Reference(rid, name, "layer", layer=name) for rid, name in refs)
    plan = Plan("detection", (Target("things"),), references, where=where)
    return execute_plan(plan, objs, crs, layers).objects


def q(value, unit):
    return Quantity(value, unit)


# ------------------------------------------------------------------------------------------ areas


def test_area_of_box_in_utm_and_4326():
    b = utm_box(0, 0, 100, 50)
    assert areas([b], UTM)[0] == pytest.approx(5000.0, abs=1e-6)
    assert areas([to_4326(b)], "EPSG:4326")[0] == pytest.approx(5000.0 / K0**2, abs=0.5)


def test_area_counts_holes_and_accepts_any_winding():
    outer = ((X0, Y0), (X0, Y0 + 100), (X0 + 100, Y0 + 100), (X0 + 100, Y0))  # clockwise
    hole = ((X0 + 10, Y0 + 10), (X0 + 30, Y0 + 10), (X0 + 30, Y0 + 30), (X0 + 10, Y0 + 30))
    poly = PolygonRegion(outer, holes=(hole,))
    assert areas([poly], UTM)[0] == pytest.approx(10_000 - 400)
    assert areas([to_4326(poly)], pyproj.CRS("EPSG:4326"))[0] == pytest.approx(9600 / K0**2, abs=1)


def test_area_in_web_mercator_is_ground_area():
    # At 60°N Web Mercator stretches lengths by 1/cos(60°) = 2: a planar area would be 4x too big.
    to_3857 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x, y = to_3857.transform(10.0, 60.0)
    b = PolygonRegion(((x, y), (x + 200, y), (x + 200, y + 100), (x, y + 100)))
    # Web Mercator puts ellipsoidal lat/lon through spherical formulas: on the WGS84 ellipsoid the
    # ground sizes are grid * cos(lat) * N/a (east-west) and grid * cos(lat) * M/a (north-south).
    e2 = pyproj.Geod(ellps="WGS84").es
    s2 = math.sin(math.radians(60.0)) ** 2
    n_over_a = 1 / math.sqrt(1 - e2 * s2)
    m_over_a = (1 - e2) / (1 - e2 * s2) ** 1.5
    want = (200 * 0.5 * n_over_a) * (100 * 0.5 * m_over_a)  # about 5016.7 m², not 20 000
    assert areas([b], "EPSG:3857")[0] == pytest.approx(want, abs=0.5)


def test_area_in_us_survey_feet():
    # NY Long Island state plane: axis unit is the US survey foot
    b = PolygonRegion(((1e6, 2e5), (1e6 + 100, 2e5), (1e6 + 100, 2e5 + 50), (1e6, 2e5 + 50)))
    ft = 1200 / 3937
    assert areas([b], "EPSG:2263")[0] == pytest.approx(5000 * ft**2)


def test_seg_target_counts_as_its_box_and_points_have_no_area():
    t = SegTarget((X0, Y0, X0 + 20, Y0 + 10), keypoints=((X0 + 5, Y0 + 5),))
    p = GeoPoint(45.0, 15.0)
    got = areas([t, p], UTM)
    assert got[0] == pytest.approx(200.0)
    assert got[1] == 0.0


def test_perimeter_in_utm_and_4326_holes_included():
    outer = ((X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 50), (X0, Y0 + 50))
    hole = ((X0 + 10, Y0 + 10), (X0 + 20, Y0 + 10), (X0 + 20, Y0 + 20), (X0 + 10, Y0 + 20))
    poly = PolygonRegion(outer, holes=(hole,))
    assert ObjectMeasures([poly], UTM).perimeters_m()[0] == pytest.approx(300.0 + 40.0)
    got = ObjectMeasures([to_4326(poly)], "EPSG:4326").perimeters_m()[0]
    assert got == pytest.approx(ground(340.0), abs=0.05)


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_area_conditions_with_units(crs):
    small = utm_box(0, 0, 10, 10)  # 100 m²
    mid = utm_box(100, 0, 100, 50)  # 5000 m²
    big = utm_box(300, 0, 200, 200)  # 4 ha
    objs = [small, mid, big] if crs == UTM else [to_4326(o) for o in (small, mid, big)]
    assert keep(objs, crs, Measure("area", ">", q(500, "m²"))) == objs[1:]
    assert keep(objs, crs, Measure("area", "<", q(2, "ha"))) == objs[:2]
    assert keep(objs, crs, Measure("area", ">", q(0.01, "km²"))) == objs[2:]
    # 1 acre = 4047 m²
    assert keep(objs, crs, Measure("area", ">=", q(1, "acres"))) == objs[1:]
    assert keep(objs, crs, Measure("area", "between", q(50, "m²"), q(1, "ha"))) == objs[:2]


# ---------------------------------------------------------------------------------------- lengths


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 137.0])
def test_length_and_width_of_rotated_box(angle):
    r = rotated_rect(X0, Y0, 100.0, 50.0, angle)
    lengths, widths = extents([r], UTM)
    assert lengths[0] == pytest.approx(100.0)
    assert widths[0] == pytest.approx(50.0)
    lengths, widths = extents([to_4326(r)], "EPSG:4326")
    assert lengths[0] == pytest.approx(ground(100.0), abs=0.01)
    assert widths[0] == pytest.approx(ground(50.0), abs=0.01)


def test_length_of_polygon_is_longest_side_of_min_rotated_rectangle():
    # an L-shaped polygon whose minimum rotated rectangle is its 80 x 60 bounding box
    ring = ((0, 0), (80, 0), (80, 20), (20, 20), (20, 60), (0, 60))
    poly = PolygonRegion(tuple((X0 + x, Y0 + y) for x, y in ring))
    lengths, widths = extents([poly], UTM)
    assert (lengths[0], widths[0]) == pytest.approx((80.0, 60.0))


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_length_and_width_conditions(crs):
    ship = rotated_rect(X0, Y0, 120.0, 20.0, 25.0)
    boat = rotated_rect(X0 + 500, Y0, 30.0, 8.0, 70.0)
    objs = [ship, boat] if crs == UTM else [to_4326(ship), to_4326(boat)]
    assert keep(objs, crs, Measure("length", ">", q(100, "m"))) == objs[:1]
    assert keep(objs, crs, Measure("length", "<", q(100, "ft"))) == objs[1:]
    assert keep(objs, crs, Measure("width", ">", q(10, "m"))) == objs[:1]


# ------------------------------------------------------------------------------- distance and layers


def roads_layer_utm():
    # a horizontal road 300 m north of Y0, from x0-1 km to x0+1 km
    return [LineString([(X0 - 1000, Y0 + 300), (X0 + 1000, Y0 + 300)])]


def test_distance_to_layer_in_utm_and_4326_with_layer_in_other_crs():
    near = utm_box(0, 0, 100, 50)  # top edge at y0+50: 250 m from the road
    far = utm_box(0, -2000, 100, 50)  # 2250 m
    d = against([near, far], UTM, roads_layer_utm(), UTM).distances_m("r1")
    assert d == pytest.approx([250.0, 2250.0])
    # results in 4326, layer left in UTM: reprojected to the results' frame
    d = against([to_4326(near), to_4326(far)], "EPSG:4326", roads_layer_utm(), UTM).distances_m("r1")
    assert d == pytest.approx([ground(250.0), ground(2250.0)], abs=0.05)


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_distance_conditions_within_and_not_within(crs):
    near = utm_box(0, 0, 100, 50)  # 250 m
    mid = utm_box(0, -600, 100, 50)  # 850 m
    far = utm_box(0, -2000, 100, 50)  # 2250 m
    objs = [near, mid, far] if crs == UTM else [to_4326(o) for o in (near, mid, far)]
    layers = {"Roads.gpkg": (roads_layer_utm(), UTM)}
    refs = [("r1", "the roads layer")]
    assert keep(objs, crs, Distance("r1", "<=", q(300, "m")), layers, refs) == objs[:1]
    assert keep(objs, crs, Not(Distance("r1", "<=", q(1, "km"))), layers, refs) == objs[2:]
    assert keep(objs, crs, Distance("r1", "<", q(0.2, "mi")), layers, refs) == objs[:1]
    assert keep(objs, crs, Distance("r1", "between", q(500, "m"), q(1, "km")), layers, refs) == objs[1:2]


def test_distance_with_many_features_matches_brute_force():
    rng = np.random.default_rng(7)
    pts = [Point(X0 + x, Y0 + y) for x, y in rng.uniform(-5000, 5000, size=(2000, 2))]
    objs = [utm_box(x, y, 20, 20) for x, y in rng.uniform(-5000, 5000, size=(50, 2))]
    got = against(objs, UTM, pts, None).distances_m("r1")
    polys = [shapely.Polygon(o.exterior) for o in objs]
    want = [min(p.distance(pt) for pt in pts) for p in polys]
    assert got == pytest.approx(want)


def test_empty_reference_gives_infinite_distance_and_no_relation():
    objs = [utm_box(0, 0, 10, 10)]
    m = against(objs, UTM, [], UTM)
    assert m.distances_m("r1")[0] == math.inf
    assert not m.intersects("r1")[0] and not m.inside("r1")[0] and not m.in_direction("r1", "north")[0]
    layers, refs = {"roads": ([], UTM)}, [("r1", "roads")]
    assert keep(objs, UTM, Distance("r1", "<=", q(1, "km")), layers, refs) == []
    assert keep(objs, UTM, Not(Distance("r1", "<=", q(1, "km"))), layers, refs) == objs


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_intersects_condition(crs):
    a = utm_box(0, 0, 100, 100)
    b = utm_box(500, 0, 100, 100)
    c = utm_box(1000, 0, 100, 100)
    strip = box(X0 + 50, Y0 + 50, X0 + 1010, Y0 + 60)  # overlaps all three
    parcels_4326 = [shapely.transform(strip, lambda xy: np.column_stack(TO_4326.transform(xy[:, 0], xy[:, 1])))]
    objs = [a, b, c] if crs == UTM else [to_4326(o) for o in (a, b, c)]
    assert list(against(objs, crs, parcels_4326, "EPSG:4326").intersects("r1")) == [True, True, True]
    layers = {"parcels": ([box(X0 + 50, Y0 + 50, X0 + 60, Y0 + 60), box(X0 + 520, Y0 + 20, X0 + 530, Y0 + 30)], UTM)}
    refs = [("r1", "Parcels layer")]
    assert keep(objs, crs, Topology("r1", "intersects"), layers, refs) == objs[:2]
    assert keep(objs, crs, Not(Topology("r1", "intersects")), layers, refs) == objs[2:]


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_inside_a_polygon_layer_is_covered_by_a_feature(crs):
    inside = utm_box(100, 100, 50, 50)
    straddling = utm_box(480, 100, 50, 50)  # crosses the park's east edge at x0+500
    outside = utm_box(800, 100, 50, 50)
    objs = [inside, straddling, outside]
    objs = objs if crs == UTM else [to_4326(o) for o in objs]
    layers, refs = {"parks": ([box(X0, Y0, X0 + 500, Y0 + 500)], UTM)}, [("r1", "parks")]
    assert keep(objs, crs, Topology("r1", "inside"), layers, refs) == objs[:1]
    assert keep(objs, crs, Not(Topology("r1", "inside")), layers, refs) == objs[1:]
    # outside = no part inside: the straddling one is neither inside nor outside
    assert keep(objs, crs, Not(Topology("r1", "intersects")), layers, refs) == objs[2:]


def test_inside_a_line_layer_means_touching_it():
    road = [LineString([(X0, Y0 + 50), (X0 + 1000, Y0 + 50)])]
    on = utm_box(100, 40, 20, 20)  # the centreline runs through it
    beside = utm_box(300, 70, 20, 20)
    m = against([on, beside], UTM, road, UTM)
    assert list(m.inside("r1")) == [True, False]


# -------------------------------------------------------------------------------------- directions


@pytest.mark.parametrize("crs", [UTM, "EPSG:4326"])
def test_north_and_south_of_a_river(crs):
    river = [LineString([(X0 - 1000, Y0), (X0, Y0 + 200), (X0 + 1000, Y0)])]  # a bend peaking at y0+200
    north = utm_box(-10, 250, 20, 20)  # above the peak
    south = utm_box(-10, 100, 20, 20)  # below the peak, but north of the river's end points
    far_east_south = utm_box(600, 0, 20, 20)  # under the falling limb: y ~ 80 on the river there
    objs = [north, south, far_east_south]
    objs = objs if crs == UTM else [to_4326(o) for o in objs]
    m = against(objs, crs, river, UTM)
    assert list(m.in_direction("r1", "north")) == [True, False, False]
    assert list(m.in_direction("r1", "south")) == [False, True, True]
    layers, refs = {"River": (river, UTM)}, [("r1", "the river")]
    assert keep(objs, crs, Direction("r1", "south"), layers, refs) == objs[1:]
    assert keep(objs, crs, Not(Direction("r1", "south")), layers, refs) == objs[:1]


def test_side_of_an_oblique_line_all_along_it_and_past_its_end():
    # a river running south-west to north-east: its east bank is its south-east side
    river = [LineString([(X0 - 1000, Y0 - 1000), (X0 + 1000, Y0 + 1000)])]
    se_bank = utm_box(190, -210, 20, 20)
    nw_bank = utm_box(-210, 190, 20, 20)
    past_the_end = utm_box(1490, 1190, 20, 20)  # north-east of the end point, on the south-east side
    m = against([se_bank, nw_bank, past_the_end], UTM, river, UTM)
    assert list(m.in_direction("r1", "east")) == [True, False, True]
    assert list(m.in_direction("r1", "south-east")) == [True, False, True]
    assert list(m.in_direction("r1", "north-west")) == [False, True, False]
    # the side of the line, not where the nearest point is: past the end is not "north" of the river
    assert list(m.in_direction("r1", "north")) == [False, True, False]


def test_direction_relative_to_polygon_and_compound_direction():
    harbour = [box(X0, Y0, X0 + 100, Y0 + 100)]
    ne = utm_box(150, 150, 10, 10)
    e = utm_box(150, 40, 10, 10)  # beside the east edge: nearest point has the same y
    inside = utm_box(40, 40, 10, 10)
    nw = utm_box(-50, 150, 10, 10)
    objs = [ne, e, inside, nw]
    m = against(objs, UTM, harbour, UTM)
    assert list(m.in_direction("r1", "north")) == [True, False, False, True]
    assert list(m.in_direction("r1", "east")) == [True, True, False, False]
    assert keep(objs, UTM, Direction("r1", "north-east"), {"harbour": (harbour, UTM)}, [("r1", "harbour")]) == [ne]


# --------------------------------------------------------------------------------- layer names, errors


@pytest.mark.parametrize(
    "name, layers, want",
    [
        ("the roads layer", ["Roads.gpkg", "rivers"], "Roads.gpkg"),
        ("roads", ["road", "rivers"], "road"),
        ("the runways", ["runway", "apron", "river"], "runway"),
        ("any ferries", ["ferry", "ports"], "ferry"),
        ("Rivers", ["river_network", "rivers"], "rivers"),
        ("rivers", ["osm_rivers_2020", "roads"], "osm_rivers_2020"),
        ("harbour area", ["Harbour_Area.shp"], "Harbour_Area.shp"),
        ("the coast", ["coastline", "ports"], "coastline"),
        ("lakes", ["roads"], None),
    ],
)
def test_find_layer_is_tolerant(name, layers, want):
    assert find_layer(name, layers) == want


def test_ambiguous_layer_name_is_an_error():
    with pytest.raises(ConfigError, match="ambiguous.*roads_a.*roads_b"):
        find_layer("roads", ["roads_a", "roads_b"])


def test_unknown_layer_lists_available_layers():
    layers = {"Roads.gpkg": (roads_layer_utm(), UTM), "parcels": ([], UTM)}
    with pytest.raises(ConfigError, match=r"'lakes'.*available layers: Roads\.gpkg, parcels"):
        resolve_layer("lakes", layers)
    # also when there is nothing to measure: the user's mistake is reported, not hidden
    with pytest.raises(ConfigError, match="available layers"):
        keep([], UTM, Topology("r1", "intersects"), layers, [("r1", "lakes")])


def test_missing_or_bad_crs_is_a_config_error():
    with pytest.raises(ConfigError, match="no CRS"):
        keep([utm_box(0, 0, 1, 1)], None, Measure("area", ">", q(1, "m²")))
    with pytest.raises(ConfigError, match="unknown CRS"):
        keep([utm_box(0, 0, 1, 1)], "EPSG:999999", Measure("area", ">", q(1, "m²")))
