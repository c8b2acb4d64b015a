"""A second raster read on the first raster's grid (model_backend.raster.pair) on real bi-temporal pairs."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from model_backend.errors import RasterError
from model_backend.raster import TileLayout, TileReport, align_to, iter_tile_pairs, open_pair, open_raster


def _bilinear(band: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample ``band`` at fractional pixel-centre coordinates (x = col, y = row), by hand."""
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    x1, y1 = np.clip(x0 + 1, 0, band.shape[1] - 1), np.clip(y0 + 1, 0, band.shape[0] - 1)
    x0, y0 = np.clip(x0, 0, band.shape[1] - 1), np.clip(y0, 0, band.shape[0] - 1)
    b = band.astype(float)
    top = b[y0, x0] * (1 - fx) + b[y0, x1] * fx
    bottom = b[y1, x0] * (1 - fx) + b[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def test_naip_pair_aligned_on_first_grid(data_dir):
    with rasterio.open(data_dir / "naip_2020.tif") as ds:
        raw_2020 = ds.read(1)
        t_2020 = ds.transform
    with open_pair(data_dir / "naip_2009.tif", data_dir / "naip_2020.tif") as pair:
        assert pair.resampled
        # 2020 starts 1 m west and 1 m south of 2009 (0.2 pixel), and is one row shorter
        assert pair.overlap == (0, 1, 933, 722)
        first, second = pair.read()
        assert first.rgb.shape == second.rgb.shape == (722, 933, 3)
        assert second.valid.all()
        # independent check: pixel centres of the 2009 grid, located in 2020's pixels, sampled by hand
        rows, cols = np.mgrid[1:723, 0:933]
        xs, ys = pair.first.transform @ (cols + 0.5, rows + 0.5)
        c20, r20 = ~t_2020 @ (xs, ys)
        expected = _bilinear(raw_2020, c20 - 0.5, r20 - 0.5)
        inner = (slice(2, -2), slice(2, -2))
        err = np.abs(second.rgb[..., 0].astype(float) - expected)[inner].mean()
        shifted = np.abs(second.rgb[..., 0].astype(float) - np.roll(expected, 1, axis=1))[inner].mean()
        assert err < 1.5
        assert shifted > 3 * err  # the comparison can tell a one-pixel misalignment


def test_landsat_pair_same_grid_is_not_resampled(data_dir):
    with rasterio.open(data_dir / "landsat_river_2020.tif") as ds:
        raw = ds.read([1, 2, 3])
    with open_pair(data_dir / "landsat_river_1985.tif", data_dir / "landsat_river_2020.tif") as pair:
        assert not pair.resampled
        assert pair.overlap == (0, 0, 697, 377)
        assert pair.second.crs_string == "EPSG:4326"
        _, second = pair.read()
    assert np.array_equal(np.moveaxis(second.rgb, -1, 0), raw)


def test_second_raster_in_another_crs(tmp_path, data_dir):
    src_path = data_dir / "naip_2020.tif"
    out_path = tmp_path / "naip_2020_wgs84.tif"
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        profile = src.profile
        profile.update(crs="EPSG:4326", transform=transform, width=width, height=height)
        with rasterio.open(out_path, "w", **profile) as dst:
            for b in range(1, src.count + 1):
                reproject(
                    rasterio.band(src, b), rasterio.band(dst, b), resampling=Resampling.bilinear, dst_nodata=0
                )
    with (
        open_pair(data_dir / "naip_2009.tif", src_path) as direct,
        open_pair(data_dir / "naip_2009.tif", out_path) as via_wgs84,
    ):
        assert via_wgs84.resampled
        c, r, w, h = via_wgs84.overlap
        assert abs(c - 0) <= 3 and abs(r - 1) <= 3 and abs(w - 933) <= 6 and abs(h - 722) <= 6
        window = (10, 10, 900, 700)
        _, a = direct.read(window)
        _, b = via_wgs84.read(window)
    both = a.valid & b.valid
    assert both.mean() > 0.95
    corr = np.corrcoef(a.rgb[..., 1][both].astype(float), b.rgb[..., 1][both].astype(float))[0, 1]
    assert corr > 0.9


def test_whole_pixel_shift_copies_pixels(tmp_path, data_dir):
    crop = tmp_path / "crop.tif"
    with rasterio.open(data_dir / "naip_2009.tif") as ds:
        win = Window(100, 50, 300, 200)
        data = ds.read(window=win)
        profile = ds.profile
        profile.update(width=300, height=200, transform=ds.window_transform(win))
    with rasterio.open(crop, "w", **profile) as out:
        out.write(data)
    with open_raster(data_dir / "naip_2009.tif") as first:
        pair = align_to(first, crop)
        try:
            assert not pair.resampled
            assert pair.overlap == (100, 50, 300, 200)
            a, b = pair.read()
            assert np.array_equal(a.rgb, b.rgb)
        finally:
            pair.close()
        assert not first.closed  # align_to leaves the first raster to its owner


def test_no_overlap_is_refused(data_dir):
    with pytest.raises(RasterError, match="do not overlap") as err:
        open_pair(data_dir / "RGB.byte.tif", data_dir / "naip_2020.tif")
    assert "RGB.byte.tif" in str(err.value) and "naip_2020.tif" in str(err.value)


def test_only_one_georeferenced_is_refused(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as first:
        with pytest.raises(RasterError, match="only one"):
            align_to(first, data_dir / "float_nan.tif", allow_pixel_coords=True)


def test_bad_second_raster_is_refused(data_dir):
    with open_raster(data_dir / "RGB.byte.tif") as first:
        with pytest.raises(RasterError, match="does not exist"):
            align_to(first, data_dir / "missing.tif")
        with pytest.raises(RasterError, match="nodata"):
            align_to(first, data_dir / "all-nodata.tif")


def test_tile_pairs_cover_overlap_and_skip_empty(tmp_path, data_dir):
    # the second raster covers only part of the first: tiles outside it are empty in the second
    crop = tmp_path / "part.tif"
    with rasterio.open(data_dir / "naip_2020.tif") as ds:
        win = Window(0, 0, 400, 300)
        profile = ds.profile
        profile.update(width=400, height=300, transform=ds.window_transform(win))
        data = ds.read(window=win)
    with rasterio.open(crop, "w", **profile) as out:
        out.write(data)
    with open_pair(data_dir / "naip_2009.tif", crop) as pair:
        c, r, w, h = pair.overlap
        assert (c, r) == (0, 1) and w in (399, 400) and h in (298, 299)
        cover = np.zeros((724, 934), bool)
        for tp in iter_tile_pairs(pair, TileLayout(128, 16)):
            col, row, tw, th = tp.tile.window
            assert tp.first.rgb.shape == tp.second.rgb.shape == (128, 128, 3)
            cover[row : row + th, col : col + tw] = True
        assert cover[r : r + h, c : c + w].all()

    with open_pair(data_dir / "naip_2009.tif", data_dir / "naip_2020.tif") as pair:
        # a window beyond the crop's footprint in pixel terms is still inside the full pair
        report = TileReport()
        tiles = list(iter_tile_pairs(pair, TileLayout(128, 0), skip_empty=True, report=report))
        assert report.yielded == len(tiles) == report.planned and not report.skipped_empty


def test_tile_pairs_skip_tiles_empty_in_second(tmp_path, data_dir):
    part = tmp_path / "part_nodata.tif"
    with rasterio.open(data_dir / "naip_2020.tif") as ds:
        profile = ds.profile
        data = ds.read()
    data[:, :, 500:] = 0  # nodata east of column 500
    with rasterio.open(part, "w", **profile) as out:
        out.write(data)
    with open_pair(data_dir / "naip_2009.tif", part) as pair:
        report = TileReport()
        kept = list(iter_tile_pairs(pair, TileLayout(128, 0), skip_empty=True, report=report))
    assert report.skipped_empty
    assert all(t.window[0] >= 500 for t in report.skipped_empty)
    assert all(tp.second.valid.any() and tp.first.valid.any() for tp in kept)
    assert report.yielded + len(report.skipped_empty) == report.planned


def test_pair_aoi_outside_overlap(data_dir):
    with open_pair(data_dir / "naip_2009.tif", data_dir / "naip_2020.tif") as pair:
        with pytest.raises(RasterError):
            list(iter_tile_pairs(pair, TileLayout(64, 0), aoi_window=(933, 0, 1, 1)))
