"""A box planted at known map coordinates comes back at the same map coordinates through tiling, the
dialect's text, parsing, merging across tiles and georeferencing: north-up, rotated and geographic rasters."""

from __future__ import annotations

import math

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import Polygon

from tests.helpers.pipeline_fakes import BrightObjectEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline


def plant(src_path, dst_path, windows_px, *, transform=None, crs=None, shape=None):
    """Copy a raster (or make a dark one of ``shape``) and paint white squares at pixel windows
    ``(col, row, w, h)``; return the planted squares as map polygons (pixel corners through the transform)."""
    if src_path is not None:
        with rasterio.open(src_path) as src:
            profile = src.profile.copy()
            data = src.read()
    else:
        h, w = shape
        profile = {"driver": "GTiff", "width": w, "height": h, "count": 3, "dtype": "uint8",
                   "transform": transform, "crs": crs}
        data = np.full((3, h, w), 60, np.uint8)
    data = np.minimum(data, 200).astype(data.dtype)  # nothing else is "bright"
    if profile.get("nodata") is not None:
        data[data == profile["nodata"]] = 1
    for col, row, w, h in windows_px:
        data[:3, row:row + h, col:col + w] = 255
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(data)
    t = profile["transform"]
    return [Polygon([t @ (c, r), t @ (c + w, r), t @ (c + w, r + h), t @ (c, r + h)])
            for c, r, w, h in windows_px]


def run_and_read(raster, out, **settings):
    config = RunConfig(raster=str(raster), instruction="[detection] the white squares", output=str(out),
                       engine="scripted", **settings)
    engine = BrightObjectEngine(label="square")
    result = Pipeline(config, engine).run()
    layer = result.outputs["layers"]["boxes"]
    _meta, _fids, wkb, fields = pyogrio.raw.read(out, layer=layer)
    return result, list(shapely.from_wkb(wkb)), _meta


def assert_same_polygons(found, expected, tol):
    assert len(found) == len(expected), (found, expected)
    for poly in expected:
        best = min(found, key=lambda f: f.hausdorff_distance(poly))
        assert best.hausdorff_distance(poly) <= tol, (best.wkt, poly.wkt)


@pytest.mark.parametrize("tile_size,overlap", [(256, 32), (512, 64)])
def test_north_up_utm_scene(tmp_path, data_dir, tile_size, overlap):
    # one square well inside a tile, one across the seam at column 224..256 (tile 256 / stride 224)
    windows = [(100, 120, 20, 16), (236, 300, 30, 24), (600, 500, 12, 12)]
    expected = plant(data_dir / "RGB.byte.tif", tmp_path / "planted.tif", windows)
    result, found, meta = run_and_read(tmp_path / "planted.tif", tmp_path / "out.gpkg",
                                       tile_size=tile_size, overlap=overlap)
    assert "32618" in meta["crs"]
    # 0-1000 quantisation of a tile: at most half a step (tile/1000 px) per coordinate; 300 m pixels
    assert_same_polygons(found, expected, tol=300.0 * tile_size / 1000)
    assert result.counts == {"square": 3}


def test_north_up_with_target_gsd_resampling(tmp_path, data_dir):
    windows = [(300, 200, 40, 40)]
    expected = plant(data_dir / "RGB.byte.tif", tmp_path / "planted.tif", windows)
    # 600 m per pixel sent: each image pixel covers 2 x 2 raster pixels
    _result, found, _meta = run_and_read(tmp_path / "planted.tif", tmp_path / "out.gpkg",
                                         tile_size=256, overlap=32, gsd=600.0)
    assert_same_polygons(found, expected, tol=600.0)


def test_rotated_geotransform(tmp_path):
    theta = math.radians(30)
    transform = Affine(2 * math.cos(theta), -2 * math.sin(theta), 500000.0,
                       -2 * math.sin(theta), -2 * math.cos(theta), 4000000.0)
    windows = [(50, 40, 30, 20), (250, 200, 24, 24)]
    expected = plant(None, tmp_path / "rot.tif", windows, transform=transform, crs="EPSG:32633", shape=(300, 400))
    _result, found, meta = run_and_read(tmp_path / "rot.tif", tmp_path / "out.gpkg", tile_size=256, overlap=32)
    # the boxes come back rotated with the raster (not axis-aligned in map space)
    assert_same_polygons(found, expected, tol=2.0 * 256 / 1000 * 1.5)
    for poly in found:
        xs = {round(x, 3) for x, _ in poly.exterior.coords}
        assert len(xs) > 2


def test_geographic_raster(tmp_path, data_dir):
    windows = [(100, 60, 10, 8), (400, 200, 16, 16)]
    expected = plant(data_dir / "world.rgb.tif", tmp_path / "world.tif", windows)
    _result, found, meta = run_and_read(tmp_path / "world.tif", tmp_path / "out.gpkg", tile_size=256, overlap=32)
    assert "4326" in meta["crs"]
    with rasterio.open(tmp_path / "world.tif") as src:
        deg_per_px = abs(src.transform.a)
    assert_same_polygons(found, expected, tol=deg_per_px * 256 / 1000)


def test_object_wider_than_the_overlap_comes_back_whole(tmp_path, data_dir):
    # 120 px wide across the seam between the first two 256-px tiles (overlap 32): each tile sees a cut piece
    windows = [(180, 100, 120, 60)]
    expected = plant(data_dir / "RGB.byte.tif", tmp_path / "planted.tif", windows)
    _result, found, _meta = run_and_read(tmp_path / "planted.tif", tmp_path / "out.gpkg", tile_size=256, overlap=32)
    assert_same_polygons(found, expected, tol=300.0 * 256 / 1000)
