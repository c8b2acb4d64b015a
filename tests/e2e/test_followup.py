"""Follow-ups through the whole pipeline: a first run finds bright squares of known sizes and places on a dark
UTM scene (a fake model that looks at the pixels), then instructions about "these" objects filter that layer.
GIS conditions must not call the model at all; visual conditions must call it only for the tiles that hold the
objects, with those objects written into the prompt as regions; the new layer lands in the same GeoPackage with
the chain of steps in its recipe."""

from __future__ import annotations

import json
import re

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import box

from model_backend.dialects import get_dialect
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.errors import ConfigError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.context import read_context_layers
from model_backend.pipeline.inputs import raster_crs
from model_backend.pipeline.previous import read_previous_layer
from model_backend.pipeline.runner import Pipeline
from model_backend.tasks import Task
from model_backend.vector.gpkg import read_layer_metadata
from tests.e2e.test_planted_objects import plant
from tests.helpers.pipeline_fakes import BrightObjectEngine

X0, Y0 = 500_000.0, 5_000_000.0
CRS = "EPSG:32633"
PIXEL = 5.0  # metres: 512 x 512 px = 2560 m; tiles of 256 px make four quadrants
SQUARES = {  # name -> (col, row, w, h) px; area = (w * 5 m) * (h * 5 m)
    "small_nw": (20, 20, 4, 4),  # 400 m², north-west tile
    "mid_nw": (60, 30, 10, 10),  # 2500 m², north-west tile
    "big_ne": (300, 40, 20, 20),  # 10000 m², north-east tile
    "mid_sw": (100, 300, 10, 10),  # 2500 m², south-west tile
    "small_se": (400, 400, 4, 4),  # 400 m², south-east tile
}
DAMAGED = {"mid_nw", "mid_sw"}  # painted with a slightly yellow tint that only the "damage" model looks at
PARKS = box(X0, Y0 + 1280, X0 + 2560, Y0 + 2560)  # the northern half


def centre(name: str) -> shapely.Point:
    col, row, w, h = SQUARES[name]
    return shapely.Point(X0 + (col + w / 2) * PIXEL, Y0 + 2560 - (row + h / 2) * PIXEL)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("followup")
    raster = folder / "scene.tif"
    plant(None, raster, list(SQUARES.values()), transform=Affine(PIXEL, 0, X0, 0, -PIXEL, Y0 + 2560), crs=CRS,
          shape=(512, 512))
    with rasterio.open(raster, "r+") as dst:
        blue = dst.read(3)
        for name in DAMAGED:
            col, row, w, h = SQUARES[name]
            blue[row:row + h, col:col + w] = 251  # still "bright" (>= 250) for the finder
        dst.write(blue, 3)
    parks = folder / "parks.gpkg"
    pyogrio.raw.write(str(parks), shapely.to_wkb([PARKS]), [np.array(["city park"], dtype=object)], fields=["name"],
                      geometry_type="Polygon", crs=CRS, layer="parks", driver="GPKG")
    return raster, parks


@pytest.fixture
def first_run(scene, tmp_path):
    """The run a follow-up follows: every square found, written as ``squares_boxes`` in ``out.gpkg``."""
    raster, _parks = scene
    out = tmp_path / "out.gpkg"
    config = RunConfig(raster=str(raster), instruction="[detection] the white squares", output=str(out),
                       engine="scripted", tile_size=256, overlap=0, run_name="squares")
    result = Pipeline(config, BrightObjectEngine(label="square")).run()
    assert result.counts == {"square": len(SQUARES)}
    return out


class NoModel(Engine):
    """An engine that fails the test if a follow-up asks it anything."""

    name = "no-model"

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        raise AssertionError(f"a GIS follow-up called the model: {request.prompt!r}")

    def describe(self):
        return {"engine": self.name, "model": "none", "device": "cpu", "dialect": "georsmllm"}


class DamageEngine(Engine):
    """A "model" for "which ones are damaged": reads the regions written into the prompt (GeoRSMLLM dialect)
    and answers those whose pixels have the damage tint. Records every request."""

    name = "damage"

    def __init__(self):
        self.dialect = get_dialect("georsmllm")
        self.requests: list[EngineRequest] = []

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.requests.append(request)
        image = request.images[0]
        size = (image.shape[1], image.shape[0])
        regions = self.regions(request.prompt, size)
        damaged = []
        for region in regions:
            x0, y0, x1, y1 = shapely.Polygon(region.ring).bounds
            patch = image[int(y0) + 1:int(np.ceil(y1)) - 1, int(x0) + 1:int(np.ceil(x1)) - 1]
            if patch.size and (patch[..., 2] == 251).mean() > 0.5:
                damaged.append(region)
        return EngineResponse(self.dialect.format_objects(damaged, Task.DETECTION, size))

    def regions(self, prompt: str, size) -> list:
        return self.dialect.parse(";".join(re.findall(r"\{[^}]*\}", prompt)), Task.DETECTION, size).objects

    def describe(self):
        return {"engine": self.name, "model": "damage finder", "device": "cpu", "dialect": "georsmllm"}


