"""8-bit stretch of raster bands: per-band percentiles from a bounded sample, then linear scaling.

The sample is never a full read of a large raster, and its cost is bounded in *decoded pixels*, not in
reads: GDAL decompresses whole blocks (tiles, or strips of full raster rows), so a small window costs
every block it touches. A raster at most ``max_side`` pixels on a side is read whole; a larger one is
read decimated when GDAL can serve that from an overview (or the level it would read is small);
otherwise a grid of block-aligned cells, each a few whole blocks read decimated, spread over the
raster, decoding at most ``_DECODE_BUDGET_PX`` pixels per band in all (a few dozen 512 px tiles, or a
few hundred rows of a striped file), whatever the raster's size or layout.
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

from .gdal_cache import cache_bytes

WindowTuple = tuple[int, int, int, int]  # (col_off, row_off, width, height) in raster pixels

# Most pixels per band a sample may decode: a decimated read is "cheap" when the level GDAL actually
# reads has at most this many, and the cells of a sample without one decode at most this many in all.
_DECODE_BUDGET_PX = 8 * 2**20
# Most cells in a sample (spread over the raster); cells grow to several blocks when blocks are small.
_MAX_CELLS = 256
# Side of the centred patches read around the valid pixels the fallback pass finds.
_FALLBACK_PATCH = 64
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
    shape, bool: not nodata, not masked by alpha, finite). A whole or decimated read keeps the
    raster's layout; scattered patches are laid end to end (``h`` = 1). ``exhaustive`` says whether it
    saw the whole extent (every area, possibly decimated) rather than scattered patches."""

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


def sample_bands(ds, indexes: Sequence[int], max_side: int = 1024, budget_px: int | None = None) -> BandSample:
    """A bounded sample of bands ``indexes`` of the rasterio dataset ``ds`` for statistics and the
    all-nodata check (see the module docstring for the strategy). At most about ``max_side**2``
    pixels per band are returned; at most about ``budget_px`` (default ``_DECODE_BUDGET_PX``) per band
    are decoded, unless the cells saw only nodata and the fallback pass looks at the whole extent (cheap
    where blocks are absent, as in a sparse file, or overviews exist)."""
    budget_px = _DECODE_BUDGET_PX if budget_px is None else budget_px
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
    if level_pixels <= budget_px:
        values, valid = read_valid(ds, indexes, full, out_hw, alpha=alpha)
        how = f"decimated read {out_hw[1]}x{out_hw[0]}" + (f" from overview 1/{level}" if level > 1 else "")
        return BandSample(values, valid, exhaustive=True, how=how)

    cells = sample_cells(ds, budget_px)
    cell_w, cell_h = cells[0][2], cells[0][3]
    sample = _read_cells(
        ds, indexes, cells, max_side * max_side, alpha,
        how=f"{len(cells)} patches of {cell_w}x{cell_h} px (whole blocks, decimated)",
    )
    if sample.any_valid:
        return sample
    return _fallback_sample(ds, indexes, _FALLBACK_PATCH, alpha)


def sample_cells(ds, budget_px: int = _DECODE_BUDGET_PX, max_cells: int = _MAX_CELLS) -> list[WindowTuple]:
    """Block-aligned windows ``(col, row, width, height)`` in raster pixels, spread evenly over ``ds``,
    that together decode at most about ``budget_px`` pixels per band: each cell is a whole number of
    blocks (one tile; a run of full-width strips), because reading any part of a block decodes it all.

    Cells are square-ish where blocks are (a cell of small tiles covers several of them) and full
    raster rows in a striped file, whose strips span the width."""
    block_h, block_w = ds.block_shapes[0]
    block_w, block_h = min(block_w, ds.width), min(block_h, ds.height)
    blocks_x, blocks_y = math.ceil(ds.width / block_w), math.ceil(ds.height / block_h)
    block_px = block_w * block_h
    cell_target = max(block_px, budget_px / max_cells)
    kx = min(blocks_x, max(1, round(math.sqrt(cell_target) / block_w)))
    ky = min(blocks_y, max(1, round(cell_target / (kx * block_w) / block_h)))
    cell_w, cell_h = kx * block_w, ky * block_h
    n_cells = max(1, min(max_cells, int(budget_px // (cell_w * cell_h))))
    slots_x, slots_y = max(1, ds.width // cell_w), max(1, ds.height // cell_h)
    # a gx x gy grid of cells with about the raster's aspect ratio, no more cells than slots per axis
    gx = min(slots_x, max(1, round(math.sqrt(n_cells * slots_x / slots_y))))
    gy = min(slots_y, max(1, n_cells // gx))
    cells = []
    for j in range(gy):
        row = int((j + 0.5) * slots_y / gy) * cell_h
        for i in range(gx):
            col = int((i + 0.5) * slots_x / gx) * cell_w
            cells.append((col, row, min(cell_w, ds.width - col), min(cell_h, ds.height - row)))
    return cells


def _level_gdal_reads(ds, band: int, out_hw: tuple[int, int]) -> int:
    """Decimation factor of the level GDAL would read for an ``out_hw`` request: the coarsest
    overview still at least as large as the request (1 = full resolution)."""
    best = 1
    for factor in ds.overviews(band):
        if math.ceil(ds.width / factor) >= out_hw[1] and math.ceil(ds.height / factor) >= out_hw[0]:
            best = max(best, factor)
    return best


def _centred_origin(ds, col: int, row: int, patch: int) -> tuple[int, int]:
    col, row = col - patch // 2, row - patch // 2
    return (min(max(col, 0), max(ds.width - patch, 0)), min(max(row, 0), max(ds.height - patch, 0)))


def _read_cells(ds, indexes, cells: Sequence[WindowTuple], max_px: int, alpha: int | None, how: str) -> BandSample:
    """Read each window of ``cells``, decimated (nearest) so that all together return at most about
    ``max_px`` pixels per band. The cells' pixels follow one another in a ``(bands, 1, N)`` sample:
    cells of different shapes (clipped at the raster's edge) cannot stack, and statistics need no
    2-D layout."""
    share = max_px / len(cells)
    values_parts, valid_parts = [], []
    for col, row, w, h in cells:
        out_hw = None
        if w * h > share:
            f = math.sqrt(share / (w * h))
            out_hw = (max(1, round(h * f)), max(1, round(w * f)))
        v, m = read_valid(ds, indexes, Window(col, row, w, h), out_hw, alpha=alpha)
        values_parts.append(v.reshape(len(indexes), -1))
        valid_parts.append(m.reshape(len(indexes), -1))
    values = np.concatenate(values_parts, axis=1)[:, None, :]
    valid = np.concatenate(valid_parts, axis=1)[:, None, :]
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
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes(_FALLBACK_CACHE_MB)), warnings.catch_warnings():
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
    pw, ph = min(patch, ds.width), min(patch, ds.height)
    windows = [(col, row, pw, ph) for col, row in origins]
    sample = _read_cells(ds, indexes, windows, pw * ph * len(windows), alpha,
                         how=how + f", then {len(origins)} patches")
    sample.exhaustive = True
    return sample
