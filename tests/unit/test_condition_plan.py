"""Splitting instructions into plans: rules, the LLM parser with its fallbacks, step kinds, JSON."""

import json

import pytest

from model_backend.conditions import WithinFilter
from model_backend.conditions import (
    AreaFilter,
    DirectionFilter,
    DistanceFilter,
    ExtentFilter,
    IntersectsFilter,
    Plan,
    Quantity,
    Step,
    parse_plan,
)
from model_backend.conditions.llm_parser import parse_step_list
from model_backend.conditions.plan import RULES_PARSER, classify_step
from model_backend.conditions.rules import split_instruction
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.errors import EngineError
from model_backend.tasks import Task


class FakeParserEngine(Engine):
    """Answers every request with a fixed text (or raises) and records the requests."""

    name = "fake-parser"

    def __init__(self, answer: str | Exception):
        self.answer = answer
        self.requests: list[EngineRequest] = []

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return EngineResponse(self.answer)

    def describe(self):
        return {"engine": self.name, "model": "tiny-splitter"}


# --------------------------------------------------------------------------------------- rule splits

RULE_CASES = [
    (
        "detect all planes on the east bank of the river",
        ["detect all planes", "select the ones on the east bank of the river"],
    ),
    (
        "segment buildings larger than 500 m² within 200 m of the roads layer",
        ["segment buildings", "select the ones larger than 500 m²", "select the ones within 200 m of the roads layer"],
    ),
    (
        "find ships that are north of the harbour layer and longer than 100 m",
        ["find ships", "select the ones north of the harbour layer", "select the ones longer than 100 m"],
    ),
    ("detect buildings which have a red roof", ["detect buildings", "select the ones that have a red roof"]),
    (
        "detect cars with a white roof and near the parking lot",
        ["detect cars", "select the ones with a white roof", "select the ones near the parking lot"],
    ),
    (
        "find storage tanks that are smaller than 2 ha and not within 1 km of rivers",
        ["find storage tanks", "select the ones smaller than 2 ha", "select the ones not within 1 km of rivers"],
    ),
    ("detect all vehicles", ["detect all vehicles"]),
    ("detect cars and trucks.", ["detect cars and trucks"]),
    ("detect houses with red and white roofs", ["detect houses", "select the ones with red and white roofs"]),
    ("detect boats between the bridge and the pier", ["detect boats", "select the ones between the bridge and the pier"]),
    (
        "segment fields, larger than 1 km2, intersecting the parcels layer",
        ["segment fields", "select the ones larger than 1 km2", "select the ones intersecting the parcels layer"],
    ),
    ("detect trees in the image", ["detect trees in the image"]),
    (
        "find planes parked on the apron that are longer than 30 m",
        ["find planes", "select the ones parked on the apron", "select the ones longer than 30 m"],
    ),
    ("detect ships over 100 m in length", ["detect ships", "select the ones over 100 m in length"]),
    ("ships that are north of the harbour layer", ["ships", "select the ones north of the harbour layer"]),
]


@pytest.mark.parametrize("instruction, steps", RULE_CASES)
def test_rule_based_split(instruction, steps):
    assert split_instruction(instruction) == steps


