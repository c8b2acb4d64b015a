"""Batched local generation: requests waiting together run as one ``generate`` call and each gets the
answer it gets alone (greedy), on tiny random-weight checkpoints of every family (tests/helpers).

A batch is formed deterministically: the model lock is held while one request runs, the others queue
behind it, and they run together once it is released."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds and loads tiny checkpoints

torch = pytest.importorskip("torch", reason="the transformers engine needs torch (requirements/ml.txt)")

from model_backend.engines import EngineRequest, get_engine  # noqa: E402
from model_backend.engines.batching import BatchQueue  # noqa: E402
from model_backend.errors import ConfigError  # noqa: E402
from tests.helpers import tiny_models  # noqa: E402

BUILDERS = {
    "llava_onevision": tiny_models.build_llava_onevision,
    "qwen2_5_vl": tiny_models.build_qwen2_5_vl,
    "qwen2_vl": tiny_models.build_qwen2_vl,
    "qwen3_vl": tiny_models.build_qwen3_vl,
    "internvl": tiny_models.build_internvl,
    "florence2": tiny_models.build_florence2,
}


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def engine_of(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_batch")
    loaded = {}

    def get(model_type: str):
        if model_type not in loaded:
            folder = BUILDERS[model_type](root / model_type)
            loaded[model_type] = get_engine("transformers", model=str(folder), device="cpu", max_batch=4)
            loaded[model_type].load()
        return loaded[model_type]

    yield get
    for engine in loaded.values():
        engine.close()


def _image(seed: int, h: int, w: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _requests(model_type: str) -> list[EngineRequest]:
    """Differently sized images and prompts of different lengths."""
    sizes = [(60, 90), (120, 56), (56, 56), (100, 150)]
    prompts = ["[detection] plane", "[vqa] is there a ship in the harbour near the bridge", "x", "[caption]"]
    if model_type == "florence2":
        prompts = ["<OD>", "<CAPTION>", "<OCR>", "<MORE_DETAILED_CAPTION>"]
    return [EngineRequest(p, images=[_image(i, h, w)], max_new_tokens=10) for i, (p, (h, w)) in enumerate(zip(prompts, sizes))]


def _together(engine, requests):
    """The responses to ``requests`` run as one batch: a first request holds the model (its batch waits on
    a gate) while they arrive and wait in line; then the gate opens."""
    gate = threading.Event()
    real = engine._generate_batch
    calls = []

    def held_first(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            gate.wait(30)
        return real(batch)

    engine._generate_batch = held_first
    try:
        out = [None] * len(requests)
        errors = [None] * len(requests)

        def one(i, request):
            try:
                out[i] = engine.generate(request)
            except Exception as exc:
                errors[i] = exc

        first = threading.Thread(target=engine.generate, args=(requests[0],))
        first.start()
        while not calls:
            time.sleep(0.005)
        threads = [threading.Thread(target=one, args=(i, r)) for i, r in enumerate(requests)]
        for t in threads:
            t.start()
        while len(engine._queue._waiting) < len(requests):
            time.sleep(0.005)
        gate.set()
        first.join()
        for t in threads:
            t.join()
    finally:
        del engine._generate_batch  # back to the class's method
    return out, errors


def _same_answer(batched, single):
    assert batched.text == single.text
    assert batched.info["generated_tokens"] == single.info["generated_tokens"]
    assert batched.info["finish_reason"] == single.info["finish_reason"]
    assert batched.info["input_tokens"] == single.info["input_tokens"]
    assert batched.info.get("model_image_sizes") == single.info.get("model_image_sizes")
    assert [(t.start, t.end) for t in batched.tokens] == [(t.start, t.end) for t in single.tokens]
    assert [t.prob for t in batched.tokens] == pytest.approx([t.prob for t in single.tokens], rel=1e-3, abs=1e-5)


@pytest.mark.parametrize("model_type", list(BUILDERS))
def test_batched_generation_gives_the_single_answers(engine_of, model_type):
    engine = engine_of(model_type)
    requests = _requests(model_type)
    singles = [engine.generate(r) for r in requests]
    assert all(s.info["batch_size"] == 1 for s in singles)
    batched, _ = _together(engine, requests)
    assert [b.info["batch_size"] for b in batched] == [4, 4, 4, 4]
    for b, s in zip(batched, singles):
        _same_answer(b, s)
    # the texts differ between requests: the batch did not hand one answer to all
    assert len({s.text for s in singles}) > 1


def test_requests_with_different_image_counts_or_lengths_run_in_separate_batches(engine_of):
    engine = engine_of("qwen2_5_vl")
    one = [EngineRequest("[vqa] ships?", images=[_image(i, 56, 84)], max_new_tokens=6) for i in range(2)]
    two = [EngineRequest("[change] new roads", images=[_image(i, 84, 56), _image(i + 9, 84, 56)], max_new_tokens=6)
           for i in range(2)]
    mixed = [one[0], two[0], one[1], two[1]]
    mixed.append(EngineRequest("[vqa] ships?", images=[_image(7, 56, 84)], max_new_tokens=3))  # its own batch
    singles = [engine.generate(r) for r in mixed]
    batched, _ = _together(engine, mixed)
    assert [b.info["batch_size"] for b in batched] == [2, 2, 2, 2, 1]
    assert [len(b.info["model_image_sizes"]) for b in batched] == [1, 2, 1, 2, 1]
    for b, s in zip(batched, singles):
        _same_answer(b, s)


def test_out_of_memory_in_a_batch_retries_in_halves(engine_of, monkeypatch):
    engine = engine_of("llava_onevision")
    requests = _requests("llava_onevision")
    singles = [engine.generate(r) for r in requests]
    real = engine._model.generate
    sizes = []

    def tight_memory(**kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        if kwargs["input_ids"].shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(**kwargs)

    monkeypatch.setattr(engine._model, "generate", tight_memory)
    batched, _ = _together(engine, requests)
    assert sizes == [1, 4, 2, 2]  # the request holding the model, the batch, then its halves
    for b, s in zip(batched, singles):
        assert b.text == s.text


def test_a_request_that_fails_in_a_batch_fails_alone(engine_of, monkeypatch):
    engine = engine_of("qwen2_5_vl")
    requests = _requests("qwen2_5_vl")
    bad_prompt = requests[1].prompt
    real = engine._model.generate

    def picky(**kwargs):
        if kwargs["input_ids"].shape[0] == 1 and bad_prompt in engine._processor.batch_decode(kwargs["input_ids"])[0]:
            raise RuntimeError("device assert")  # the second request, alone
        if kwargs["input_ids"].shape[0] > 1:
            raise RuntimeError("device assert")  # the batch holding it fails as a whole
        return real(**kwargs)

    monkeypatch.setattr(engine._model, "generate", picky)
    _, errors = _together(engine, requests)
    assert [e is None for e in errors] == [True, False, True, True]
    assert "device assert" in str(errors[1])


def test_max_batch_one_runs_requests_one_at_a_time(engine_of):
    folder = engine_of("qwen2_5_vl").model_ref
    engine = get_engine("transformers", model=folder, device="cpu", max_batch=1)
    engine.load()
    try:
        responses, _ = _together(engine, _requests("qwen2_5_vl")[:3])
        assert [r.info["batch_size"] for r in responses] == [1, 1, 1]
        assert engine.describe()["max_batch"] == 1
    finally:
        engine.close()
    with pytest.raises(ConfigError, match="max_batch"):
        get_engine("transformers", model=folder, max_batch=0)


def test_batch_queue_takes_the_waiting_requests_with_the_first_ones_key():
    seen = []
    gate = threading.Event()

    def run(items):
        if not seen:
            gate.wait(5)
        seen.append([it.payload for it in items])
        for it in items:
            it.result = it.payload * 10

    queue = BatchQueue(3, run)
    results = {}

    def submit(value, key):
        results[value] = queue.submit(value, key)

    threads = [threading.Thread(target=submit, args=(0, "a"))]
    threads[0].start()
    while not queue._running:
        time.sleep(0.001)
    for value, key in [(1, "a"), (2, "b"), (3, "a"), (4, "a"), (5, "a")]:
        t = threading.Thread(target=submit, args=(value, key))
        t.start()
        threads.append(t)
        while len(queue._waiting) < value:
            time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join()
    assert seen == [[0], [1, 3, 4], [2], [5]]
    assert results == {v: v * 10 for v in range(6)}
    assert queue.largest_batch == 3


def test_generate_many_runs_its_requests_in_batches_of_max_batch(engine_of):
    engine = engine_of("llava_onevision")
    requests = _requests("llava_onevision") + _requests("llava_onevision")[:2]
    singles = [engine.generate(r) for r in requests]
    many = engine.generate_many(requests)
    assert [r.info["batch_size"] for r in many] == [4, 4, 4, 4, 2, 2]
    for b, s in zip(many, singles):
        _same_answer(b, s)
