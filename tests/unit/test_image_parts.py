"""Parts of the image as a GIS condition ("in the northern half of the image"): the plan type and its JSON,
the grammar's readings, the sentence, and the executor's semantics on a 1000 x 600 m image in UTM (halves,
quarters, the middle third, negation, the middle line, a rotated raster, a geographic CRS)."""

import json
import math

import numpy as np
import pyproj
import pytest
from affine import Affine

from model_backend.conditions import (
    And,
    Distance,
    ImageExtent,
    ImagePart,
    Measure,
    Not,
    Or,
    Plan,
    PlanError,
    Quantity,
    Target,
    execute_plan,
    parse_plan,
    plan_schema,
)
from model_backend.conditions.evaluate import canonical
from model_backend.conditions.grammar import _parser
from model_backend.errors import ConfigError
from tests.helpers.shapes import UTM_ORIGIN, square

UTM = "EPSG:32633"
X0, Y0 = UTM_ORIGIN
W, H = 1000.0, 600.0  # the image: x X0..X0+1000, y Y0..Y0+600; middle lines x = 500, y = 300
IMAGE = ImageExtent.of_grid(100, 60, Affine(10, 0, X0, 0, -10, Y0 + H))  # 10 m pixels, north up


# name -> centre (m from the south-west corner)
PLACES = {"nw": (100, 500), "ne": (900, 500), "sw": (100, 100), "se": (900, 100), "centre": (500, 300),
          "n_mid": (500, 550), "w_mid": (250, 300), "outside": (1500, 500)}
PARTS = {
    "north": {"nw", "ne", "n_mid"}, "south": {"sw", "se"}, "east": {"ne", "se"}, "west": {"nw", "sw", "w_mid"},
    "north-east": {"ne"}, "north-west": {"nw"}, "south-east": {"se"}, "south-west": {"sw"},
    "centre": {"centre"},
}


def kept(where, objs=None, image=IMAGE, crs=UTM) -> set[str]:
    objs = objs if objs is not None else [square(k, *v) for k, v in PLACES.items()]
    plan = Plan("detection", (Target("things"),), where=where)
    return {o.label for o in execute_plan(plan, objs, crs, image=image).objects}


# ------------------------------------------------------------------------------------------ the plan type

def test_the_plan_type_round_trips_and_is_in_the_schema():
    plan = Plan("detection", (Target("ships"),), where=And((ImagePart("north-east"), Not(ImagePart("centre")))))
    data = json.loads(plan.to_json())
    assert data["where"]["items"][0] == {"part": "north-east", "kind": "image_part"}
    assert Plan.from_dict(data) == plan
    schema = plan_schema()
    part = schema["$defs"]["ImagePart"]
    assert part["properties"]["part"]["enum"] == ["north", "south", "east", "west", "north-east", "north-west",
                                                  "south-east", "south-west", "centre"]
    assert part["required"] == ["kind", "part"] and part["additionalProperties"] is False
    assert {"$ref": "#/$defs/ImagePart"} in schema["$defs"]["Not"]["properties"]["item"]["oneOf"]


def test_an_unknown_part_is_refused_in_words():
    with pytest.raises(PlanError, match="part"):
        Plan.from_dict({"task": "detection", "targets": [{"phrase": "x"}],
                        "where": {"kind": "image_part", "part": "top"}})


def test_canonical_meaning_sees_the_part_and_pushes_double_negation():
    a = Plan("detection", (Target("ships"),), where=ImagePart("north"))
    assert canonical(a) == canonical(Plan("detection", (Target("ships"),), where=Not(Not(ImagePart("north")))))
    assert canonical(a) != canonical(Plan("detection", (Target("ships"),), where=ImagePart("south")))


def test_the_sentence_says_centroid_and_part():
    plan = parse_plan("[detection] ships in the northern half of the image")
    assert plan.sentences()[-1].text == ("GIS measure: keep the objects whose centroid lies in the northern half "
                                         "of the image.")
    negated = parse_plan("[detection] ships not in the middle of the image")
    assert "whose centroid does not lie in the centre of the image (its middle third" in negated.describe()
    both = parse_plan("[detection] ships in the top-left corner of the image or larger than 50 m")
    assert "have their centroid in the north-west quarter of the image or" in both.describe()


# ------------------------------------------------------------------------------------------- the grammar

