"""From instruction to the objects kept, on a synthetic georeferenced scene with context layers: the
grammar's plan run by the executor, in UTM 33N and in EPSG:4326, checking exactly which objects stay.

The scene (metres from X0, Y0 on the UTM zone's central meridian; boxes by centre and side):

- ``pier``: a line from (0, 0) to (400, 0), running east; ``river``: a line from (900, -2000) to
  (1100, 2000), running north and a little east; ``apron``: the square x -1000..-500, y 500..900;
- a bridge across the river at x 950..1050, y 190..210, found "by the model" (given to the executor);
- objects: A (100, 60) 20 m, 50 m north of the pier; B (300, -130) 20 m, 120 m south of it; C (200, 310)
  40 m, 290 m north of it; D (-750, 700) 30 m, on the apron; E (-500, 700) 20 m, across the apron's
  east edge; F (1200, 100) 20 m, east of the river, 161 m from the bridge; G (800, -500) 20 m, west of
  the river; H (2500, 2500) 100 m, far to the north-east.
"""

import math

import pyproj
import pytest
from shapely.geometry import LineString, box

from model_backend.conditions import Plan, PlanError, Rank, Reference, Target, check_plan, execute_plan, parse_plan
from model_backend.conditions.executor import ObjectMeasures, ranked, rank_values
from model_backend.errors import ConfigError
from model_backend.geometry import PolygonRegion

UTM = "EPSG:32633"
X0, Y0 = 500_000.0, 5_000_000.0
TO_4326 = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)

OBJECTS = {"A": (100, 60, 20), "B": (300, -130, 20), "C": (200, 310, 40), "D": (-750, 700, 30),
           "E": (-500, 700, 20), "F": (1200, 100, 20), "G": (800, -500, 20), "H": (2500, 2500, 100)}
BRIDGE = box(X0 + 950, Y0 + 190, X0 + 1050, Y0 + 210)


def square(label, cx, cy, side):
    h = side / 2
    ring = ((X0 + cx - h, Y0 + cy - h), (X0 + cx + h, Y0 + cy - h), (X0 + cx + h, Y0 + cy + h), (X0 + cx - h, Y0 + cy + h))
    return PolygonRegion(ring, label=label)


def layers():
    return {
        "pier": ([LineString([(X0, Y0), (X0 + 400, Y0)])], UTM),
        "river": ([LineString([(X0 + 900, Y0 - 2000), (X0 + 1100, Y0 + 2000)])], UTM),
        "apron": ([box(X0 - 1000, Y0 + 500, X0 - 500, Y0 + 900)], UTM),
    }


@pytest.fixture(params=[UTM, "EPSG:4326"])
def scene(request):
    """(objects in the results' CRS, that CRS)."""
    objs = [square(k, *v) for k, v in OBJECTS.items()]
    if request.param != UTM:
        objs = [o.map_xy(lambda p: TO_4326.transform(*p)) for o in objs]
    return objs, request.param


def kept(instruction, scene, found=None, names=("pier", "river", "apron")):
    objs, crs = scene
    plan = parse_plan(instruction, layer_names=list(names))
    assert plan.parser == "grammar" and not any("did not understand" in w for w in plan.warnings), plan.describe()
    result = execute_plan(plan, objs, crs, layers(), found)
    return [o.label for o in result.objects], result


@pytest.mark.parametrize("instruction, want", [
    ("objects within 100 m of the pier", ["A"]),
    ("objects less than 300 metres from the pier", ["A", "B", "C"]),
    ("objects more than 1 km away from the pier", ["D", "H"]),
    ("objects between 100 and 300 m from the pier", ["B", "C"]),
    ("objects not within 100 m of the pier", ["B", "C", "D", "E", "F", "G", "H"]),
    ("objects near the pier", ["A"]),  # near: within the default 100 m
    ("objects north of the pier", ["A", "C", "D", "E", "F", "H"]),  # the pier's north side, all along the line
    ("objects south of the pier", ["B", "G"]),
    ("objects on the east bank of the river", ["F", "H"]),  # the river's east side, even past its end
    ("objects west of the river and south of the pier", ["B", "G"]),
    ("objects on the apron", ["D"]),  # covered by: E only straddles its edge
    ("objects outside the apron", ["A", "B", "C", "F", "G", "H"]),  # no part inside
    ("objects not on the apron", ["A", "B", "C", "E", "F", "G", "H"]),
    ("objects intersecting the apron", ["D", "E"]),
    ("objects within 100 m of the pier or on the apron", ["A", "D"]),
    ("objects either south of the pier or larger than 1000 m²", ["B", "C", "G", "H"]),
    ("objects larger than 500 m² but not on the apron", ["C", "H"]),
])
def test_conditions_keep_exactly_the_objects_meant(scene, instruction, want):
    assert kept(instruction, scene)[0] == want


