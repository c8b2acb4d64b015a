"""SAM2 refinement through the pipeline: a model that answers horizontal boxes only (Qwen3-VL's JSON) gives
outlines (polygons layer) and rotated boxes (boxes layer), with one image encoding and one decoder call per
tile that has boxes -- with a segmenter of known masks, and with a tiny random-weight SAM2."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine

from model_backend.engines import get_engine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from tests.helpers.pipeline_fakes import BrightObjectEngine, DiamondSegmenter

TILE, OVERLAP = 256, 32
#: white squares (col, row, size) in raster pixels, each well inside one tile (away from seams)
SQUARES = [(40, 40, 60), (330, 60, 50), (80, 300, 70), (300, 330, 40)]


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    path = tmp_path_factory.mktemp("refine") / "squares.tif"
    data = np.full((3, 460, 460), 60, np.uint8)
    for col, row, size in SQUARES:
        data[:, row:row + size, col:col + size] = 255
    profile = {"driver": "GTiff", "width": 460, "height": 460, "count": 3, "dtype": "uint8",
               "transform": Affine(2.0, 0, 500000, 0, -2.0, 4200000), "crs": "EPSG:32633"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def layer(path, result, kind):
    _meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=result.outputs["layers"][kind])
    return list(shapely.from_wkb(wkb)), dict(zip(_meta["fields"], fields))


def run(raster, tmp_path, segmenter, instruction="[detection] the white squares", **settings):
    cfg = RunConfig(raster=str(raster), instruction=instruction, output=str(tmp_path / "out.gpkg"),
                    engine="scripted", refine="sam2", tile_size=TILE, overlap=OVERLAP, concurrency=1, **settings)
    engine = BrightObjectEngine(label="square", dialect="qwen3-vl")
    return Pipeline(cfg, engine, segmenter=segmenter).run(), engine, cfg


def test_horizontal_boxes_become_rotated_boxes_and_outlines(raster, tmp_path):
    segmenter = DiamondSegmenter(TILE)
    result, engine, cfg = run(raster, tmp_path, segmenter)

    assert result.dialect == "qwen3-vl"
    # one encoding and one batched decoder call per tile whose answer had boxes
    assert engine.answers_with_objects > 0
    assert segmenter.n_image_encodings == segmenter.n_decoder_calls == engine.answers_with_objects
    boxes, fields = layer(cfg.output, result, "boxes")
    outlines, outline_fields = layer(cfg.output, result, "polygons")
    assert len(boxes) == len(outlines) == len(SQUARES) == result.counts["square"]
    assert set(fields["label"]) == set(outline_fields["label"]) == {"square"}
    for col, row, size in SQUARES:
        square = shapely.box(500000 + 2 * col, 4200000 - 2 * (row + size), 500000 + 2 * (col + size),
                             4200000 - 2 * row)
        box = min(boxes, key=lambda b: b.centroid.distance(square.centroid))
        outline = min(outlines, key=lambda o: o.centroid.distance(square.centroid))
        # the diamond inscribed in the square: a box at 45 degrees, half the square's area
        x, y = np.asarray(box.exterior.coords).T
        angles = {round(np.degrees(np.arctan2(dy, dx))) % 90 for dx, dy in zip(np.diff(x), np.diff(y))}
        assert angles == {45}
        assert box.area == pytest.approx(square.area / 2, rel=0.12)
        assert outline.area == pytest.approx(square.area / 2, rel=0.12)
        assert box.buffer(4.0).contains(outline)  # the rotated box is the outline's minimum rectangle


def test_counting_with_refinement_counts_each_object_once(raster, tmp_path):
    segmenter = DiamondSegmenter(TILE)
    result, _engine, _cfg = run(raster, tmp_path, segmenter, instruction="How many white squares are there?")
    assert [a.text for a in result.answers if a.kind == "count"] == [str(len(SQUARES))]
    assert segmenter.n_decoder_calls > 0


def test_without_refinement_the_boxes_stay_horizontal(raster, tmp_path):
    cfg = RunConfig(raster=str(raster), instruction="[detection] the white squares", output=str(tmp_path / "o.gpkg"),
                    engine="scripted", tile_size=TILE, overlap=OVERLAP)
    result = Pipeline(cfg, BrightObjectEngine(label="square", dialect="qwen3-vl")).run()
    boxes, _ = layer(cfg.output, result, "boxes")
    assert "polygons" not in result.outputs["layers"]
    assert all(shapely.equals_exact(b.envelope.normalize(), b.normalize(), 1e-6) for b in boxes)


def test_change_regions_become_outlines_and_rotated_boxes(tmp_path, data_dir):
    segmenter = DiamondSegmenter(TILE)
    answer = '```json\n[{"bbox_2d": [200, 200, 600, 600], "label": "demolished building"}]\n```'
    engine = get_engine("scripted", answers=answer, dialect="qwen3-vl")
    cfg = RunConfig(raster=str(data_dir / "landsat_river_1985.tif"), raster_b=str(data_dir / "landsat_river_2020.tif"),
                    instruction="[change] buildings that were demolished", output=str(tmp_path / "c.gpkg"),
                    engine="scripted", dialect="qwen3-vl", refine="sam2", tile_size=TILE, overlap=OVERLAP)
    result = Pipeline(cfg, engine, segmenter=segmenter).run()
    assert segmenter.n_image_encodings == segmenter.n_decoder_calls == result.tiles_done
    regions, _ = layer(cfg.output, result, "polygons")
    boxes, fields = layer(cfg.output, result, "boxes")
    assert len(regions) == len(boxes) > 0 and set(fields["label"]) == {"demolished building"}
    for region in regions:  # a diamond, not the answered rectangle
        assert region.area < 0.6 * region.envelope.area


@pytest.mark.slow
def test_tiny_random_sam2_refines_each_tile_in_one_encoding_and_one_decoder_call(raster, tmp_path):
    pytest.importorskip("sam2")
    from model_backend.segmenters import Sam2Segmenter
    from tests.helpers.tiny_models import build_sam2_tiny

    checkpoint = build_sam2_tiny(tmp_path / "tiny.pt", image_size=TILE)
    segmenter = Sam2Segmenter(checkpoint, size="tiny", image_size=TILE, device="cpu")
    try:
        result, engine, cfg = run(raster, tmp_path, segmenter)
    finally:
        segmenter.close()
    assert segmenter.n_image_encodings == segmenter.n_decoder_calls == engine.answers_with_objects > 0
    boxes, _ = layer(cfg.output, result, "boxes")
    assert len(boxes) == len(SQUARES) == result.counts["square"]
    assert all(len(b.exterior.coords) == 5 and b.is_valid for b in boxes)  # four corners, closed
    # random weights: masks are meaningless, but every outline written is valid and lies near its box
    outlines = layer(cfg.output, result, "polygons")[0] if "polygons" in result.outputs["layers"] else []
    assert len(outlines) <= len(boxes) and all(o.is_valid for o in outlines)
    assert all(any(b.buffer(20).contains(o) for b in boxes) for o in outlines)
