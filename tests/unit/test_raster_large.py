"""Bounded cost on a 40,000 x 40,000 raster: opening, statistics and the first tiles must not read it all."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from model_backend.raster import TileLayout, iter_tiles, open_raster, plan_tiles

SIDE = 40_000
# Written blocks: (row, col) of their top-left pixel. None of them lies on the statistics patch grid,
# so opening also exercises the decimated fallback that finds data in a mostly empty raster.
BLOCKS = [(0, 0), (19968, 19968), (39680, 39680), (10240, 30208)]


def _write_sparse(path, dtype):
    rng = np.random.default_rng(7)
    high = 255 if dtype == "uint8" else 4000
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIDE,
        height=SIDE,
        count=3,
        dtype=dtype,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        sparse_ok=True,
        nodata=0,
        crs="EPSG:32618",
        transform=Affine(0.5, 0, 500000, 0, -0.5, 4000000),
    ) as ds:
        for row, col in BLOCKS:
            ds.write(rng.integers(1, high, (3, 256, 256), dtype=dtype), window=Window(col, row, 256, 256))


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_huge_raster_opens_and_tiles_quickly(tmp_path, dtype):
    path = tmp_path / f"huge_{dtype}.tif"
    _write_sparse(path, dtype)

    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        src = open_raster(path)
        t_open = time.perf_counter() - t0

        plan = plan_tiles(src, TileLayout(tile_size=512, overlap=64))
        assert len(plan) == 90 * 90  # known without enumerating any tile
        t0 = time.perf_counter()
        tiles = iter_tiles(src, plan)
        first = [next(tiles) for _ in range(3)]
        t_tiles = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        # A full read of 40,000^2 x 3 bands would take minutes and gigabytes; the bounds are loose on
        # purpose (a loaded CI machine) and only separate "a few blocks" from "the whole raster".
        assert t_open < 30.0, f"open took {t_open:.2f} s"
        assert t_tiles < 10.0, f"first tiles took {t_tiles:.2f} s"
        assert peak < 64 * 2**20, f"peak traced memory {peak / 2**20:.1f} MiB"
        assert first[0].tile.window == (0, 0, 512, 512)
        assert first[0].valid[:256, :256].all() and not first[0].valid[256:, 256:].any()
        if dtype == "uint16":
            assert src.stretch is not None
            assert all(np.isfinite(src.stretch.low)) and all(
                h > lo for lo, h in zip(src.stretch.low, src.stretch.high)
            )
            # the sample found the written data (values 1..3999), not the empty default range
            assert max(src.stretch.high) < 4000
        assert "patch" in src.sample_how or "decimated" in src.sample_how
    finally:
        src.close()


def test_huge_all_nodata_raster_is_refused_without_full_read(tmp_path):
    from model_backend.errors import RasterError

    path = tmp_path / "empty.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIDE,
        height=SIDE,
        count=1,
        dtype="uint8",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        sparse_ok=True,
        nodata=0,
        crs="EPSG:32618",
        transform=Affine(0.5, 0, 500000, 0, -0.5, 4000000),
    ):
        pass
    t0 = time.perf_counter()
    with pytest.raises(RasterError, match="nodata"):
        open_raster(path)
    assert time.perf_counter() - t0 < 30.0
