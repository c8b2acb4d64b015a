"""References the model finds first, through the whole pipeline: a dark UTM scene (10 m pixels, four 256-px
tiles, no overlap) with white squares, red bridges, a yellow diagonal road and a blue river; a fake model that
looks at the pixels and answers exactly what it is asked for (squares, bridges, roads or rivers, by the words of
the prompt), so which squares are kept depends only on the plan. Distances below are edge to edge, designed
at least 17 m away from every threshold."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio import features
from shapely.geometry import LineString, box

from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from tests.helpers.pipeline_fakes import ColourObjectEngine, ColourSegmenter

X0, Y_TOP = 500_000.0, 5_005_120.0
CRS = "EPSG:32633"
PIXEL = 10.0  # metres
TRANSFORM = Affine(PIXEL, 0, X0, 0, -PIXEL, Y_TOP)
SIZE = 512
WHITE, RED, YELLOW, BLUE = (255, 255, 255), (200, 40, 40), (150, 150, 40), (40, 90, 200)
COLOURS = {"square": None, "bridge": RED, "road": YELLOW, "river": BLUE}

BRIDGES = {"b1": (236, 100, 14, 10), "b2": (380, 380, 20, 10)}  # (col, row, width, height) px
ROAD = LineString([(0, 280), (512, 480)]).buffer(3, cap_style="flat")  # 60 m wide, tiles 2 and 3 only
RIVER = LineString([(140, 0), (200, 512)]).buffer(8, cap_style="flat")  # 160 m wide, runs north-south
SQUARES = {  # name: (col, row, w, h) px; distance to the nearest bridge / road edge; side of the river
    "across_seam": (258, 100, 8, 8),  # bridge 80 m, in tile 1 while b1 is in tile 0; east
    "same_tile_far": (236, 125, 8, 8),  # bridge 150 m (b1's tile); east
    "near_b2": (392, 398, 8, 8),  # bridge 80 m; road 223 m; east
    "far_west": (60, 420, 8, 8),  # west
    "west_top": (40, 30, 8, 8),  # west
    "by_road": (100, 306, 8, 8),  # road 17 m; west
    "road_80m": (300, 378, 8, 8),  # road 74 m; east
    "in_road_box": (60, 360, 8, 8),  # road 468 m, inside the box around the road's part in tile 2; west
    "east_mid": (330, 200, 8, 8),  # east
}
ALL = set(SQUARES)


def _window(col, row, w, h):
    return box(col, row, col + w, row + h)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    path = tmp_path_factory.mktemp("refs") / "scene.tif"
    data = np.full((3, SIZE, SIZE), 60, np.uint8)
    shapes = [(RIVER, 1), (ROAD, 2)] + [(_window(*w), 3) for w in BRIDGES.values()] + \
             [(_window(*w), 4) for w in SQUARES.values()]
    paint = features.rasterize(shapes, out_shape=(SIZE, SIZE))  # pixel coordinates: identity transform
    for value, colour in ((1, BLUE), (2, YELLOW), (3, RED), (4, WHITE)):
        data[:, paint == value] = np.array(colour, np.uint8)[:, None]
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=3, dtype="uint8",
                       transform=TRANSFORM, crs=CRS) as dst:
        dst.write(data)
    return path


def run(scene, tmp_path, instruction, *, segmenter=None, seg_as="polygons", run_name="refs", **settings):
    config = RunConfig(raster=str(scene), instruction=instruction, output=str(tmp_path / "out.gpkg"),
                       engine="scripted", tile_size=256, overlap=0, run_name=run_name, **settings)
    engine = ColourObjectEngine(COLOURS, seg_as=seg_as)
    events = []
    result = Pipeline(config, engine, segmenter=segmenter).run(on_event=events.append)
    return result, engine, events


def _map(geom_px):
    return shapely.affinity.affine_transform(geom_px, TRANSFORM.to_shapely())


def read_layer(tmp_path, name):
    meta, _fids, wkb, fields = pyogrio.raw.read(tmp_path / "out.gpkg", layer=name)
    info = pyogrio.read_info(tmp_path / "out.gpkg", layer=name)
    return list(shapely.from_wkb(wkb)), dict(zip(meta["fields"], fields)), info["layer_metadata"]


def kept_squares(result, tmp_path):
    found, _fields, _meta = read_layer(tmp_path, result.outputs["layers"]["boxes"])
    names = {name for name, w in SQUARES.items() if any(g.contains(_map(_window(*w)).centroid) for g in found)}
    assert len(found) == len(names)  # nothing else was written
    return names


def test_squares_within_100_m_of_a_bridge_the_model_finds(scene, tmp_path):
    result, engine, events = run(scene, tmp_path, "[detection] squares within 100 m of a bridge", concurrency=2)
    # b1 lies in tile 0 only; the square 80 m from it lies in tile 1 only: references are merged over all tiles
    assert kept_squares(result, tmp_path) == {"across_seam", "near_b2"}
    assert result.outputs["layers"]["ref_bridge_boxes"] == "refs_ref_bridge_boxes"
    bridges, fields, metadata = read_layer(tmp_path, "refs_ref_bridge_boxes")
    assert len(bridges) == 2 and set(fields["label"]) == {"bridge"}
    for window in BRIDGES.values():
        assert any(g.hausdorff_distance(_map(_window(*window))) < 2 * PIXEL for g in bridges)
    recipe = json.loads(metadata["GEORSMLLM_RECIPE"])
    assert recipe["reference"] == {"role": "reference", "id": "r1", "phrase": "bridge", "task": "detection",
                                   "prompt": "bridges"}
    assert result.references == {"r1": {"id": "r1", "phrase": "bridge", "task": "detection", "prompt": "bridges",
                                        "found": 2, "layers": ["refs_ref_bridge_boxes"]}}
    # cost: one tile read, two model calls per tile (the squares, then the bridges, on the same image object)
    assert result.tiles_total == 4 and engine.calls == 2 * result.tiles_total
    by_image: dict[int, list[str]] = {}
    for image, prompt in zip(engine.images, engine.prompts):
        by_image.setdefault(id(image), []).append(prompt)
    assert sorted(map(sorted, by_image.values())) == [["[detection] bridges", "[detection] squares"]] * 4
    # progress: one event per tile, each after both passes, with what each pass found there
    tiles = [e for e in events if e.kind == "tile"]
    assert [e.tiles_done for e in tiles] == [1, 2, 3, 4] and {e.tiles_total for e in tiles} == {4}
    assert sum(e.data["references"]["r1"] for e in tiles) == 2
    assert not [w for w in result.warnings if "bridge" in w]


def test_how_many_squares_are_within_100_m_of_a_bridge(scene, tmp_path):
    result, _engine, _events = run(scene, tmp_path, "how many squares are within 100 m of a bridge?")
    assert result.task == "vqa" and [a.text for a in result.answers] == ["2"]
    assert kept_squares(result, tmp_path) == {"across_seam", "near_b2"}
    assert "ref_bridge_boxes" in result.outputs["layers"]


@pytest.mark.parametrize("instruction, want", [
    ("[detection] squares not within 50 m of any road", ALL - {"by_road"}),
    ("[detection] squares within 100 m of the road", {"by_road", "road_80m"}),
])
def test_distance_to_a_road_the_model_segments(scene, tmp_path, instruction, want):
    """The road is segmented (a box and a keypoint, outlined by the segmenter): its outline is measured, not the
    box around its diagonal part in each tile, which holds ``in_road_box``."""
    segmenter = ColourSegmenter()
    result, engine, _events = run(scene, tmp_path, instruction, segmenter=segmenter, seg_as="targets")
    assert kept_squares(result, tmp_path) == want
    assert {p for p in engine.prompts if "road" in p} == {"[seg] roads"}
    assert segmenter.n_image_encodings == 2  # the two tiles the road crosses
    roads, fields, _meta = read_layer(tmp_path, result.outputs["layers"]["ref_road_polygons"])
    assert set(fields["label"]) == {"road"}
    road = shapely.union_all(roads)
    assert road.symmetric_difference(_map(ROAD)).area < 0.1 * _map(ROAD).area  # one road, merged over the seam


def test_squares_on_the_east_bank_of_the_river_the_model_segments(scene, tmp_path):
    result, _engine, _events = run(scene, tmp_path, "[detection] squares on the east bank of the river")
    assert kept_squares(result, tmp_path) == {"across_seam", "same_tile_far", "near_b2", "road_80m", "east_mid"}
    rivers, fields, _meta = read_layer(tmp_path, result.outputs["layers"]["ref_river_polygons"])
    assert rivers and set(fields["label"]) == {"river"}


@pytest.mark.parametrize("instruction, want", [
    ("[detection] squares within 100 m of a tower", set()),
    ("[detection] squares that are not within 100 m of a tower", ALL),
])
def test_a_reference_the_model_finds_nowhere_is_an_empty_layer_and_a_warning(scene, tmp_path, instruction, want):
    result, _engine, _events = run(scene, tmp_path, instruction)
    assert kept_squares(result, tmp_path) == want
    towers, _fields, _meta = read_layer(tmp_path, "refs_ref_tower_boxes")
    assert towers == [] and result.references["r1"]["found"] == 0
    assert [w for w in result.warnings if "tower" in w] == [
        "the model found no tower (reference r1) in any tile: the conditions measured against it treat it as an "
        "empty layer (no object is within any distance of it, inside, touching or in any direction of it; "
        "'not within' and 'more than' keep every object), and its layer is empty"]
