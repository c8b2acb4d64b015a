"""Instructions as typed plans: the plan types and their JSON, the grammar (examples and properties),
the LLM parser's answers and fallbacks, the plan in sentences, the layer check before a run."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_backend.conditions import (
    FAR_DEFAULT,
    NEAR_DEFAULT,
    And,
    Direction,
    Distance,
    Measure,
    ModelStep,
    Not,
    Or,
    Plan,
    PlanError,
    Quantity,
    Rank,
    Reference,
    Target,
    Topology,
    check_plan,
    parse_plan,
    plan_schema,
)
from model_backend.conditions.evaluate import canonical
from model_backend.conditions.grammar import GrammarError, parse_with_grammar
from model_backend.conditions.llm_parser import build_parser_request, few_shot_examples, plan_from_answer
from model_backend.conditions.units import format_number
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.errors import ConfigError, EngineError

Q = Quantity
PIER = Reference("r1", "pier", "layer", layer="pier")


class FakeParserEngine(Engine):
    """Answers every request with a fixed text (or raises) and records the requests."""

    name = "fake-parser"

    def __init__(self, answer, constrains_output=False):
        self.answer = answer
        self.constrains_output = constrains_output
        self.requests: list[EngineRequest] = []

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return EngineResponse(self.answer)

    def describe(self):
        return {"engine": self.name, "model": "tiny-planner"}


def plan_json(plan: Plan) -> str:
    data = plan.to_dict()
    data.pop("parser"), data.pop("warnings")
    return json.dumps(data, ensure_ascii=False)


def same_meaning(a: Plan, b: Plan) -> bool:
    return canonical(a) == canonical(b)


# ------------------------------------------------------------------------------------- the plan types

def test_plan_json_round_trip_and_schema_from_the_types():
    plan = Plan("vqa", (Target("ships"),), (PIER, Reference("r2", "bridge", "model", task="detection")),
                where=And((Direction("r1", "north-east"), Or((Not(Distance("r2", "<=", Q(100, "m"))),
                                                                 Measure("area", "between", Q(1, "ha"), Q(2, "ha")))))),
                visual=("that are damaged",), rank=Rank("distance", False, 2, "r2"), count=True)
    data = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(data) == plan
    schema = plan_schema()
    assert "parser" not in schema["properties"] and "warnings" not in schema["properties"]
    kinds = {name: d["properties"]["kind"]["const"] for name, d in schema["$defs"].items() if "kind" in d["properties"]}
    assert kinds == {"Distance": "distance", "Topology": "topology", "Direction": "direction", "Measure": "measure",
                     "Between": "between", "ImagePart": "image_part", "And": "and", "Or": "or", "Not": "not"}
    assert all("kind" in schema["$defs"][name]["required"] for name in kinds)
    assert schema["$defs"]["Direction"]["properties"]["direction"]["enum"][1] == "north-east"


@pytest.mark.parametrize("bad, message", [
    ({"task": "detection", "where": {"kind": "direction", "ref": "r9", "direction": "north"}}, "unknown reference"),
    ({"task": "detection", "where": {"kind": "distance", "ref": "r1", "op": "<", "value": {"value": 1, "unit": "kg"}}},
     "length or area"),
    ({"task": "detection", "where": {"kind": "measure", "measure": "area", "op": "<", "value": {"value": 1, "unit": "m"}}},
     "needs a area"),
    ({"task": "detection", "where": {"kind": "up", "ref": "r1"}}, "not a valid plan"),
    ({"task": "caption", "targets": [{"phrase": "x"}]}, "takes no targets"),
    ({"task": "detection", "references": [{"id": "r1", "phrase": "x", "source": "layer"}]}, "names its layer"),
    ({"task": "detection", "rank": {"by": "distance", "descending": False}}, "names its reference"),
    ({"task": "detection", "where": {"kind": "distance", "ref": "r1", "op": "between",
                                     "value": {"value": 5, "unit": "km"}, "upper": {"value": 1, "unit": "km"}}},
     "lower bound is above"),
])
def test_invalid_plans_are_refused_with_the_reason(bad, message):
    bad = dict(bad, references=bad.get("references", [PIER.__dict__]))
    with pytest.raises(PlanError, match=message):
        Plan.from_dict(bad)


def test_model_steps_find_the_targets_then_check_visual_conditions():
    plan = Plan("seg", (Target("lakes", "seg"),), visual=("which are frozen", "with boats"))
    assert plan.model_steps == (ModelStep("lakes", "find"), ModelStep("select the ones that are frozen", "filter"),
                                ModelStep("select the ones with boats", "filter"))
    assert not plan.needs_gis and Plan("caption", question="describe").model_steps == ()


# ------------------------------------------------------------------------------------------ the grammar

GRAMMAR_CASES = [
    ("ships north of the pier", ["pier"], Plan("detection", (Target("ships"),), (PIER,), Direction("r1", "north"))),
    ("buildings more than 1 km away from the roads", ["roads"],
     Plan("detection", (Target("buildings"),), (Reference("r1", "roads", "layer", layer="roads"),),
          Distance("r1", ">", Q(1, "km")))),
    ("buildings under 50 m² or over 500 m²", [],
     Plan("detection", (Target("buildings"),), where=Or((Measure("area", "<", Q(50, "m²")), Measure("area", ">", Q(500, "m²")))))),
    ("boats near the pier", ["pier"],
     Plan("detection", (Target("boats"),), (PIER,), Distance("r1", "<=", NEAR_DEFAULT, default=True))),
    ("houses far from the pier", ["pier"],
     Plan("detection", (Target("houses"),), (PIER,), Distance("r1", ">", FAR_DEFAULT, default=True))),
    ("tents outside the camp", ["camp"],
     Plan("detection", (Target("tents"),), (Reference("r1", "camp", "layer", layer="camp"),), Not(Topology("r1", "intersects")))),
    ("the three ships closest to the pier", ["pier"], Plan("detection", (Target("ships"),), (PIER,), rank=Rank("distance", False, 3, "r1"))),
    ("ships within 100 m of a bridge", [],
     Plan("detection", (Target("ships"),), (Reference("r1", "bridge", "model", task="detection"),), Distance("r1", "<=", Q(100, "m")))),
    ("buildings not within 50 m of any road", [],
     Plan("detection", (Target("buildings"),), (Reference("r1", "road", "model", task="seg"),), Not(Distance("r1", "<=", Q(50, "m"))))),
    ("ships that are damaged and north of the pier", ["pier"],
     Plan("detection", (Target("ships"),), (PIER,), Direction("r1", "north"), visual=("that are damaged",))),
    ("boats within 50 m of the pier or the breakwater", ["pier", "breakwater"],
     Plan("detection", (Target("boats"),), (PIER, Reference("r2", "breakwater", "layer", layer="breakwater")),
          Or((Distance("r1", "<=", Q(50, "m")), Distance("r2", "<=", Q(50, "m")))))),
    ("lakes between 2 and 10 ha", [], Plan("detection", (Target("lakes"),), where=Measure("area", "between", Q(2, "ha"), Q(10, "ha")))),
    ("ships within half a mile of the pier", ["pier"], Plan("detection", (Target("ships"),), (PIER,), Distance("r1", "<=", Q(0.5, "mi")))),
    ("houses with solar panels on the roof", [], Plan("detection", (Target("houses"),), visual=("with solar panels on the roof",))),
]


@pytest.mark.parametrize("instruction, layers, want", GRAMMAR_CASES)
def test_grammar_reads_what_the_instruction_means(instruction, layers, want):
    got = parse_with_grammar(instruction, "detection", layers)
    assert same_meaning(got, want), got.describe()
    assert got.parser == "grammar"


def test_a_reference_is_a_layer_only_when_a_layer_matches_or_the_text_says_so():
    # the runways layer is named by its own name, in the singular
    plan = parse_with_grammar("planes near the runways", "detection", ["runway", "apron"])
    assert plan.references == (Reference("r1", "runways", "layer", layer="runway"),)
    # no layer matches: the model finds it (segmentation for a river, detection for a bridge)
    assert parse_with_grammar("huts east of the river", "detection", ["roads"]).references[0].task == "seg"
    # called a layer (or quoted), it stays a layer reference even when missing: the layer check says so
    plan = parse_with_grammar('ships near the "Harbour 2020" layer', "detection", None)
    assert plan.references == (Reference("r1", "Harbour 2020", "layer", layer="Harbour 2020"),)


def test_the_same_reference_twice_is_one_reference():
    plan = parse_with_grammar("ships north of the pier or within 50 m of the pier", "detection", ["pier"])
    assert len(plan.references) == 1 and plan.where == Or((Direction("r1", "north"), Distance("r1", "<=", Q(50, "m"))))


def test_grammar_errors_say_where_it_stopped():
    with pytest.raises(GrammarError, match="unexpected 'of' after 'buildings within'"):
        parse_with_grammar("buildings within of the river", "detection")
    with pytest.raises(GrammarError, match="unexpected 'within' at the start"):
        parse_with_grammar("within 5 m of", "detection")
    with pytest.raises(GrammarError, match="empty"):
        parse_with_grammar("  ", "detection")


NOUNS = ["ships", "buildings", "storage tanks", "white cars", "fishing boats"]
LAYERS = ["pier", "roads", "river", "apron", "flood_zone"]
LENGTHS = ["m", "metres", "km", "ft", "miles"]
AREAS = ["m²", "m2", "ha", "hectares", "km²", "acres", "sq ft"]
DIRECTIONS = {"north": "north", "south-east": "south-east", "northwest": "north-west", "west": "west"}


@st.composite
def condition(draw):
    """(text, builder(ref id of a layer) -> condition, layer name or None)."""
    layer = draw(st.sampled_from(LAYERS))
    phrase = "the " + layer.replace("_", " ")
    n = draw(st.integers(1, 5000))
    m = n + draw(st.integers(1, 5000))
    u, a = draw(st.sampled_from(LENGTHS)), draw(st.sampled_from(AREAS))
    kind = draw(st.sampled_from(["within", "more", "between", "near", "dir", "inside", "outside", "area", "length",
                                 "not_within", "width"]))
    if kind == "within":
        return f"within {n} {u} of {phrase}", lambda r: Distance(r, "<=", Q(n, u)), layer
    if kind == "more":
        return f"more than {n} {u} away from {phrase}", lambda r: Distance(r, ">", Q(n, u)), layer
    if kind == "between":
        return f"between {n} and {m} {u} from {phrase}", lambda r: Distance(r, "between", Q(n, u), Q(m, u)), layer
    if kind == "near":
        return f"near {phrase}", lambda r: Distance(r, "<=", NEAR_DEFAULT, default=True), layer
    if kind == "dir":
        word = draw(st.sampled_from(sorted(DIRECTIONS)))
        lead = draw(st.sampled_from(["", "to the ", "on the "]))
        tail = " side of" if lead == "on the " else " of"
        return f"{lead}{word}{tail} {phrase}", lambda r: Direction(r, DIRECTIONS[word]), layer
    if kind == "inside":
        return f"{draw(st.sampled_from(['inside', 'in', 'on']))} {phrase}", lambda r: Topology(r, "inside"), layer
    if kind == "outside":
        return f"outside {phrase}", lambda r: Not(Topology(r, "intersects")), layer
    if kind == "not_within":
        return f"not within {n} {u} of {phrase}", lambda r: Not(Distance(r, "<=", Q(n, u))), layer
    if kind == "area":
        op, word = draw(st.sampled_from([(">", "larger than"), ("<", "smaller than"), (">=", "at least")]))
        return f"{word} {format_number(n)} {a}", lambda r: Measure("area", op, Q(n, a)), None
    if kind == "width":
        return f"wider than {n} {u}", lambda r: Measure("width", ">", Q(n, u)), None
    return f"longer than {n} {u}", lambda r: Measure("length", ">", Q(n, u)), None


@settings(max_examples=60, deadline=None)
@given(noun=st.sampled_from(NOUNS), conds=st.lists(condition(), min_size=1, max_size=3),
       joiner=st.sampled_from([" and ", ", ", " or ", " but "]), verb=st.sampled_from(["", "find ", "detect all "]))
def test_generated_instructions_give_exactly_the_plan_they_mean(noun, conds, joiner, verb):
    if joiner == " or " and len(conds) > 2:
        conds = conds[:2]
    text = verb + noun + " " + joiner.join(c[0] for c in conds).lstrip(", ")
    ids = {}
    for _text, _build, layer in conds:
        if layer is not None and layer not in ids:
            ids[layer] = f"r{len(ids) + 1}"
    refs = tuple(Reference(rid, layer, "layer", layer=layer) for layer, rid in ids.items())
    items = tuple(build(ids.get(layer)) for _text, build, layer in conds)
    where = items[0] if len(items) == 1 else (Or(items) if joiner == " or " else And(items))
    want = Plan("detection", (Target(noun),), refs, where)
    got = parse_with_grammar(text, "detection", LAYERS)
    assert same_meaning(got, want), (text, got.describe())


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=60))
def test_parse_plan_never_raises_on_any_text(text):
    plan = parse_plan(text, layer_names=LAYERS)
    assert isinstance(plan, Plan)
    assert Plan.from_dict(plan.to_dict()) == plan


# --------------------------------------------------------------------------------- parse_plan, tasks

def test_task_tag_and_counting_and_text_tasks():
    plan = parse_plan("[seg] lakes larger than 2 ha")
    assert plan.task == "seg" and plan.targets == (Target("lakes", "seg"),)
    plan = parse_plan("how many ships are north of the pier?", layer_names=["pier"])
    assert plan.task == "vqa" and plan.count and plan.targets == (Target("ships"),) and plan.where == Direction("r1", "north")
    question = parse_plan("[vqa] what is the weather like?", layer_names=["pier"])
    assert question.question == "what is the weather like?" and not question.targets and not question.count
    # "is there a ship near the pier?" is answered by counting (yes or no, with the number)
    exists = parse_plan("[vqa] is there a ship near the pier?", layer_names=["pier"])
    assert exists.count and exists.targets == (Target("ship"),) and exists.where is not None
    caption = parse_plan("[caption] describe the ships north of the pier", FakeParserEngine("never asked"))
    assert caption.question == "describe the ships north of the pier" and caption.where is None


def test_default_task_empty_instruction_and_unknown_tag():
    assert parse_plan("planes", default_task=None).task == "detection"
    assert parse_plan("outline the lakes").task == "seg"  # as the pipeline infers it
    empty = parse_plan("   ")
    assert empty.targets == () and any("empty" in w for w in empty.warnings)
    plan = parse_plan("[foo] detect planes")
    assert any("unknown task tag" in w for w in plan.warnings)


def test_what_the_grammar_cannot_read_goes_to_the_model_whole_with_a_warning():
    plan = parse_plan("ships in the northern third of the image", layer_names=["port"])  # thirds are not read
    assert plan.targets == (Target("ships in the northern third of the image"),) and plan.where is None
    assert any("did not understand" in w and "one step" in w for w in plan.warnings)


# -------------------------------------------------------------------------------------- the LLM parser

VALID = Plan("detection", (Target("ships"),), (PIER,), Distance("r1", "<=", Q(200, "m")), visual=("that are rusty",))


@pytest.mark.parametrize("answer", [
    plan_json(VALID),
    "Sure! Here is the plan:\n```json\n" + json.dumps(json.loads(plan_json(VALID)), indent=2) + "\n```\nAnything else?",
    "The plan is " + plan_json(VALID) + " -- done {1}",
])
def test_llm_plans_are_read_from_json_fences_and_chatter(answer):
    engine = FakeParserEngine(answer)
    plan = parse_plan("[detection] ships within 200 m of the pier that are rusty", engine, layer_names=["pier"])
    assert plan == VALID.replace(parser="llm (tiny-planner)")
    (request,) = engine.requests
    assert tuple(request.images) == () and request.temperature == 0.0
    assert "Instruction: ships within 200 m of the pier that are rusty" in request.prompt  # the tag is stripped
    assert "Layers: pier." in request.prompt
    assert request.response_format["json_schema"]["schema"] == plan_schema()


def test_the_schema_goes_in_the_prompt_only_for_engines_that_do_not_constrain_output():
    schema_text = json.dumps(plan_schema(), separators=(",", ":"))
    local = build_parser_request("ships", "detection", None, schema_in_prompt=True)
    served = build_parser_request("ships", "detection", None, schema_in_prompt=False)
    assert schema_text in local.prompt and schema_text not in served.prompt
    for example_text, _task, _layers, example in few_shot_examples():  # the examples follow the schema
        assert example_text in served.prompt and plan_json(example).replace(" ", "") in served.prompt.replace(" ", "")
    engine = FakeParserEngine(plan_json(VALID), constrains_output=True)
    parse_plan("ships near the pier", engine, layer_names=["pier"])
    assert schema_text not in engine.requests[0].prompt


def test_the_run_decides_the_task_and_layer_names_are_settled():
    answer = json.dumps({"task": "seg", "targets": [{"phrase": "ships"}],
                         "references": [{"id": "a", "phrase": "Piers", "source": "layer", "layer": "PIERS"}],
                         "where": {"kind": "direction", "ref": "a", "direction": "south"}})
    plan = parse_plan("ships south of the piers", FakeParserEngine(answer), layer_names=["pier"])
    assert plan.task == "detection" and plan.references[0].layer == "pier"


@pytest.mark.parametrize("answer, reason", [
    ("I am sorry, I cannot do this.", "no JSON object"),
    ("", "empty"),
    ('{"task": "detection", "where": {"kind": "direction", "ref": "r7", "direction": "north"}}', "unknown reference"),
    ('{"targets": [{"phrase": "ships"}], "where": {"kind": "near", "ref": "r1"}}', "invalid"),
    ('{"targets": [{"phrase": "ships"}], "count": "many"}', "invalid"),
    ('__import__("os").system("echo pwned")', "no JSON object"),
    ("{" * 60_000, "too long"),
])
def test_unusable_llm_answers_fall_back_to_the_grammar_with_the_reason(answer, reason):
    plan = parse_plan("ships north of the pier", FakeParserEngine(answer), layer_names=["pier"])
    assert plan.parser == "grammar" and plan.where == Direction("r1", "north")
    assert len(plan.warnings) == 1 and reason in plan.warnings[0] and "grammar instead" in plan.warnings[0]


def test_engine_failure_falls_back_to_the_grammar():
    plan = parse_plan("ships north of the pier", FakeParserEngine(EngineError("server down")), layer_names=["pier"])
    assert plan.parser == "grammar" and "server down" in plan.warnings[0]


def test_llm_answers_are_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    answer = f'{{"targets": [{{"phrase": open({str(marker)!r}, "w").write("x")}}]}}'
    plan, problem = plan_from_answer(answer, "detection", None, "llm")
    assert plan is None and problem and not marker.exists()


def test_a_text_task_plan_from_the_llm_needs_a_question_or_a_count():
    plan, problem = plan_from_answer('{"task": "vqa"}', "vqa", None, "llm")
    assert plan is None and "neither" in problem
    plan, _ = plan_from_answer('{"question": "is it sunny?"}', "vqa", None, "llm")
    assert plan.question == "is it sunny?"


# ------------------------------------------------------------------------------- sentences and checks

def test_the_plan_in_sentences_says_model_steps_gis_measures_and_assumptions():
    plan = parse_plan("the two ships closest to a bridge that are damaged and near the pier", layer_names=["pier"])
    kinds = [s.kind for s in plan.sentences()]
    assert kinds == ["model", "model", "model", "gis", "gis", "assumption"]
    text = plan.describe()
    assert text.splitlines()[0] == "Plan (detection), read by grammar:"
    assert "1. Model (detection): find the bridge first" in text
    assert "3. Model: keep the ones that are damaged" in text
    assert "at most 100 m from the layer 'pier' (edge to edge)" in text
    assert "keep the 2 objects closest to the bridge the model finds" in text and "tied" in text
    assert "6. Assumption: \u201cnear\u201d means within 100 m" in text
    report = plan.report()
    assert report["plan"] == plan.to_dict() and report["sentences"] == [s.to_dict() for s in plan.sentences()]
    count = parse_plan("how many planes are on the apron?", layer_names=["apron"])
    assert [s.kind for s in count.sentences()][-1] == "answer"


def test_check_plan_settles_layers_and_refuses_missing_ones_before_a_run():
    plan = parse_plan("ships within 100 m of the Piers layer", layer_names=None)
    assert check_plan(plan, ["pier", "roads"]).references[0].layer == "pier"
    with pytest.raises(ConfigError, match=r"layer 'Piers'.*available: bridge, roads"):
        check_plan(plan, ["roads", "bridge"])
    found = parse_plan("ships within 100 m of a bridge", layer_names=[])
    assert check_plan(found, ["roads"]) == found  # the model can find it
    assert check_plan(found, ["bridges"]).references[0].source == "layer"  # a layer now matches it
    with pytest.raises(ConfigError, match=r"\u201cbridge\u201d matches no context layer \(available: roads\)"):
        check_plan(found, ["roads"], model_can_find=False)


def test_it_names_the_place_named_last_and_nothing_else():
    plan = parse_with_grammar("buildings south of the river, within 500 m of it", "detection", ["river", "roads"])
    assert len(plan.references) == 1 and plan.references[0].layer == "river"
    with pytest.raises(GrammarError, match="refers to no place"):
        parse_with_grammar("buildings within 50 m of it", "detection", ["river"])


def test_a_long_chain_of_clauses_is_read_without_listing_its_readings():
    """Six chained relative clauses have 255,512 readings (listing such chains ran out of memory); the forest
    search reads them in about the time of a short instruction."""
    from model_backend.conditions import grammar

    text = " and ".join(["buildings that are north of the river", "that are within 500 m of the roads",
                         "that are larger than 100 m²", "that are not in the airport", "that are south of the pier",
                         "that are smaller than 2000 m²"])
    forest = grammar._parser().parse(text, start="start")
    assert grammar._count_readings(forest, grammar.MAX_READINGS) > grammar.MAX_READINGS  # 255,512 readings
    plan = parse_with_grammar(text, "detection", ["river", "roads", "airport", "pier", "coastline"])
    assert isinstance(plan.where, And) and len(plan.where.items) == 6 and not plan.visual


def test_an_instruction_longer_than_the_grammar_reads_goes_to_the_model_whole():
    plan = parse_plan("ships " + "and big " * 70 + "near the pier", layer_names=["pier"])
    assert plan.where is None and any("longer than the grammar reads" in w for w in plan.warnings)
