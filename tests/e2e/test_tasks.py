"""Every task of the GeoRSMLLM set through the pipeline, with scripted engines on real rasters."""

from __future__ import annotations

import pyogrio
import pytest
import shapely
from shapely.geometry import box

from model_backend.engines import get_engine
from model_backend.errors import ConfigError, RasterError
from model_backend.geometry import PolygonRegion
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.events import CancelToken
from model_backend.pipeline.runner import Pipeline


def read(path, layer):
    meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=layer)
    return list(shapely.from_wkb(wkb)), dict(zip(meta["fields"], fields)), meta


def config(tmp_path, **kw):
    kw.setdefault("output", str(tmp_path / "out.gpkg"))
    kw.setdefault("engine", "scripted")
    return RunConfig(**kw)


def test_change_detection_on_a_real_pair_with_different_grids(tmp_path, data_dir):
    engine = get_engine("scripted", answers="<ref>new pond</ref>{(100,100),(400,120),(380,400),(120,380),(100,100)}")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2009.tif"), raster_b=str(data_dir / "naip_2020.tif"),
                 instruction="find new ponds", tile_size=512, overlap=64)
    result = Pipeline(cfg, engine).run()
    assert result.task == "change" and result.task_source == "inferred"
    assert all(len(r.images) == 2 for r in engine.requests)  # before and after in every request
    before, after = engine.requests[0].images
    assert before.shape == after.shape
    polys, fields, meta = read(cfg.output, result.outputs["layers"]["polygons"])
    assert "26914" in meta["crs"] and set(fields["label"]) == {"new pond"}
    assert all(p.is_valid for p in polys)


def test_unlabelled_change_polygons_get_the_changed_class_and_their_measures(tmp_path, data_dir):
    # The model answers bare polygons (no <ref>): the class the instruction names becomes the label.
    engine = get_engine("scripted", answers="{(100,100),(400,100),(400,400),(100,400),(100,100)}")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2009.tif"), raster_b=str(data_dir / "naip_2020.tif"),
                 instruction="[change] find all the new buildings", tile_size=512, overlap=0)
    live = []
    result = Pipeline(cfg, engine).run(on_event=lambda e: live.extend(e.features))
    polys, fields, _meta = read(cfg.output, result.outputs["layers"]["polygons"])
    assert set(fields["label"]) == {"new building"} and result.counts == {"new building": len(polys)}
    assert live and {f["properties"]["label"] for f in live} == {"new building"}  # shown live as written
    # the raster is in UTM (metres): the measures are the polygons' own planar area and longer side
    assert fields["area_m2"].tolist() == pytest.approx([round(p.area, 2) for p in polys])
    assert all(length > 0 for length in fields["length_m"])


def test_a_run_cancelled_before_finding_anything_says_so_once(tmp_path, data_dir):
    cancel = CancelToken()
    cancel.cancel()
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds")
    result = Pipeline(cfg, get_engine("scripted", answers="<ref>pond</ref>{(1,1),(9,1),(9,9),(1,9)}")).run(
        cancel=cancel)
    assert result.partial and result.tiles_done == 0 and result.counts == {}
    assert result.warnings == []  # no "nothing found" beside the cancel: partial and tiles_done say it all


def test_change_detection_without_overlap_is_a_clear_error(tmp_path, data_dir):
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), raster_b=str(data_dir / "RGB.byte.tif"),
                 instruction="[change] anything")
    with pytest.raises(RasterError, match="overlap"):
        Pipeline(cfg, get_engine("scripted", answers="None")).run()
    assert not (tmp_path / "out.gpkg").exists()


class CountingSegmenter:
    """Stands in for SAM2: a mask that fills each target's box; counts encodings and decoder calls."""

    name = "fake"

    def __init__(self):
        self.encodings = 0
        self.decoder_calls = 0

    def load(self):
        pass

    def segment(self, image, targets):
        self.encodings += 1
        self.decoder_calls += 1
        return [[PolygonRegion(t.ring, label=t.label, score=t.score)] for t in targets]


