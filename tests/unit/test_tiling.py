"""Tile planning and lazy tile reads (model_backend.raster.tiling)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from rasterio.enums import Resampling

from model_backend.errors import ConfigError, RasterError
from model_backend.raster import (
    Georef,
    RasterGrid,
    TileLayout,
    TilePlan,
    TileReport,
    axis_starts,
    iter_tiles,
    open_raster,
    pixel_size,
    plan_tiles,
)


def _grid(width, height, res=1.0):
    return RasterGrid(width, height, Georef(Affine(res, 0, 1000, 0, -res, 9000), CRS.from_epsg(32633)))


# -- one axis ---------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    length=st.integers(1, 5000),
    tile=st.integers(1, 1200),
    overlap_frac=st.floats(0, 0.95),
    data=st.data(),
)
def test_axis_starts_cover_region(length, tile, overlap_frac, data):
    stride = max(1, tile - int(tile * overlap_frac))
    r0 = data.draw(st.integers(0, length - 1))
    r1 = data.draw(st.integers(r0 + 1, length))
    starts = axis_starts(length, tile, stride, (r0, r1))
    size = min(tile, length)
    assert all(0 <= s <= length - size for s in starts)
    assert starts == sorted(set(starts))
    # consecutive tiles touch or overlap by at least tile - stride; only the last step may be shorter
    steps = np.diff(starts)
    assert all(1 <= d <= stride for d in steps)
    assert all(d == stride for d in steps[:-1])
    # the region is covered
    assert starts[0] <= r0 and starts[-1] + size >= r1
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + size] = True
    assert covered[r0:r1].all()
    # no more tiles than needed
    if r1 - r0 > size:
        assert len(starts) == math.ceil((r1 - r0 - size) / stride) + 1


# -- 2-D plans --------------------------------------------------------------------------------------
@settings(max_examples=120, deadline=None)
@given(width=st.integers(1, 300), height=st.integers(1, 300), tile=st.integers(6, 160), data=st.data())
def test_plan_covers_raster_with_overlap(width, height, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    plan = TilePlan(_grid(width, height), TileLayout(tile_size=tile, overlap=overlap))
    tiles = list(plan)
    assert len(tiles) == len(plan) == plan.shape[0] * plan.shape[1]
    assert [t.index for t in tiles] == list(range(len(tiles)))
    count = np.zeros((height, width), np.int32)
    for t in tiles:
        col, row, w, h = t.window
        assert (w, h) == (min(tile, width), min(tile, height))  # full size whenever the raster allows
        assert 0 <= col and col + w <= width and 0 <= row and row + h <= height
        assert t.image_size == (w, h)  # no gsd: one image pixel per raster pixel
        assert t.to_raster_px((0, 0)) == (col, row)
        assert t.to_raster_px(t.image_size) == (col + w, row + h)
        count[row : row + h, col : col + w] += 1
    assert (count >= 1).all()
    # neighbours overlap by at least the requested amount
    by_rc = {t.grid_rc: t for t in tiles}
    for (i, j), t in by_rc.items():
        if (i, j + 1) in by_rc:
            right = by_rc[(i, j + 1)]
            assert t.window[0] + t.window[2] - right.window[0] >= overlap
        if (i + 1, j) in by_rc:
            below = by_rc[(i + 1, j)]
            assert t.window[1] + t.window[3] - below.window[1] >= overlap


def _write_random(path, width, height, seed, nodata=None):
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 256, (3, height, width), dtype=np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=3,
        dtype="uint8",
        crs="EPSG:32633",
        transform=Affine(2, 0, 500000, 0, -2, 6000000),
        nodata=nodata,
    ) as ds:
        ds.write(data)
    return data


@settings(max_examples=25, deadline=None)
@given(
    width=st.integers(1, 150),
    height=st.integers(1, 150),
    tile=st.integers(2, 64),
    overlap_frac=st.floats(0, 0.9),
    seed=st.integers(0, 1000),
)
def test_tiles_read_the_right_pixels(tmp_path_factory, width, height, tile, overlap_frac, seed):
    path = tmp_path_factory.mktemp("tiles") / "r.tif"
    data = _write_random(path, width, height, seed)
    overlap = int((tile - 1) * overlap_frac)
    mosaic = np.zeros((height, width, 3), np.uint8)
    with open_raster(path) as src:
        for ti in iter_tiles(src, TileLayout(tile, overlap)):
            col, row, w, h = ti.tile.window
            assert ti.rgb.shape == (h, w, 3) and ti.valid.all()
            expected = np.moveaxis(data[:, row : row + h, col : col + w], 0, -1)
            assert np.array_equal(ti.rgb, expected)
            mosaic[row : row + h, col : col + w] = ti.rgb
    assert np.array_equal(mosaic, np.moveaxis(data, 0, -1))


def test_tiles_are_generated_lazily(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        gen = iter_tiles(src, TileLayout(128, 16))
        assert iter(gen) is gen  # a generator, not a list
        first = next(gen)
        assert first.tile.index == 0 and first.tile.window == (0, 0, 128, 128)


# -- ground sample distance -------------------------------------------------------------------------
@pytest.mark.parametrize("gsd, resampling", [(10.0, Resampling.average), (2.5, Resampling.bilinear)])
def test_gsd_tiling(data_dir, gsd, resampling):
    with open_raster(data_dir / "naip_2009.tif") as src:  # 5 m pixels
        plan = plan_tiles(src, TileLayout(tile_size=128, overlap=16, gsd=gsd))
        factor = gsd / 5.0
        assert plan.window_size == (round(128 * factor), round(128 * factor))
        assert plan.image_size == (128, 128)
        tile = next(iter(plan))
        # one image pixel covers gsd map units
        assert pixel_size(tile.transform) == pytest.approx((gsd, gsd))
        assert tile.to_map((0, 0)) == pytest.approx(src.georef.to_map(tile.window[:2]))
        assert tile.to_map((128, 128)) == pytest.approx(
            src.georef.to_map((tile.window[0] + tile.window[2], tile.window[1] + tile.window[3]))
        )
        # neighbouring windows overlap by the requested overlap in raster pixels
        assert plan.col_starts[1] - plan.col_starts[0] == plan.window_size[0] - round(16 * factor)
        ti = next(iter_tiles(src, plan))
        assert ti.rgb.shape == (128, 128, 3)
        direct = src.read(tile.window, out_shape=(128, 128), resampling=resampling)
        assert np.array_equal(ti.rgb, direct.rgb)
        # every tile: full size and inside the raster
        for t in plan:
            col, row, w, h = t.window
            assert col + w <= src.width and row + h <= src.height and t.image_size == (128, 128)


def test_gsd_larger_than_raster_gives_one_scaled_tile(data_dir):
    with open_raster(data_dir / "naip_2009.tif") as src:
        plan = plan_tiles(src, TileLayout(tile_size=512, overlap=0, gsd=20.0))
        (tile,) = list(plan)
        assert tile.window == (0, 0, 934, 724)
        assert tile.image_size == (round(934 / 4), round(724 / 4))


def test_tile_count_cap_refuses_absurd_plans_up_front(data_dir):
    with open_raster(data_dir / "naip_2009.tif") as src:  # 5 m pixels, 934 x 724
        assert len(plan_tiles(src, TileLayout(tile_size=128, overlap=0, max_tiles=100))) == 48
        with pytest.raises(ConfigError, match=r"676,216 tiles .* cap of 10,000"):
            plan_tiles(src, TileLayout(tile_size=768, overlap=96, gsd=1e-6, max_tiles=10_000))


# -- area of interest -----------------------------------------------------------------------------
def test_aoi_window_limits_tiles(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        plan = plan_tiles(src, TileLayout(100, 10), aoi_window=(300, 200, 250, 150))
        tiles = list(plan)
    cover = np.zeros((718, 791), bool)
    for t in tiles:
        col, row, w, h = t.window
        assert (w, h) == (100, 100)
        cover[row : row + h, col : col + w] = True
    assert cover[200:350, 300:550].all()
    assert len(tiles) == plan.shape[0] * plan.shape[1] == 3 * 2


def test_aoi_bounds_in_map_and_other_crs(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        g = src.georef
        x0, y1 = g.to_map((400, 300))
        x1, y0 = g.to_map((450, 340))
        plan = plan_tiles(src, TileLayout(64, 8), aoi_bounds=(x0, y0, x1, y1))
        assert plan.region == (400, 300, 50, 40)
        (tile,) = list(plan)  # a small area gets one full-size tile centred on it
        col, row, w, h = tile.window
        assert (w, h) == (64, 64) and col <= 400 and col + w >= 450 and row <= 300 and row + h >= 340
        # the same area given in WGS84 lands on (about) the same pixels
        from rasterio.warp import transform_bounds

        lonlat = transform_bounds(src.crs, "EPSG:4326", x0, y0, x1, y1)
        plan_ll = plan_tiles(src, TileLayout(64, 8), aoi_bounds=lonlat, aoi_crs="EPSG:4326")
        c, r, w2, h2 = plan_ll.region
        assert abs(c - 400) <= 2 and abs(r - 300) <= 2 and c + w2 >= 450 and r + h2 >= 340


def test_aoi_outside_raster_is_refused(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        with pytest.raises(RasterError, match="does not overlap"):
            plan_tiles(src, TileLayout(64, 8), aoi_bounds=(0, 0, 10, 10))
        with pytest.raises(RasterError, match="does not overlap"):
            plan_tiles(src, TileLayout(64, 8), aoi_window=(900, 0, 10, 10))
        with pytest.raises(ConfigError):
            plan_tiles(src, TileLayout(64, 8), aoi_window=(0, 0, 5, 5), aoi_bounds=(0, 0, 1, 1))


# -- empty tiles ----------------------------------------------------------------------------------------
def test_skip_empty_tiles_is_reported(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        all_tiles = list(iter_tiles(src, TileLayout(96, 0)))
        report = TileReport()
        kept = list(iter_tiles(src, TileLayout(96, 0), skip_empty=True, report=report))
    empty = [t.tile.index for t in all_tiles if not t.valid.any()]
    assert empty, "RGB.byte.tif's nodata corners should give empty tiles at this size"
    assert [t.index for t in report.skipped_empty] == empty
    assert report.planned == len(all_tiles)
    assert report.yielded == len(kept) == len(all_tiles) - len(empty)
    assert all(t.valid.any() for t in kept)
    assert "skipped" in report.summary()


def test_masked_pixels_are_zero_in_tiles(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as src:
        for ti in iter_tiles(src, TileLayout(256, 32)):
            assert not ti.rgb[~ti.valid].any()


# -- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(tile_size=0),
        dict(tile_size=64, overlap=64),
        dict(overlap=-1),
        dict(gsd=0.0),
        dict(gsd=float("nan")),
        dict(tile_size=12.5),
    ],
)
def test_layout_validation(kwargs):
    with pytest.raises(ConfigError):
        TileLayout(**kwargs)


def test_objects_from_tile_to_raster_and_map(data_dir):
    from model_backend.geometry import SegTarget

    with open_raster(data_dir / "naip_2009.tif") as src:
        plan = plan_tiles(src, TileLayout(100, 10, gsd=10.0))
        tile = list(plan)[3]
        seg = SegTarget((10, 20, 30, 40))
        (in_raster,) = tile.objects_to_raster_px([seg])
        col, row = tile.window[:2]
        assert in_raster.bbox == pytest.approx((col + 20, row + 40, col + 60, row + 80))
        (in_map,) = tile.objects_to_map([seg])
        (via_raster,) = src.georef.objects_to_map([in_raster])
        assert in_map.bbox == pytest.approx(via_raster.bbox)
        (back,) = tile.objects_from_raster_px([in_raster])
        assert back.bbox == pytest.approx(seg.bbox)
        assert tile.from_raster_px(tile.to_raster_px((7.5, 3.25))) == pytest.approx((7.5, 3.25))


def test_plan_for_another_grid_is_refused(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as a, open_raster(data_dir / "naip_2009.tif") as b:
        plan = plan_tiles(a, TileLayout(128, 0))
        with pytest.raises(ValueError, match="another raster grid"):
            next(iter_tiles(b, plan))


# -- finding a tile again, and windows centred on an object (refining by clicks) ----------------------------
def test_tile_at_is_the_tile_iteration_yields():
    plan = TilePlan(_grid(1000, 700, res=2.0), TileLayout(tile_size=256, overlap=32, gsd=3.0))
    rows, cols = plan.shape
    tiles = list(plan)
    for tile in tiles:
        i, j = tile.grid_rc
        assert plan.tile_at(i, j) == tile and tile.index == i * cols + j


def test_tiles_containing_an_extent():
    plan = TilePlan(_grid(460, 300), TileLayout(tile_size=256, overlap=32))  # columns 0-256 and 204-460
    assert [t.grid_rc for t in plan.tiles_containing((10, 10, 100, 100))] == [(0, 0)]
    assert [t.grid_rc for t in plan.tiles_containing((210, 10, 250, 100))] == [(0, 0), (0, 1)]
    assert plan.tiles_containing((190, 10, 270, 100)) == []  # cut by the edge of every tile


def test_window_tile_is_centred_at_the_plan_scale_and_clamped():
    grid = _grid(1000, 800, res=2.0)
    plan = TilePlan(grid, TileLayout(tile_size=128, overlap=16, gsd=4.0))  # 2 raster px per image px
    tile = plan.window_tile((400, 300, 440, 340))
    assert tile.window == (292, 192, 256, 256) and tile.image_size == (128, 128) and tile.index == -1
    assert tile.to_raster_px((64, 64)) == pytest.approx((420, 320))  # the centre of the object
    assert tile.to_map((0, 0)) == pytest.approx(grid.georef.to_map((292, 192)))
    edge = plan.window_tile((0, 0, 20, 20))
    assert edge.window[:2] == (0, 0)
    big = plan.window_tile((100, 100, 500, 300), margin=0.25)  # 400 x 200 px grown by a quarter per side
    assert big.window == (0, 50, 600, 300) and big.image_size == (300, 150)
    capped = plan.window_tile((100, 100, 500, 300), margin=0.25, max_image_side=150)
    assert capped.window == big.window and capped.image_size == (150, 75)
    assert capped.to_raster_px((150, 75)) == pytest.approx((600, 350))