@pytest.mark.parametrize("text, part", [
    ("buildings in the northern part of the image", "north"),
    ("buildings in the north of the image", "north"),
    ("ships in the north of the scene", "north"),
    ("cars in the top half of the image", "north"),
    ("cars in the upper part of the picture", "north"),
    ("cars at the top of the image", "north"),
    ("cars in the top half", "north"),
    ("boats in the lower half of the image", "south"),
    ("boats at the bottom of the image", "south"),
    ("boats in the southern section of the raster", "south"),
    ("houses on the left side of the image", "west"),
    ("houses on the left-hand side of the scene", "west"),
    ("houses in the western half", "west"),
    ("houses on the right of the image", "east"),
    ("houses in the eastern half of the raster", "east"),
    ("trees in the south-west corner of the image", "south-west"),
    ("trees in the southwest corner", "south-west"),
    ("trees in the image's north-east corner", "north-east"),
    ("trees in the top-left corner", "north-west"),
    ("trees in the upper right quarter of the image", "north-east"),
    ("trees in the bottom right of the image", "south-east"),
    ("trees in the lower-left corner of the image", "south-west"),
    ("lakes in the centre of the scene", "centre"),
    ("lakes in the center of the image", "centre"),
    ("lakes in the middle of the image", "centre"),
    ("lakes in the central part of the image", "centre"),
    ("lakes located in the northern half of the whole image", "north"),
])
def test_the_grammar_reads_parts_of_the_image(text, part):
    plan = parse_plan("[detection] " + text)
    assert plan.where == ImagePart(part) and not plan.warnings and not plan.references, plan.describe()
    assert plan.targets[0].phrase == text.split(" ")[0]


@pytest.mark.parametrize("text, where", [
    ("ships not in the northern half of the image", Not(ImagePart("north"))),
    ("ships that are not in the top half of the image", Not(ImagePart("north"))),
    ("ships outside the centre of the image", Not(ImagePart("centre"))),
    ("ships in the south-east corner of the image longer than 50 m",
     And((ImagePart("south-east"), Measure("length", ">", Quantity(50, "m"))))),
    ("ships in the western half of the image or in the centre of the image",
     Or((ImagePart("west"), ImagePart("centre")))),
])
def test_parts_of_the_image_combine_with_not_and_or_and_other_conditions(text, where):
    plan = parse_plan("[detection] " + text)
    assert plan.where == where and not plan.warnings, plan.describe()


def test_a_part_beside_a_reference_keeps_both():
    plan = parse_plan("[detection] planes in the top half of the image within 100 m of the runway",
                      layer_names=["runway"])
    assert plan.where == And((ImagePart("north"), Distance("r1", "<=", Quantity(100, "m"))))


@pytest.mark.parametrize("text", [
    "houses in the northern corner of the image",  # a side has no corner
    "houses in the north-east half of the image",  # a corner has no half
    "houses in the northern third of the image",  # thirds have no meaning here
])
def test_parts_that_mean_nothing_go_to_the_model_whole_with_a_warning(text):
    plan = parse_plan("[detection] " + text)
    assert plan.where is None and any("did not understand" in w for w in plan.warnings)


@pytest.mark.parametrize("text, target", [
    ("right whales", "right whales"),
    ("corner shops", "corner shops"),
    ("upper terraces", "upper terraces"),
    ("left luggage lockers", "left luggage lockers"),
    ("middle schools", "middle schools"),
    ("half-built houses", "half-built houses"),
])
def test_the_new_keywords_still_make_phrases(text, target):
    plan = parse_plan("[detection] " + text)
    assert plan.targets[0].phrase == target and plan.where is None and not plan.warnings


def test_lower_is_still_a_comparison_and_half_a_mile_a_distance():
    assert parse_plan("[detection] towers lower than 10 m").where == Measure("length", "<", Quantity(10, "m"))
    plan = parse_plan("[detection] ships within half a mile of the pier", layer_names=["pier"])
    assert plan.where == Distance("r1", "<=", Quantity(0.5, "mi"))
    left_bank = parse_plan("[detection] ships on the left bank of the river", layer_names=["river"])
    assert left_bank.references[0].phrase == "left bank of the river"


def test_no_keyword_of_the_grammar_is_named_like_a_class_of_words():
    """Lark names a keyword after its text ("part" -> PART): a class of the same name would swallow it."""
    from model_backend.conditions.lexicon import WORD_CLASSES

    keywords = {t.name for t in _parser().terminals if t.pattern.type == "str"}
    assert not (keywords & set(WORD_CLASSES)) - {"NUMBER"}  # NUMBER: "the number of", read as its own keyword


