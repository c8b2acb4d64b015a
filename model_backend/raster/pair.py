"""Two rasters on one grid, for change detection: the second is read on the first raster's grid.

The second raster is wrapped in a ``WarpedVRT`` with the first's CRS, transform and size, so pixel
``(col, row)`` of either raster is the same ground location; reads of the second are resampled only
where the grids differ (CRS, pixel size, or an origin that is not a whole number of pixels away).
Only the overlap of the two rasters is tiled; outside the second raster's footprint its pixels are
masked (nodata, or an added alpha band when it has neither nodata nor alpha).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from ..errors import ConfigError, RasterError
from .bandstack import per_member
from .georef import RasterGrid, pixel_size
from .source import (
    STRETCH_MODES,
    RasterImage,
    RasterSource,
    _open_dataset,
    _validate,
    gdal_reason,
    open_raster,
)

WindowTuple = tuple[int, int, int, int]


@dataclass
class RasterPair:
    """``first`` as opened; ``second`` readable on ``first``'s grid (same windows, same pixels).
    ``overlap`` is the window of ``first`` (raster pixels ``(col_off, row_off, width, height)``) that
    the second raster covers; ``resampled`` says whether reads of ``second`` interpolate."""

    first: RasterSource
    second: RasterSource
    overlap: WindowTuple
    resampled: bool
    owns_first: bool = False

    def read(
        self,
        window: WindowTuple | Window | None = None,
        out_shape: tuple[int, int] | None = None,
        resampling: Resampling = Resampling.nearest,
    ) -> tuple[RasterImage, RasterImage]:
        """The same window (default: the overlap) of both rasters, as ``(first, second)``."""
        window = self.overlap if window is None else window
        return (
            self.first.read(window, out_shape=out_shape, resampling=resampling),
            self.second.read(window, out_shape=out_shape, resampling=resampling),
        )

    def close(self) -> None:
        self.second.close()
        if self.owns_first:
            self.first.close()

    def __enter__(self) -> "RasterPair":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_pair(
    first_path: str | os.PathLike,
    second_path: str | os.PathLike,
    *,
    bands: Sequence[int] | None = None,
    second_bands: Sequence[int] | None = None,
    stretch: str = "auto",
    percentiles: tuple[float, float] = (2.0, 98.0),
    allow_pixel_coords: bool = False,
    resampling: Resampling = Resampling.bilinear,
    assets: Sequence[str] | None = None,
) -> RasterPair:
    """Open two rasters (before, after) with the second on the first's grid; both are closed with the
    pair. ``second_bands`` defaults to ``bands``; ``assets`` (STAC asset names) apply to both. See
    ``open_raster`` and ``align_to``."""
    first = open_raster(
        first_path,
        bands=bands,
        stretch=stretch,
        percentiles=percentiles,
        allow_pixel_coords=allow_pixel_coords,
        assets=assets,
    )
    try:
        pair = align_to(
            first,
            second_path,
            bands=bands if second_bands is None else second_bands,
            stretch=stretch,
            percentiles=percentiles,
            allow_pixel_coords=allow_pixel_coords,
            resampling=resampling,
            assets=assets,
        )
    except BaseException:
        first.close()
        raise
    pair.owns_first = True
    return pair


def align_to(
    first: RasterSource,
    second_path: str | os.PathLike,
    *,
    bands: Sequence[int] | None = None,
    stretch: str = "auto",
    percentiles: tuple[float, float] = (2.0, 98.0),
    allow_pixel_coords: bool = False,
    resampling: Resampling = Resampling.bilinear,
    assets: Sequence[str] | None = None,
) -> RasterPair:
    """Open ``second_path`` (validated like ``open_raster``, its stretch from its own sample) and make
    it readable on ``first``'s grid. ``resampling`` is used where the grids differ; an exact shift by
    whole pixels uses nearest. Raises ``RasterError`` when the rasters do not overlap, or when only one
    of them is georeferenced, or when two rasters without CRS do not share the same grid."""
    if stretch not in STRETCH_MODES:
        raise ConfigError(f"stretch must be one of {', '.join(STRETCH_MODES)}; got {stretch!r}")
    opened = _open_dataset(second_path, allow_pixel_coords=allow_pixel_coords, assets=assets)
    path = opened.path
    try:
        choice, band_stretch, sample = _validate(opened, bands, stretch, percentiles, True, 1024)
        src = opened.dataset
        ref = first.grid
        src_grid = RasterGrid(src.width, src.height, opened.georef)
        same_grid = _same_grid(ref, src_grid)
        if ref.crs is None or src_grid.crs is None:
            if (ref.crs is None) != (src_grid.crs is None):
                raise RasterError(
                    f"{first.path} and {path}: only one of the two rasters is georeferenced; "
                    "assign a CRS to the other one"
                )
            if not same_grid:
                raise RasterError(
                    f"{first.path} and {path}: without a CRS the two rasters must share the same size and "
                    "geotransform; assign a CRS to both so they can be aligned"
                )
        overlap = (0, 0, ref.width, ref.height) if same_grid else _overlap_window(ref, src_grid)
        if overlap is None:
            raise RasterError(
                f"{first.path} and {path} do not overlap: nothing to compare "
                f"(first covers {_fmt_bounds(ref.map_bounds())} in {first.crs_string}, "
                f"second covers {_fmt_bounds(src_grid.map_bounds())} in {src_grid.georef.crs_string})"
            )
        notes = list(opened.notes)
        if same_grid:
            dataset, resampled = src, False
        else:
            exact = _whole_pixel_shift(ref, src_grid)
            dataset = _warp_onto(
                src, ref, Resampling.nearest if exact or choice.lut is not None else resampling, path
            )
            opened.closers.append(dataset)
            resampled = not exact
            notes.append(
                f"read on the grid of {first.path}"
                + (" (shifted by whole pixels)" if exact else f" (resampled, {resampling.name})")
            )
    except BaseException:
        opened.close()
        raise
    second = RasterSource(
        path=path,
        dataset=dataset,
        grid=ref,
        choice=choice,
        stretch=band_stretch,
        notes=notes,
        closers=opened.closers,
        sample_how=sample.how if sample is not None else "",
        urls=opened.urls,
    )
    return RasterPair(first=first, second=second, overlap=overlap, resampled=resampled)


def _same_grid(a: RasterGrid, b: RasterGrid) -> bool:
    if (a.width, a.height) != (b.width, b.height) or (a.crs is None) != (b.crs is None):
        return False
    if a.crs is not None and a.crs != b.crs:
        return False
    tol = 1e-6 * min(pixel_size(a.transform))
    return all(abs(x - y) <= tol for x, y in zip(tuple(a.transform)[:6], tuple(b.transform)[:6]))


def _whole_pixel_shift(ref: RasterGrid, src: RasterGrid) -> bool:
    """Whether ``src``'s pixels coincide with ``ref``'s up to a whole-pixel offset (same CRS, same
    pixel size and orientation): then nearest resampling copies pixels exactly."""
    if ref.crs is None or ref.crs != src.crs:
        return False
    a, b = ref.transform, src.transform
    tol = 1e-6 * min(pixel_size(a))
    if any(abs(x - y) > tol for x, y in zip((a.a, a.b, a.d, a.e), (b.a, b.b, b.d, b.e))):
        return False
    col, row = ~a @ (b.c, b.f)
    return abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6


def _overlap_window(ref: RasterGrid, src: RasterGrid) -> WindowTuple | None:
    """The window of ``ref`` (whole pixels inside) covered by ``src``'s footprint."""
    bounds = src.map_bounds()
    if src.crs is not None and ref.crs is not None and src.crs != ref.crs:
        try:
            bounds = transform_bounds(src.crs, ref.crs, *bounds, densify_pts=21)
        except (RasterioError, ValueError) as exc:
            raise RasterError(
                f"cannot reproject the second raster's extent to the first's CRS: {exc}"
            ) from exc
    return ref.window_from_bounds(bounds, outward=False)


def _warp_onto(src, ref: RasterGrid, resampling: Resampling, path: str):
    """``src`` (a dataset, or each member of a ``BandStack``) as a ``WarpedVRT`` on ``ref``'s grid."""
    return per_member(src, lambda ds: _warp_one(ds, ref, resampling, path))


def _warp_one(src, ref: RasterGrid, resampling: Resampling, path: str) -> WarpedVRT:
    has_alpha = any(ci == ColorInterp.alpha for ci in src.colorinterp)
    try:
        return WarpedVRT(
            src,
            crs=ref.crs,
            transform=ref.transform,
            width=ref.width,
            height=ref.height,
            resampling=resampling,
            add_alpha=src.nodata is None and not has_alpha,
        )
    except (RasterioError, OSError) as exc:
        raise RasterError(
            f"{path}: cannot resample onto the first raster's grid: {gdal_reason(exc)}"
        ) from exc


def _fmt_bounds(b: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"
