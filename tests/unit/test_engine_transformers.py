"""The transformers engine on tiny random-weight checkpoints built offline (see tests/helpers).

Random weights make answers meaningless: these tests check loading from a saved folder, prompt
layout with one and two images, devices and dtypes, token spans and probabilities, and errors.
"""

from __future__ import annotations

import gc
import json
import shutil
import threading
import weakref

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds and loads six tiny checkpoints (~20 s on 2 cores)

torch = pytest.importorskip("torch", reason="the transformers engine needs torch (requirements/ml.txt)")
transformers = pytest.importorskip("transformers")

from model_backend.engines import EngineRequest, default_dialect_for, get_engine  # noqa: E402
from model_backend.engines.families import FAMILIES  # noqa: E402
from model_backend.engines.images import fit_to_model_frame, to_pil  # noqa: E402
from model_backend.engines.transformers_engine import TransformersEngine, _decode_with_spans  # noqa: E402
from model_backend.errors import ConfigError, EngineError  # noqa: E402
from tests.helpers import tiny_models  # noqa: E402

BUILDERS = {
    "llava_onevision": tiny_models.build_llava_onevision,
    "qwen2_vl": tiny_models.build_qwen2_vl,
    "qwen2_5_vl": tiny_models.build_qwen2_5_vl,
    "qwen3_vl": tiny_models.build_qwen3_vl,
    "internvl": tiny_models.build_internvl,
    "florence2": tiny_models.build_florence2,
}
CHAT_FAMILIES = [f for f in BUILDERS if FAMILIES[f].chat_template]


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch):
    """Any accidental hub access fails at once instead of touching the network."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Builds each tiny checkpoint once per session, on first use."""
    root = tmp_path_factory.mktemp("tiny_vlms")
    built: dict[str, object] = {}

    def get(model_type: str):
        if model_type not in built:
            built[model_type] = BUILDERS[model_type](root / model_type)
        return built[model_type]

    return get


@pytest.fixture(scope="session")
def engines(checkpoints):
    """One loaded CPU engine per family, shared by the tests."""
    loaded: dict[str, TransformersEngine] = {}

    def get(model_type: str) -> TransformersEngine:
        if model_type not in loaded:
            engine = get_engine("transformers", model=str(checkpoints(model_type)), device="cpu")
            engine.load()
            loaded[model_type] = engine
        return loaded[model_type]

    yield get
    for engine in loaded.values():
        engine.close()


def _image(seed: int, h: int = 60, w: int = 90) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _prompt(model_type: str) -> str:
    return "<OD>" if model_type == "florence2" else "[detection] plane"


def _check_tokens(response, max_new_tokens: int) -> None:
    tokens = response.tokens
    assert tokens is not None
    assert len(tokens) == response.info["generated_tokens"]
    assert 1 <= len(tokens) <= max_new_tokens
    # Contiguous spans that tile the answer text exactly.
    assert tokens[0].start == 0
    assert tokens[-1].end == len(response.text)
    for a, b in zip(tokens, tokens[1:]):
        assert a.end == b.start
    assert "".join(response.text[t.start : t.end] for t in tokens) == response.text
    assert all(0.0 < t.prob <= 1.0 for t in tokens)


# -- loading and generation, every family -------------------------------------------------------


@pytest.mark.parametrize("model_type", list(BUILDERS))
def test_loads_folder_and_generates_one_image(engines, model_type):
    engine = engines(model_type)
    info = engine.describe()
    assert info == {
        "engine": "transformers",
        "model": info["model"],
        "device": "cpu",
        "dtype": "float32",
        "family": model_type,
        "dialect": default_dialect_for(model_type),
        "loaded": True,
        "trust_remote_code": False,
        "max_batch": 4,
    }
    params = list(engine._model.parameters())
    assert {p.device.type for p in params} == {"cpu"}
    assert {p.dtype for p in params} == {torch.float32}

    response = engine.generate(EngineRequest(_prompt(model_type), images=[_image(1)], max_new_tokens=12))
    assert isinstance(response.text, str)
    assert response.info["finish_reason"] in {"stop", "length"}
    assert response.info["input_tokens"] > 4
    _check_tokens(response, 12)
    # Greedy decoding by default: the same request gives the same answer.
    again = engine.generate(EngineRequest(_prompt(model_type), images=[_image(1)], max_new_tokens=12))
    assert again.text == response.text
    assert [t.prob for t in again.tokens] == pytest.approx([t.prob for t in response.tokens], rel=1e-4)


