"""Pixel <-> map through the full affine transform, object transforms, CRS helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from shapely.geometry import box

from model_backend.errors import RasterError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget
from model_backend.raster import (
    Georef,
    RasterGrid,
    TileLayout,
    crs_to_string,
    crs_to_wkt,
    is_axis_aligned,
    map_to_pixel,
    open_raster,
    pixel_size,
    pixel_to_map,
    plan_tiles,
    transform_object,
)

coord = st.floats(-1e4, 1e4, allow_nan=False)


def _dist(p, q):
    return math.hypot(p[0] - q[0], p[1] - q[1])


# -- north-up ---------------------------------------------------------------------------------------
def test_north_up_pixel_to_map(data_dir):
    with rasterio.open(data_dir / "RGB.byte.tif") as ds:
        t = ds.transform
        left, top = ds.bounds.left, ds.bounds.top
        right, bottom = ds.bounds.right, ds.bounds.bottom
        centre_of_10_20 = ds.xy(20, 10)  # rasterio: (row, col) -> centre of that pixel
    with open_raster(data_dir / "RGB.byte.tif") as src:
        g = src.georef
        assert g.to_map((0, 0)) == pytest.approx((left, top))
        assert g.to_map((src.width, src.height)) == pytest.approx((right, bottom))
        assert g.to_map((10.5, 20.5)) == pytest.approx(centre_of_10_20)
        assert g.crs_string == "EPSG:32618"
        assert g.pixel_size == pytest.approx((t.a, -t.e))
        assert g.to_pixel(g.to_map((123.25, 456.75))) == pytest.approx((123.25, 456.75))


# -- rotated / sheared -------------------------------------------------------------------------------
def _check_rotated_geometry(georef: Georef):
    """rotated.tif: 20 x 10 map-unit pixels, rows and columns rotated by 30 degrees, origin (100, 200)."""
    o = georef.to_map((0, 0))
    assert o == pytest.approx((100.0, 200.0))
    one_col = georef.to_map((1, 0))
    one_row = georef.to_map((0, 1))
    assert _dist(o, one_col) == pytest.approx(20.0)
    assert _dist(o, one_row) == pytest.approx(10.0)
    # the column axis points 30 degrees above east; the row axis 30 degrees east of south
    assert math.degrees(math.atan2(one_col[1] - o[1], one_col[0] - o[0])) == pytest.approx(30.0)
    assert math.degrees(math.atan2(one_row[1] - o[1], one_row[0] - o[0])) == pytest.approx(-60.0)
    # affine: any pixel is origin + col * column vector + row * row vector
    col, row = 7.25, 3.5
    expected = (
        o[0] + col * (one_col[0] - o[0]) + row * (one_row[0] - o[0]),
        o[1] + col * (one_col[1] - o[1]) + row * (one_row[1] - o[1]),
    )
    assert georef.to_map((col, row)) == pytest.approx(expected)
    assert georef.to_pixel(expected) == pytest.approx((col, row))
    assert georef.pixel_size == pytest.approx((20.0, 10.0))


def test_rotated_raster_in_pixel_coordinates(data_dir):
    with open_raster(data_dir / "rotated.tif", allow_pixel_coords=True) as src:
        assert not src.georeferenced
        _check_rotated_geometry(src.georef)


def test_rotated_raster_with_crs(tmp_path, data_dir):
    with rasterio.open(data_dir / "rotated.tif") as ds:
        profile = ds.profile
        data = ds.read()
    profile.update(crs="EPSG:32633")
    path = tmp_path / "rotated_crs.tif"
    with rasterio.open(path, "w", **profile) as out:
        out.write(data)
    with open_raster(path) as src:
        assert src.georeferenced and src.crs_string == "EPSG:32633"
        _check_rotated_geometry(src.georef)
        # a tile's image pixels go through the same full transform
        tile = next(iter(plan_tiles(src, TileLayout(tile_size=4, overlap=1))))
        assert tile.to_map((2, 3)) == pytest.approx(src.georef.to_map(tile.to_raster_px((2, 3))))


def test_segtarget_becomes_polygon_under_rotation(data_dir):
    with open_raster(data_dir / "rotated.tif", allow_pixel_coords=True) as src:
        g = src.georef
        seg = SegTarget((1, 2, 4, 6), keypoints=[(2, 3)], label="field", score=0.8, span=(3, 9))
        out = g.objects_to_map([seg])[0]
    assert isinstance(out, PolygonRegion)
    assert out.label == "field" and out.score == 0.8 and out.span == (3, 9)
    corners = [(1, 2), (4, 2), (4, 6), (1, 6)]
    np.testing.assert_allclose(out.exterior, [g.to_map(c) for c in corners])
    # the quadrilateral is the rotated box: same area as 3 x 4 pixels of 20 x 10 units
    assert _area(out.exterior) == pytest.approx(3 * 20 * 4 * 10)


def _area(ring):
    xs = np.array([p[0] for p in ring])
    ys = np.array([p[1] for p in ring])
    return abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) / 2


def test_segtarget_stays_box_on_north_up(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        g = src.georef
        out = g.objects_to_map([SegTarget((10, 20, 30, 50), keypoints=[(15, 25)])])[0]
    assert isinstance(out, SegTarget)
    x1, y1 = g.to_map((10, 50))  # bottom-left in map: y grows north
    x2, y2 = g.to_map((30, 20))
    assert out.bbox == pytest.approx((x1, y1, x2, y2))
    assert out.keypoints[0] == pytest.approx(g.to_map((15, 25)))


def test_other_objects_and_geopoint():
    t = Affine(2.0, 1.0, 10.0, 0.5, -3.0, 20.0)
    rb = RotatedBox([(0, 0), (4, 0), (4, 2), (0, 2)], label="ship")
    poly = PolygonRegion([(0, 0), (5, 0), (5, 5)], holes=[[(1, 1), (2, 1), (2, 2)]])
    gp = GeoPoint(lat=48.0, lon=2.0)
    out_rb, out_poly, out_gp = (transform_object(o, t) for o in (rb, poly, gp))
    assert out_rb.corners[1] == pytest.approx(pixel_to_map(t, (4, 0)))
    assert out_rb.label == "ship"
    assert out_poly.holes[0][2] == pytest.approx(pixel_to_map(t, (2, 2)))
    assert out_gp is gp


# -- geographic ----------------------------------------------------------------------------------------
def test_geographic_raster(data_dir):
    with open_raster(data_dir / "world.rgb.tif") as src:
        g = src.georef
        assert src.crs.is_geographic and g.crs_string == "EPSG:4326"
        assert g.to_map((0, 0)) == pytest.approx((-180.0, 90.0))
        assert g.to_map((src.width, src.height)) == pytest.approx((180.0, -90.0))
        assert g.to_map((src.width / 2, src.height / 2)) == pytest.approx((0.0, 0.0))
        # x is longitude, y latitude (GIS order), whatever the CRS's declared axis order
        lon, lat = g.to_map((src.width * 0.75, src.height * 0.25))
        assert (lon, lat) == pytest.approx((90.0, 45.0))


# -- properties of the maths --------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(
    a=st.floats(0.1, 100),
    e=st.floats(0.1, 100),
    angle=st.floats(-180, 180),
    shear=st.floats(-0.5, 0.5),
    c=coord,
    f=coord,
    x=coord,
    y=coord,
)
def test_pixel_map_round_trip(a, e, angle, shear, c, f, x, y):
    t = Affine.translation(c, f) @ Affine.rotation(angle) @ Affine.shear(shear * 45, 0) @ Affine.scale(a, -e)
    back = map_to_pixel(t, pixel_to_map(t, (x, y)))
    assert back == pytest.approx((x, y), abs=1e-6 * max(1.0, abs(x), abs(y)))


def test_degenerate_transform_refused():
    with pytest.raises(RasterError, match="cannot be inverted"):
        map_to_pixel(Affine(0, 0, 1, 0, 0, 1), (1.0, 1.0))


def test_axis_aligned_and_pixel_size():
    assert is_axis_aligned(Affine(300, 0, 1, 0, -300, 2))
    assert not is_axis_aligned(Affine.rotation(10) @ Affine.scale(3, -3))
    assert pixel_size(Affine.rotation(37) @ Affine.scale(3, -2)) == pytest.approx((3.0, 2.0))


def test_crs_strings():
    assert crs_to_string(CRS.from_epsg(3857)) == "EPSG:3857"
    custom = CRS.from_proj4(
        "+proj=tmerc +lat_0=0 +lon_0=13.7 +k=0.9999 +x_0=123456 +y_0=0 +ellps=GRS80 +units=m"
    )
    text = crs_to_string(custom)
    assert not text.startswith("EPSG:") and CRS.from_wkt(text) == custom
    assert crs_to_string(None) == "" and crs_to_wkt(None) == ""
    assert CRS.from_wkt(crs_to_wkt(CRS.from_epsg(32618))).to_epsg() == 32618


def test_shapely_geometry_round_trip():
    g = Georef(
        Affine.translation(1000, 5000) @ Affine.rotation(20) @ Affine.scale(2, -2), CRS.from_epsg(32633)
    )
    geom_px = box(10, 20, 30, 40)
    geom_map = g.geometry_to_map(geom_px)
    assert geom_map.area == pytest.approx(geom_px.area * 4)
    assert list(geom_map.exterior.coords)[0] == pytest.approx(g.to_map(list(geom_px.exterior.coords)[0]))
    assert g.geometry_to_pixel(geom_map).equals_exact(geom_px, 1e-6)


def test_objects_to_pixel_inverts_objects_to_map():
    g = Georef(Affine(5, 0, 485900, 0, -5, 5209247), CRS.from_epsg(26914))
    objs = [SegTarget((1, 2, 3, 4)), RotatedBox([(0, 0), (2, 1), (1, 3), (-1, 2)])]
    back = g.objects_to_pixel(g.objects_to_map(objs))
    assert back[0].bbox == pytest.approx((1, 2, 3, 4))
    np.testing.assert_allclose(back[1].corners, objs[1].corners, atol=1e-9)


def test_grid_bounds_and_window_from_bounds():
    grid = RasterGrid(100, 50, Georef(Affine(2, 0, 1000, 0, -2, 500), CRS.from_epsg(32633)))
    assert grid.map_bounds() == pytest.approx((1000, 400, 1200, 500))
    assert grid.window_from_bounds((1010, 440, 1021, 480)) == (5, 10, 6, 20)
    assert grid.window_from_bounds((1010, 440, 1021, 480), outward=False) == (5, 10, 5, 20)
    assert grid.window_from_bounds((900, 300, 1001, 401)) == (0, 49, 1, 1)
    assert grid.window_from_bounds((0, 0, 10, 10)) is None
