"""Converters from label formats to instruction JSON lines (model_backend.data)."""

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from model_backend.data import (
    convert_change,
    convert_coco,
    convert_instance_masks,
    convert_referring,
    convert_rotated,
    image_size_px,
    rbox_corners,
    read_jsonl,
)
from model_backend.data.cli import add_convert_parser, cmd_convert
from model_backend.dialects import get_dialect
from model_backend.tasks import Task


def _img(path, w, h, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)
    return path


def _mask(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


def test_image_size_reads_header(tmp_path):
    assert image_size_px(_img(tmp_path / "a.png", 37, 21)) == (37, 21)


def test_dota_labels_to_detection_records(tmp_path):
    _img(tmp_path / "images" / "p1.png", 200, 100)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "p1.txt").write_text(
        "imagesource:GoogleEarth\ngsd:0.5\n"
        "20 10 60 10 60 30 20 30 plane 0\n"
        "100 50 140 50 140 90 100 90 ship 1\n"
        "1 2 3 plane 0\n"  # malformed
    )
    (labels / "p2.txt").write_text("1 1 5 1 5 5 1 5 plane 0\n")  # no image
    report = convert_rotated(tmp_path / "images", labels)
    assert [r["id"] for r in report.records] == ["p1:plane", "p1:ship"]
    plane = report.records[0]
    assert plane["image"] == "images/p1.png" and plane["size"] == [200, 100]
    assert plane["conversations"][0]["value"] == "<image>\n[detection] plane"
    # (20,10) of a 200x100 image -> (20/200*1000, 10/100*1000) = (100,100); (60,30) -> (300,300)
    assert plane["conversations"][1]["value"] == "{(100,100),(300,100),(300,300),(100,300)}"
    reasons = sorted(s.reason.split(":")[0] for s in report.skipped)
    assert reasons == ["malformed label", "missing image"]
    assert report.summary().startswith("rotated-dota: 2 inputs -> 2 records, 2 skipped")
    hard = convert_rotated(tmp_path / "images", labels, skip_difficult=True)
    assert [r["id"] for r in hard.records] == ["p1:plane"]


def test_cxcywha_angle_is_clockwise_degrees(tmp_path):
    # 90 deg clockwise: width axis u=(0,1), height axis v=(-1,0); centre (100,50), w=40, h=20:
    # c-20u-10v=(110,30), c+20u-10v=(110,70), c+20u+10v=(90,70), c-20u+10v=(90,30)
    corners = rbox_corners(100, 50, 40, 20, 90)
    assert np.allclose(corners, [(110, 30), (110, 70), (90, 70), (90, 30)])
    assert np.allclose(rbox_corners(100, 50, 40, 20, np.pi / 2, angle_unit="rad"), corners)
    assert np.allclose(rbox_corners(100, 50, 40, 20, -90, angle_sign=-1), corners)
    _img(tmp_path / "img" / "s.jpg", 200, 100)
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "s.txt").write_text("50 50 20 20 90 vehicle\n0 0 0 5 0 bad\n")
    report = convert_rotated(tmp_path / "img", tmp_path / "lab", fmt="cxcywha", coord_scale=100)
    # 0..100 of the image: cx=100 px, cy=50 px, w=40 px, h=20 px -> the box above in 0..1000
    assert report.records[0]["conversations"][1]["value"] == "{(550,300),(550,700),(450,700),(450,300)}"
    assert [s.reason for s in report.skipped] == ["degenerate box: width or height not positive"]


def test_referring_masks_to_seg_records(tmp_path):
    _img(tmp_path / "images" / "r.png", 100, 50)
    m = np.zeros((50, 100), np.uint8)
    m[10:30, 20:60] = 255
    _mask(tmp_path / "masks" / "r.png", m)
    _mask(tmp_path / "masks" / "small.png", np.zeros((10, 10), np.uint8))
    index = tmp_path / "index.jsonl"
    index.write_text(
        json.dumps({"image": "images/r.png", "mask": "masks/r.png", "expression": "the grey roof"}) + "\n"
        + json.dumps({"image": "images/r.png", "mask": "masks/small.png", "sentence": "x"}) + "\n"
        + json.dumps({"image": "images/r.png"}) + "\n"
    )
    report = convert_referring(index, n_keypoints=2, seed=0)
    assert len(report.records) == 1
    rec = report.records[0]
    assert rec["conversations"][0]["value"] == "<image>\n[seg] the grey roof"
    answer = rec["conversations"][1]["value"]
    # box x 20..60 of 100 -> 200..600, y 10..30 of 50 -> 200..600
    assert answer.startswith("<box>[200,200,600,600]</box><keypoint>[")
    target = get_dialect("georsmllm").parse(answer, Task.SEGMENTATION, (100, 50)).objects[0]
    assert len(target.keypoints) == 2
    for x, y in target.keypoints:
        assert 20 < x < 60 and 10 < y < 30
    assert sorted(s.reason.split(":")[0] for s in report.skipped) == ["malformed entry", "size mismatch"]
    assert convert_referring(index, n_keypoints=2, seed=0).records == report.records


