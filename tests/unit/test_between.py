""""Between A and B" with two references as a GIS condition: the plan type and its JSON, the grammar's readings
(and the distance and measure ranges it must leave alone), the sentence, and the executor's rule -- from the
object's centroid the two references' nearest points lie more than 90 degrees apart, and the object touches
neither -- on hand-made geometries in UTM and in EPSG:4326."""

import json

import pyproj
import pytest
from shapely.geometry import LineString, Point, box

from model_backend.conditions import (
    And,
    Between,
    Distance,
    Measure,
    Not,
    Plan,
    PlanError,
    Quantity,
    Reference,
    Target,
    execute_plan,
    parse_plan,
    plan_schema,
)
from model_backend.conditions.evaluate import canonical
from tests.helpers.shapes import UTM_ORIGIN, square

UTM = "EPSG:32633"
X0, Y0 = UTM_ORIGIN
LAYERS = ["pier", "coastline", "river", "road"]


def line(x1, y1, x2, y2):
    return LineString([(X0 + x1, Y0 + y1), (X0 + x2, Y0 + y2)])


def plan_of(where):
    refs = (Reference("r1", "quay", "layer", layer="quay"), Reference("r2", "dyke", "layer", layer="dyke"))
    return Plan("detection", (Target("things"),), refs, where)


def kept(where, objs, layers, crs=UTM, found=None) -> set[str]:
    plan = plan_of(where)
    if found is not None:
        plan = plan.replace(references=(plan.references[0], Reference("r2", "dyke", "model", task="seg")))
    return {o.label for o in execute_plan(plan, objs, crs, layers, found).objects}


# two parallel lines 100 m apart, 1 km long: the quay (y = 0) and the dyke (y = 100)
PARALLEL = {"quay": ([line(0, 0, 1000, 0)], UTM), "dyke": ([line(0, 100, 1000, 100)], UTM)}
OBJECTS = {
    "middle": (500, 50),  # between: the lines lie straight south and north of it
    "near_dyke": (200, 90),  # between, closer to the dyke
    "north": (500, 150),  # north of both
    "south": (500, -60),  # south of both
    "past_the_end": (1500, 50),  # beyond the lines' ends: both nearest points are end points, to the west
}


def objects(crs_xy=None):
    return [square(k, *v, crs_xy=crs_xy) for k, v in OBJECTS.items()]


# ------------------------------------------------------------------------------------------ the plan type

def test_the_plan_type_round_trips_and_is_in_the_schema():
    plan = plan_of(And((Between("r1", "r2"), Not(Between("r2", "r1")))))
    data = json.loads(plan.to_json())
    assert data["where"]["items"][0] == {"ref_a": "r1", "ref_b": "r2", "kind": "between"}
    assert Plan.from_dict(data) == plan
    schema = plan_schema()
    between = schema["$defs"]["Between"]
    assert between["required"] == ["kind", "ref_a", "ref_b"] and between["additionalProperties"] is False
    assert {"$ref": "#/$defs/Between"} in schema["$defs"]["Not"]["properties"]["item"]["oneOf"]


def test_a_between_with_one_reference_twice_or_an_unknown_one_is_refused():
    with pytest.raises(PlanError, match="two different references"):
        Between("r1", "r1")
    with pytest.raises(PlanError, match="unknown reference.*r3"):
        plan_of(Between("r1", "r3"))
    with pytest.raises(PlanError, match="not a valid plan"):
        Plan.from_dict({"task": "detection", "targets": [{"phrase": "x"}], "references": [],
                        "where": {"kind": "between", "ref_a": "r1"}})


def test_canonical_meaning_takes_the_two_references_in_either_order():
    a = plan_of(Between("r1", "r2"))
    assert canonical(a) == canonical(plan_of(Between("r2", "r1")))
    assert canonical(a) == canonical(plan_of(Not(Not(Between("r2", "r1")))))
    assert canonical(a) != canonical(plan_of(Not(Between("r1", "r2"))))
    other = Plan("detection", (Target("things"),), (Reference("r1", "quay", "layer", layer="quay"),
                                                    Reference("r2", "mole", "layer", layer="mole")), Between("r1", "r2"))
    assert canonical(a) != canonical(other)


def test_the_sentence_names_both_references_and_the_rule():
    plan = parse_plan("[detection] ships between the pier and the coastline", layer_names=LAYERS)
    assert plan.sentences()[-1].text == (
        "GIS measure: keep the objects that lie between the layer 'pier' and the layer 'coastline' (seen from the "
        "object, the two lie on opposite sides; it touches neither).")
    negated = parse_plan("[detection] ships not between the pier and the coastline", layer_names=LAYERS)
    assert "do not lie between the layer 'pier' and the layer 'coastline' (seen from the object, the two do not " \
           "lie on opposite sides, or it touches one of them)" in negated.describe()


# ------------------------------------------------------------------------------------------- the grammar

@pytest.mark.parametrize("text", [
    "ships between the pier and the coastline",
    "ships between pier and coastline",
    "ships lying between the pier and the coastline",
    "ships located between the pier and the coastline",
    "ships situated between the pier and the coastline",
    "ships in between the pier and the coastline",
    "ships that are between the pier and the coastline",
    "ships which lie between the pier and the coastline",
    "show me all ships between the pier layer and the coastline layer",
    "ships and boats between the pier and the coastline",
])
def test_the_grammar_reads_between_two_references(text):
    plan = parse_plan("[detection] " + text, layer_names=LAYERS)
    assert plan.where == Between("r1", "r2") and not plan.warnings, plan.describe()
    assert [r.layer for r in plan.references] == ["pier", "coastline"]


