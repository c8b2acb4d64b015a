"""Cyclic-referring self-augmentation (model_backend.data.augment)."""

import argparse
import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from model_backend.data import content_hash, cyclic_augment, identify_from_referring, referring_from_identify

DET = {
    "id": "d1",
    "image": "a.png",
    "conversations": [
        {"from": "human", "value": "<image>\n[detection] plane"},
        {"from": "gpt", "value": "{(100,100),(300,100),(300,300),(100,300)}\n{(500,500),(600,500),(600,600),(500,600)}"},
    ],
    "task": "detection",
    "size": [200, 100],
    "phrase": "plane",
}
SEG = {
    "id": "s1",
    "image": "b.png",
    "conversations": [
        {"from": "human", "value": "<image>\n[seg] the lake"},
        {"from": "gpt", "value": "<ref>lake</ref><box>[10,20,300,400]</box><keypoint>[(100,200)]</keypoint>"},
    ],
    "task": "seg",
}
CHANGE = {
    "id": "c1",
    "images": ["A/x.png", "B/x.png"],
    "conversations": [
        {"from": "human", "value": "<image>\n<image>\n[change] building"},
        {"from": "gpt", "value": "{(400,100),(800,100),(800,300),(400,300),(400,100)}"},
    ],
    "task": "change",
    "phrase": "building",
}


def test_identify_from_detection_and_back_is_the_original():
    ident = identify_from_referring(DET)
    q = ident["conversations"][0]["value"]
    assert q == ("<image>\n[identify] Describe this region. {(100,100),(300,100),(300,300),(100,300)}; "
                 "{(500,500),(600,500),(600,600),(500,600)}")
    assert ident["conversations"][1]["value"] == "plane" and ident["task"] == "identify"
    back = referring_from_identify(ident)
    assert back["task"] == "detection"
    assert back["conversations"] == DET["conversations"]
    assert content_hash(back) == content_hash(DET)


def test_labels_do_not_leak_into_the_question():
    ident = identify_from_referring(SEG)
    assert "lake" not in ident["conversations"][0]["value"]
    assert ident["conversations"][1]["value"] == "the lake"  # instruction is the phrase (no phrase field)
    assert referring_from_identify(ident)["task"] == "seg"


def test_change_keeps_both_images():
    ident = identify_from_referring(CHANGE)
    assert ident["images"] == ["A/x.png", "B/x.png"]
    assert ident["conversations"][0]["value"].startswith("<image>\n<image>\n[identify]")
    back = referring_from_identify(ident)
    assert back["task"] == "change" and back["conversations"] == CHANGE["conversations"]


def test_captions_and_empty_answers_are_not_sources():
    cap = copy.deepcopy(CHANGE)
    del cap["phrase"]
    cap["conversations"][1]["value"] = "a house appeared\n" + CHANGE["conversations"][1]["value"]
    assert identify_from_referring(cap) is None
    empty = copy.deepcopy(DET)
    empty["conversations"][1]["value"] = "None"
    assert identify_from_referring(empty) is None


def test_cyclic_augment_ratio_dedupe_and_determinism():
    ident_original = identify_from_referring(DET)  # an identify record already in the data
    dup = copy.deepcopy(SEG)
    dup["id"] = "s1-copy"
    dup["conversations"][0]["value"] = "<image>\n[seg]   The Lake"  # same after normalisation
    data = [DET, SEG, CHANGE, ident_original, dup]
    full = cyclic_augment(data, ratio=1.0, seed=0)
    # 5 in, 1 duplicate original; DET -> identify duplicates ident_original, ident_original -> refer
    # duplicates DET; SEG and CHANGE give one identify each.
    assert full.originals == 5
    assert full.duplicates_dropped == 3
    assert (full.identify_added, full.refer_added) == (2, 0)
    assert len(full.records) == 4 + 2
    assert len({content_hash(r) for r in full.records}) == len(full.records)
    assert cyclic_augment(data, ratio=0.0).identify_added == 0
    assert cyclic_augment(data, ratio=0.0).records == full.records[:4]
    a = cyclic_augment(data, ratio=0.5, seed=3)
    b = cyclic_augment(list(reversed(data)), ratio=0.5, seed=3)
    assert sorted(r["id"] for r in a.records if r.get("augmented")) == sorted(
        r["id"] for r in b.records if r.get("augmented"))
    assert "cyclic augmentation: 5 records -> 6" in full.summary()


def test_ratio_is_roughly_respected():
    data = []
    for i in range(200):
        r = copy.deepcopy(DET)
        r["id"] = f"d{i}"
        r["image"] = f"img{i}.png"
        data.append(r)
    added = cyclic_augment(data, ratio=0.25, seed=1).identify_added
    assert 30 <= added <= 70  # binomial(200, 0.25): mean 50, sd ~6


def test_cli_convert_augment(tmp_path, capsys):
    from model_backend.data import read_jsonl, write_jsonl
    from model_backend.data.cli import add_convert_parser, cmd_convert

    write_jsonl([DET, SEG], tmp_path / "in.jsonl")
    parser = argparse.ArgumentParser()
    add_convert_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert", "augment", "--data", str(tmp_path / "in.jsonl"), "--ratio", "1",
                              "-o", str(tmp_path / "out.jsonl")])
    assert cmd_convert(args) == 0
    out = list(read_jsonl(tmp_path / "out.jsonl"))
    assert [r["task"] for r in out] == ["detection", "seg", "identify", "identify"]
    assert "+2 identify" in capsys.readouterr().err

_box = st.tuples(st.integers(0, 990), st.integers(0, 990), st.integers(1, 10), st.integers(1, 10))


@settings(max_examples=40, deadline=None)
@given(st.lists(_box, min_size=1, max_size=4), st.sampled_from(["plane", "storage tank", "a red car"]))
def test_property_identify_then_refer_round_trips(boxes, phrase):
    answer = "\n".join(f"{{({x},{y}),({x + w},{y}),({x + w},{y + h}),({x},{y + h})}}" for x, y, w, h in boxes)
    rec = {"id": "p", "image": "p.png", "task": "detection", "phrase": phrase,
           "conversations": [{"from": "human", "value": f"<image>\n[detection] {phrase}"},
                             {"from": "gpt", "value": answer}]}
    ident = identify_from_referring(rec)
    assert ident["conversations"][1]["value"] == phrase
    assert referring_from_identify(ident)["conversations"] == rec["conversations"]