KIND_CASES = [
    ("detect all planes on the east bank of the river", [("model", None), ("model", None)]),
    (
        "segment buildings larger than 500 m² within 200 m of the roads layer",
        [("model", None), ("gis", AreaFilter(">", Quantity(500, "m²"))), ("gis", DistanceFilter("roads", "<=", Quantity(200, "m")))],
    ),
    (
        "find ships that are north of the harbour layer and longer than 100 m",
        [("model", None), ("gis", DirectionFilter(("north",), "harbour")), ("gis", ExtentFilter("length", ">", Quantity(100, "m")))],
    ),
    (
        "find storage tanks that are smaller than 2 ha and not within 1 km of rivers",
        [("model", None), ("gis", AreaFilter("<", Quantity(2, "ha"))), ("gis", DistanceFilter("rivers", ">", Quantity(1, "km")))],
    ),
    (
        "detect buildings that do not intersect the parcels layer",
        [("model", None), ("gis", IntersectsFilter("parcels", negate=True))],
    ),
    (
        "find houses to the south-west of the lake layer",
        [("model", None), ("gis", DirectionFilter(("south", "west"), "lake"))],
    ),
    (
        "detect buildings more than 500 m from the coast",
        [("model", None), ("gis", DistanceFilter("coast", ">", Quantity(500, "m")))],
    ),
    ("find ships no more than 300 ft long", [("model", None), ("gis", ExtentFilter("length", "<=", Quantity(300, "ft")))]),
    ("detect roads wider than 10 m", [("model", None), ("gis", ExtentFilter("width", ">", Quantity(10, "m")))]),
    ("[seg] segment ponds with an area of at least 3 acres", [("model", None), ("gis", AreaFilter(">=", Quantity(3, "acres")))]),
    # a direction to something that is not a layer stays visual: the model judges it
    ("find houses north of the river", [("model", None), ("model", None)]),
    ("detect buildings inside the flood zone layer", [("model", None), ("gis", WithinFilter("flood zone"))]),
    ("find tents that are not in the camp sites layer",
     [("model", None), ("gis", WithinFilter("camp sites", negate=True))]),
    # containment in something that is not a layer stays visual too
    ("find boats in the harbour", [("model", None), ("model", None)]),
]


@pytest.mark.parametrize("instruction, kinds", KIND_CASES)
def test_step_kinds_and_filters(instruction, kinds):
    plan = parse_plan(instruction)
    assert [(s.kind, s.filter) for s in plan.steps] == kinds
    assert plan.parser == RULES_PARSER


def test_direction_to_a_known_layer_without_the_word_layer_is_gis():
    plan = parse_plan("find houses north of the river", layer_names=["River.shp", "roads"])
    assert plan.steps[1].filter == DirectionFilter(("north",), "river")
    assert plan.warnings == []


def test_unknown_layer_is_warned_about_in_the_plan():
    plan = parse_plan("detect buildings within 200 m of the roads layer", layer_names=["rivers"])
    assert plan.steps[1].filter == DistanceFilter("roads", "<=", Quantity(200, "m"))
    assert any("'roads'" in w and "rivers" in w for w in plan.warnings)


def test_model_step_naming_a_layer_is_warned_about():
    plan = parse_plan("detect buildings that look like the parcels layer")
    assert [s.kind for s in plan.steps] == ["model", "model"]
    assert any("names a layer" in w for w in plan.warnings)


def test_task_tag_applies_to_the_whole_chain():
    plan = parse_plan("[seg] segment buildings larger than 500 m²")
    assert plan.task_tag == "[seg]"
    assert plan.task is Task.SEGMENTATION
    assert [s.text for s in plan.steps] == ["segment buildings", "select the ones larger than 500 m²"]
    assert "[seg]" not in plan.steps[0].text


def test_default_task_and_unknown_tag():
    assert parse_plan("detect planes", default_task=Task.DETECTION).task_tag == "[detection]"
    plan = parse_plan("[foo] detect planes")
    assert plan.task_tag is None and any("unknown task tag" in w for w in plan.warnings)


@pytest.mark.parametrize("instruction", ["[vqa] how many planes are on the runway?", "[caption] describe the port with its ships"])
def test_text_tasks_are_never_split(instruction):
    engine = FakeParserEngine('["should not be asked"]')
    plan = parse_plan(instruction, engine)
    assert len(plan.steps) == 1 and plan.steps[0].kind == "model"
    assert engine.requests == []


def test_empty_instruction_and_conditions_only():
    assert parse_plan("   ").steps == [] and parse_plan("").warnings
    plan = parse_plan("larger than 500 m²")
    assert [s.kind for s in plan.steps] == ["gis"]
    assert any("no objects" in w for w in plan.warnings)


def test_classify_step_separates_what_the_model_must_judge():
    steps = classify_step("segment red-roofed buildings larger than 500 m²")
    assert [(s.kind, s.text) for s in steps] == [("model", "segment red-roofed buildings"), ("gis", "larger than 500 m²")]
    steps = classify_step("select the ones that are longer than 100 m")
    assert [(s.kind, s.text) for s in steps] == [("gis", "select the ones that are longer than 100 m")]


