"""Hand-written answers in each model family's real output format, including the usual damage:
fenced JSON, ``None``, empty answers, trailing garbage, truncation mid-number, coordinates above the
range, swapped corners."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import Polygon

from model_backend.dialects import Florence2Dialect, Qwen25VLDialect, get_dialect, smart_resize
from model_backend.dialects.geochat import box_and_angle, rotate_box
from model_backend.errors import ConfigError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget, box_corners
from model_backend.tasks import Task


def approx_ring(ring, expected, tol=1e-6):
    assert len(ring) == len(expected), (ring, expected)
    for (x, y), (ex, ey) in zip(ring, expected):
        assert math.isclose(x, ex, abs_tol=tol) and math.isclose(y, ey, abs_tol=tol), (ring, expected)


def spans_text(text, result):
    return [text[o.span[0] : o.span[1]] for o in result.objects]


# -- GeoRSMLLM ----------------------------------------------------------------------------------------
G = get_dialect("georsmllm")


def test_georsmllm_prompt_is_tag_space_instruction_with_regions():
    assert G.build_prompt(Task.DETECTION, "planes", (100, 100)) == "[detection] planes"
    assert G.build_prompt(Task.SEGMENTATION, "[seg] the lake", (100, 100)) == "[seg] the lake"
    region = RotatedBox(tuple(box_corners((10, 20, 50, 60))), label="plane")
    assert G.build_prompt(Task.IDENTIFY, "What is this?", (200, 100), [region]) == (
        "[identify] What is this? <ref>plane</ref>{(50,200),(250,200),(250,600),(50,600)}"
    )
    assert G.build_prompt(Task.CAPTION, "", (10, 10)).startswith("[caption] ")


def test_georsmllm_all_geometries_labels_and_spans():
    text = (
        "<ref>plane</ref>{(100,200),(300,200),(300,400),(100,400)}\n"
        "<ref>lake</ref>{(0,0),(500,0),(500,500),(0,0)}; {(10,10),(90,10),(90,90),(50,95),(10,90)}\n"
        "<ref>roof</ref><box>[100,100,200,300]</box><keypoint>[(150,150),(160,200)]</keypoint>\n"
        "<rbox>({<600,600><700,600><700,700>})</rbox>"
    )
    size = (2000, 1000)
    r = G.parse(text, Task.DETECTION, size)
    assert r.warnings == [] and r.text == text
    kinds = [type(o) for o in r.objects]
    assert kinds == [RotatedBox, PolygonRegion, PolygonRegion, SegTarget, PolygonRegion]
    assert [o.label for o in r.objects] == ["plane", "lake", None, "roof", None]
    approx_ring(r.objects[0].ring, [(200, 200), (600, 200), (600, 400), (200, 400)])
    approx_ring(r.objects[1].ring, [(0, 0), (1000, 0), (1000, 500)])  # closed 4 points: a triangle
    assert len(r.objects[2].ring) == 5
    assert r.objects[3].bbox == (200, 100, 400, 300) and r.objects[3].keypoints == ((300, 150), (320, 200))
    spans = spans_text(text, r)
    assert spans[0] == "<ref>plane</ref>{(100,200),(300,200),(300,400),(100,400)}"
    assert spans[1] == "<ref>lake</ref>{(0,0),(500,0),(500,500),(0,0)}"
    assert spans[3].startswith("<ref>roof</ref><box>") and spans[3].endswith("</keypoint>")


def test_georsmllm_box_without_keypoints_follows_the_task():
    text = "<box>[100,100,200,300]</box><keypoint>[]</keypoint>"
    assert isinstance(G.parse(text, Task.SEGMENTATION, (100, 100)).objects[0], SegTarget)
    det = G.parse("<box>[100,100,200,300]</box>", Task.DETECTION, (100, 100)).objects[0]
    assert isinstance(det, RotatedBox)
    approx_ring(det.ring, box_corners((10, 10, 20, 30)))
    chg = G.parse("<box>[100,100,200,300]</box>", Task.CHANGE, (100, 100)).objects[0]
    assert isinstance(chg, PolygonRegion)


@pytest.mark.parametrize("text", ["", "None", "  None\n", "There are no planes in this image."])
def test_georsmllm_no_object(text):
    r = G.parse(text, Task.DETECTION, (100, 100))
    assert r.objects == [] and r.warnings == []


def test_georsmllm_truncated_mid_number_keeps_the_complete_objects():
    text = "<ref>car</ref>{(1,2),(30,2),(30,40),(1,40)}\n<ref>car</ref>{(100,200),(300,2"
    r = G.parse(text, Task.DETECTION, (1000, 1000))
    assert len(r.objects) == 1 and r.objects[0].label == "car"
    assert any("cut off" in w for w in r.warnings)


def test_georsmllm_out_of_range_and_swapped_coordinates_are_clipped_and_fixed():
    r = G.parse("<box>[900,950,1200,800]</box>", Task.SEGMENTATION, (100, 200))
    assert r.objects[0].bbox == (90, 160, 100, 190)
    assert any("clipped" in w for w in r.warnings)
    r = G.parse("{(-20,0),(1500,0),(1500,1000),(-20,1000)}", Task.DETECTION, (100, 100))
    approx_ring(r.objects[0].ring, box_corners((0, 0, 100, 100)))


def test_georsmllm_trailing_garbage_and_chat_tokens():
    text = "<ref>ship</ref>{(1,1),(9,1),(9,9),(1,9)}<|im_end|>\nassistant: ok }}{{ <box>[1,"
    r = G.parse(text, Task.DETECTION, (1000, 1000))
    assert [o.label for o in r.objects] == ["ship"] and r.warnings


def test_georsmllm_self_intersecting_polygon_is_repaired_and_degenerate_box_dropped():
    r = G.parse("{(0,0),(0,100),(75,25),(75,75),(0,0)}", Task.CHANGE, (1000, 1000))
    assert len(r.objects) == 1 and Polygon(r.objects[0].ring).is_valid
    assert any("self-intersecting" in w for w in r.warnings)
    r = G.parse("{(0,0),(10,0),(20,0),(30,0)}", Task.DETECTION, (1000, 1000))
    assert r.objects == [] and any("degenerate" in w for w in r.warnings)
    r = G.parse("{(0,0),(10,10),(10,0),(0,10)}", Task.DETECTION, (1000, 1000))  # corners crossing
    assert len(r.objects) == 1 and Polygon(r.objects[0].ring).area == 100.0


def test_georsmllm_gps_and_geometry_inside_free_text():
    r = G.parse("It is near Lyon <gps>[45.76, 4.84]</gps>.", Task.GEOLOCATION, (100, 100))
    assert r.objects == [GeoPoint(45.76, 4.84)]
    r = G.parse("Somewhere <gps>[145.76, 4.84]</gps>", Task.GEOLOCATION, (100, 100))
    assert r.objects == [] and any("out of range" in w for w in r.warnings)
    r = G.parse("Yes, the plane at {(1,1),(9,1),(9,9),(1,9)} is white.", Task.VQA, (1000, 1000))
    assert isinstance(r.objects[0], RotatedBox)


def test_georsmllm_label_does_not_leak_past_a_separator():
    r = G.parse("<ref>a</ref>{(1,1),(9,1),(9,9),(1,9)}{(11,1),(19,1),(19,9),(11,9)};{(1,11),(9,11),(9,19)}",
                Task.DETECTION, (1000, 1000))
    assert [o.label for o in r.objects] == ["a", "a", None]


# -- Qwen2-VL ------------------------------------------------------------------------------------------
def test_qwen2vl_real_answer():
    q = get_dialect("qwen2-vl")
    text = (
        "<|object_ref_start|>the airplane<|object_ref_end|><|box_start|>(123,456),(789,876)<|box_end|>"
        "<|box_start|>(900,10),(800,20)<|box_end|><|im_end|>"
    )
    r = q.parse(text, Task.DETECTION, (1000, 500))
    assert r.warnings == []
    approx_ring(r.objects[0].ring, box_corners((123, 228, 789, 438)))
    approx_ring(r.objects[1].ring, box_corners((800, 5, 900, 10)))  # swapped corners
    assert [o.label for o in r.objects] == ["the airplane", "the airplane"]
    assert spans_text(text, r)[0].startswith("<|object_ref_start|>the airplane")


def test_qwen2vl_truncated_and_out_of_range():
    q = get_dialect("qwen2-vl")
    r = q.parse("<|box_start|>(0,0),(1100,500)<|box_end|><|box_start|>(1,2),(3", Task.SEGMENTATION, (100, 100))
    assert r.objects == [SegTarget((0, 0, 100, 50))]
    assert any("clipped" in w for w in r.warnings) and any("cut off" in w for w in r.warnings)


# -- Qwen2.5-VL --------------------------------------------------------------------------------------
def test_smart_resize_known_values():
    assert smart_resize(1920, 1080) == (1316, 728)
    assert smart_resize(1000, 800) == (1008, 812)
    assert smart_resize(10, 10) == (56, 56)
    assert Qwen25VLDialect(max_pixels=28 * 28 * 4096).model_input_size((1920, 1080)) == (1932, 1092)


@pytest.mark.slow  # importing transformers takes seconds
def test_smart_resize_matches_transformers():
    mod = pytest.importorskip("transformers.models.qwen2_vl.image_processing_qwen2_vl")
    for w, h in [(1, 1), (27, 2000), (512, 512), (4000, 3000), (13, 57), (1921, 1081), (6000, 35)]:
        hh, ww = mod.smart_resize(h, w, factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 1280)
        assert smart_resize(w, h) == (ww, hh), (w, h)


def test_qwen25vl_fenced_json_in_model_pixels():
    q = get_dialect("qwen2.5-vl")
    size = (1920, 1080)  # model input 1316 x 728
    text = (
        'Sure.\n```json\n[\n\t{"bbox_2d": [135, 114, 1016, 672], "label": "plane"},\n'
        '\t{"bbox_2d": [1316, 728, 1200, 700], "point_2d": [1250, 710], "label": "a \\"red\\" car"}\n]\n```'
    )
    r = q.parse(text, Task.DETECTION, size)
    assert r.warnings == []
    sx, sy = 1920 / 1316, 1080 / 728
    approx_ring(r.objects[0].ring, box_corners((135 * sx, 114 * sy, 1016 * sx, 672 * sy)))
    assert isinstance(r.objects[1], SegTarget) and r.objects[1].label == 'a "red" car'
    assert r.objects[1].bbox == pytest.approx((1200 * sx, 700 * sy, 1920, 1080))
    assert spans_text(text, r)[0] == '{"bbox_2d": [135, 114, 1016, 672], "label": "plane"}'


def test_qwen25vl_truncated_single_quoted_and_out_of_range():
    q = get_dialect("qwen2.5-vl")
    text = "[{'bbox_2d': [0, 0, 2000, 50], 'label': 'pier'}, {'bbox_2d': [13"
    r = q.parse(text, Task.DETECTION, (1316, 728))
    assert [o.label for o in r.objects] == ["pier"]
    approx_ring(r.objects[0].ring, box_corners((0, 0, 1316, 50)))
    assert any("clipped" in w for w in r.warnings) and any("cut off" in w for w in r.warnings)
    r = q.parse('[{"point_2d": [10, 20], "label": "tree"}]', Task.SEGMENTATION, (1316, 728))
    assert r.objects == [] and any("point_2d" in w for w in r.warnings)


@pytest.mark.parametrize("text", ["", "None", "```json\n[]\n```", "I cannot find any ship."])
def test_qwen_json_no_object(text):
    for name in ("qwen2.5-vl", "qwen3-vl"):
        r = get_dialect(name).parse(text, Task.DETECTION, (100, 100))
        assert r.objects == [] and r.warnings == []


def test_qwen3vl_relative_json():
    q = get_dialect("qwen3-vl")
    r = q.parse('```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "ship"}]\n```', Task.CHANGE, (500, 1000))
    assert isinstance(r.objects[0], PolygonRegion)
    approx_ring(r.objects[0].ring, box_corners((50, 200, 150, 400)))


# -- Florence-2 --------------------------------------------------------------------------------------
F = get_dialect("florence-2")


def test_florence_prompts():
    assert F.build_prompt(Task.DETECTION, "airplane", (100, 100)) == "<OPEN_VOCABULARY_DETECTION>airplane"
    assert F.build_prompt(Task.DETECTION, "", (100, 100)) == "<OD>"
    assert F.build_prompt(Task.SEGMENTATION, "the lake", (100, 100)) == "<REFERRING_EXPRESSION_SEGMENTATION>the lake"
    assert F.build_prompt(Task.CAPTION, "ignored", (100, 100)) == "<MORE_DETAILED_CAPTION>"
    region = SegTarget((10, 20, 50, 100))
    assert F.build_prompt(Task.IDENTIFY, "", (100, 200), [region]) == (
        "<REGION_TO_DESCRIPTION><loc_100><loc_100><loc_500><loc_500>"
    )
    with pytest.raises(ConfigError, match="Florence-2"):
        F.build_prompt(Task.VQA, "how many?", (100, 100))
    with pytest.raises(ConfigError, match="one region"):
        F.build_prompt(Task.IDENTIFY, "", (100, 100), [region, region])


def test_florence_od_answer_at_bin_centres():
    text = "</s><s>airplane<loc_93><loc_205><loc_353><loc_364>airplane<loc_603><loc_214><loc_906><loc_380></s>"
    r = F.parse(text, Task.DETECTION, (1000, 2000))
    assert r.warnings == [] and [o.label for o in r.objects] == ["airplane", "airplane"]
    approx_ring(r.objects[0].ring, box_corners((93.5, 411, 353.5, 729)))
    assert spans_text(text, r)[0] == "airplane<loc_93><loc_205><loc_353><loc_364>"


def test_florence_phrase_grounding_several_boxes_per_phrase():
    text = "ships<loc_1><loc_1><loc_10><loc_10><loc_20><loc_20><loc_30><loc_30>pier<loc_5><loc_5><loc_99><loc_9>"
    r = F.parse(text, Task.DETECTION, (1000, 1000))
    assert [o.label for o in r.objects] == ["ships", "ships", "pier"]


def test_florence_referring_segmentation_polygon_and_truncation():
    text = "<loc_100><loc_100><loc_200><loc_100><loc_200><loc_200><loc_100><loc_200><loc_15"
    r = F.parse(text, Task.SEGMENTATION, (1000, 1000))
    assert len(r.objects) == 1 and isinstance(r.objects[0], PolygonRegion)
    approx_ring(r.objects[0].ring, [(100.5, 100.5), (200.5, 100.5), (200.5, 200.5), (100.5, 200.5)])
    assert any("cut off" in w for w in r.warnings)
    r = F.parse("lake<poly><loc_1><loc_1><loc_9><loc_1><loc_9></poly>", Task.DETECTION, (1000, 1000))
    assert r.objects == [] and any("odd" in w for w in r.warnings) and any("2 distinct" in w for w in r.warnings)


def test_florence_quad_boxes_and_out_of_range_bins():
    quad = Florence2Dialect(quad_boxes=True)
    text = "</s>HELLO<loc_10><loc_10><loc_50><loc_10><loc_50><loc_20><loc_10><loc_20></s>"
    r = quad.parse(text, Task.DETECTION, (1000, 1000))
    assert isinstance(r.objects[0], RotatedBox) and r.objects[0].label == "HELLO"
    approx_ring(r.objects[0].ring, [(10.5, 10.5), (50.5, 10.5), (50.5, 20.5), (10.5, 20.5)])
    r = F.parse("x<loc_10><loc_10><loc_1500><loc_20><loc_3>", Task.DETECTION, (1000, 1000))
    approx_ring(r.objects[0].ring, box_corners((10.5, 10.5, 999.5, 20.5)))
    assert any("clipped" in w for w in r.warnings) and any("left over" in w for w in r.warnings)


# -- InternVL ------------------------------------------------------------------------------------------
def test_internvl_real_answer_several_boxes_per_ref():
    iv = get_dialect("internvl")
    text = "<ref>airplane</ref><box>[[100, 200, 300, 400], [500, 600, 700, 800]]</box>"
    r = iv.parse(text, Task.DETECTION, (1000, 1000))
    assert r.warnings == [] and [o.label for o in r.objects] == ["airplane", "airplane"]
    approx_ring(r.objects[1].ring, box_corners((500, 600, 700, 800)))
    assert spans_text(text, r) == ["<ref>airplane</ref><box>[[100, 200, 300, 400]", "[500, 600, 700, 800]]</box>"]
    assert iv.format_objects(r.objects, Task.DETECTION, (1000, 1000)) == text


def test_internvl_truncated_keeps_complete_boxes():
    iv = get_dialect("internvl")
    r = iv.parse("<ref>car</ref><box>[[10, 20, 30, 40], [50, 6", Task.SEGMENTATION, (100, 100))
    assert r.objects == [SegTarget((1, 2, 3, 4), label="car")]
    assert any("cut off" in w for w in r.warnings)


# -- GeoChat -------------------------------------------------------------------------------------------
def test_geochat_prompt_and_real_answers():
    gc = get_dialect("geochat")
    assert gc.build_prompt(Task.DETECTION, "planes", (504, 504)) == "[refer] Give me the location of <p> planes </p>"
    text = "<p>2 a220 airplanes</p> {<8><82><16><90>|<69>}{<6><44><14><48>|<32>}"
    r = gc.parse(text, Task.DETECTION, (504, 504))
    assert r.warnings == [] and len(r.objects) == 2 and r.objects[0].label == "2 a220 airplanes"
    for obj in r.objects:
        assert Polygon(obj.ring).is_valid
    r = gc.parse("{<10><20><30><40>}", Task.SEGMENTATION, (200, 100))  # no angle: a horizontal box
    assert r.objects == [SegTarget((20, 20, 60, 40))]
    with pytest.raises(ConfigError):
        gc.build_prompt(Task.CHANGE, "new buildings", (504, 504))


def test_geochat_angle_sign_convention_is_clockwise_on_screen():
    # box 40..60 x 40..50 about (50, 45): +30 degrees moves the right end down (y grows) on screen
    corners = rotate_box((40, 40, 60, 50), 30)
    top_right = corners[1]
    assert top_right[0] > 60 - 1 and top_right[1] > 40
    assert math.isclose(top_right[0], 50 + 10 * math.cos(math.radians(30)) + 5 * math.sin(math.radians(30)))
    assert math.isclose(top_right[1], 45 + 10 * math.sin(math.radians(30)) - 5 * math.cos(math.radians(30)))
    box, theta = box_and_angle(corners)
    assert theta == pytest.approx(30) and box == pytest.approx((40, 40, 60, 50))
    # a quarter turn swaps the sides
    gc = get_dialect("geochat")
    r = gc.parse("{<40><40><60><50>|<90>}", Task.SEGMENTATION, (100, 100))
    assert r.objects[0].bbox == pytest.approx((45, 35, 55, 55))


def test_geochat_truncated_and_out_of_range():
    gc = get_dialect("geochat")
    r = gc.parse("{<10><10><120><40>|<0>} {<1><2><3", Task.DETECTION, (100, 100))
    approx_ring(r.objects[0].ring, box_corners((10, 10, 100, 40)))
    assert any("clipped" in w for w in r.warnings) and any("cut off" in w for w in r.warnings)


# -- all dialects -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["georsmllm", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "internvl"])
def test_geolocation_gps_in_any_general_dialect(name):
    d = get_dialect(name)
    if name != "georsmllm":  # the canonical protocol needs no format hint: the tag says it
        assert "<gps>" in d.build_prompt(Task.GEOLOCATION, "", (100, 100))
    r = d.parse("Probably Marseille, <gps>[43.2965, 5.3698]</gps>", Task.GEOLOCATION, (100, 100))
    assert r.objects == [GeoPoint(43.2965, 5.3698)]