def test_segmentation_one_encoding_per_tile_with_targets_and_one_decoder_call(tmp_path, data_dir):
    # every other request (concurrency 1: one per tile, in order) answers two targets, the rest nothing
    answers = {"n": 0}

    def answer(request):
        answers["n"] += 1
        if answers["n"] % 2:
            return ("<ref>lake</ref><box>[100,100,300,300]</box><keypoint>[(200,200)]</keypoint>\n"
                    "<ref>lake</ref><box>[600,600,800,800]</box><keypoint>[(700,700),(650,650)]</keypoint>")
        return "None"

    engine = get_engine("scripted", answers=answer)
    segmenter = CountingSegmenter()
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="segment the lakes",
                 tile_size=256, overlap=32, concurrency=1)
    result = Pipeline(cfg, engine, segmenter=segmenter).run()
    tiles_with_targets = (result.tiles_done + 1) // 2
    assert segmenter.encodings == tiles_with_targets and segmenter.decoder_calls == tiles_with_targets
    polys, fields, _ = read(cfg.output, result.outputs["layers"]["polygons"])
    assert set(fields["label"]) == {"lake"} and all(p.is_valid for p in polys)


def test_conditional_detection_runs_the_chain_then_gis_filters(tmp_path, data_dir):
    # step 1 finds two boxes per tile; step 2 (model) keeps the first; then "larger than 20000 m2" (GIS) applies.
    def answer(request):
        if "; " in request.prompt or "{(" in request.prompt:  # a later step: previous objects in set-of-points
            return "<ref>pond</ref>{(100,100),(400,100),(400,400),(100,400)}"
        return ("<ref>pond</ref>{(100,100),(400,100),(400,400),(100,400)}\n"
                "<ref>pond</ref>{(700,700),(720,700),(720,720),(700,720)}")

    engine = get_engine("scripted", answers=answer)
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), tile_size=512, overlap=64,
                 instruction="[detection] ponds that are surrounded by trees and larger than 20000 m2")
    pipeline = Pipeline(cfg, engine)
    plan = pipeline.describe_plan()
    assert [s["kind"] for s in plan["steps"]] == ["model", "model", "gis"]
    result = pipeline.run()
    polys, _fields, _ = read(cfg.output, result.outputs["layers"]["boxes"])
    # 300 x 300 thousandths of 512 px at 5 m = 768 m sides: kept; the 20 x 20 ones (51 m sides) are gone
    assert polys and all(p.area > 20000 for p in polys)
    later = [r for r in engine.requests if "{(" in r.prompt]
    assert later, "the second step was not sent with the first step's objects"
    firsts = [r for r in engine.requests if "{(" not in r.prompt]
    assert all(any(s.images[0] is f.images[0] for f in firsts) for s in later)  # same image object per tile


def test_caption_writes_the_extent_with_the_caption(tmp_path, data_dir):
    engine = get_engine("scripted", answers="Farmland with many small ponds and a road.")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="Describe this image")
    result = Pipeline(cfg, engine).run()
    assert result.task == "caption" and result.answers[0].text.startswith("Farmland")
    image = engine.requests[0].images[0]
    assert max(image.shape[:2]) <= cfg.tile_size  # the whole raster, downsampled, in one request
    polys, fields, _ = read(cfg.output, result.outputs["layers"]["polygons"])
    assert len(polys) == 1 and fields["caption"][0].startswith("Farmland")
    with __import__("rasterio").open(data_dir / "naip_2020.tif") as src:
        assert polys[0].equals_exact(box(*src.bounds), tolerance=1e-6) or polys[0].symmetric_difference(
            box(*src.bounds)).area < 1e-6 * polys[0].area


def test_counting_question_is_backed_by_detections(tmp_path, data_dir):
    engine = get_engine("scripted", answers="<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="How many ponds are there?",
                 tile_size=512, overlap=64)
    result = Pipeline(cfg, engine).run()
    assert result.task == "vqa"
    assert result.answers[0].text == str(sum(result.counts.values())) == "4"
    assert "boxes" in result.outputs["layers"]


