"""The LLM parser through real engines: an OpenAI-compatible server (a fake one on loopback) that must
receive the plan's JSON Schema as ``response_format``, and a tiny text-only causal LM built offline,
loaded by the ``text-llm`` engine (directly, through the factory, and as the model manager's parser
entry), whose garbage answer falls back to the grammar."""

from __future__ import annotations

import json

import pytest

from model_backend.conditions import Direction, Distance, Plan, Quantity, Reference, Target, parse_plan, plan_schema
from model_backend.engines import get_engine
from model_backend.engines.base import EngineRequest
from model_backend.errors import EngineError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.factory import build_parser_engine
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion

PIER = Reference("r1", "pier", "layer", layer="pier")
PLAN = Plan("detection", (Target("ships"),), (PIER,), Distance("r1", "<=", Quantity(200, "m")))


def answer_json(plan: Plan) -> str:
    data = plan.to_dict()
    data.pop("parser"), data.pop("warnings")
    return json.dumps(data)


def served_engine(server):
    return get_engine("openai", base_url=server.url, model="tiny", retries=0, logprobs=False)


# ------------------------------------------------------------------------------ OpenAI-compatible

@pytest.mark.parametrize("text", [
    answer_json(PLAN),
    "Here you go:\n```json\n" + answer_json(PLAN) + "\n```",
])
def test_a_served_model_gets_the_schema_as_response_format_and_its_plan_is_used(text):
    with FakeOpenAIServer(default=lambda body: Reply(body=completion(text))) as server:
        engine = served_engine(server)
        plan = parse_plan("[detection] ships within 200 m of the pier", engine, layer_names=["pier"])
        (request,) = server.chat_requests()
    assert plan == PLAN.replace(parser="llm (tiny)")
    body = request["body"]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "plan", "schema": plan_schema()}}
    assert body["temperature"] == 0.0
    system, user = body["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    parts = user["content"]
    assert [p["type"] for p in parts] == ["text"]  # text only: no image
    prompt = parts[0]["text"]
    assert "Instruction: ships within 200 m of the pier" in prompt
    assert '"$defs"' not in prompt  # the server constrains decoding: the schema is not repeated in the prompt


@pytest.mark.parametrize("text, reason", [
    ('{"targets": [{"phrase": "ships"}], "where": {"kind": "distance", "ref": "r1", "op": "within"}}', "invalid"),
    ("I would look for ships near the pier.", "no JSON object"),
])
def test_an_unusable_served_answer_falls_back_to_the_grammar(text, reason):
    with FakeOpenAIServer(default=lambda body: Reply(body=completion(text))) as server:
        plan = parse_plan("ships north of the pier", served_engine(server), layer_names=["pier"])
    assert plan.parser == "grammar" and plan.where == Direction("r1", "north")
    assert reason in plan.warnings[0] and "grammar instead" in plan.warnings[0]


def test_a_failing_server_falls_back_to_the_grammar():
    with FakeOpenAIServer(default=lambda body: Reply(status=500, body={"error": {"message": "boom"}})) as server:
        plan = parse_plan("ships north of the pier", served_engine(server), layer_names=["pier"])
    assert plan.parser == "grammar" and "boom" in plan.warnings[0]


def test_the_factory_builds_the_parser_on_the_main_server():
    config = RunConfig(engine="openai", base_url="http://127.0.0.1:9/v1", parser_model="qwen-parser")
    engine = build_parser_engine(config, None)
    assert engine.name == "openai" and engine.model == "qwen-parser"
    assert build_parser_engine(RunConfig(parser_model=None), None) is None


# ---------------------------------------------------------------------------- a local text-only LM

@pytest.fixture(scope="module")
def tiny_parser(tmp_path_factory):
    pytest.importorskip("torch", reason="the text-llm engine needs torch (requirements/ml.txt)")
    from model_backend.conditions.llm_parser import build_parser_request
    from tests.helpers.tiny_models import build_qwen2_text

    # the tokenizer learns the parser's prompt, so that the long prompt stays a few thousand tokens
    prompt = build_parser_request("ships north of the pier", "detection", ["pier"]).prompt
    return build_qwen2_text(tmp_path_factory.mktemp("parser") / "qwen2-text", corpus=[prompt])


@pytest.mark.slow
def test_a_tiny_local_text_lm_answers_garbage_and_the_grammar_takes_over(tiny_parser, monkeypatch):
    import model_backend.conditions.llm_parser as llm_parser

    monkeypatch.setattr(llm_parser, "MAX_PLAN_TOKENS", 24)  # random weights never stop: keep it short
    engine = build_parser_engine(RunConfig(parser_model=str(tiny_parser), device="cpu"), None)
    assert engine.name == "text-llm"
    engine.load()
    try:
        assert engine.describe()["loaded"] and engine.describe()["device"] == "cpu"
        plan = parse_plan("ships north of the pier", engine, layer_names=["pier"])
        raw = engine.generate(EngineRequest("ships", max_new_tokens=8))
        with pytest.raises(EngineError, match="no images"):
            engine.generate(EngineRequest("ships", images=[__import__("numpy").zeros((4, 4, 3), "uint8")]))
    finally:
        engine.close()
    assert isinstance(raw.text, str) and raw.info["generated_tokens"] <= 8
    assert plan.parser == "grammar" and plan.where == Direction("r1", "north")
    assert len(plan.warnings) == 1 and "parser model" in plan.warnings[0] and "grammar instead" in plan.warnings[0]


def test_the_text_engine_refuses_what_is_not_a_causal_lm(tmp_path):
    pytest.importorskip("transformers", reason="the text-llm engine needs transformers (requirements/ml.txt)")
    from model_backend.engines.text_llm import is_causal_lm
    from model_backend.pipeline.factory import _is_vision_checkpoint

    vlm = tmp_path / "vlm"
    vlm.mkdir()
    (vlm / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl", "architectures": ["X"]}))
    assert _is_vision_checkpoint(str(vlm)) and build_parser_engine(RunConfig(parser_model=str(vlm)), None).name == "transformers"
    encoder = tmp_path / "bert"
    encoder.mkdir()
    (encoder / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(EngineError, match="not a text-only causal language model"):
        get_engine("text-llm", model=str(encoder), device="cpu").load()
    assert is_causal_lm({"architectures": ["Qwen2ForCausalLM"]}) and is_causal_lm({"model_type": "qwen2"})
    assert not is_causal_lm({"model_type": "vit"}) and not is_causal_lm({"architectures": ["BertModel"]})


@pytest.mark.slow
def test_the_model_managers_parser_entry_downloads_checks_and_parses(tiny_parser, tmp_path, monkeypatch, capsys):
    from model_backend.models import download_model, find_model
    from model_backend.models.cli import cmd_models
    from tests.unit.test_model_manager import FakeHub, _models_args

    import model_backend.conditions.llm_parser as llm_parser

    entry = find_model("qwen2.5-0.5b-instruct")
    assert entry.kind == "parser"
    files = {p.relative_to(tiny_parser).as_posix(): p.read_bytes() for p in sorted(tiny_parser.rglob("*")) if p.is_file()}
    server = FakeHub(files, repo=entry.repo_id)
    cache = tmp_path / "cache"
    try:
        download_model(entry.id, cache_dir=cache, endpoint=server.endpoint)
    finally:
        server.close()
    assert cmd_models(_models_args("check", entry.id, "--cache-dir", str(cache))) == 0
    out = capsys.readouterr().out
    assert "engine=text-llm" in out and "loaded=True" in out
    # --parser-model names the catalogue entry: its download is what loads
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(llm_parser, "MAX_PLAN_TOKENS", 8)
    engine = build_parser_engine(RunConfig(parser_model=entry.id, device="cpu"), None)
    assert engine.name == "text-llm" and str(cache) in engine.model_ref
    try:
        plan = parse_plan("ships within 100 m of the pier", engine, layer_names=["pier"])
    finally:
        engine.close()
    assert plan.parser == "grammar" and plan.where == Distance("r1", "<=", Quantity(100, "m"))


def test_eval_plans_scores_a_served_parser_beside_the_grammar(data_dir, tmp_path, capsys):
    """A fake server that answers each instruction with its expected plan (one with a wrong plan): the
    LLM column shows what the served parser got right, per construct."""
    from model_backend.cli import main

    lines = (data_dir / "instructions.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    corpus = tmp_path / "few.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {json.loads(line)["instruction"]: json.loads(line)["plan"] for line in lines}
    first = json.loads(lines[0])["instruction"]

    def answer(body):
        instruction = body["messages"][-1]["content"][0]["text"].rsplit("Instruction: ", 1)[1].split("\nPlan:")[0]
        plan = dict(expected[instruction])
        if instruction == first:
            plan["targets"] = [{"phrase": "something else", "task": "detection"}]
        return Reply(body=completion(json.dumps(plan)))

    with FakeOpenAIServer(default=answer) as server:
        code = main(["eval-plans", str(corpus), "--engine", "openai", "--base-url", server.url, "--parser-model", "tiny"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "llm (tiny)" in out.splitlines()[1]
    total = out.splitlines()[-1]
    assert "11/12" in total and "12/12" in total  # the LLM got one wrong, the grammar none
