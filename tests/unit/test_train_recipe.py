"""Fine-tuning recipe smoke tests on tiny offline checkpoints (CPU, a few steps)."""

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from model_backend.engines import get_engine
from model_backend.engines.base import EngineRequest
from model_backend.errors import ConfigError
from model_backend.training import TrainConfig, train
from model_backend.training.cli import add_train_parser, cmd_train
from model_backend.training.dataset import IGNORE_INDEX, Collator, encode_record
from tests.helpers.tiny_models import build_llava_onevision, build_qwen2_5_vl

ANSWER = "{(100,100),(300,100),(300,300),(100,300)}"
RECORDS = [
    {"id": "1", "image": "a.png", "task": "detection",
     "conversations": [{"from": "human", "value": "<image>\n[detection] plane"}, {"from": "gpt", "value": ANSWER}]},
    {"id": "2", "image": "b.png", "task": "vqa",
     "conversations": [{"from": "human", "value": "<image>\n[vqa] what?"}, {"from": "gpt", "value": "a ship"},
                       {"from": "human", "value": "and?"}, {"from": "gpt", "value": "two cars"}]},
]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / "a.png")  # one tile + base
    Image.fromarray(rng.integers(0, 255, (130, 70, 3), dtype=np.uint8)).save(root / "b.png")  # more tiles
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return root


@pytest.fixture(scope="module")
def llava(work):
    return build_llava_onevision(work / "llava")


def _processor(folder):
    import transformers

    return transformers.AutoProcessor.from_pretrained(folder)


def test_labels_cover_answers_only(work, llava):
    proc = _processor(llava)
    enc = encode_record(RECORDS[1], proc, work)
    ids, labels = enc["input_ids"].tolist(), enc["labels"].tolist()
    learned = [t for t in labels if t != IGNORE_INDEX]
    tok = proc.tokenizer
    assert tok.decode(learned) == "a ship<|im_end|>\ntwo cars<|im_end|>\n"
    image_id = tok.convert_tokens_to_ids("<image>")
    assert all(lab == IGNORE_INDEX for t, lab in zip(ids, labels) if t == image_id)
    assert ids.count(image_id) > 16  # the placeholder was expanded to the image's tokens
    # The pieces tokenised apart give the same ids as the whole conversation at once.
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "[vqa] what?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "a ship"}]},
            {"role": "user", "content": [{"type": "text", "text": "and?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "two cars"}]}]
    whole = proc(text=[proc.apply_chat_template(msgs, tokenize=False)],
                 images=[Image.open(work / "b.png").convert("RGB")], return_tensors="pt")
    assert whole["input_ids"][0].tolist() == ids


def test_collator_pads_sequences_and_tiles(work, llava):
    proc = _processor(llava)
    a, b = (encode_record(r, proc, work) for r in RECORDS)
    assert a["pixel_values"].shape[1] != b["pixel_values"].shape[1]  # different tile counts
    batch = Collator(pad_id=0)([a, b])
    n = max(len(a["input_ids"]), len(b["input_ids"]))
    assert batch["input_ids"].shape == (2, n) and batch["labels"].shape == (2, n)
    short = 0 if len(a["input_ids"]) < n else 1
    length = len((a, b)[short]["input_ids"])
    assert (batch["labels"][short, length:] == IGNORE_INDEX).all()
    assert (batch["attention_mask"][short, length:] == 0).all()
    assert batch["pixel_values"].shape[:2] == (2, max(a["pixel_values"].shape[1], b["pixel_values"].shape[1]))


def _loss(folder, work) -> float:
    import transformers

    proc = _processor(folder)
    model = transformers.LlavaOnevisionForConditionalGeneration.from_pretrained(folder).eval()
    batch = Collator(proc.tokenizer.pad_token_id)([encode_record(RECORDS[0], proc, work)])
    with torch.no_grad():
        return float(model(**batch).loss)


@pytest.mark.slow
@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_train_tiny_llava_loss_falls_and_checkpoint_loads(work, llava, lora):
    out = work / f"out-{lora}"
    result = train(TrainConfig(
        data=str(work / "train.jsonl"), model=str(llava), output=str(out), lora=lora, max_steps=6,
        learning_rate=3e-3 if lora else 1e-3, lr_scheduler="constant", warmup_ratio=0.0, batch_size=2,
        device="cpu",
    ))
    assert result.steps == 6 and len(result.losses) == 6
    assert result.losses[-1] < 0.5 * result.losses[0]
    with safe_open(out / "model.safetensors", "pt") as f:
        keys = list(f.keys())
    assert keys and not any("lora" in k for k in keys)  # adapters merged, plain weights saved
    # The saved weights carry the training: the loss on a training sample fell from the base model's.
    assert _loss(out, work) < 0.5 * _loss(llava, work)
    engine = get_engine("transformers", model=str(out), device="cpu")
    with engine:
        image = np.asarray(Image.open(work / "a.png"))
        response = engine.generate(EngineRequest(prompt="[detection] plane", images=[image], max_new_tokens=8))
    assert response.info["generated_tokens"] >= 1
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["result"]["losses"] == result.losses and summary["config"]["lora"] is lora


@pytest.mark.slow
def test_cli_train_lora_qwen25(work, capsys):
    model = build_qwen2_5_vl(work / "qwen")
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    out = work / "qwen-out"
    args = parser.parse_args(["train", "--data", str(work / "train.jsonl"), "--model", str(model), "--output",
                              str(out), "--lora", "--max-steps", "3", "--lr", "3e-3", "--device", "cpu",
                              "--batch-size", "2"])
    assert cmd_train(args) == 0
    assert "trained 3 steps" in capsys.readouterr().err
    with get_engine("transformers", model=str(out), device="cpu") as engine:
        image = np.asarray(Image.open(work / "a.png"))
        assert engine.generate(EngineRequest(prompt="[detection] plane", images=[image], max_new_tokens=4)).text


def test_bad_settings_are_config_errors(work, llava):
    with pytest.raises(ConfigError, match="nothing to train"):
        train(TrainConfig(data=str(work / "train.jsonl"), model=str(llava), output=str(work / "x"), max_steps=0))
    proc = _processor(llava)
    with pytest.raises(ConfigError, match="max_length"):
        encode_record(RECORDS[0], proc, work, max_length=10)
    with pytest.raises(ConfigError, match="cannot read image"):
        encode_record({**RECORDS[0], "image": "missing.png"}, proc, work)