@pytest.mark.parametrize("model_type", CHAT_FAMILIES)
def test_two_images_for_change_detection(engines, model_type):
    engine = engines(model_type)
    one = engine.generate(EngineRequest("[change] what changed", images=[_image(1)], max_new_tokens=4))
    two = engine.generate(
        EngineRequest("[change] what changed", images=[_image(1), _image(2)], max_new_tokens=4)
    )
    _check_tokens(two, 4)
    # The second image adds its own placeholder tokens to the prompt.
    assert two.info["input_tokens"] > one.info["input_tokens"]
    if "model_image_sizes" in two.info:
        assert len(two.info["model_image_sizes"]) == 2


def test_change_pair_is_placed_before_then_after(engines):
    """The chat template receives two image parts, in request order, before the text."""
    engine = engines("qwen2_5_vl")
    before, after = _image(1, 56, 112), _image(2, 112, 56)
    response = engine.generate(EngineRequest("[change] x", images=[before, after], max_new_tokens=2))
    sizes = response.info["model_image_sizes"]
    # Qwen's processor keeps each image's aspect ratio: wide first, tall second.
    assert sizes[0][0] > sizes[0][1] and sizes[1][0] < sizes[1][1]


def test_qwen_model_image_sizes_are_multiples_of_the_merged_patch(engines):
    engine = engines("qwen2_5_vl")
    response = engine.generate(EngineRequest("[caption]", images=[_image(3, 100, 150)], max_new_tokens=2))
    ((w, h),) = response.info["model_image_sizes"]
    assert w % 28 == 0 and h % 28 == 0 and w > h


def test_florence_takes_exactly_one_image(engines):
    engine = engines("florence2")
    with pytest.raises(EngineError, match="1 image"):
        engine.generate(EngineRequest("<OD>", images=[_image(1), _image(2)]))
    with pytest.raises(EngineError, match="1 image"):
        engine.generate(EngineRequest("<OD>", images=[]))
    with pytest.raises(EngineError, match="system message"):
        engine.generate(EngineRequest("<OD>", images=[_image(1)], system="you are helpful"))


def test_system_message_is_part_of_the_prompt(engines):
    engine = engines("qwen2_vl")
    plain = engine.generate(EngineRequest("[vqa] is there a ship", images=[_image(1)], max_new_tokens=2))
    with_system = engine.generate(
        EngineRequest("[vqa] is there a ship", images=[_image(1)], system="answer briefly", max_new_tokens=2)
    )
    assert with_system.info["input_tokens"] > plain.info["input_tokens"]


def test_bad_images_are_refused(engines):
    engine = engines("qwen2_vl")
    with pytest.raises(EngineError, match=r"\(H, W, 3\)"):
        engine.generate(EngineRequest("x", images=[np.zeros((8, 8), np.uint8)]))
    with pytest.raises(EngineError, match="uint8"):
        engine.generate(EngineRequest("x", images=[np.zeros((8, 8, 3), np.float32)]))
    with pytest.raises(EngineError, match="0 to 2 image"):
        engine.generate(EngineRequest("x", images=[_image(1)] * 3))


