"""8-bit stretch of raster bands: per-band percentiles from a bounded sample, then linear scaling.

The sample is never a full read of a large raster: a raster at most ``max_side`` pixels on a side is
read whole; a larger one is read decimated when GDAL can serve that from an overview (or the level it
would read is small); otherwise a grid of small block-aligned patches is read, so a 40,000 x 40,000
raster without overviews costs a few hundred block reads.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.errors import NodataShadowWarning
from rasterio.windows import Window

# A decimated read is "cheap" when the level GDAL actually reads has at most this many pixels.
_CHEAP_LEVEL_PIXELS = 2048 * 2048
# Patch grid used when no cheap decimated read exists: _GRID x _GRID patches.
_GRID = 16
# Side of the decimated mask read used to look again when the patch grid found no valid pixel.
_FALLBACK_MASK_SIDE = 256
# Most patches read around valid pixels found by that fallback.
_FALLBACK_PATCHES = 64
# GDAL block cache (MB) during that fallback pass.
_FALLBACK_CACHE_MB = 64


@dataclass(frozen=True)
class BandStretch:
    """Linear scaling of each selected band to 0..255: value ``low`` -> 0, ``high`` -> 255, clipped.
    One entry per band in the order the bands are selected; values in the band's own units."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    def apply(self, values: np.ndarray, i: int) -> np.ndarray:
        """Band ``i``'s values (any numeric array) -> uint8, clipped; NaN becomes 0."""
        lo, hi = self.low[i], self.high[i]
        scale = 255.0 / (hi - lo)  # hi > lo is guaranteed by percentile_stretch
        out = (values.astype(np.float32, copy=False) - np.float32(lo)) * np.float32(scale)
        np.clip(out, 0.0, 255.0, out=out)
        out = np.nan_to_num(out, nan=0.0, copy=False)
        return np.rint(out).astype(np.uint8)


@dataclass
class BandSample:
    """A bounded sample of the selected bands: ``values`` ``(bands, h, w)`` and ``valid`` (same
    shape, bool: not nodata, not masked by alpha, finite). ``exhaustive`` says whether it saw the
    whole extent (every area, possibly decimated) rather than scattered patches."""

    values: np.ndarray
    valid: np.ndarray
    exhaustive: bool
    how: str

    @property
    def any_valid(self) -> bool:
        return bool(self.valid.any())


def percentile_stretch(
    sample: BandSample, dtypes: Sequence[str], percentiles: tuple[float, float] = (2.0, 98.0)
) -> BandStretch:
    """Per-band ``percentiles`` of the valid sample values -> a ``BandStretch``.

    A band whose percentiles coincide (constant band, or no valid sample) must not divide by zero:
    integer bands then scale over their data type's range (an all-10000 uint16 band -> 39, an all-zero
    band -> 0); float bands over 0..1 when the value lies there (reflectance), else the value maps to
    mid-grey.
    """
    p_lo, p_hi = float(percentiles[0]), float(percentiles[1])
    if not 0.0 <= p_lo < p_hi <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    lows, highs = [], []
    for i, dtype in enumerate(dtypes):
        vals = sample.values[i][sample.valid[i]]
        if vals.size:
            lo, hi = (float(v) for v in np.percentile(vals, [p_lo, p_hi]))
            ref = float(np.median(vals))
        else:
            lo = hi = ref = 0.0
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= _flat_tolerance(lo, hi):
            lo, hi = _flat_band_range(ref, dtype)
        lows.append(lo)
        highs.append(hi)
    return BandStretch(tuple(lows), tuple(highs))


def _flat_tolerance(lo: float, hi: float) -> float:
    return 1e-9 * max(1.0, abs(lo), abs(hi))


def _flat_band_range(value: float, dtype: str) -> tuple[float, float]:
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        return (float(info.min), float(info.max))
    if 0.0 <= value <= 1.0:
        return (0.0, 1.0)
    return (value - 1.0, value + 1.0)  # value lands on 127.5


def to_uint8_unscaled(values: np.ndarray) -> np.ndarray:
    """Values taken as already 0..255 (no stretch): clipped and rounded; NaN -> 0."""
    if values.dtype == np.uint8:
        return values
    out = np.clip(values.astype(np.float32, copy=False), 0.0, 255.0)
    out = np.nan_to_num(out, nan=0.0, copy=False)
    return np.rint(out).astype(np.uint8)