def follow(scene, out, instruction, engine=None, **settings):
    raster, parks = scene
    config = RunConfig(raster=str(raster), instruction=instruction, output=str(out), engine="scripted",
                       tile_size=256, overlap=0, context_layers=[str(parks)], **settings)
    previous = read_previous_layer(f"{out}|squares_boxes", raster_crs(str(raster)))
    pipeline = Pipeline(config, engine or NoModel(), previous=previous,
                        context_layers=read_context_layers(config.context_layers))
    return pipeline.run(), pipeline


def kept(out, result) -> set[str]:
    layer = result.outputs["layers"]["boxes"]
    _meta, _fids, wkb, _fields = pyogrio.raw.read(str(out), layer=layer)
    found = shapely.from_wkb(wkb)
    names = {name for name in SQUARES if any(g.contains(centre(name)) for g in found)}
    assert len(found) == len(names)  # nothing else was written
    return names


@pytest.mark.parametrize("instruction, want", [
    ("now only those larger than 1000 m²", {"mid_nw", "big_ne", "mid_sw"}),
    ("which of these are inside the parks?", {"small_nw", "mid_nw", "big_ne"}),
    ("remove the ones inside the parks layer", {"mid_sw", "small_se"}),
    ("of these, the 2 largest", {"big_ne", "mid_nw", "mid_sw"}),  # the two 2500 m² ones tie: both kept
    ("keep those smaller than 1000 m² or larger than 5000 m²", {"small_nw", "big_ne", "small_se"}),
    ("drop any that are within 250 m of the parks", {"small_se"}),  # mid_sw lies 220 m away
    # parts of the raster the follow-up is run with (512 x 512 px; middle lines at px 256)
    ("now only those in the northern half of the image", {"small_nw", "mid_nw", "big_ne"}),
    ("remove the ones in the south-east corner of the image", {"small_nw", "mid_nw", "big_ne", "mid_sw"}),
])
def test_gis_follow_ups_keep_exactly_the_right_objects_without_the_model(scene, first_run, instruction, want):
    result, pipeline = follow(scene, first_run, instruction)  # NoModel fails on any call
    assert pipeline.followup is not None and result.task_source == "followup"
    assert kept(first_run, result) == want
    assert result.followup["model_calls"] == 0 and result.tiles_total == 0
    assert result.counts == {"square": len(want)}


def test_a_follow_up_goes_beside_the_previous_layer_with_the_chain_in_its_recipe(scene, first_run):
    result, _ = follow(scene, first_run, "now only those larger than 1000 m²")
    assert result.outputs["layers"] == {"boxes": "squares_then_1_boxes"}
    layers = [row[0] for row in pyogrio.list_layers(str(first_run))]
    assert layers == ["squares_boxes", "squares_then_1_boxes"]  # the previous layer is untouched
    recipe = json.loads(read_layer_metadata(first_run, "squares_then_1_boxes")["GEORSMLLM_RECIPE"])
    chain = recipe["chain"]
    assert [step["instruction"] for step in chain] == ["[detection] the white squares",
                                                      "now only those larger than 1000 m²"]
    assert [step["mode"] for step in chain] == ["find", "keep"] and [s["objects"] for s in chain] == [5, 3]
    assert recipe["followup"]["of"]["layer"] == "squares_boxes" and recipe["followup"]["kept"] == 3
    # the objects keep what the first run said of them; the new run's own fields are its own
    _meta, _fids, _wkb, fields = pyogrio.raw.read(str(first_run), layer="squares_then_1_boxes")
    names = list(_meta["fields"])
    values = dict(zip(names, fields))
    assert set(values["label"]) == {"square"} and set(values["tile"]) <= {"0", "1", "2", "3"}
    assert set(values["instruction"]) == {"now only those larger than 1000 m²"}
    assert set(values["run_id"]) == {result.run_id} and all(a > 1000 for a in values["area_m2"])

    # a follow-up of the follow-up: the chain grows, the name takes the next number of the same chain
    raster, parks = scene
    config = RunConfig(raster=str(raster), instruction="remove the ones inside the parks layer",
                       output=str(first_run), engine="scripted", context_layers=[str(parks)])
    previous = read_previous_layer(f"{first_run}|squares_then_1_boxes", raster_crs(str(raster)))
    second = Pipeline(config, NoModel(), previous=previous,
                      context_layers=read_context_layers(config.context_layers)).run()
    assert second.outputs["layers"] == {"boxes": "squares_then_2_boxes"}
    assert kept(first_run, second) == {"mid_sw"}
    chain = json.loads(read_layer_metadata(first_run, "squares_then_2_boxes")["GEORSMLLM_RECIPE"])["chain"]
    assert [step["mode"] for step in chain] == ["find", "keep", "remove"]


