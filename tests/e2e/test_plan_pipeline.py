"""Plans through the whole pipeline: a dark UTM scene with bright squares at known places (a fake model
finds every one of them), a GeoPackage of context layers given once (``pier``: a line, ``apron``: a
polygon), and instructions whose kept squares depend only on the plan."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import shapely
from affine import Affine
from shapely.geometry import LineString, box

from model_backend.errors import ConfigError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.context import read_context_layers
from model_backend.pipeline.runner import Pipeline
from tests.e2e.test_planted_objects import plant
from tests.helpers.pipeline_fakes import BrightObjectEngine

X0, Y0 = 500_000.0, 5_000_000.0
CRS = "EPSG:32633"
PIXEL = 5.0  # metres; the scene is 512 x 512 px = 2560 m, the pier runs along row 256 (y = Y0 + 1280)
SQUARES = {  # (col, row, w, h) px -> where each lies
    "north_50m": (100, 236, 10, 10),  # bottom edge 50 m north of the pier
    "south_120m": (200, 280, 10, 10),  # top edge 120 m south of it
    "north_far": (300, 40, 10, 10),  # about 1 km north
    "on_apron": (420, 420, 10, 10),  # inside the apron, south of the pier
}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    raster = folder / "scene.tif"
    plant(None, raster, list(SQUARES.values()), transform=Affine(PIXEL, 0, X0, 0, -PIXEL, Y0 + 2560), crs=CRS,
          shape=(512, 512))
    gpkg = folder / "harbour.gpkg"
    for name, geom, kind in (("pier", LineString([(X0, Y0 + 1280), (X0 + 2560, Y0 + 1280)]), "LineString"),
                             ("apron", box(X0 + 2000, Y0 + 200, X0 + 2400, Y0 + 600), "Polygon")):
        pyogrio.raw.write(str(gpkg), shapely.to_wkb([geom]), [np.array(["x"], dtype=object)], fields=["name"],
                          geometry_type=kind, crs=CRS, layer=name, driver="GPKG", append=gpkg.exists())
    return raster, gpkg


def run(scene, tmp_path, instruction):
    raster, gpkg = scene
    config = RunConfig(raster=str(raster), instruction=instruction, output=str(tmp_path / "out.gpkg"),
                       engine="scripted", tile_size=512, overlap=0, context_layers=[str(gpkg)])
    engine = BrightObjectEngine(label="square")
    pipeline = Pipeline(config, engine, context_layers=read_context_layers(config.context_layers))
    return pipeline, engine


def kept_squares(result, output):
    if not result.outputs.get("layers"):
        return set()
    _meta, _fids, wkb, _fields = pyogrio.raw.read(output, layer=result.outputs["layers"]["boxes"])
    found = shapely.from_wkb(wkb)
    names = set()
    for name, (col, row, w, h) in SQUARES.items():
        centre = shapely.Point(X0 + (col + w / 2) * PIXEL, Y0 + 2560 - (row + h / 2) * PIXEL)
        if any(g.contains(centre) for g in found):
            names.add(name)
    assert len(found) == len(names)  # nothing else was written
    return names


@pytest.mark.parametrize("instruction, want", [
    ("[detection] squares within 100 m of the pier", {"north_50m"}),
    ("[detection] squares north of the pier", {"north_50m", "north_far"}),
    ("[detection] squares on the apron", {"on_apron"}),
    ("[detection] squares south of the pier but not on the apron", {"south_120m"}),
    # distances to the pier: north_50m 50 m, south_120m 120 m, on_apron 820 m, north_far 1030 m
    ("[detection] squares more than 100 m but less than 900 m from the pier", {"south_120m", "on_apron"}),
    ("[detection] squares within 100 to 1000 m of the pier", {"south_120m", "on_apron"}),
    ("[detection] squares that are neither north of the pier nor on the apron", {"south_120m"}),
    ("which is the southernmost square?", {"on_apron"}),
    ("[detection] squares, except those on the apron", {"north_50m", "south_120m", "north_far"}),
    ("[detection] squares at a distance of more than 100 m from the pier", {"south_120m", "on_apron", "north_far"}),
    ("what is the square farthest from the pier?", {"north_far"}),
])
def test_the_pipeline_keeps_the_squares_the_plan_means(scene, tmp_path, instruction, want):
    pipeline, _engine = run(scene, tmp_path, instruction)
    result = pipeline.run()
    assert kept_squares(result, tmp_path / "out.gpkg") == want
    assert result.plan["sentences"][0]["kind"] == "model" and "GIS " in result.plan["text"]


# where the squares' centres lie in the 512 x 512 px image (middle lines at px 256; middle third 170.7..341.3):
# north_50m (105, 241) north-west, south_120m (205, 285) south-west and in the middle third, north_far (305, 45)
# north-east, on_apron (425, 425) south-east
@pytest.mark.parametrize("instruction, want", [
    ("[detection] squares in the northern half of the image", {"north_50m", "north_far"}),
    ("[detection] squares in the top-left corner of the image", {"north_50m"}),
    ("[detection] squares in the south-east quarter of the scene", {"on_apron"}),
    ("[detection] squares on the left side of the image", {"north_50m", "south_120m"}),
    ("[detection] squares in the centre of the image", {"south_120m"}),
    ("[detection] squares not in the western half of the image", {"north_far", "on_apron"}),
    ("[detection] squares in the lower half of the image but not on the apron", {"south_120m"}),
    ("how many squares are in the eastern half of the image?", {"north_far", "on_apron"}),
])
def test_parts_of_the_image_keep_the_squares_whose_centres_lie_there(scene, tmp_path, instruction, want):
    pipeline, _engine = run(scene, tmp_path, instruction)
    result = pipeline.run()
    assert kept_squares(result, tmp_path / "out.gpkg") == want
    assert "of the image" in result.plan["text"] and "did not understand" not in result.plan["text"]


# seen from each centre (metres from the scene's south-west corner) the pier is straight north or south and the
# apron's nearest point (its north-west corner, 2000, 600) south-east: north_50m (525, 1355) and north_far
# (1525, 2335) have both to the south, south_120m (1025, 1135) has the pier north and the apron south-east
# (145 * -535 < 0: opposite), on_apron is inside the apron
@pytest.mark.parametrize("instruction, want", [
    ("[detection] squares between the pier and the apron", {"south_120m"}),
    ("[detection] squares lying in between the apron and the pier", {"south_120m"}),
    ("[detection] squares that are not between the pier and the apron", {"north_50m", "north_far", "on_apron"}),
    ("how many squares are between the pier and the apron?", {"south_120m"}),
])
def test_between_two_layers_keeps_the_squares_that_see_them_on_opposite_sides(scene, tmp_path, instruction, want):
    pipeline, _engine = run(scene, tmp_path, instruction)
    result = pipeline.run()
    assert kept_squares(result, tmp_path / "out.gpkg") == want
    assert "lie between the layer" in result.plan["text"] and "did not understand" not in result.plan["text"]


def test_on_a_rotated_raster_north_is_north_on_the_map_not_the_top_rows(tmp_path):
    """A raster turned a quarter clockwise: its rows run west to east and its columns north to south
    (x = X0 + 5 row, y = Y0 + 1280 - 5 col), so its top rows are the map's west and its left columns the north."""
    squares = {"top_left_px": (20, 20, 8, 8), "top_right_px": (200, 20, 8, 8), "bottom_left_px": (20, 200, 8, 8),
               "bottom_right_px": (200, 200, 8, 8)}
    raster = tmp_path / "turned.tif"
    plant(None, raster, list(squares.values()), transform=Affine(0, PIXEL, X0, -PIXEL, 0, Y0 + 1280), crs=CRS,
          shape=(256, 256))
    config = RunConfig(raster=str(raster), instruction="[detection] squares in the northern half of the image",
                       output=str(tmp_path / "out.gpkg"), engine="scripted", tile_size=256, overlap=0)
    result = Pipeline(config, BrightObjectEngine(label="square")).run()
    _meta, _fids, wkb, _fields = pyogrio.raw.read(tmp_path / "out.gpkg", layer=result.outputs["layers"]["boxes"])
    centres = [shapely.centroid(g) for g in shapely.from_wkb(wkb)]
    # the squares in the left columns (20..28) lie at y = Y0 + 1160, north of the middle line y = Y0 + 640; the
    # top rows' squares would be the pixel reading (x = X0 + 120)
    assert sorted((round(c.x - X0), round(c.y - Y0)) for c in centres) == [(120, 1160), (1020, 1160)]


