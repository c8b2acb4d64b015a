"""Model-found references, piece by piece: how each is asked for, on which image, merged over tiles in tile
order, and what a run says when one is found nowhere. (The whole pipeline: tests/e2e/test_model_references.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from model_backend.conditions.plan import Distance, Plan, Reference, Target
from model_backend.conditions.units import Quantity
from model_backend.dialects import get_dialect
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.errors import ConfigError
from model_backend.geometry import RotatedBox
from model_backend.merge import Candidate
from model_backend.pipeline.references import ReferenceCollector, find_references, reference_passes
from model_backend.raster.georef import Georef
from model_backend.raster.tiling import Tile
from model_backend.tasks import Task


def plan_with(*refs: Reference) -> Plan:
    where = Distance(refs[0].id, "<=", Quantity(100, "m"))
    return Plan("detection", (Target("ships"),), refs, where=where)


def test_each_reference_is_asked_for_as_all_of_its_kind_and_named_for_its_layer():
    plan = plan_with(Reference("r1", "bridge", "model", task="detection"),
                     Reference("r2", "main roads", "model", task="seg"),
                     Reference("r3", "bridges", "model", task="detection"))
    passes = reference_passes(plan, get_dialect("georsmllm"))
    assert [(p.task, p.step.text, p.stem, p.kind, p.label) for p in passes] == [
        (Task.DETECTION, "bridges", "ref_bridge", "boxes", "bridge"),
        (Task.SEGMENTATION, "main roads", "ref_main_road", "polygons", "main road"),
        (Task.DETECTION, "bridges", "ref_bridge_r3", "boxes", "bridge"),  # two layers never share a name
    ]
    assert reference_passes(plan_with(Reference("r1", "pier", "layer", layer="pier")), get_dialect("georsmllm")) == ()


def test_a_family_that_cannot_ground_the_reference_is_refused_before_any_tile():
    class NoSegmentation:
        name = "boxes-only"

        def supports(self, task):
            return task is Task.DETECTION

    with pytest.raises(ConfigError, match=r"find the river \(reference r1\) by seg.*boxes-only.*context layer"):
        reference_passes(plan_with(Reference("r1", "river", "model", task="seg")), NoSegmentation())


class RecordingEngine(Engine):
    """Answers one box in the corner of every image, and keeps what it was sent."""

    name = "recording"

    def __init__(self):
        self.requests: list[EngineRequest] = []

    def load(self):
        pass

    def generate(self, request):
        self.requests.append(request)
        return EngineResponse("<ref>bridge</ref>{(0,0),(100,0),(100,100),(0,100)}")

    def describe(self):
        return {"engine": self.name}


def test_a_change_run_finds_its_references_on_the_after_image():
    tile = Tile(index=7, grid_rc=(0, 1), window=(256, 0, 256, 256), image_size=(256, 256),
                image_to_raster=Affine.translation(256, 0), georef=Georef(Affine.translation(256, 0), None))
    before, after = np.zeros((256, 256, 3), np.uint8), np.full((256, 256, 3), 9, np.uint8)
    passes = reference_passes(plan_with(Reference("r1", "bridge", "model", task="detection")), get_dialect("georsmllm"))
    engine = RecordingEngine()
    found, warnings = find_references(tile, (before, after), None, passes, dialect=get_dialect("georsmllm"),
                                      engine=engine)
    assert [r.prompt for r in engine.requests] == ["[detection] bridges"]
    assert engine.requests[0].images[0] is after and warnings == []
    (candidate,) = found["r1"]
    assert candidate.window == (256, 0, 256, 256) and candidate.obj.label == "bridge"
    assert min(x for x, _ in candidate.obj.corners) == pytest.approx(256, abs=0.5)  # raster pixels, not the tile's


def test_references_are_merged_over_all_tiles_in_tile_order_and_a_missing_one_is_said():
    refs = (Reference("r1", "bridge", "model", task="detection"), Reference("r2", "tower", "model", task="detection"))
    passes = reference_passes(plan_with(*refs), get_dialect("georsmllm"))
    collector = ReferenceCollector(passes, (512, 256), Georef(Affine(10, 0, 1000, 0, -10, 5000), None), "EPSG:32633")

    def box(x0, label=None):
        return RotatedBox(((x0, 10), (x0 + 20, 10), (x0 + 20, 20), (x0, 20)), label=label)

    # the same bridge seen whole by both tiles (in their overlap), another one, unlabelled, by tile 1 only;
    # tile 1 finishes first, yet tile 0's bridge is kept (tile order), and each is found once
    collector.add(1, {"r1": [Candidate(box(250, "bridge"), (224, 0, 288, 256)), Candidate(box(400), (224, 0, 288, 256))],
                      "r2": []})
    collector.add(0, {"r1": [Candidate(box(250, "bridge"), (0, 0, 288, 256))], "r2": []})
    found = collector.found()
    bridges, tiles = found["r1"]
    assert len(bridges) == 2 and {b.label for b in bridges} == {"bridge"} and sorted(tiles) == ["0", "1"]
    xs = sorted(min(x for x, _ in b.corners) for b in bridges)
    assert xs == pytest.approx([1000 + 10 * 250, 1000 + 10 * 400])  # map coordinates
    assert collector.for_plan(found)["r1"] == (bridges, "EPSG:32633") and found["r2"] == ([], [])
    layers = collector.layers(found)
    assert [(layer.stem, layer.kind, len(layer.features)) for layer in layers] == [
        ("ref_bridge", "boxes", 2), ("ref_tower", "boxes", 0)]
    summary = collector.summary(found, {"boxes": "run_boxes", "ref_bridge_boxes": "run_ref_bridge_boxes",
                                        "ref_bridge_r3_boxes": "run_ref_bridge_r3_boxes"})
    assert summary["r1"]["found"] == 2 and summary["r1"]["layers"] == ["run_ref_bridge_boxes"]
    assert summary["r2"] == {"id": "r2", "phrase": "tower", "task": "detection", "prompt": "towers", "found": 0,
                             "layers": []}
    (warning,) = collector.nothing_found(found)
    assert warning.startswith("the model found no tower (reference r2) in any tile")