def test_classification_labels_each_tile_footprint(tmp_path, data_dir):
    engine = get_engine("scripted", answers=["It looks like farmland.", "This is a lake.", "lake", "Forest?"])
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), tile_size=512, overlap=64, concurrency=1,
                 instruction="Classify this scene as farmland, lake or forest")
    result = Pipeline(cfg, engine).run()
    assert result.task == "classify"
    assert "farmland, lake, forest" in engine.requests[0].prompt
    polys, fields, _ = read(cfg.output, result.outputs["layers"]["polygons"])
    assert sorted(fields["label"]) == ["farmland", "forest", "lake", "lake"]
    assert len(polys) == result.tiles_total == 4


def test_geolocation_writes_a_point_in_wgs84(tmp_path, data_dir):
    engine = get_engine("scripted", answers="Probably North Dakota, USA. <gps>[47.03, -99.18]</gps>")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="Where was this image taken?")
    result = Pipeline(cfg, engine).run()
    assert result.task == "geolocation"
    points, fields, meta = read(cfg.output, result.outputs["layers"]["points"])
    assert "4326" in meta["crs"] and points[0].x == pytest.approx(-99.18) and points[0].y == pytest.approx(47.03)
    assert "North Dakota" in fields["answer"][0]


def test_region_caption_describes_each_feature_shown_in_set_of_points(tmp_path, data_dir):
    import rasterio

    engine = get_engine("scripted", answers="a small pond beside a field")
    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, bottom, right, top = src.bounds
    # "fid" comes with every GeoPackage feature: it must not clash with the output's own FID column
    regions = [(box(left + 500, top - 900, left + 700, top - 700), {"id": "7", "label": "pond", "fid": 3}),
               (box(left + 2000, top - 2500, left + 2300, top - 2200), {"id": "8"})]
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="[identify] describe this region")
    result = Pipeline(cfg, engine, regions=regions).run()
    assert result.task == "identify" and len(engine.requests) == 2
    assert all(r.prompt.startswith("[identify]") and "{(" in r.prompt for r in engine.requests)
    polys, fields, _ = read(cfg.output, result.outputs["layers"]["polygons"])
    assert fields["caption"].tolist() == ["a small pond beside a field"] * 2
    assert fields["src_fid"].tolist() == ["3", None] and fields["label"].tolist() == ["pond", None]
    assert polys[0].equals_exact(regions[0][0], tolerance=1e-6) or polys[0].symmetric_difference(
        regions[0][0]).area < 1e-3


def test_cancel_stops_within_a_tile_and_keeps_partial_output(tmp_path, data_dir):
    cancel = CancelToken()
    seen = []

    def on_event(event):
        if event.kind == "tile":
            seen.append(event.tiles_done)
            if event.tiles_done == 2:
                cancel.cancel()

    engine = get_engine("scripted", answers="<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}",
                        latency=0.05)
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds",
                 tile_size=128, overlap=0, concurrency=1)
    result = Pipeline(cfg, engine).run(on_event=on_event, cancel=cancel)
    assert result.partial and result.tiles_done == 2 < result.tiles_total
    assert engine.calls <= 3  # at most the one tile in flight when cancel came
    _polys, fields, _ = read(cfg.output, result.outputs["layers"]["boxes"])
    assert set(fields["partial"]) == {"true"}


def test_dialect_that_cannot_do_the_task_is_refused_up_front(tmp_path, data_dir):
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="how many ponds?",
                 dialect="florence-2")
    with pytest.raises(ConfigError, match="florence-2"):
        Pipeline(cfg, get_engine("scripted", answers="None"))