@pytest.mark.parametrize("text", [
    "ships not between the pier and the coastline",
    "ships that are not between the pier and the coastline",
    "ships that aren't between the pier and the coastline",
])
def test_negation(text):
    plan = parse_plan("[detection] " + text, layer_names=LAYERS)
    assert plan.where == Not(Between("r1", "r2")) and not plan.warnings, plan.describe()


def test_references_the_model_finds_and_other_conditions_beside_it():
    plan = parse_plan("[detection] houses between the river and the forest longer than 20 m", layer_names=LAYERS)
    assert plan.where == And((Between("r1", "r2"), Measure("length", ">", Quantity(20, "m"))))
    assert plan.references[1] == Reference("r2", "forest", "model", task="seg")
    counted = parse_plan("how many buildings are between the river and the road?", layer_names=LAYERS)
    assert counted.count and counted.where == Between("r1", "r2")


@pytest.mark.parametrize("text, where", [
    ("ships between 100 and 300 m from the pier", Distance("r1", "between", Quantity(100, "m"), Quantity(300, "m"))),
    ("fields between 2 and 10 ha", Measure("area", "between", Quantity(2, "ha"), Quantity(10, "ha"))),
    ("lakes between 1 and 5 hectares", Measure("area", "between", Quantity(1, "ha"), Quantity(5, "ha"))),
    ("buildings from 100 to 500 m²", Measure("area", "between", Quantity(100, "m²"), Quantity(500, "m²"))),
    ("ships and boats within 100 m of the pier", Distance("r1", "<=", Quantity(100, "m"))),
])
def test_ranges_and_lists_of_classes_read_as_before(text, where):
    plan = parse_plan("[detection] " + text, layer_names=LAYERS)
    assert plan.where == where and not plan.warnings, plan.describe()


@pytest.mark.parametrize("text", [
    "the cars between the two parking lots",  # one reference: not read
    "ships between the pier and the pier",  # the same reference twice
])
def test_what_it_cannot_read_goes_to_the_model_whole_with_a_warning(text):
    plan = parse_plan("[detection] " + text, layer_names=LAYERS)
    assert plan.where is None and plan.targets[0].phrase == text
    assert any("did not understand" in w for w in plan.warnings)
    assert "unexpected ''" not in plan.warnings[0]  # the end of the text is named as such


# ------------------------------------------------------------------------------------------ the executor

def test_between_two_parallel_lines():
    assert kept(Between("r1", "r2"), objects(), PARALLEL) == {"middle", "near_dyke"}
    assert kept(Between("r2", "r1"), objects(), PARALLEL) == {"middle", "near_dyke"}
    assert kept(Not(Between("r1", "r2")), objects(), PARALLEL) == {"north", "south", "past_the_end"}


def test_an_object_touching_or_inside_a_reference_is_not_between():
    touching = square("touching", 300, 5)  # its south edge lies on the quay; its centroid is between the lines
    crossing = square("crossing", 400, 100, side=30)  # across the dyke
    assert kept(Between("r1", "r2"), [touching, crossing, square("free", 300, 10)], PARALLEL) == {"free"}
    ponds = {"quay": ([box(X0, Y0, X0 + 100, Y0 + 100)], UTM), "dyke": ([box(X0 + 300, Y0, X0 + 400, Y0 + 100)], UTM)}
    objs = [square("inside_quay", 50, 50), square("gap", 200, 50), square("inside_dyke", 350, 50)]
    assert kept(Between("r1", "r2"), objs, ponds) == {"gap"}


def test_the_rule_is_the_angle_at_the_centroid_whatever_the_scale():
    # two points 100 m apart: seen from (50, 40) they lie 103 degrees apart, from (50, 60) 80 degrees apart
    for scale in (1.0, 1000.0):
        points = {"quay": ([Point(X0, Y0)], UTM), "dyke": ([Point(X0 + 100 * scale, Y0)], UTM)}
        objs = [square("wide", 50 * scale, 40 * scale, side=1), square("narrow", 50 * scale, 60 * scale, side=1)]
        assert kept(Between("r1", "r2"), objs, points) == {"wide"}, scale


def test_an_empty_reference_has_nothing_between_it_and_another():
    empty = {"quay": PARALLEL["quay"], "dyke": ([], UTM)}
    assert kept(Between("r1", "r2"), objects(), empty) == set()
    assert kept(Not(Between("r1", "r2")), objects(), empty) == set(OBJECTS)
    found_nothing = {"r2": ([], UTM)}  # a model-found reference found nowhere
    assert kept(Between("r1", "r2"), objects(), {"quay": PARALLEL["quay"]}, found=found_nothing) == set()


def test_in_a_geographic_crs_it_is_measured_in_metres_as_in_utm():
    to_4326 = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)

    def geo_line(x1, y1, x2, y2):
        return LineString([to_4326.transform(X0 + x1, Y0 + y1), to_4326.transform(X0 + x2, Y0 + y2)])

    layers = {"quay": ([geo_line(0, 0, 1000, 0)], "EPSG:4326"), "dyke": ([geo_line(0, 100, 1000, 100)], "EPSG:4326")}
    objs = objects(crs_xy=to_4326.transform)
    assert kept(Between("r1", "r2"), objs, layers, crs="EPSG:4326") == {"middle", "near_dyke"}
    # a layer in another CRS is reprojected first
    mixed = {"quay": PARALLEL["quay"], "dyke": layers["dyke"]}
    assert kept(Between("r1", "r2"), objs, mixed, crs="EPSG:4326") == {"middle", "near_dyke"}


def test_a_follow_up_reads_it_about_the_previous_objects():
    from model_backend.conditions.followup import read_followup

    follow = read_followup("which of these are between the pier and the coastline?", labels=["ship"],
                           class_phrase="ships", layer_names=LAYERS)
    assert follow.mode == "keep" and follow.plan.where == Between("r1", "r2") and not follow.warnings
