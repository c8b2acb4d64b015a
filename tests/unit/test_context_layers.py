"""Context layers by their own names: every layer of a GeoPackage given once, the file stem of a one-layer
file, ``NAME=PATH|LAYER`` specs, and plans whose references find them."""

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, box

from model_backend.conditions import check_plan, parse_plan
from model_backend.errors import ConfigError
from model_backend.pipeline.context import read_context_layers, split_context_spec

UTM = "EPSG:32633"


def write(path, layer, geoms):
    kind = "LineString" if geoms[0].geom_type == "LineString" else "Polygon"
    pyogrio.raw.write(str(path), shapely.to_wkb(geoms), [np.array([str(i) for i in range(len(geoms))], dtype=object)],
                      fields=["name"], geometry_type=kind, crs=UTM, layer=layer, driver="GPKG", append=path.exists())


@pytest.fixture
def airport(tmp_path):
    path = tmp_path / "airport.gpkg"
    write(path, "runway", [box(0, 0, 3000, 45)])
    write(path, "apron", [box(100, 100, 400, 300), box(500, 100, 700, 300)])
    write(path, "river", [LineString([(0, -500), (3000, -400)])])
    return path


def test_a_geopackage_given_once_exposes_each_layer_by_its_own_name(airport):
    layers = read_context_layers([str(airport)])
    assert sorted(layers) == ["apron", "river", "runway"]
    geoms, crs = layers["apron"]
    assert len(geoms) == 2 and "32633" in crs
    plan = check_plan(parse_plan("planes within 150 m of the runways", layer_names=list(layers)), layers)
    assert plan.references[0].layer == "runway"


def test_a_one_layer_file_is_also_known_by_its_stem(tmp_path):
    path = tmp_path / "osm_export.gpkg"
    write(path, "roads", [LineString([(0, 0), (10, 0)])])
    layers = read_context_layers([str(path)])
    assert set(layers) == {"roads", "osm_export"} and layers["roads"] is layers["osm_export"]


def test_named_specs_and_single_layers(airport):
    assert split_context_spec(f"taxi={airport}|runway") == ("taxi", f"{airport}|runway")
    assert split_context_spec(str(airport)) == (None, str(airport))
    layers = read_context_layers([f"taxi={airport}|runway", f"{airport}|river"])
    assert sorted(layers) == ["river", "taxi"]


@pytest.mark.parametrize("spec, message", [
    ("{p}|hangar", "has no layer 'hangar'; its layers: runway, apron, river"),
    ("strip={p}", "holds several layers"),
    ("{p}.missing", "does not exist"),
])
def test_bad_specs_say_what_is_wrong(airport, spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        read_context_layers([spec.format(p=airport)])


def test_two_layers_of_the_same_name_are_refused(airport):
    with pytest.raises(ConfigError, match="two context layers are named 'runway'"):
        read_context_layers([str(airport), f"runway={airport}|apron"])