def test_area_of_interest_limits_tiles_and_keeps_only_objects_touching_it(tmp_path, data_dir):
    import rasterio

    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, bottom, right, top = src.bounds
    # a triangle in the top-left quarter: its bounds need one 512-px tile; the box answered in the tile's
    # bottom-right corner lies inside those bounds but outside the triangle
    area = shapely.Polygon([(left, top), (left + 2000, top), (left, top - 2000)])
    engine = get_engine("scripted", answers=("<ref>pond</ref>{(50,50),(150,50),(150,150),(50,150)}\n"
                                            "<ref>pond</ref>{(800,800),(900,800),(900,900),(800,900)}"))
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds",
                 tile_size=512, overlap=0)
    result = Pipeline(cfg, engine, area=area).run()
    assert result.tiles_total == 1
    polys, _fields, _ = read(cfg.output, result.outputs["layers"]["boxes"])
    assert len(polys) == 1 and polys[0].intersects(area)


# -- seams: empty runs, change within an area, questions about which objects, typed answers ---------------------


@pytest.mark.parametrize("raster,crs_code", [("naip_2020.tif", "26914"), ("RGB.byte.gcp.vrt", "4326")])
def test_run_that_finds_nothing_writes_an_empty_layer_in_the_rasters_crs(tmp_path, data_dir, raster, crs_code):
    cfg = config(tmp_path, raster=str(data_dir / raster), instruction="[detection] ponds", tile_size=512,
                 run_name="empty")
    result = Pipeline(cfg, get_engine("scripted", answers="None")).run()
    assert result.counts == {} and result.outputs["layers"] == {"boxes": "empty_boxes"}
    polys, fields, meta = read(cfg.output, "empty_boxes")
    assert polys == [] and "label" in fields and crs_code in meta["crs"]
    # the recipe travels with the empty layer too
    recipe = pyogrio.read_info(cfg.output, layer="empty_boxes")["layer_metadata"]["GEORSMLLM_RECIPE"]
    assert '"instruction": "[detection] ponds"' in recipe


def test_change_detection_runs_only_the_tiles_the_area_of_interest_touches(tmp_path, data_dir):
    import rasterio

    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, _bottom, _right, top = src.bounds
    area = shapely.box(left + 10, top - 300, left + 300, top - 10)  # inside the first 512-px tile only
    answer = "<ref>new pond</ref>{(100,100),(300,100),(300,300),(100,300),(100,100)}"
    engine = get_engine("scripted", answers=answer)
    cfg = config(tmp_path, raster=str(data_dir / "naip_2009.tif"), raster_b=str(data_dir / "naip_2020.tif"),
                 instruction="[change] new ponds", tile_size=512, overlap=0)
    whole = Pipeline(cfg, get_engine("scripted", answers=answer)).run()
    result = Pipeline(cfg, engine, area=area).run()
    assert whole.tiles_total > 1
    assert result.tiles_total == 1 and len(engine.requests) == 1


@pytest.mark.parametrize("question,request_text", [
    ("Where are the ponds?", ["the ponds"]),
    ("Which fields are flooded?", ["fields", "flooded"]),  # a visual condition: a second step of the chain
])
def test_questions_about_which_objects_are_detection_with_an_answer(tmp_path, data_dir, question, request_text):
    engine = get_engine("scripted", answers="<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction=question, tile_size=512, overlap=0)
    result = Pipeline(cfg, engine).run()
    assert result.task == "detection" and result.task_source == "inferred"
    prompts = " | ".join(r.prompt for r in engine.requests)
    assert all(words in prompts for words in request_text) and "which" not in prompts.lower()
    (answer,) = result.answers
    assert answer.kind == "answer" and answer.question == question
    assert answer.text.startswith(f"found: {sum(result.counts.values())} pond")
    assert result.to_dict()["answers"][0]["text"] == answer.text  # JSON-ready for the server


def test_classification_without_classes_offers_the_documented_scene_classes(tmp_path, data_dir):
    engine = get_engine("scripted", answers="This looks like a lake.")
    cfg = config(tmp_path, raster=str(data_dir / "naip_2020.tif"), instruction="What kind of scene is this?",
                 tile_size=512, overlap=0)
    result = Pipeline(cfg, engine).run()
    assert result.task == "classify" and set(result.counts) == {"lake"}
    assert "45 NWPU-RESISC45 scene classes" in " ".join(result.warnings)
    assert "golf course" in engine.requests[0].prompt