def test_token_probabilities_match_a_teacher_forced_forward_pass(engines):
    """Each reported probability is the model's softmax probability of the token it generated."""
    engine = engines("qwen2_5_vl")
    request = EngineRequest("[detection] ship", images=[_image(5)], max_new_tokens=10)
    response = engine.generate(request)
    processor, model = engine._processor, engine._model
    text = engine._prompt_text(request, 1)
    # the engine first sends the image at the frame the qwen2.5-vl dialect's pixels refer to
    (framed,) = fit_to_model_frame([_image(5)], engine.dialect)
    inputs = processor(text=[text], images=[to_pil(framed)], return_tensors="pt")
    prompt_len = inputs["input_ids"].shape[1]
    with torch.no_grad():
        gen_ids = model.generate(**inputs, max_new_tokens=10, do_sample=False)[0, prompt_len:].tolist()
    full = dict(inputs)
    full["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([gen_ids])], dim=1)
    full["attention_mask"] = torch.ones_like(full["input_ids"])
    full["mm_token_type_ids"] = torch.cat(
        [
            inputs["mm_token_type_ids"],
            torch.zeros((1, len(gen_ids)), dtype=inputs["mm_token_type_ids"].dtype),
        ],
        dim=1,
    )
    with torch.no_grad():
        logits = model(**full).logits[0]
    probs = torch.softmax(logits.float(), dim=-1)
    expected = [float(probs[prompt_len - 1 + i, tok]) for i, tok in enumerate(gen_ids)]
    assert [t.prob for t in response.tokens] == pytest.approx(expected, rel=1e-3, abs=1e-5)


def test_sampling_with_temperature_runs(engines):
    engine = engines("qwen2_5_vl")
    response = engine.generate(
        EngineRequest("[caption]", images=[_image(1)], max_new_tokens=6, temperature=0.8)
    )
    _check_tokens(response, 6)


def test_concurrent_requests_are_serialised_and_give_greedy_answers(engines):
    engine = engines("qwen2_5_vl")
    requests = [EngineRequest(f"[vqa] question {i}", images=[_image(i)], max_new_tokens=6) for i in range(4)]
    expected = [engine.generate(r).text for r in requests]
    results: list[str | None] = [None] * 8
    errors = []

    def run(i):
        try:
            results[i] = engine.generate(requests[i % 4]).text
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == expected + expected


# -- token spans (pure function on a real tokenizer) --------------------------------------------


def test_decode_with_spans_on_ascii_tokens(engines):
    tokenizer = engines("qwen2_vl")._processor.tokenizer
    ids = tokenizer("the plane is parked near the terminal", add_special_tokens=False)["input_ids"]
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    text, spans = _decode_with_spans(tokenizer, ids + [eos], frozenset({eos}))
    assert text == "the plane is parked near the terminal"
    assert [text[s:e] for s, e in spans[:-1]] == [tokenizer.decode([i]) for i in ids]
    assert spans[-1] == (len(text), len(text))  # the end token adds no text


def test_decode_with_spans_multibyte_characters(engines):
    tokenizer = engines("qwen2_vl")._processor.tokenizer
    ids = tokenizer("lac é 湖 ok", add_special_tokens=False)["input_ids"]
    text, spans = _decode_with_spans(tokenizer, ids, frozenset())
    assert text == "lac é 湖 ok"
    assert "".join(text[s:e] for s, e in spans) == text
    assert any(s == e for s, e in spans)  # a leading byte of 湖 alone adds no character
    pos = text.index("湖")
    assert sum(1 for s, e in spans if s <= pos < e) == 1


def test_markup_special_tokens_stay_in_the_answer(engines):
    """Qwen's <|box_start|> is a special token with meaning for the dialect: it is kept, while the
    chat control tokens are dropped."""
    engine = engines("qwen2_vl")
    tokenizer = engine._processor.tokenizer
    ids = tokenizer.convert_tokens_to_ids(["<|box_start|>", "<|im_start|>", "<|box_end|>", "<|im_end|>"])
    text, _ = _decode_with_spans(tokenizer, ids, engine._drop_ids)
    assert text == "<|box_start|><|box_end|>"


# -- settings ------------------------------------------------------------------------------------


def test_bfloat16_forced_on_cpu(checkpoints):
    engine = get_engine("transformers", model=str(checkpoints("qwen2_vl")), device="cpu", dtype="bfloat16")
    with engine:
        assert engine.describe()["dtype"] == "bfloat16"
        assert {p.dtype for p in engine._model.parameters()} == {torch.bfloat16}
        response = engine.generate(EngineRequest("[caption]", images=[_image(1)], max_new_tokens=3))
        _check_tokens(response, 3)
    assert engine.describe()["loaded"] is False


def test_auto_device_and_dtype_on_this_machine(checkpoints):
    engine = get_engine("transformers", model=str(checkpoints("qwen2_vl")))
    assert engine.describe()["device"] == "auto"
    with engine:
        info = engine.describe()
    if torch.cuda.is_available():
        assert info["device"] == "cuda" and info["dtype"] in {"bfloat16", "float16"}
    elif torch.backends.mps.is_available():
        assert info["device"] == "mps" and info["dtype"] == "float16"
    else:
        assert info["device"] == "cpu" and info["dtype"] == "float32"


def test_configured_dialect_overrides_the_family_default(checkpoints):
    engine = get_engine("transformers", model=str(checkpoints("qwen2_vl")), dialect="georsmllm")
    assert engine.dialect == "georsmllm"
    assert (
        get_engine("transformers", model=str(checkpoints("qwen2_vl"))).dialect == "qwen2-vl"
    )  # from config only


def test_invalid_settings_are_config_errors():
    with pytest.raises(ConfigError, match="dtype"):
        TransformersEngine("x", dtype="int8")
    with pytest.raises(ConfigError, match="device"):
        TransformersEngine("x", device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_forced_cuda_without_cuda(checkpoints):
    engine = get_engine("transformers", model=str(checkpoints("qwen2_vl")), device="cuda")
    with pytest.raises(EngineError, match="CUDA is not available"):
        engine.load()
    assert not engine.loaded


def test_close_releases_the_model(checkpoints):
    engine = get_engine("transformers", model=str(checkpoints("internvl")), device="cpu")
    engine.load()
    ref = weakref.ref(engine._model)
    engine.close()
    gc.collect()
    assert ref() is None and not engine.loaded
    # generate loads again on demand
    assert engine.generate(EngineRequest("[caption]", images=[_image(1)], max_new_tokens=2)).tokens
    engine.close()


# -- loading failures -----------------------------------------------------------------------------


def test_missing_folder(tmp_path):
    engine = get_engine("transformers", model=str(tmp_path / "no_such_model"))
    with pytest.raises(EngineError, match="does not exist.*local checkpoint folder"):
        engine.load()


def test_folder_without_config(tmp_path):
    with pytest.raises(EngineError, match="no config.json"):
        get_engine("transformers", model=str(tmp_path)).load()


def test_unsupported_architecture_names_it_and_lists_supported(tmp_path):
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    transformers.BertModel(config).save_pretrained(tmp_path)
    with pytest.raises(EngineError) as info:
        get_engine("transformers", model=str(tmp_path)).load()
    message = str(info.value)
    assert "'bert'" in message
    for model_type in FAMILIES:
        assert model_type in message


def test_pickled_weights_are_refused_without_unpickling(checkpoints, tmp_path, monkeypatch):
    folder = tmp_path / "bin_only"
    shutil.copytree(checkpoints("qwen2_vl"), folder)
    from safetensors.torch import load_file

    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load must not be called on a pickled checkpoint")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(EngineError, match="only pickled weights.*pytorch_model.bin.*safetensors"):
        get_engine("transformers", model=str(folder)).load()


def test_hub_id_offline_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    engine = get_engine("transformers", model="some-org/not-downloaded-vlm")
    with pytest.raises(EngineError) as info:
        engine.load()
    message = str(info.value)
    assert "some-org/not-downloaded-vlm" in message
    assert "HF_HUB_OFFLINE" in message and "local checkpoint folder" in message and "server URL" in message


def test_hub_id_from_the_local_cache_loads_offline(checkpoints, tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--tiny-org--qwen2-vl"
    shutil.copytree(checkpoints("qwen2_vl"), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    engine = get_engine("transformers", model="tiny-org/qwen2-vl", device="cpu")
    assert engine.dialect == "qwen2-vl"
    with engine:
        assert engine.describe()["family"] == "qwen2_vl"
        assert engine.generate(EngineRequest("[caption]", images=[_image(1)], max_new_tokens=2)).tokens


def test_out_of_memory_while_loading_leaves_nothing_loaded(checkpoints, monkeypatch):
    built = []
    cls = transformers.Qwen2VLForConditionalGeneration

    def oom(self, *args, **kwargs):
        built.append(weakref.ref(self))
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(cls, "to", oom)
    engine = get_engine("transformers", model=str(checkpoints("qwen2_vl")), device="cpu")
    with pytest.raises(EngineError, match="out of memory loading Qwen2-VL.*smaller model") as info:
        engine.load()
    assert info.value.__cause__ is None and info.value.__context__ is None
    gc.collect()
    assert len(built) == 1 and built[0]() is None
    assert not engine.loaded and engine._processor is None


def test_corrupt_weights_give_one_clear_error(checkpoints, tmp_path):
    folder = tmp_path / "corrupt"
    shutil.copytree(checkpoints("qwen2_vl"), folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(EngineError, match="cannot load Qwen2-VL checkpoint"):
        get_engine("transformers", model=str(folder)).load()


def test_missing_model_type_in_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["Something"]}))
    with pytest.raises(EngineError, match="no model_type.*supported"):
        get_engine("transformers", model=str(tmp_path)).load()