def read_valid(
    ds,
    indexes: Sequence[int],
    window: Window,
    out_shape: tuple[int, int] | None = None,
    *,
    resampling: Resampling = Resampling.nearest,
    alpha: int | None = None,
):
    """Read ``indexes`` of ``ds`` over ``window`` (resampled to ``out_shape`` ``(h, w)`` when given)
    -> ``(values (n, h, w), valid (n, h, w) bool)``. Valid means GDAL's mask says so (nodata, alpha,
    per-dataset mask), for floats the value is finite, and, when ``alpha`` names an alpha band that
    GDAL's masks ignore (a nodata value shadows it), that band is non-zero. Masks are always read
    with nearest so they stay crisp."""
    idx = list(indexes)
    shape = None if out_shape is None else (len(idx), out_shape[0], out_shape[1])
    values = ds.read(idx, window=window, out_shape=shape, resampling=resampling)
    with warnings.catch_warnings():
        # rasterio warns when nodata shadows an alpha band; ``alpha`` handles that case.
        warnings.simplefilter("ignore", NodataShadowWarning)
        masks = ds.read_masks(idx, window=window, out_shape=shape, resampling=Resampling.nearest)
    valid = masks > 0
    if values.dtype.kind in "fc":
        valid &= np.isfinite(values)
    if alpha is not None:
        a_shape = None if out_shape is None else (1, out_shape[0], out_shape[1])
        alpha_values = ds.read([alpha], window=window, out_shape=a_shape, resampling=Resampling.nearest)
        valid &= alpha_values > 0
    return values, valid


def shadowed_alpha(ds) -> int | None:
    """The alpha band's index when ``ds`` has one that GDAL's masks do not use (a nodata value takes
    precedence over alpha in GDAL); ``None`` otherwise."""
    interp = list(ds.colorinterp)
    if ColorInterp.alpha not in interp:
        return None
    if any(MaskFlags.alpha in flags for flags in ds.mask_flag_enums):
        return None
    return interp.index(ColorInterp.alpha) + 1


