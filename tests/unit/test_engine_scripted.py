"""The scripted engine (known answers for tests, demos and the overhead benchmark)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from model_backend.engines import EngineRequest, TokenProb, attach_scores, get_engine
from model_backend.engines.scripted import Rule, ScriptedEngine, load_script
from model_backend.errors import ConfigError, EngineError
from model_backend.geometry import RotatedBox


def _req(prompt: str, n_images: int = 1, h: int = 32, w: int = 48) -> EngineRequest:
    return EngineRequest(prompt, images=[np.zeros((h, w, 3), np.uint8)] * n_images)


def test_constant_answer():
    engine = get_engine("scripted", answers="{<1><2><3><4>|0}")
    with engine:
        assert engine.generate(_req("[detection] plane")).text == "{<1><2><3><4>|0}"
        response = engine.generate(_req("[caption]"))
    assert response.tokens is None  # nothing scripted, nothing invented
    assert engine.calls == 2 and [r.prompt for r in engine.requests] == ["[detection] plane", "[caption]"]


def test_list_in_turn_cycles_or_runs_out():
    engine = ScriptedEngine(["a", "b"])
    assert [engine.generate(_req("x")).text for _ in range(5)] == ["a", "b", "a", "b", "a"]
    once = ScriptedEngine(["a", "b"], cycle=False)
    assert [once.generate(_req("x")).text for _ in range(2)] == ["a", "b"]
    with pytest.raises(EngineError, match="ran out after 2"):
        once.generate(_req("x"))
    with_default = ScriptedEngine(["a"], cycle=False, default="zzz")
    assert [with_default.generate(_req("x")).text for _ in range(3)] == ["a", "zzz", "zzz"]


def test_dict_matches_prompt_substrings_in_order():
    engine = ScriptedEngine({"[detection] plane": "P", "[detection]": "D"}, default="none")
    assert engine.generate(_req("[detection] plane")).text == "P"
    assert engine.generate(_req("[detection] ship")).text == "D"
    assert engine.generate(_req("[caption]")).text == "none"
    two_images = ScriptedEngine({lambda r: len(r.images) == 2: "pair", "[change]": "single"})
    assert two_images.generate(_req("[change]", n_images=2)).text == "pair"
    assert two_images.generate(_req("[change]", n_images=1)).text == "single"
    strict = ScriptedEngine({"[seg]": "S"})
    with pytest.raises(EngineError, match="no scripted answer matches"):
        strict.generate(_req("[caption]"))


def test_rules_on_images_and_predicates():
    rules = [
        Rule("two", images=2),
        Rule("wide", image_size=(64, 32)),
        Rule("regex", prompt_regex=r"^\[vqa\] how many"),
        Rule("bright", when=lambda r: bool(r.images) and r.images[0].mean() > 100),
    ]
    engine = ScriptedEngine(rules, default="other")
    assert engine.generate(_req("[change]", n_images=2)).text == "two"
    assert engine.generate(_req("[caption]", h=32, w=64)).text == "wide"
    assert engine.generate(_req("[vqa] how many ships")).text == "regex"
    bright = EngineRequest("[caption]", images=[np.full((8, 8, 3), 200, np.uint8)])
    assert engine.generate(bright).text == "bright"
    assert engine.generate(_req("[caption]")).text == "other"


def test_callable_and_scripted_token_probabilities():
    def answer(request):
        return {"text": f"got {len(request.images)}", "tokens": [[0, 3, 0.5], [3, 5, 0.25]], "info": {"k": 1}}

    response = ScriptedEngine(answer).generate(_req("x", n_images=2))
    assert response.text == "got 2"
    assert response.tokens == [TokenProb(0, 3, 0.5), TokenProb(3, 5, 0.25)]
    assert response.info["k"] == 1
    (scored,) = attach_scores([RotatedBox(((0, 0), (1, 0), (1, 1), (0, 1)), span=(0, 5))], response.tokens)
    assert scored.score == pytest.approx(0.375)


def test_bad_scripts_are_config_errors():
    with pytest.raises(ConfigError, match="exactly one of"):
        ScriptedEngine()
    with pytest.raises(ConfigError):
        ScriptedEngine([1, 2])
    with pytest.raises(ConfigError, match="latency"):
        ScriptedEngine("x", latency=-1)
    with pytest.raises(ConfigError, match="prompt_regex"):
        Rule("x", prompt_regex="(")
    with pytest.raises(ConfigError):
        ScriptedEngine(lambda r: 42).generate(_req("x"))


def test_latency_parallel_by_default_and_serial_on_request():
    def run(engine, n=4):
        threads = [threading.Thread(target=engine.generate, args=(_req("x"),)) for _ in range(n)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started

    assert run(ScriptedEngine("a", latency=0.2)) < 0.6
    assert run(ScriptedEngine("a", latency=0.1, serial=True)) >= 0.4


def test_json_file_forms(tmp_path):
    rules_file = tmp_path / "script.json"
    rules_file.write_text(
        json.dumps(
            {
                "rules": [{"prompt_contains": "[seg]", "answer": "S"}, {"images": 2, "answer": "C"}],
                "default": "D",
                "latency": 0.01,
                "dialect": "qwen2.5-vl",
            }
        )
    )
    engine = get_engine("scripted", path=str(rules_file))
    assert engine.generate(_req("[seg] lake")).text == "S"
    assert engine.generate(_req("[change]", n_images=2)).text == "C"
    assert engine.generate(_req("[caption]")).text == "D"
    assert engine.describe() == {
        "engine": "scripted",
        "model": str(rules_file),
        "device": "none",
        "dtype": None,
        "family": None,
        "dialect": "qwen2.5-vl",
        "latency": 0.01,
        "requests": 3,  # answered so far: what tests of a server process can read from its health
    }
    seq = tmp_path / "seq.json"
    seq.write_text(json.dumps(["one", {"text": "two", "tokens": [[0, 3, 0.9]]}]))
    engine = ScriptedEngine(path=seq)
    assert engine.generate(_req("x")).text == "one"
    assert engine.generate(_req("x")).tokens == [TokenProb(0, 3, 0.9)]
    single = tmp_path / "single_rule.json"
    single.write_text(json.dumps({"prompt_contains": "[vqa]", "answer": "yes"}))
    engine = ScriptedEngine(path=single)
    assert engine.generate(_req("[vqa] any ships")).text == "yes"
    with pytest.raises(EngineError, match="no scripted answer matches"):
        engine.generate(_req("[caption]"))


def test_jsonl_file_rules_first_match_and_catch_all(tmp_path):
    path = tmp_path / "script.jsonl"
    path.write_text(
        '{"prompt_regex": "plane|ship", "answer": "vehicle"}\n\n'
        '{"image_size": [48, 32], "answer": "small tile"}\n'
        '{"answer": "anything"}\n'
    )
    engine = ScriptedEngine(path=path)
    assert engine.generate(_req("[detection] ship")).text == "vehicle"
    assert engine.generate(_req("[caption]")).text == "small tile"
    assert engine.generate(_req("[caption]", h=10, w=10)).text == "anything"


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("bad.jsonl", '{"answer": "a"}\nnot json\n', "line 2 is not JSON"),
        ("bad2.jsonl", '"just a string"\n', "line 1"),
        ("empty.jsonl", "\n\n", "no rules"),
        ("bad.json", "{", "not JSON"),
        ("keys.json", '{"rulez": []}', "unknown: rulez"),
        ("rule.json", '{"rules": [{"answer": "a", "colour": "red"}]}', "unknown: colour"),
    ],
)
def test_bad_script_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_script(path)


def test_missing_script_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read scripted answers"):
        get_engine("scripted", path=str(tmp_path / "nope.json"))
