"""SAM2 refinement of one tile's boxes (``pipeline.refine``) with a segmenter whose masks are known: each box
becomes its outline and that outline's minimum rotated rectangle, one encoding per image, one decoder call."""

import numpy as np
import pytest
from shapely.geometry import Polygon

from model_backend.errors import ConfigError
from model_backend.geometry import PolygonRegion, RotatedBox, SegTarget
from model_backend.geometry.types import box_corners
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.refine import refine_objects, shows_before
from model_backend.tasks import Task
from tests.helpers.pipeline_fakes import DiamondSegmenter

SIZE = 256


def hbox(x1, y1, x2, y2, label="plane", score=0.9):
    return RotatedBox(tuple(box_corners((x1, y1, x2, y2))), label=label, score=score, span=(3, 9))


@pytest.fixture
def image():
    return np.zeros((SIZE, SIZE, 3), np.uint8)


@pytest.fixture
def segmenter():
    seg = DiamondSegmenter(SIZE)
    seg.load()
    return seg


def edge_angles(corners):
    pts = list(corners) + [corners[0]]
    return sorted(round(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))) % 180 for a, b in zip(pts, pts[1:]))


def test_boxes_become_rotated_boxes_and_outlines_in_one_encoding_and_one_decoder_call(image, segmenter):
    boxes = [hbox(20, 20, 100, 100), hbox(140, 30, 220, 110), hbox(60, 150, 140, 230, label="ship", score=None)]
    refined = refine_objects(boxes, [image], segmenter, Task.DETECTION, "detect all planes")

    assert segmenter.n_image_encodings == 1 and segmenter.n_decoder_calls == 1
    assert refined.warnings == []
    for box, obj, outline in zip(boxes, refined.objects, refined.outlines):
        assert isinstance(obj, RotatedBox) and isinstance(outline, PolygonRegion)
        assert (obj.label, obj.score, obj.span) == (box.label, box.score, box.span)
        assert (outline.label, outline.score) == (box.label, box.score)
        # the diamond inscribed in an 80 px square: its own minimum rotated rectangle, at 45 degrees
        assert edge_angles(obj.corners) == [45, 45, 135, 135]
        diamond = Polygon(outline.exterior)
        assert diamond.area == pytest.approx(80 * 80 / 2, rel=0.06)
        assert Polygon(obj.corners).symmetric_difference(diamond).area < 0.08 * diamond.area


def test_segmentation_targets_keep_their_keypoints_as_prompts(image, segmenter):
    target = SegTarget((20, 20, 100, 60), keypoints=((60, 40),), label="field")
    refined = refine_objects([target], [image], segmenter, Task.DETECTION, "fields")
    assert isinstance(refined.objects[0], RotatedBox) and refined.outlines[0] is not None


def test_an_empty_mask_keeps_the_box_with_a_warning(image, segmenter):
    tiny = hbox(10, 10, 11, 11)  # a one-pixel diamond is below the segmenter's minimum area
    refined = refine_objects([tiny, hbox(40, 40, 120, 120)], [image], segmenter, Task.DETECTION, "planes")
    assert refined.objects[0] == tiny and refined.outlines[0] is None
    assert refined.outlines[1] is not None
    assert refined.warnings == ["SAM2 found no outline for 1 of 2 box(es): kept as answered"]


@pytest.mark.parametrize("label, instruction, before", [
    ("new building", "find changes", False),
    ("demolished building", "find changes", True),
    (None, "buildings that were torn down", True),
    (None, "new roads", False),
    ("cleared forest", "new things", True),  # the model's own word decides
    (None, "changed areas", False),  # neither: the after image
])
def test_the_image_that_shows_a_change(label, instruction, before):
    assert shows_before(label, instruction) is before


def test_change_regions_are_refined_on_the_image_that_shows_them(segmenter):
    before = np.zeros((SIZE, SIZE, 3), np.uint8)
    after = np.ones((SIZE, SIZE, 3), np.uint8)
    seen = []
    encode = segmenter._encode
    segmenter._encode = lambda img: (seen.append(int(img[0, 0, 0])), encode(img))
    regions = [PolygonRegion(box_corners((20, 20, 100, 100)), label="demolished house"),
               PolygonRegion(box_corners((140, 140, 220, 220)), label="new house"),
               PolygonRegion(box_corners((20, 140, 100, 220)), label="new house")]
    refined = refine_objects(regions, [before, after], segmenter, Task.CHANGE, "changes")
    assert sorted(seen) == [0, 1]  # before for the removal, after for the two new houses
    assert segmenter.n_image_encodings == 2 and segmenter.n_decoder_calls == 2
    # a change region becomes its outline (the polygons layer), no companion
    assert all(isinstance(o, PolygonRegion) and len(o.exterior) >= 4 for o in refined.objects)
    assert [o.label for o in refined.objects] == ["demolished house", "new house", "new house"]
    assert refined.outlines == [None, None, None]
    assert Polygon(refined.objects[0].exterior).area == pytest.approx(3200, rel=0.06)


def test_refine_setting_is_checked():
    assert RunConfig().refine == "none"
    assert RunConfig(refine="sam2").refine == "sam2"
    with pytest.raises(ConfigError, match="refine must be one of none, sam2"):
        RunConfig(refine="sam3")
    with pytest.raises(ConfigError, match="needs a segmenter"):
        RunConfig(refine="sam2", segmenter="none")
    assert RunConfig.load(environ={"GEORSMLLM_REFINE": "sam2"}).refine == "sam2"


def test_cli_server_and_jobs_pass_the_refine_setting(tmp_path):
    from pydantic import ValidationError

    from model_backend.cli import _overrides, build_parser
    from model_backend.engines import get_engine
    from model_backend.pipeline.factory import needs_segmenter
    from model_backend.server.backend import PipelineBackend
    from model_backend.server.schemas import JobRequest

    run = build_parser().parse_args(["run", "--raster", "x.tif", "-i", "planes", "--refine", "sam2"])
    assert RunConfig.load(_overrides(run), environ={}).refine == "sam2"
    assert _overrides(build_parser().parse_args(["serve", "--refine", "sam2"]))["refine"] == "sam2"

    with pytest.raises(ValidationError):
        JobRequest(raster="a.tif", instruction="planes", refine="sam3")
    backend = PipelineBackend(RunConfig(engine="scripted", script="x.json"), get_engine("scripted", answers="None"),
                              lazy=True)
    request = JobRequest(raster=str(tmp_path / "a.tif"), instruction="planes", refine="sam2")
    config = backend._config(request, tmp_path)
    assert config.refine == "sam2"
    assert backend.describe()["defaults"]["refine"] == "none"
    assert needs_segmenter(config, Task.DETECTION) and needs_segmenter(config, Task.CHANGE)
    assert needs_segmenter(config, Task.VQA)  # "how many ...?" counts refined detections
    assert not needs_segmenter(config, Task.CAPTION)
    # a detection may need it for a reference the plan segments ("not within 50 m of any road"): built, not loaded
    assert needs_segmenter(RunConfig(), Task.DETECTION) and needs_segmenter(RunConfig(), Task.SEGMENTATION)
    assert not needs_segmenter(RunConfig(segmenter="none"), Task.DETECTION)