def test_counting_follow_up_answers_the_number(scene, first_run):
    result, _ = follow(scene, first_run, "How many of these are inside the parks?")
    assert [(a.kind, a.text) for a in result.answers] == [("count", "3")]
    assert "no new search" in result.answers[0].how
    assert kept(first_run, result) == {"small_nw", "mid_nw", "big_ne"}


@pytest.mark.parametrize("question, answer", [("Are any of these inside the parks?", "yes (3)"),
                                              ("are any of them larger than 1 ha?", "no (0)")])
def test_a_yes_or_no_follow_up_answers_from_the_count(scene, first_run, question, answer):
    result, _ = follow(scene, first_run, question)
    assert [(a.kind, a.text) for a in result.answers] == [("count", answer)]


def test_a_visual_follow_up_asks_only_the_tiles_that_hold_the_objects(scene, first_run):
    engine = DamageEngine()
    result, pipeline = follow(scene, first_run, "of these, only the damaged ones larger than 1000 m²", engine)
    assert kept(first_run, result) == {"mid_nw", "mid_sw"}
    # GIS first: the three squares over 1000 m² lie in three tiles (north-west, north-east, south-west); the
    # south-east tile holds only a small one and is never sent
    assert len(engine.requests) == 3 == result.tiles_total == result.tiles_done
    assert result.followup["model_calls"] == 3 and result.followup["judged_by_model"] == 3
    sent = sorted(len(engine.regions(r.prompt, (256, 256))) for r in engine.requests)
    assert sent == [1, 1, 1]  # each tile is shown its one object, as a region in the dialect's format
    assert all(r.prompt.startswith("[detection]") and "damaged" in r.prompt for r in engine.requests)
    assert [s["kind"] for s in result.plan["sentences"]][:3] == ["gis", "model", "gis"]


def test_a_visual_follow_up_sends_each_object_once(scene, first_run):
    engine = DamageEngine()
    result, _ = follow(scene, first_run, "remove the damaged ones", engine)
    assert kept(first_run, result) == {"small_nw", "big_ne", "small_se"}
    assert len(engine.requests) == 4  # every tile holds an object: one request each
    assert sum(len(engine.regions(r.prompt, (256, 256))) for r in engine.requests) == len(SQUARES)


def test_a_follow_up_without_a_previous_result_is_refused(scene, tmp_path):
    raster, _parks = scene
    config = RunConfig(raster=str(raster), instruction="now only those larger than 500 m²",
                       output=str(tmp_path / "x.gpkg"), engine="scripted")
    with pytest.raises(ConfigError, match="follows up on an earlier result, and there is none"):
        Pipeline(config, NoModel())
    forced = RunConfig(raster=str(raster), instruction="larger than 500 m²", output=str(tmp_path / "x.gpkg"),
                       engine="scripted", follow_up="yes")
    with pytest.raises(ConfigError, match="there is none to follow up on"):
        Pipeline(forced, NoModel())


def test_follow_up_settings_force_it_either_way(scene, first_run):
    # "no": the same words start a new search (here: the model is asked, and NoModel fails it)
    raster, _parks = scene
    previous = read_previous_layer(f"{first_run}|squares_boxes", raster_crs(str(raster)))
    config = RunConfig(raster=str(raster), instruction="those larger than 1000 m²", output=str(first_run),
                       engine="scripted", follow_up="no")
    assert Pipeline(config, NoModel(), previous=previous).followup is None
    # "yes": bare conditions are read as conditions on the previous objects
    result, _ = follow(scene, first_run, "larger than 5000 m²", follow_up="yes")
    assert kept(first_run, result) == {"big_ne"}
    # "auto" with a new instruction: not a follow-up
    config = RunConfig(raster=str(raster), instruction="detect the ships", output=str(first_run), engine="scripted")
    assert Pipeline(config, NoModel(), previous=previous).followup is None


def test_a_follow_up_naming_no_condition_is_refused_before_the_model(scene, first_run):
    with pytest.raises(ConfigError, match="names no condition"):
        follow(scene, first_run, "keep those")


def test_a_follow_up_is_not_resumed_but_run_again(scene, first_run):
    """A follow-up keeps no run journal (GIS conditions make no model call): resuming one is refused in words,
    and the refusal leaves the previous result as it was."""
    raster, parks = scene
    config = RunConfig(raster=str(raster), instruction="now only those larger than 1000 m²", output=str(first_run),
                       engine="scripted", tile_size=256, overlap=0)
    previous = read_previous_layer(f"{first_run}|squares_boxes", raster_crs(str(raster)))
    before = pyogrio.list_layers(str(first_run)).tolist()
    with pytest.raises(ConfigError, match="follow-up .* run it again"):
        Pipeline(config, NoModel(), previous=previous).run(resume=True)
    assert pyogrio.list_layers(str(first_run)).tolist() == before
