"""8-bit stretch: percentiles from a bounded sample, constant bands, sampling strategies."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from model_backend.raster import BandSample, open_raster, percentile_stretch, sample_bands


def _write(path, data, **extra):
    count, h, w = data.shape
    profile = dict(
        driver="GTiff",
        width=w,
        height=h,
        count=count,
        dtype=data.dtype.name,
        crs="EPSG:32633",
        transform=from_origin(500000, 6000000, 2, 2),
    )
    profile.update(extra)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return path


def test_uint16_with_constant_bands_gives_finite_sensible_output(data_dir):
    with open_raster(data_dir / "RGBA.uint16.tif") as src:
        assert src.stretch is not None
        assert all(hi > lo for lo, hi in zip(src.stretch.low, src.stretch.high))
        img = src.read()
    assert img.rgb.dtype == np.uint8
    # bands 1-3 hold 10000 everywhere: a constant band scales over the uint16 range
    expected = round(10000 / 65535 * 255)
    assert (img.rgb[img.valid] == expected).all()
    assert not img.rgb[~img.valid].any()


def test_percentiles_of_a_gradient(tmp_path):
    ramp = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100)
    data = np.stack([ramp, ramp // 2, np.full_like(ramp, 7)])
    path = _write(tmp_path / "ramp.tif", data)
    with open_raster(path) as src:
        lo, hi = src.stretch.low, src.stretch.high
        img = src.read()
    assert lo[0] == pytest.approx(np.percentile(ramp, 2)) and hi[0] == pytest.approx(np.percentile(ramp, 98))
    assert lo[1] == pytest.approx(np.percentile(ramp // 2, 2))
    # below the 2nd percentile -> 0, above the 98th -> 255, and monotonic in between
    flat = ramp.ravel()
    red = img.rgb[..., 0].ravel()
    assert (red[flat <= lo[0]] == 0).all() and (red[flat >= hi[0]] == 255).all()
    assert (np.diff(red.astype(int)) >= 0).all()
    # the constant band does not divide by zero
    assert (img.rgb[..., 2] == round(7 / 65535 * 255)).all()


def test_nodata_excluded_from_percentiles(tmp_path):
    data = np.full((1, 50, 50), 1000, np.uint16)
    data[0, :, 25:] = np.arange(25, dtype=np.uint16) + 2000
    data[0, :10] = 65000  # nodata rows must not pull the 98th percentile up
    path = _write(tmp_path / "nd.tif", data, nodata=65000)
    with open_raster(path) as src:
        assert src.stretch.high[0] < 3000


def test_byte_can_be_stretched_on_request(data_dir):
    with rasterio.open(data_dir / "RGB.byte.tif") as ds:
        raw = ds.read(1)
    with open_raster(data_dir / "RGB.byte.tif", stretch="percentile") as src:
        img = src.read()
    assert src.stretch is not None
    valid = img.valid
    assert not np.array_equal(img.rgb[..., 0][valid], raw[valid])
    assert img.rgb[..., 0][valid].max() == 255


def test_stretch_none_clips(tmp_path):
    data = np.array([[[0, 100, 255, 256, 4000]]], np.uint16)
    path = _write(tmp_path / "clip.tif", data)
    with open_raster(path, stretch="none") as src:
        img = src.read()
    assert img.rgb[0, :, 0].tolist() == [0, 100, 255, 255, 255]


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 12)),
        elements=st.one_of(st.floats(-1e6, 1e6, width=32), st.just(float("nan"))),
    ),
    seed=st.integers(0, 2**16),
)
def test_percentile_stretch_is_finite_and_monotonic(values, seed):
    rng = np.random.default_rng(seed)
    valid = np.isfinite(values) & (rng.random(values.shape) > 0.2)
    sample = BandSample(values, valid, exhaustive=True, how="test")
    stretch = percentile_stretch(sample, ["float32"] * values.shape[0])
    for i in range(values.shape[0]):
        assert np.isfinite(stretch.low[i]) and np.isfinite(stretch.high[i])
        assert stretch.high[i] > stretch.low[i]
        out = stretch.apply(values[i], i)
        assert out.dtype == np.uint8 and out.shape == values[i].shape
        finite = np.isfinite(values[i])
        order = np.argsort(values[i][finite], kind="stable")
        assert (np.diff(out[finite][order].astype(int)) >= 0).all()


def test_percentiles_must_be_ordered():
    sample = BandSample(np.zeros((1, 2, 2)), np.ones((1, 2, 2), bool), exhaustive=True, how="test")
    with pytest.raises(ValueError):
        percentile_stretch(sample, ["uint16"], (98, 2))


# -- sampling never reads a large raster whole -----------------------------------------------------
def test_small_raster_sampled_whole(data_dir):
    with rasterio.open(data_dir / "RGB.byte.tif") as ds:
        sample = sample_bands(ds, [1, 2, 3])
    assert sample.values.shape == (3, 718, 791) and sample.exhaustive


def test_sample_uses_overviews(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(100, 5000, (1, 3000, 2500), dtype=np.uint16)
    path = _write(tmp_path / "ovr.tif", data, tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([2, 4, 8], Resampling.nearest)
    with rasterio.open(path) as ds:
        sample = sample_bands(ds, [1], max_side=256)
    assert sample.exhaustive and "overview 1/8" in sample.how
    assert sample.values.shape[1] <= 256 and sample.values.shape[2] <= 256


def test_large_raster_without_overviews_sampled_by_patches(tmp_path):
    path = tmp_path / "big.tif"
    profile = dict(
        driver="GTiff",
        width=20000,
        height=20000,
        count=1,
        dtype="uint16",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        crs="EPSG:32633",
        transform=from_origin(500000, 6000000, 1, 1),
    )
    with rasterio.open(path, "w", **profile) as ds:
        # unwritten blocks are zeros (no nodata set): valid everywhere
        pass
    with rasterio.open(path) as ds:
        sample = sample_bands(ds, [1], max_side=1024)
    assert not sample.exhaustive and "patches" in sample.how
    assert sample.values.size <= 1024 * 1024


def test_patches_spread_over_a_striped_raster(tmp_path):
    path = tmp_path / "striped.tif"
    ramp = np.tile(np.arange(5000, dtype=np.uint16), (5000, 1))  # value = column
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=5000,
        height=5000,
        count=1,
        dtype="uint16",
        blockysize=8,
        crs="EPSG:32633",
        transform=from_origin(500000, 6000000, 1, 1),
    ) as ds:
        ds.write(ramp[None])
    with rasterio.open(path) as ds:
        assert ds.block_shapes[0] == (8, 5000)
        sample = sample_bands(ds, [1], max_side=1024)
    assert not sample.exhaustive
    # the sampled columns span the raster, not one stack of patches at column 0
    assert sample.values.min() < 500 and sample.values.max() > 4500


# -- the sample's decoding cost is bounded on any layout -------------------------------------------
class _Layout:
    """Just what ``sample_cells`` looks at: size and GDAL block shape ``(rows, cols)``."""

    def __init__(self, width, height, block_hw):
        self.width, self.height = width, height
        self.block_shapes = [block_hw]


@pytest.mark.parametrize(
    "block_hw",
    [(1, 40_000), (16, 40_000), (512, 512), (128, 128), (256, 1024)],
    ids=["strip-1-row", "strip-16-rows", "tile-512", "tile-128", "tile-256x1024"],
)
def test_sample_cells_are_whole_blocks_spread_over_the_raster_within_the_budget(block_hw):
    from model_backend.raster.stretch import _DECODE_BUDGET_PX, sample_cells

    ds = _Layout(40_000, 30_000, block_hw)
    bh, bw = block_hw
    cells = sample_cells(ds)
    assert len(cells) >= min(16, _DECODE_BUDGET_PX // (bh * bw))
    decoded = 0
    for col, row, w, h in cells:
        assert col % bw == 0 and row % bh == 0, "a cell starts on a block boundary"
        assert w % bw == 0 or col + w == ds.width
        assert h % bh == 0 or row + h == ds.height
        assert 0 <= col and col + w <= ds.width and 0 <= row and row + h <= ds.height
        decoded += w * h
    assert decoded <= _DECODE_BUDGET_PX
    # from the top quarter to the bottom quarter, and across the width where blocks allow
    assert min(r for _, r, _, _ in cells) < ds.height / 4 and max(r + h for _, r, _, h in cells) > ds.height * 3 / 4
    if bw < ds.width:
        assert min(c for c, _, _, _ in cells) < ds.width / 4 and max(c + w for c, _, w, _ in cells) > ds.width * 3 / 4


@pytest.mark.parametrize("tiled", [False, True], ids=["striped", "tiled"])
def test_opening_a_large_raster_decodes_a_small_part_of_it(tmp_path, tiled):
    from model_backend.raster.gdal_cache import cache_bytes, cache_state

    side = 8000
    ramp = np.tile((np.arange(side) * 4000 // side + 100).astype(np.uint16), (side, 1))[None]
    layout = dict(tiled=True, blockxsize=256, blockysize=256) if tiled else {}
    path = _write(tmp_path / "big.tif", ramp, compress="deflate", **layout)
    with rasterio.open(path) as ds:
        assert (ds.block_shapes[0][0] == 1) != tiled  # GDAL's default strips are one row here
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes(512)):  # large enough that nothing decoded is evicted
        with open_raster(path) as src:
            decoded = cache_state().used_bytes  # decoded blocks (and GDAL's mask blocks) held after the open
            assert "patches" in src.sample_how
            low, high = src.stretch.low[0], src.stretch.high[0]
    whole = side * side * 2
    assert decoded < whole / 4, f"{decoded / 2**20:.1f} MiB decoded of {whole / 2**20:.1f} MiB"
    assert low < 400 and high > 3700  # the sample still sees the raster's whole range of columns