def sample_bands(ds, indexes: Sequence[int], max_side: int = 1024) -> BandSample:
    """A bounded sample of bands ``indexes`` of the rasterio dataset ``ds`` for statistics and the
    all-nodata check (see the module docstring for the strategy). At most about ``max_side**2``
    pixels per band are returned."""
    width, height = ds.width, ds.height
    full = Window(0, 0, width, height)
    alpha = shadowed_alpha(ds)
    if max(width, height) <= max_side:
        values, valid = read_valid(ds, indexes, full, alpha=alpha)
        return BandSample(values, valid, exhaustive=True, how="full read (small raster)")

    scale = max_side / max(width, height)
    out_hw = (max(1, round(height * scale)), max(1, round(width * scale)))
    level = _level_gdal_reads(ds, indexes[0], out_hw)
    level_pixels = math.ceil(width / level) * math.ceil(height / level)
    if level_pixels <= _CHEAP_LEVEL_PIXELS:
        values, valid = read_valid(ds, indexes, full, out_hw, alpha=alpha)
        how = f"decimated read {out_hw[1]}x{out_hw[0]}" + (f" from overview 1/{level}" if level > 1 else "")
        return BandSample(values, valid, exhaustive=True, how=how)

    patch = max(1, max_side // _GRID)
    origins = [
        _patch_origin(ds, (i + 0.5) / _GRID, (j + 0.5) / _GRID, patch)
        for j in range(_GRID)
        for i in range(_GRID)
    ]
    sample = _read_patches(ds, indexes, origins, patch, alpha, how=f"{len(origins)} patches of {patch} px")
    if sample.any_valid:
        return sample
    return _fallback_sample(ds, indexes, patch, alpha)


def _level_gdal_reads(ds, band: int, out_hw: tuple[int, int]) -> int:
    """Decimation factor of the level GDAL would read for an ``out_hw`` request: the coarsest
    overview still at least as large as the request (1 = full resolution)."""
    best = 1
    for factor in ds.overviews(band):
        if math.ceil(ds.width / factor) >= out_hw[1] and math.ceil(ds.height / factor) >= out_hw[0]:
            best = max(best, factor)
    return best


def _patch_origin(ds, fx: float, fy: float, patch: int) -> tuple[int, int]:
    """Top-left ``(col, row)`` of a ``patch``-pixel square near fraction ``(fx, fy)`` of the raster,
    snapped to the start of its block so that one block is decoded per patch (not along an axis a
    block spans whole, as in a striped file, where snapping would stack every patch at 0)."""
    block_h, block_w = ds.block_shapes[0]
    col = int(fx * ds.width)
    row = int(fy * ds.height)
    if patch <= block_w < ds.width:
        col = col // block_w * block_w
    if patch <= block_h < ds.height:
        row = row // block_h * block_h
    return (min(max(col, 0), max(ds.width - patch, 0)), min(max(row, 0), max(ds.height - patch, 0)))


def _centred_origin(ds, col: int, row: int, patch: int) -> tuple[int, int]:
    col, row = col - patch // 2, row - patch // 2
    return (min(max(col, 0), max(ds.width - patch, 0)), min(max(row, 0), max(ds.height - patch, 0)))


def _read_patches(ds, indexes, origins, patch: int, alpha: int | None, how: str) -> BandSample:
    pw, ph = min(patch, ds.width), min(patch, ds.height)
    n = len(indexes)
    values = None
    valid = np.zeros((n, ph, pw * len(origins)), dtype=bool)
    for k, (col, row) in enumerate(origins):
        v, m = read_valid(ds, indexes, Window(col, row, pw, ph), alpha=alpha)
        if values is None:
            values = np.zeros((n, ph, pw * len(origins)), dtype=v.dtype)
        values[:, :, k * pw : (k + 1) * pw] = v
        valid[:, :, k * pw : (k + 1) * pw] = m
    return BandSample(values, valid, exhaustive=False, how=how)


def _fallback_sample(ds, indexes, patch: int, alpha: int | None) -> BandSample:
    """The patch grid saw only nodata: look at a small decimated mask of the whole extent (cheap for
    sparse files and overviews; a dense file without overviews pays one decimated pass), and sample
    patches where it found data, so a raster with data in a small area is not refused as empty."""
    scale = _FALLBACK_MASK_SIDE / max(ds.width, ds.height)
    out_hw = (max(1, round(ds.height * scale)), max(1, round(ds.width * scale)))
    full = Window(0, 0, ds.width, ds.height)
    # This pass touches every block once: a small block cache keeps GDAL from allocating (and
    # page-faulting) gigabytes of cache it will never reuse, which is most of its cost.
    with rasterio.Env(GDAL_CACHEMAX=_FALLBACK_CACHE_MB), warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataShadowWarning)
        masks = ds.read_masks(
            list(indexes), window=full, out_shape=(len(indexes), *out_hw), resampling=Resampling.nearest
        )
        valid = (masks > 0).any(axis=0)
        if alpha is not None:
            valid &= ds.read(alpha, window=full, out_shape=out_hw, resampling=Resampling.nearest) > 0
    rows, cols = np.nonzero(valid)
    how = f"decimated mask {out_hw[1]}x{out_hw[0]} after an all-nodata patch grid"
    if rows.size == 0:
        empty = np.zeros((len(indexes), *out_hw), dtype=bool)
        return BandSample(
            np.zeros((len(indexes), *out_hw), dtype=ds.dtypes[0]), empty, exhaustive=True, how=how
        )
    pick = np.linspace(0, rows.size - 1, min(rows.size, _FALLBACK_PATCHES)).round().astype(int)
    # Centre each patch on the source pixel the decimated read sampled, so it holds valid data.
    origins = [
        _centred_origin(
            ds,
            int((cols[k] + 0.5) * ds.width / out_hw[1]),
            int((rows[k] + 0.5) * ds.height / out_hw[0]),
            patch,
        )
        for k in pick
    ]
    sample = _read_patches(ds, indexes, origins, patch, alpha, how=how + f", then {len(origins)} patches")
    sample.exhaustive = True
    return sample
