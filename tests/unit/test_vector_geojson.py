"""GeoJSON export: EPSG:4326 lon/lat (RFC 7946), same properties as the GeoPackage, atomic write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import rasterio
import shapely
from shapely.geometry import shape

from model_backend.errors import OutputError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, box_corners
from model_backend.vector import geojson
from model_backend.vector.features import BASE_FIELDS, Feature, RunInfo, with_measure_fields
from model_backend.vector.geojson import feature_collection, write_geojson

DATA = Path(__file__).resolve().parents[1] / "data"
RUN = RunInfo("run-7", task="seg", instruction="the lake", model="m", dialect="d", source="s.tif",
              created="2026-11-26T10:00:00Z", recipe={"sam2": "tiny"})


def test_utm_input_becomes_lon_lat(tmp_path):
    # On UTM zone 18N's central meridian (easting 500 000 m) the longitude is exactly -75 degrees;
    # northing 0 is the equator.
    box = RotatedBox(tuple(box_corners((500_000, 0, 501_000, 1_000))), label="field", score=0.5)
    path = tmp_path / "out.geojson"
    write_geojson(path, [Feature(box, tile="t1", extra={"caption": "green"})], crs="EPSG:32618", run=RUN)
    doc = json.loads(path.read_text())
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    [feat] = doc["features"]
    ring = feat["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lons) == pytest.approx(-75.0, abs=1e-9)
    assert max(lons) == pytest.approx(-75.0 + 1000 / 111_320, abs=1e-4)  # ~1 km east at the equator
    assert min(lats) == pytest.approx(0.0, abs=1e-9)
    assert max(lats) == pytest.approx(1000 / 110_574, abs=1e-4)
    assert shapely.Polygon(ring).exterior.is_ccw  # right-hand rule
    props = feat["properties"]
    assert list(props) == [*with_measure_fields(list(BASE_FIELDS)), "caption"]
    # measured in the UTM grid before reprojecting: a 1 km square
    assert props["area_m2"] == pytest.approx(1e6) and props["length_m"] == pytest.approx(1000)
    assert props["label"] == "field" and props["score"] == 0.5 and props["tile"] == "t1"
    assert props["task"] == "seg" and props["run_id"] == "run-7" and props["caption"] == "green"
    assert doc["georsmllm"] == {"run_id": "run-7", "recipe": {"sam2": "tiny"}}


def test_real_raster_wkt_crs_and_points(tmp_path):
    with rasterio.open(DATA / "RGB.byte.tif") as src:
        wkt, bounds = src.crs.to_wkt(), src.bounds
    centre = ((bounds.left + bounds.right) / 2, (bounds.bottom + bounds.top) / 2)
    poly = PolygonRegion(
        box_corners((bounds.left, bounds.bottom, bounds.right, bounds.top)),
        holes=(box_corners((centre[0] - 1000, centre[1] - 1000, centre[0] + 1000, centre[1] + 1000)),),
        label="scene",
    )
    point = GeoPoint(18.0, -77.0, label="guess")
    doc = feature_collection([poly, point], crs=wkt, run=RUN, name="scene", partial=True)
    assert doc["name"] == "scene"
    geom = shape(doc["features"][0]["geometry"])
    # the RGB.byte.tif scene covers Andros and New Providence, Bahamas (about 79-76.5 W, 23.5-25.6 N)
    minx, miny, maxx, maxy = geom.bounds
    assert -79.5 < minx < maxx < -76.0 and 23.0 < miny < maxy < 26.0
    assert len(geom.interiors) == 1 and not geom.interiors[0].is_ccw
    assert tuple(doc["features"][1]["geometry"]["coordinates"]) == (-77.0, 18.0)
    assert {f["properties"]["partial"] for f in doc["features"]} == {"true"}


def test_geographic_crs_keeps_lon_lat_order():
    # EPSG:4326's official axis order is lat, lon; always_xy keeps x = lon.
    doc = feature_collection([shapely.Point(10.5, 45.25)], crs="EPSG:4326", run=RUN)
    assert list(doc["features"][0]["geometry"]["coordinates"]) == [10.5, 45.25]


def test_errors(tmp_path):
    box = RotatedBox(tuple(box_corners((0, 0, 1, 1))))
    with pytest.raises(OutputError, match="needs the raster's CRS"):
        write_geojson(tmp_path / "o.geojson", [box], crs=None, run=RUN)
    with pytest.raises(OutputError, match="unknown CRS"):
        write_geojson(tmp_path / "o.geojson", [box], crs="EPSG:0", run=RUN)
    with pytest.raises(OutputError, match="is a folder"):
        write_geojson(tmp_path, [box], crs="EPSG:3857", run=RUN)
    # GeoPoints alone need no CRS
    write_geojson(tmp_path / "p.geojson", [GeoPoint(1.0, 2.0)], crs=None, run=RUN)
    doc = json.loads((tmp_path / "p.geojson").read_text())
    assert doc["features"][0]["geometry"]["coordinates"] == [2.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ["p.geojson"]


def test_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "o.geojson"
    write_geojson(path, [GeoPoint(1.0, 2.0)], crs=None, run=RUN)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("serialiser crashed")

    monkeypatch.setattr(geojson, "atomic_replace", _wrap_atomic(geojson.atomic_replace, boom))
    with pytest.raises(RuntimeError):
        write_geojson(path, [GeoPoint(3.0, 4.0)], crs=None, run=RUN)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["o.geojson"]


def _wrap_atomic(real, fail):
    """An atomic_replace whose body writes part of the file, then fails inside the context."""
    import contextlib

    @contextlib.contextmanager
    def wrapped(path, **kw):
        with real(path, **kw) as tmp:
            yield tmp
            assert os.path.getsize(tmp) > 0  # the new file was written to the temporary folder
            fail()

    return wrapped