@pytest.mark.parametrize("instruction, want", [
    ("the 2 objects closest to the pier", ["A", "B"]),
    ("the object farthest from the pier", ["H"]),
    ("the largest object", ["H"]),
    ("the northernmost object", ["H"]),
    ("the westernmost object", ["D"]),
    ("the two largest objects north of the pier", ["H", "C"]),  # after the conditions, in rank order
    ("of the objects south of the pier, the one closest to the river", ["G"]),
])
def test_rankings_keep_the_k_best_in_order(scene, instruction, want):
    assert kept(instruction, scene)[0] == want


def test_ties_at_the_cut_are_all_kept():
    # in UTM the 20 m squares have exactly equal areas: "the 3 smallest" keeps all five of them
    labels, _ = kept("the 3 smallest objects", ([square(k, *v) for k, v in OBJECTS.items()], UTM))
    assert labels == ["A", "B", "E", "F", "G"]


def test_counting_counts_the_objects_that_satisfy_the_conditions(scene):
    labels, result = kept("how many objects are north of the pier?", scene)
    assert result.count == 6 and labels == ["A", "C", "D", "E", "F", "H"]
    _, result = kept("count the objects on the apron", scene)
    assert result.count == 1
    _, result = kept("how many objects are there?", scene)
    assert result.count == 8


def test_a_reference_found_by_the_model_is_measured_like_a_layer(scene):
    objs, crs = scene
    bridge = BRIDGE if crs == UTM else box(*TO_4326.transform(X0 + 950, Y0 + 190), *TO_4326.transform(X0 + 1050, Y0 + 210))
    plan = parse_plan("objects within 200 m of a bridge", layer_names=["pier", "river", "apron"])
    (ref,) = plan.references
    assert ref.source == "model" and ref.task == "detection"
    assert execute_plan(plan, objs, crs, layers(), {ref.id: ([bridge], crs)}).objects[0].label == "F"
    assert len(execute_plan(plan, objs, crs, layers(), {ref.id: ([bridge], crs)}).objects) == 1
    # what the model found may come as its objects (here in the results' CRS)
    found_obj = PolygonRegion(tuple(bridge.exterior.coords)[:-1], label="bridge")
    assert [o.label for o in execute_plan(plan, objs, crs, layers(), {ref.id: ([found_obj], crs)}).objects] == ["F"]
    # nothing found: nothing is within 200 m of it, and everything is "not within"
    assert execute_plan(plan, objs, crs, layers(), {ref.id: ([], crs)}).objects == []
    negated = parse_plan("objects not within 200 m of a bridge", layer_names=[])
    assert len(execute_plan(negated, objs, crs, layers(), {"r1": ([], crs)}).objects) == 8
    with pytest.raises(ConfigError, match="found by the model first"):
        execute_plan(plan, objs, crs, layers())


def test_a_missing_layer_is_refused_before_anything_is_measured(scene):
    objs, crs = scene
    plan = parse_plan("objects within 100 m of the harbour layer", layer_names=["pier", "river", "apron"])
    with pytest.raises(ConfigError, match="available: apron, pier, river"):
        check_plan(plan, ["pier", "river", "apron"])
    with pytest.raises(ConfigError, match="no context layer matches 'harbour'"):
        execute_plan(plan, objs, crs, layers())
    assert execute_plan(Plan("detection", (Target("x"),)), [], crs).objects == []


def test_rank_values_and_the_ranking_rule():
    objs = [square(k, *v) for k, v in OBJECTS.items()]
    plan = Plan("detection", (Target("x"),), rank=Rank("northing", True, 2))
    values = rank_values(plan, ObjectMeasures(objs, UTM))
    assert values[7] == pytest.approx(2500.0 + Y0) and values[0] == pytest.approx(60.0 + Y0)
    nan = float("nan")
    assert ranked([0, 1, 2, 3], [3.0, nan, 3.0, 1.0], True, 1) == [0, 2]  # tie kept; no value, never ranked
    assert ranked([0, 1, 2], [1.0, 2.0, 3.0], False, 5) == [0, 1, 2]
    # no reference feature to measure from: no value
    by_distance = Plan("detection", (Target("x"),), (Reference("r1", "pier", "layer", layer="pier"),),
                       rank=Rank("distance", False, 1, "r1"))
    assert math.isnan(rank_values(by_distance, ObjectMeasures(objs[:1], UTM, {"r1": ([], UTM)}))[0])


def test_plan_types_refuse_a_ranking_without_its_reference():
    with pytest.raises(PlanError):
        Plan("detection", (Target("x"),), rank=Rank("distance", False, 1, "r1"))