def test_instance_masks_by_connected_components(tmp_path):
    _img(tmp_path / "images" / "t.png", 40, 40)
    cls = np.zeros((40, 40), np.uint8)
    cls[2:10, 2:10] = 2
    cls[20:30, 20:30] = 2
    cls[2:8, 30:38] = 3
    cls[35:37, 0:2] = 3  # 4 px: below min_area
    _mask(tmp_path / "masks" / "t.png", cls)
    report = convert_instance_masks(tmp_path / "images", tmp_path / "masks", {2: "building", 3: "road"})
    by_id = {r["id"]: r["conversations"][1]["value"] for r in report.records}
    assert set(by_id) == {"t:building", "t:road"}
    assert by_id["t:building"].count("<box>") == 2 and by_id["t:road"].count("<box>") == 1
    # instance mask: both class-2 squares are one instance (same id 7) -> one target
    inst = np.zeros((40, 40), np.uint8)
    inst[2:10, 2:10] = 7
    inst[20:30, 20:30] = 7
    _mask(tmp_path / "inst" / "t.png", inst)
    report = convert_instance_masks(tmp_path / "images", tmp_path / "masks", {2: "building"},
                                    instance_masks_dir=tmp_path / "inst")
    assert report.records[0]["conversations"][1]["value"].count("<box>") == 1
    # iSAID-style RGB instance colours: two colours -> two targets
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[2:10, 2:10] = (10, 20, 30)
    rgb[20:30, 20:30] = (10, 20, 31)
    Image.fromarray(rgb).save(tmp_path / "inst" / "t.png")
    report = convert_instance_masks(tmp_path / "images", tmp_path / "masks", {2: "building"},
                                    instance_masks_dir=tmp_path / "inst")
    assert report.records[0]["conversations"][1]["value"].count("<box>") == 2


def test_coco_polygons(tmp_path):
    _img(tmp_path / "imgs" / "c.png", 100, 100)
    coco = {
        "images": [{"id": 1, "file_name": "c.png", "width": 100, "height": 100}],
        "categories": [{"id": 5, "name": "tank"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 5, "segmentation": [[10, 10, 50, 10, 50, 30, 10, 30]]},
            {"id": 2, "image_id": 1, "category_id": 5, "segmentation": {"counts": "xyz", "size": [100, 100]}},
            {"id": 3, "image_id": 1, "category_id": 9, "segmentation": [[0, 0, 5, 0, 5, 5]]},
            {"id": 4, "image_id": 2, "category_id": 5, "segmentation": [[0, 0, 5, 0, 5, 5]]},
        ],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    report = convert_coco(tmp_path / "ann.json", tmp_path / "imgs")
    assert len(report.records) == 1
    # polygon x 10..50, y 10..30 of 100 px -> box [100,100,500,300]
    assert report.records[0]["conversations"][1]["value"].startswith("<box>[100,100,500,300]</box>")
    assert sorted(s.reason.split(":")[0] for s in report.skipped) == [
        "missing image", "unknown category", "unsupported segmentation"]


def test_change_masks_to_polygons_and_caption(tmp_path):
    split = tmp_path / "train"
    _img(split / "A" / "x.png", 100, 100)
    _img(split / "B" / "x.png", 100, 100, 50)
    lab = np.zeros((100, 100), np.uint8)
    lab[10:30, 40:80] = 2
    _mask(split / "label" / "x.png", lab)
    _mask(split / "label" / "y.png", lab)  # no images
    caps = tmp_path / "caps.json"
    caps.write_text(json.dumps({"images": [{"filename": "x.png", "sentences": [{"raw": " a house was built . "}]}]}))
    report = convert_change(split, captions=caps)
    by_id = {r["id"]: r for r in report.records}
    rec = by_id["x:building"]
    assert rec["images"] == ["A/x.png", "B/x.png"]
    assert rec["conversations"][0]["value"] == "<image>\n<image>\n[change] building"
    ring = get_dialect("georsmllm").parse(rec["conversations"][1]["value"], Task.CHANGE, (100, 100)).objects[0]
    assert sorted(set(ring.exterior)) == [(40.0, 10.0), (40.0, 30.0), (80.0, 10.0), (80.0, 30.0)]
    assert rec["conversations"][1]["value"].endswith("(400,100)}")  # closed ring
    assert by_id["x:caption"]["conversations"][1]["value"].startswith("a house was built .\n<ref>building</ref>{")
    assert [s.reason.split(":")[0] for s in report.skipped] == ["missing image"]


def test_cli_convert_writes_jsonl(tmp_path, capsys):
    _img(tmp_path / "images" / "p.png", 10, 10)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "p.txt").write_text("1 1 5 1 5 5 1 5 car 0\n")
    parser = argparse.ArgumentParser()
    add_convert_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "out.jsonl"
    args = parser.parse_args(["convert", "dota", "--images", str(tmp_path / "images"),
                              "--labels", str(tmp_path / "labels"), "-o", str(out)])
    assert cmd_convert(args) == 0
    assert [r["id"] for r in read_jsonl(out)] == ["p:car"]
    assert "1 inputs -> 1 records, 0 skipped" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["convert", "nosuch"])
