"""Refining an object by clicks (``pipeline.reprompt``) with a segmenter of known masks: the frame SAM2 sees
(the run's tile, or a window centred on an object cut by every tile edge), the prompts in that image's pixels,
the outline back in map coordinates of the request's CRS, the image of a change pair, and refusals."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import shapely.ops
from affine import Affine

from model_backend.errors import ConfigError
from model_backend.geometry import PolygonRegion
from model_backend.pipeline.reprompt import Clicks, NoOutline, RunFrame, pick_outline, reprompt
from model_backend.segmenters.encodings import EncodingCache
from tests.helpers.pipeline_fakes import DiamondSegmenter

TRANSFORM = Affine(2.0, 0, 500000, 0, -2.0, 4200000)  # 2 m pixels, EPSG:32633
SIZE = 460  # raster pixels; tiles of 256 with overlap 32: columns (and rows) 0-256 and 204-460


class KeptDiamonds(DiamondSegmenter):
    """Diamond masks (the diamond inscribed in each prompt box), encodings that can be kept, prompts recorded."""

    def __init__(self):
        super().__init__(model_size=256)
        self.prompts = []
        self.images = []

    def _encode(self, image_rgb):
        super()._encode(image_rgb)
        self.images.append(image_rgb)

    def _snapshot(self):
        return self._image_hw, 1

    def _restore(self, features):
        self._image_hw = features

    def _decode(self, prompts):
        self.prompts.append(prompts)
        return super()._decode(prompts)


class Nothing(KeptDiamonds):
    def _decode(self, prompts):
        masks, iou = super()._decode(prompts)
        return np.zeros_like(masks), iou


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reprompt")
    paths = []
    for name, value in (("before.tif", 40), ("after.tif", 90)):
        path = folder / name
        profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 3, "dtype": "uint8",
                   "transform": TRANSFORM, "crs": "EPSG:32633"}
        with rasterio.open(path, "w", **profile) as dst:
            rows, cols = np.mgrid[0:SIZE, 0:SIZE]
            texture = (rows // 8 + cols // 8) % 5  # every tile's pixels differ; pixel (0, 0) is ``value``
            dst.write(np.broadcast_to(value + texture, (3, SIZE, SIZE)).astype(np.uint8))
        paths.append(str(path))
    return paths


def frame_of(rasters, **changes) -> RunFrame:
    return RunFrame(**{"raster": rasters[0], "tile_size": 256, "overlap": 32, "task": "seg", **changes})


def square(col, row, size) -> shapely.Polygon:
    """A square given in raster pixels, in map coordinates."""
    (x0, y0), (x1, y1) = TRANSFORM @ (col, row + size), TRANSFORM @ (col + size, row)
    return shapely.box(x0, y0, x1, y1)


def at(col, row) -> tuple[float, float]:
    return TRANSFORM @ (col, row)


def test_an_object_inside_one_tile_is_refined_on_that_tile(rasters):
    seg = KeptDiamonds()
    feature = square(40, 40, 60)
    out = reprompt(seg, frame_of(rasters), feature, Clicks(points=(at(70, 70), at(50, 90)), labels=(1, 0)))
    assert out.frame == {"kind": "tile", "tile": 0, "window": [0, 0, 256, 256], "image_size": [256, 256],
                         "image": None}
    prompts = seg.prompts[-1]
    # the box: the feature's envelope grown by 5 % of its side; the points: tile pixels (indices for SAM2)
    np.testing.assert_allclose(prompts.boxes_xyxy_model[0], [37, 37, 102, 102])
    np.testing.assert_allclose(prompts.points_xy_model[0], [[69.5, 69.5], [49.5, 89.5]])
    assert prompts.point_labels.tolist() == [[1, 0]]
    # the outline: the diamond inscribed in the prompt box, in map coordinates
    diamond = shapely.Polygon([at(70, 37), at(103, 70), at(70, 103), at(37, 70)])
    assert out.outline.symmetric_difference(diamond).area < 0.05 * diamond.area
    assert out.box.area == pytest.approx(out.outline.area, rel=0.1)  # a diamond is its own rotated rectangle
    assert out.outline_measures[0] == pytest.approx(out.outline.area, rel=1e-3)  # UTM: square metres
    body = out.to_dict()
    assert body["outline"]["type"] == "Polygon" and body["outline_measures"]["area_m2"] > 0


def test_a_dragged_box_replaces_the_feature_box(rasters):
    seg = KeptDiamonds()
    (x0, y1), (x1, y0) = at(20, 30), at(120, 110)
    reprompt(seg, frame_of(rasters), square(40, 40, 60), Clicks(box=(x0, y0, x1, y1)))
    prompts = seg.prompts[-1]
    np.testing.assert_allclose(prompts.boxes_xyxy_model[0], [20, 30, 119, 109])
    assert prompts.points_xy_model is None


def test_an_object_in_the_overlap_takes_the_tile_where_it_lies_farthest_from_the_edges(rasters):
    seg = KeptDiamonds()
    out = reprompt(seg, frame_of(rasters), square(215, 100, 25), Clicks(points=(at(227, 112),), labels=(1,)))
    assert out.frame["kind"] == "tile" and out.frame["tile"] == 0  # 16 px from tile 0's edge, 11 from tile 1's
    out = reprompt(seg, frame_of(rasters), square(220, 100, 25), Clicks(points=(at(232, 112),), labels=(1,)))
    assert out.frame["tile"] == 1


def test_an_object_cut_by_every_tile_edge_gets_a_window_centred_on_it(rasters):
    seg = KeptDiamonds()
    feature = square(190, 190, 80)
    out = reprompt(seg, frame_of(rasters), feature, Clicks(points=(at(230, 230),), labels=(1,)))
    assert out.frame["kind"] == "window" and out.frame["tile"] is None
    assert out.frame["window"] == [102, 102, 256, 256] and out.frame["image_size"] == [256, 256]
    diamond = shapely.Polygon([at(230, 186), at(274, 230), at(230, 274), at(186, 230)])
    assert out.outline.symmetric_difference(diamond).area < 0.05 * diamond.area


def test_the_run_scale_is_kept(rasters):
    """With a GSD of 4 m the run read 2 m pixels downsampled by two; the outline still lands in place."""
    seg = KeptDiamonds()
    out = reprompt(seg, frame_of(rasters, gsd=4.0), square(40, 40, 60), Clicks(points=(at(70, 70),), labels=(1,)))
    assert out.frame["image_size"] == [230, 230] and out.frame["window"] == [0, 0, SIZE, SIZE]
    np.testing.assert_allclose(seg.prompts[-1].points_xy_model[0], [[35 * 256 / 230 - 0.5] * 2], rtol=1e-6)
    assert out.outline.centroid.distance(shapely.Point(at(70, 70))) < 4.0


def test_the_same_tile_is_encoded_once(rasters):
    seg = KeptDiamonds()
    seg.encodings = EncodingCache(max_entries=1)
    first = reprompt(seg, frame_of(rasters), square(40, 40, 60), Clicks(points=(at(70, 70),), labels=(1,)))
    second = reprompt(seg, frame_of(rasters), square(120, 120, 30), Clicks(points=(at(135, 135),), labels=(1,)))
    assert (first.reused_encoding, second.reused_encoding) == (False, True) and seg.n_image_encodings == 1
    third = reprompt(seg, frame_of(rasters), square(400, 400, 30), Clicks(points=(at(415, 415),), labels=(1,)))
    assert third.frame["tile"] == 3 and not third.reused_encoding and seg.n_image_encodings == 2


@pytest.mark.parametrize("label, image, value", [("demolished building", "before", 40), ("new building", "after", 90)])
def test_a_change_object_is_refined_on_the_image_that_shows_it(rasters, label, image, value):
    seg = KeptDiamonds()
    frame = frame_of(rasters, task="change", raster_b=rasters[1], instruction="buildings")
    out = reprompt(seg, frame, square(40, 40, 60), Clicks(points=(at(70, 70),), labels=(1,)), label=label)
    assert out.frame["image"] == image and int(seg.images[-1][0, 0, 0]) == value


def test_geometry_in_another_crs_comes_back_in_it(rasters):
    seg = KeptDiamonds()
    to_wgs84 = pyproj.Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    feature = square(40, 40, 60)
    feature_4326 = shapely.ops.transform(to_wgs84.transform, feature)
    point = to_wgs84.transform(*at(70, 70))
    out = reprompt(seg, frame_of(rasters), feature_4326, Clicks(points=(point,), labels=(1,)), crs="EPSG:4326")
    assert out.frame["tile"] == 0
    np.testing.assert_allclose(seg.prompts[-1].points_xy_model[0], [[69.5, 69.5]], atol=1e-3)
    assert out.outline.centroid.distance(shapely.Point(point)) < 1e-4  # degrees
    assert out.outline_measures[0] == pytest.approx(33 * 33 * 2 * 4, rel=0.1)  # metres, measured geodesically


@pytest.mark.parametrize("clicks, message", [
    (dict(), "points or a box"),
    (dict(points=((1.0, 2.0),) * 33, labels=(1,) * 33), "at most 32"),
    (dict(points=((1.0, 2.0),), labels=(3,)), "labels are 1"),
    (dict(points=((1.0, 2.0),), labels=()), "1 points but 0 labels"),
    (dict(box=(5.0, 0.0, 1.0, 2.0)), "xmin < xmax"),
])
def test_bad_clicks(clicks, message):
    with pytest.raises(ConfigError, match=message):
        Clicks(**clicks)


def test_prompts_off_the_raster_are_refused(rasters):
    seg = KeptDiamonds()
    feature = square(40, 40, 60)
    with pytest.raises(ConfigError, match="point 2 lies outside"):
        reprompt(seg, frame_of(rasters), feature, Clicks(points=(at(70, 70), at(-5, 70)), labels=(1, 1)))
    with pytest.raises(ConfigError, match="feature lies outside"):
        reprompt(seg, frame_of(rasters), square(600, 40, 60), Clicks(points=(at(70, 70),), labels=(1,)))
    with pytest.raises(ConfigError, match="no geometry"):
        reprompt(seg, frame_of(rasters), shapely.Polygon(), Clicks(points=(at(70, 70),), labels=(1,)))


def test_an_empty_mask_leaves_the_feature_alone(rasters):
    with pytest.raises(NoOutline, match="no object at these prompts: the feature is unchanged"):
        reprompt(Nothing(), frame_of(rasters), square(40, 40, 60), Clicks(points=(at(70, 70),), labels=(1,)))


def test_pick_outline_prefers_the_part_with_the_clicks():
    left = PolygonRegion(((0, 0), (10, 0), (10, 10), (0, 10)))
    right = PolygonRegion(((20, 0), (40, 0), (40, 20), (20, 20)))  # larger
    assert pick_outline([left, right], [], [], None).bounds == (20, 0, 40, 20)
    assert pick_outline([left, right], [(5, 5)], [], None).bounds == (0, 0, 10, 10)
    assert pick_outline([left, right], [], [(30, 10)], None).bounds == (0, 0, 10, 10)
    clipped = pick_outline([right], [(25, 5)], [], (20, 0, 30, 10))  # within the box grown by 10 %
    assert clipped.bounds == (20, 0, 31, 11)
    assert pick_outline([], [(1, 1)], [], None) is None
    far = PolygonRegion(((100, 0), (200, 0), (200, 100), (100, 100)))  # the largest, far from the click
    assert pick_outline([far, right], [(15, 15)], [], None).bounds == (20, 0, 40, 20)  # none holds it: nearest


def test_run_frame_round_trip():
    frame = RunFrame(raster="/a.tif", raster_b="/b.tif", bands=(4, 3, 2), stac_assets=("visual",), tile_size=512,
                     overlap=64, gsd=0.5,
                     aoi_bounds=(1.0, 2.0, 3.0, 4.0), task="change", instruction="new roads", refine="sam2")
    assert RunFrame.from_dict(frame.to_dict()) == frame
    assert RunFrame.from_dict({"raster": "/a.tif", "extra": 1}).tile_size == 768
    with pytest.raises(ConfigError, match="no raster"):
        RunFrame.from_dict({})


def test_segment_prompt_vectorises_only_the_window_asked_for():
    seg = KeptDiamonds()
    seg.load()
    image = np.zeros((100, 120, 3), np.uint8)
    whole = seg.segment_prompt(image, box_xyxy=(10, 10, 90, 90)).polygons
    part = seg.segment_prompt(image, box_xyxy=(10, 10, 90, 90), window_xyxy=(50, 0, 120, 100)).polygons
    assert len(whole) == len(part) == 1
    full = shapely.Polygon(whole[0].exterior)
    clipped = shapely.Polygon(part[0].exterior)
    assert clipped.bounds[0] == pytest.approx(50) and clipped.bounds[2] == pytest.approx(full.bounds[2], abs=1)
    assert clipped.symmetric_difference(full.intersection(shapely.box(50, 0, 120, 100))).area < 0.02 * full.area
    assert seg.segment_prompt(image, box_xyxy=(10, 10, 90, 90), window_xyxy=(200, 200, 300, 300)).polygons == []


def test_the_frame_clients_see_has_no_url_credentials():
    frame = RunFrame(raster="https://user:pw@example.com/scene.tif?sig=5ecret", raster_b="/data/after.tif")
    shown = frame.shown()
    assert "5ecret" not in str(shown.to_dict()) and "pw" not in shown.raster
    assert shown.raster.startswith("https://example.com/scene.tif") and shown.raster_b == "/data/after.tif"
    assert frame.raster.endswith("sig=5ecret")  # the server's own copy is whole
