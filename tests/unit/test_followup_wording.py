"""Reading follow-ups: which instructions refer to the previous result, and the plan over "these" objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from affine import Affine

from model_backend.conditions.followup import looks_like_followup, read_followup
from model_backend.conditions.plan import And, Direction, Measure, Not, Or, Topology
from model_backend.pipeline.previous import followup_run_name, run_name_of
from model_backend.pipeline.tasks.followup import assign_to_tiles
from model_backend.raster.georef import Georef, RasterGrid
from model_backend.raster.tiling import TileLayout, TilePlan

LAYERS = ["parks", "river", "roads", "pier"]
CORPUS = Path(__file__).resolve().parents[1] / "data" / "instructions.jsonl"


def read(text, **kw):
    kw.setdefault("layer_names", LAYERS)
    kw.setdefault("labels", ["pond"])
    kw.setdefault("class_phrase", "the ponds")
    return read_followup(text, **kw)


@pytest.mark.parametrize("text, mode, where_type", [
    ("now only those larger than 500 m²", "keep", Measure),
    ("which of these are north of the river?", "keep", Direction),
    ("remove the ones inside the parks layer", "remove", Topology),
    ("how many of these are within 100 m of the roads?", "count", None),  # a Distance
    ("Of these, only the ones smaller than 2 ha", "keep", Measure),
    ("ok, and now keep just the ones north of the river or inside the parks", "keep", Or),
    ("drop any that are not inside the parks", "remove", Not),
    ("those larger than 1 ha and north of the pier", "keep", And),
    ("exclude all of them within 50 m of the roads", "remove", None),
    ("count those inside the parks", "count", Topology),
    ("which ones lie north of the river", "keep", Direction),
    ("exclude any within 20 m of the roads", "remove", None),  # a Distance
    ("are any of these inside the parks?", "count", Topology),  # answered yes or no, with the number
    ("now keep only ponds larger than 2 ha", "keep", Measure),  # the previous result's own class
])
def test_follow_ups_and_their_gis_conditions(text, mode, where_type):
    follow = read(text)
    assert follow is not None and follow.mode == mode
    assert follow.plan.where is not None and not follow.plan.visual and not follow.uses_model
    if where_type is not None:
        assert isinstance(follow.plan.where, where_type), follow.plan.where
    assert follow.plan.count == (mode == "count")
    assert follow.plan.targets[0].phrase == "the ponds"  # what the objects are, for the model and the labels
    assert follow.plan.describe()  # a valid plan
    assert follow.describe().splitlines()[1] == "1. Start from the objects of the previous result: no new search by " \
                                                "the model."


def test_questions_rankings_and_visual_conditions():
    which = read("Which of these are north of the river?")
    assert which.question == "Which of these are north of the river?"
    rank = read("of these, the 3 largest")
    assert rank.plan.rank is not None and rank.plan.rank.k == 3 and rank.plan.where is None
    assert read("the 2 northernmost of them").plan.rank.by == "northing"
    damaged = read("only the damaged ones")
    assert damaged.plan.visual == ("that are damaged",) and damaged.uses_model and damaged.plan.where is None
    assert damaged.filter_steps == ("select the ones that are damaged",)
    mixed = read("keep the ones that have red roofs and are larger than 200 m²")
    assert mixed.plan.visual and isinstance(mixed.plan.where, Measure)
    unread = read("now only those damaged by the fire")  # beyond the grammar: asked of the model, with a warning
    assert unread.plan.visual == ("that are damaged by the fire",) and unread.warnings


def test_a_class_named_with_the_anaphor_filters_labels_only_when_there_are_several():
    several = read("which of these ships are north of the river", labels=["ship", "plane"], class_phrase=None)
    assert several.labels == ("ship",) and isinstance(several.plan.where, Direction)
    assert read("of these planes, the largest", labels=["ship", "plane"]).labels == ("plane",)
    one = read("which of these ponds are north of the river")
    assert one.labels == () and not one.plan.visual  # every object is a pond: nothing to filter
    other = read("which of these boats are north of the river")
    assert other.plan.visual == ("that are boats",)  # not a class of the result: the model judges


def test_a_remove_reads_as_a_selection_then_its_removal():
    sentences = [s.text for s in read("remove the ones inside the parks layer").sentences()]
    assert sentences[1].startswith("GIS measure: select the objects that lie inside the layer 'parks'")
    assert sentences[-1] == "Remove the objects selected above and keep the others."


@pytest.mark.parametrize("text", [
    "detect ships near the port", "segment all buildings north of the river", "how many ships are there?",
    "Which buildings are damaged?", "Where are the ships?", "the 3 largest lakes", "count the cars in the parking lot",
    "find planes within 150 m of these runways", "Describe this image", "[detection] those planes",
    "only ships", "remove", "",
])
def test_new_instructions_are_no_follow_ups(text):
    assert not looks_like_followup(text)


def test_no_instruction_of_the_plan_corpus_reads_as_a_follow_up():
    texts = [json.loads(line)["instruction"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    assert len(texts) > 200
    assert [t for t in texts if looks_like_followup(t)] == []


def test_forced_follow_ups_read_bare_conditions_and_new_words():
    assert read("larger than 500 m²") is None
    bare = read("larger than 500 m²", forced=True)
    assert isinstance(bare.plan.where, Measure) and bare.mode == "keep"
    remove = read("not north of the river", forced=True)
    assert remove.mode == "remove" and isinstance(remove.plan.where, Direction)


def test_follow_up_names_continue_the_chain_and_fit():
    assert followup_run_name("ponds_20261202_140312") == "ponds_20261202_140312_then_1"
    assert followup_run_name("ponds_then_1", ["ponds", "ponds_then_1"]) == "ponds_then_2"
    long = "a" * 58
    name = followup_run_name(long, [long[:53] + "_then_1"])
    assert name.endswith("_then_2") and len(name) == 60
    assert run_name_of("ponds_then_2_boxes") == "ponds_then_2" and run_name_of("x_polygons") == "x"


def test_objects_go_to_the_one_tile_that_holds_them_best():
    grid = RasterGrid(180, 100, Georef(Affine(1, 0, 0, 0, -1, 100), None))
    tile_plan = TilePlan(grid, TileLayout(tile_size=100, overlap=20))
    assert [t.window[:3] for t in tile_plan] == [(0, 0, 100), (80, 0, 100)]  # centres at x = 50 and 130
    objects = [shapely.box(10, 40, 20, 50),  # only in the first tile
               shapely.box(86, 40, 98, 50),  # wholly in both: its centre (92) is nearer the second's
               shapely.box(60, 40, 130, 50),  # in neither wholly: more of it in the second (50 px of 70)
               shapely.box(50, 40, 110, 50)]  # in neither wholly: more of it in the first (50 px of 60)
    groups = assign_to_tiles(tile_plan, objects, grid.georef)
    assert [(tile.window[0], members) for tile, members in groups] == [(0, [0, 3]), (80, [1, 2])]
    # the tile an object was found in wins among those that hold it whole (the second one, found in tile 0)
    groups = assign_to_tiles(tile_plan, objects, grid.georef, found_in=[[0], [0], [0], [1]])
    assert [(tile.window[0], members) for tile, members in groups] == [(0, [0, 1, 3]), (80, [2])]