# ------------------------------------------------------------------------------------------ the executor

@pytest.mark.parametrize("part", list(PARTS))
def test_halves_quarters_and_the_middle_third(part):
    assert kept(ImagePart(part)) == PARTS[part]


def test_negation_keeps_the_middle_line_and_what_lies_outside_the_image():
    assert kept(Not(ImagePart("north"))) == {"sw", "se", "centre", "w_mid", "outside"}
    # the middle line (y = 300) is in neither half
    assert "centre" not in kept(ImagePart("north")) | kept(ImagePart("south"))


def test_the_middle_third_includes_its_edges():
    objs = [square("edge", W / 3, H * 2 / 3), square("beyond", W / 3 - 1, H / 2)]
    assert kept(ImagePart("centre"), objs) == {"edge"}


def test_a_rotated_raster_uses_its_footprint_and_the_bounds_of_it():
    # 100 x 100 px of 10 m, rotated 45 degrees: a diamond with corners at (X0, Y0) (the top-left pixel corner),
    # (X0 + 707, Y0 + 707), (X0 + 1414, Y0) and (X0 + 707, Y0 - 707); its bounds are the square around it
    c = 10 * math.cos(math.radians(45))
    image = ImageExtent.of_grid(100, 100, Affine(c, c, X0, c, -c, Y0))
    assert image.bounds == pytest.approx((X0, Y0 - 707.107, X0 + 1414.214, Y0 + 707.107), abs=1e-3)

    def at(label, dx, dy):  # metres from the diamond's centre (X0 + 707, Y0)
        return square(label, 707.107 + dx, dy, side=4)

    objs = [at("upper", -50, 300), at("lower", -50, -300), at("east_tip", 600, 0), at("envelope_corner", 600, 600)]
    assert kept(ImagePart("north"), objs, image) == {"upper"}
    assert kept(ImagePart("east"), objs, image) == {"east_tip"}  # the envelope's corner is not in the image
    assert kept(ImagePart("north-east"), objs, image) == set()
    assert kept(ImagePart("centre"), objs, image) == set()
    assert kept(ImagePart("centre"), [at("mid", 10, -20)], image) == {"mid"}


def test_a_south_up_raster_still_has_north_at_the_top_of_the_map():
    south_up = ImageExtent.of_grid(100, 60, Affine(10, 0, X0, 0, 10, Y0))  # row 0 is the southern edge
    assert south_up.bounds == (X0, Y0, X0 + W, Y0 + H)
    assert kept(ImagePart("north"), image=south_up) == PARTS["north"]


def test_in_a_geographic_crs_the_parts_are_cut_in_degrees():
    to_4326 = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    corners = [to_4326.transform(x, y) for x, y in ((X0, Y0 + H), (X0 + W, Y0 + H), (X0 + W, Y0), (X0, Y0))]
    image = ImageExtent(tuple(corners))
    # away from the middle lines: a UTM rectangle is no rectangle in degrees, so its middle lines move a little
    objs = [square(k, *v, crs_xy=to_4326.transform) for k, v in PLACES.items() if k in ("nw", "ne", "sw", "se")]
    assert kept(ImagePart("north-west"), objs, image, "EPSG:4326") == {"nw"}
    assert kept(ImagePart("south"), objs, image, "EPSG:4326") == {"sw", "se"}


def test_without_an_image_extent_the_run_is_refused_in_words():
    plan = Plan("detection", (Target("ships"),), where=Not(ImagePart("north-west")))
    with pytest.raises(ConfigError, match="north-west quarter of the image.*needs to know where the image lies"):
        execute_plan(plan, [square("a", 1, 1)], UTM)
    with pytest.raises(ConfigError, match="where the image lies"):  # even with no objects
        execute_plan(plan, [], UTM)
    assert execute_plan(Plan("detection", (Target("x"),)), [square("a", 1, 1)], UTM).objects  # not needed: fine


def test_an_image_extent_needs_an_area():
    with pytest.raises(ValueError, match="area"):
        ImageExtent(((0, 0), (1, 1), (2, 2), (3, 3)))
    with pytest.raises(ValueError, match="finite"):
        ImageExtent(((0, 0), (1, 0), (1, np.nan), (0, 1)))
