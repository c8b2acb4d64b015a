"""Measures every polygon feature carries (area_m2, length_m): planar in projected CRSs (unit-aware),
geodesic in geographic ones, none for points or without a CRS; written by the GeoPackage and GeoJSON
writers alike."""

from __future__ import annotations

import json

import pyproj
import pytest
import shapely
from pyogrio.raw import read as raw_read
from shapely import affinity

from model_backend.geometry import GeoPoint, PolygonRegion, box_corners
from model_backend.vector.features import Feature, RunInfo
from model_backend.vector.geojson import write_geojson
from model_backend.vector.gpkg import write_run
from model_backend.vector.measures import polygon_measures

GEOD = pyproj.Geod(ellps="WGS84")
RUN = RunInfo("r1", task="detection", created="2026-11-26T10:00:00Z")


def geodesic_rectangle(lon: float, lat: float, length_m: float, width_m: float, azimuth: float) -> shapely.Polygon:
    """A rectangle on the ellipsoid: ``length_m`` along ``azimuth`` (degrees from north), ``width_m`` across."""
    lons, lats = [lon], [lat]
    for distance, turn in ((length_m, 0), (width_m, 90), (length_m, 180)):
        x, y, _ = GEOD.fwd(lons[-1], lats[-1], azimuth + turn, distance)
        lons.append(x)
        lats.append(y)
    return shapely.Polygon(zip(lons, lats))


def test_projected_rotated_rectangle():
    rect = affinity.rotate(shapely.box(500_000, 4_000_000, 500_120, 4_000_045), 33, origin="centroid")
    [(area, length)] = polygon_measures([rect], "EPSG:32618")
    assert area == pytest.approx(120 * 45, abs=0.01) and length == pytest.approx(120, abs=0.01)


def test_projected_crs_in_us_survey_feet_is_converted_to_metres():
    ft = 1200 / 3937  # one US survey foot in metres
    rect = shapely.box(1_000_000, 200_000, 1_000_100, 200_050)  # 100 x 50 ftUS, New York Long Island
    [(area, length)] = polygon_measures([rect], "EPSG:2263")
    assert area == pytest.approx(5000 * ft**2, abs=0.01) and length == pytest.approx(100 * ft, abs=0.01)


def test_geographic_measures_are_geodesic_even_far_from_the_layer_centre():
    # Two rectangles 700 km apart at 60 N: a single local projection for the layer would misjudge the far
    # one by ~0.15 %; corners measured on the ellipsoid do not.
    near = geodesic_rectangle(10.0, 60.0, 200.0, 80.0, 35.0)
    far = geodesic_rectangle(22.5, 60.0, 200.0, 80.0, 35.0)
    (area_near, length_near), (area_far, length_far) = polygon_measures([near, far], "EPSG:4326")
    for area, length in ((area_near, length_near), (area_far, length_far)):
        assert length == pytest.approx(200.0, rel=2e-4)
        assert area == pytest.approx(200.0 * 80.0, rel=2e-3)  # the quadrilateral closes to within ~0.1 %


def test_points_and_missing_crs_get_no_measures():
    square = shapely.box(0, 0, 10, 10)
    assert polygon_measures([shapely.Point(1, 1), square], "EPSG:32618") == [None, (100.0, 10.0)]
    assert polygon_measures([square], None) == [None]


def test_both_writers_carry_the_same_measures_and_labels(tmp_path):
    lake = PolygonRegion(box_corners((500_000, 4_000_000, 500_300, 4_000_100)), label="lake")
    features = [Feature(lake, tile="0"), Feature(GeoPoint(36.1, -75.0, label="here"))]
    gpkg = tmp_path / "out.gpkg"
    layers = write_run(gpkg, "run", features, crs="EPSG:32618", run=RUN)
    meta, _fids, _wkb, columns = raw_read(str(gpkg), layer=layers["polygons"])
    row = dict(zip(meta["fields"], [c[0] for c in columns]))
    assert row["label"] == "lake" and row["area_m2"] == pytest.approx(30_000) and row["length_m"] == 300
    assert isinstance(row["area_m2"], float)
    assert "area_m2" not in list(raw_read(str(gpkg), layer=layers["points"])[0]["fields"])
    geojson = tmp_path / "out.geojson"
    write_geojson(geojson, features, crs="EPSG:32618", run=RUN)
    poly, point = json.loads(geojson.read_text())["features"]
    assert poly["properties"]["area_m2"] == pytest.approx(30_000) and poly["properties"]["length_m"] == 300
    assert point["properties"]["area_m2"] is None
