"""The evaluation runner end to end with the scripted engine (model_backend.evaluation.runner)."""

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from model_backend.engines import get_engine
from model_backend.evaluation import evaluate
from model_backend.evaluation.cli import add_eval_parser, cmd_eval


def _rec(rid, task, question, answer, images=("a.png",), **extra):
    rec = {"id": rid, "task": task, **extra}
    if len(images) == 1:
        rec["image"] = images[0]
    else:
        rec["images"] = list(images)
    tokens = "\n".join(["<image>"] * len(images))
    rec["conversations"] = [{"from": "human", "value": f"{tokens}\n[{task}] {question}"},
                            {"from": "gpt", "value": answer}]
    return rec


ANSWERS = {
    # reference box x,y 10..50 px; answer x 10..50, y 10..30 px of 100 x 100: IoU 800/1600 = 0.5, a hit
    "[detection] plane": "{(100,100),(500,100),(500,300),(100,300)}",
    "[detection] ship": "I cannot see it",  # unparsable: a miss
    # mask rows 20..39, cols 20..59 (800 px); polygon x 20..60, y 20..30: 400 px -> IoU 0.5
    "[seg] the roof": "{(200,200),(600,200),(600,300),(200,300),(200,200)}",
    # no segmenter: the box x 20..60, y 20..40 stands for the target: 800 px, IoU 1
    "[seg] the yard": "<box>[200,200,600,400]</box><keypoint>[(300,300)]</keypoint>",
    # reference 50x50 = 2500 px; answer 50x25 = 1250 px inside it
    "[change] building": "{(0,0),(500,0),(500,250),(0,250),(0,0)}",
    "[vqa] How many planes?": "2.",
    "[vqa] Is there a ship?": "No",
    "[classify]": "the airport",
}


@pytest.fixture()
def bench(tmp_path):
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(tmp_path / name)
    mask = np.zeros((100, 100), np.uint8)
    mask[20:40, 20:60] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    box = "{(100,100),(500,100),(500,500),(100,500)}"
    records = [
        _rec("g1", "detection", "plane", box, benchmark="DIOR-RSVG"),
        _rec("g2", "detection", "ship", box, benchmark="DIOR-RSVG"),
        _rec("s1", "seg", "the roof", "None", mask="m.png"),
        _rec("s2", "seg", "the yard", "None", mask="m.png"),
        _rec("c1", "change", "building", "{(0,0),(500,0),(500,500),(0,500),(0,0)}", images=("a.png", "b.png")),
        _rec("v1", "vqa", "How many planes?", "2"),
        _rec("v2", "vqa", "Is there a ship?", "yes"),
        _rec("k1", "classify", "Classify the scene.", "Airport"),
        _rec("x1", "caption", "Describe.", "a field"),
        _rec("x2", "vqa", "Where?", "here", images=("missing.png",)),
    ]
    return tmp_path, records


def _rows(result):
    return {(r["benchmark"], r["metric"]): r for r in result.rows}


def test_runner_scores_every_task_by_hand(bench):
    root, records = bench
    engine = get_engine("scripted", answers=ANSWERS)
    result = evaluate(records, engine, root=root)
    rows = _rows(result)
    g = rows[("DIOR-RSVG", "acc@0.5")]
    assert (g["value"], g["count"], g["unparsable"], g["unparsable_rate"]) == (0.5, 2, 1, 0.5)
    assert rows[("DIOR-RSVG", "mean_iou")]["value"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    # seg IoUs 0.5 and 1 -> mIoU 0.75; oIoU (400 + 800) / (800 + 800) = 0.75; P@0.5 2/2
    assert rows[("seg", "miou")]["value"] == pytest.approx(0.75)
    assert rows[("seg", "oiou")]["value"] == pytest.approx(0.75)
    assert rows[("seg", "precision@0.5")]["value"] == 1.0
    # building: tp 1250, fn 1250 -> 0.5; background: tn 7500 / (7500 + 1250) -> mIoU 0.678571
    assert rows[("change", "iou[building]")]["value"] == pytest.approx(0.5)
    assert rows[("change", "miou")]["value"] == pytest.approx((0.5 + 7500 / 8750) / 2)
    assert rows[("vqa", "accuracy")]["value"] == 0.5 and rows[("vqa", "accuracy")]["count"] == 2
    assert rows[("classify", "top1")]["value"] == 1.0
    assert sorted(i for i, _ in result.skipped) == ["x1", "x2"]
    # the change request carried both images, before then after
    change_requests = [r for r in engine.requests if r.prompt.startswith("[change]")]
    assert len(change_requests) == 1 and len(change_requests[0].images) == 2
    md = result.to_markdown()
    assert "| DIOR-RSVG | detection | acc@0.5 | 0.5000 | 2 | 1 | 0.5000 |" in md


def test_cli_eval_writes_markdown_and_json(bench, tmp_path, capsys):
    root, records = bench
    data = root / "bench.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    script = root / "script.json"
    script.write_text(json.dumps({"rules": [{"answer": a, "prompt_contains": k} for k, a in ANSWERS.items()]}))
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--data", str(data), "--engine", "scripted", "--script", str(script),
                              "--json", str(root / "out.json"), "--details", str(root / "d.jsonl")])
    assert cmd_eval(args) == 0
    out = capsys.readouterr().out
    assert "| classify | classify | top1 | 1.0000 | 1 | 0 | 0.0000 |" in out
    summary = json.loads((root / "out.json").read_text())
    assert {m["metric"] for m in summary["metrics"]} >= {"acc@0.5", "miou", "oiou", "accuracy", "top1"}
    assert len((root / "d.jsonl").read_text().splitlines()) == 8


def test_other_dialect_frame_is_scaled_back(bench):
    """A Qwen2.5-VL answer is in pixels of the resized model input; the runner scales it back."""
    from model_backend.dialects import get_dialect

    root, records = bench
    dia = get_dialect("qwen2.5-vl")
    fw, fh = dia.model_input_size((100, 100))
    from model_backend.geometry import RotatedBox
    from model_backend.tasks import Task

    box = RotatedBox(((10 * fw / 100, 10 * fh / 100), (50 * fw / 100, 10 * fh / 100),
                      (50 * fw / 100, 50 * fh / 100), (10 * fw / 100, 50 * fh / 100)))
    text = dia.format_objects([box], Task.DETECTION, (fw, fh))
    engine = get_engine("scripted", answers=text)
    result = evaluate(records[:1], engine, dialect="qwen2.5-vl", root=root)
    assert _rows(result)[("DIOR-RSVG", "mean_iou")]["value"] == pytest.approx(1.0, abs=0.05)