def test_counting_counts_the_squares_that_satisfy_the_conditions(scene, tmp_path):
    pipeline, _engine = run(scene, tmp_path, "how many squares are north of the pier?")
    result = pipeline.run()
    assert result.task == "vqa" and result.answers[0].text == "2"
    assert kept_squares(result, tmp_path / "out.gpkg") == {"north_50m", "north_far"}


@pytest.mark.parametrize("instruction, message", [
    ("[detection] squares within 100 m of the quay layer", r"layer 'quay'.*available: apron, pier"),
])
def test_a_layer_the_run_does_not_have_is_refused_before_any_tile_is_sent(scene, tmp_path, instruction, message):
    pipeline, engine = run(scene, tmp_path, instruction)
    with pytest.raises(ConfigError, match=message):
        pipeline.run()
    assert engine.calls == 0 and not (tmp_path / "out.gpkg").exists()


@pytest.mark.parametrize("question, answer, want", [
    ("count how many squares are north of the pier", "2", {"north_50m", "north_far"}),
    ("are there any squares on the apron?", "yes (1)", {"on_apron"}),
    ("is there a square within 10 m of the pier?", "no (0)", set()),
])
def test_counting_and_yes_no_questions_answer_from_the_kept_squares(scene, tmp_path, question, answer, want):
    pipeline, _engine = run(scene, tmp_path, question)
    result = pipeline.run()
    assert result.task == "vqa" and [a.text for a in result.answers] == [answer]
    assert kept_squares(result, tmp_path / "out.gpkg") == want