def test_plan_json_round_trip_and_description():
    plan = parse_plan("[detection] find ships that are north of the harbour layer and longer than 100 m")
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["task_tag"] == "[detection]"
    assert [s["kind"] for s in data["steps"]] == ["model", "gis", "gis"]
    assert data["steps"][2]["filter"]["type"] == "extent"
    assert Plan.from_dict(data) == plan
    text = plan.describe()
    assert "1. model: find ships" in text and "length > 100 m" in text and "north of layer 'harbour'" in text


def test_step_validates_kind_and_filter():
    with pytest.raises(ValueError):
        Step("x", "gis")
    with pytest.raises(ValueError):
        Step("x", "model", AreaFilter(">", Quantity(1, "m²")))
    with pytest.raises(ValueError):
        Step("x", "sql")


# ---------------------------------------------------------------------------------- the LLM parser

PLANES = ["detect all planes", "select the ones on the east bank of the river"]


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(PLANES),
        "Sure! Here is the plan:\n```json\n" + json.dumps(PLANES, indent=2) + "\n```\nLet me know.",
        "```\n" + json.dumps(PLANES) + "\n```",
        "Steps: ['detect all planes', 'select the ones on the east bank of the river'] -- done [1]",
        "[detection] steps -> " + json.dumps(["[detection] detect all planes", PLANES[1]]),
    ],
)
def test_llm_parser_reads_fenced_json_python_lists_and_chatter(answer):
    engine = FakeParserEngine(answer)
    plan = parse_plan("[detection] detect all planes on the east bank of the river", engine)
    assert [s.text for s in plan.steps] == PLANES
    assert plan.parser == "llm (tiny-splitter)"
    assert plan.warnings == []
    (req,) = engine.requests
    assert tuple(req.images) == ()  # text only
    assert "detect all planes on the east bank of the river" in req.prompt
    assert "[detection] detect all planes on the east" not in req.prompt  # the tag is stripped


def test_llm_steps_are_classified_too():
    engine = FakeParserEngine('["segment buildings larger than 500 m²", "select the ones within 200 m of the roads layer"]')
    plan = parse_plan("segment buildings larger than 500 m² within 200 m of the roads layer", engine)
    assert [s.kind for s in plan.steps] == ["model", "gis", "gis"]
    assert plan.steps[0].text == "segment buildings"


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("I am sorry, I cannot split this.", "not a list"),
        ("", "empty"),
        ("[1, 2, 3]", "not a list"),
        ("[]", "not a list"),
        ("['detect planes', ", "not a list"),
        ("__import__('os').system('echo pwned')", "not a list"),
        ("[__import__('os').getcwd()]", "not a list"),
    ],
)
def test_unusable_llm_answer_falls_back_to_rules_with_warning(answer, reason):
    plan = parse_plan("detect all planes on the east bank of the river", FakeParserEngine(answer))
    assert plan.parser == RULES_PARSER
    assert [s.text for s in plan.steps] == PLANES
    assert len(plan.warnings) == 1 and reason in plan.warnings[0] and "rules" in plan.warnings[0]


def test_engine_failure_falls_back_to_rules_with_warning():
    plan = parse_plan("detect all planes on the east bank of the river", FakeParserEngine(EngineError("server down")))
    assert plan.parser == RULES_PARSER
    assert "server down" in plan.warnings[0]
    assert [s.text for s in plan.steps] == PLANES


def test_parse_step_list_never_evaluates_code(tmp_path):
    marker = tmp_path / "pwned"
    answer = f"[open({str(marker)!r}, 'w').write('x')]"
    steps, problem = parse_step_list(answer)
    assert steps is None and problem
    assert not marker.exists()


def test_parse_step_list_bounds_long_answers():
    steps, problem = parse_step_list("[" * 30_000)
    assert steps is None and "too long" in problem


def test_ambiguous_layer_reference_is_a_gis_step_with_a_warning():
    plan = parse_plan("find houses north of the river", layer_names=["river_north", "river_south"])
    assert plan.steps[1].filter == DirectionFilter(("north",), "river")
    assert any("ambiguous" in w for w in plan.warnings)
