"""Open and validate a GDAL raster through rasterio, choose its bands, and read it as the model sees it.

A read returns ``RasterImage``: ``rgb`` ``(H, W, 3)`` uint8 plus ``valid`` ``(H, W)`` bool, pixels in the
window's own frame (row-major, top-left corner first). Masked pixels (nodata, NaN, alpha = 0, outside a
warped footprint) are ``valid == False`` and set to 0 in every channel.

Validation happens at open, so a bad file fails before any model runs: missing path, not a raster,
unreadable pixel data (a few blocks are probe-read), no georeferencing, every pixel nodata (checked
on a bounded sample, see ``stretch.sample_bands``).

Besides files, a raster may be an http(s) URL of a (cloud-optimised) GeoTIFF or a STAC item (see
``locate``): it is read over HTTP range requests with ``remote.GDAL_HTTP_DEFAULTS`` in force, opened with
the GeoTIFF driver only, and validated more cheaply (no block probe, a smaller sample from overviews:
``REMOTE_SAMPLE_SIDE``, ``REMOTE_DECODE_BUDGET_PX``), so that opening fetches little more than the header.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from ..errors import ConfigError, RasterError
from . import remote
from .bandstack import BandStack, per_member
from .georef import Georef, RasterGrid, crs_to_string, pixel_size
from .locate import Located, locate
from .stretch import (
    BandSample,
    BandStretch,
    percentile_stretch,
    read_valid,
    sample_bands,
    shadowed_alpha,
    to_uint8_unscaled,
)

log = logging.getLogger(__name__)

#: Largest single read (output pixels) ``RasterSource.read`` accepts; larger areas must be tiled.
MAX_READ_PIXELS = 8192 * 8192

STRETCH_MODES = ("auto", "percentile", "none")

#: Longest side of the statistics sample of a remote raster: a COG serves it from a small overview.
REMOTE_SAMPLE_SIDE = 256
#: Most pixels per band the sample of a remote raster without overviews decodes (a few 256 px blocks).
REMOTE_DECODE_BUDGET_PX = 2**18

WindowLike = Window | tuple[int, int, int, int]


@dataclass
class RasterImage:
    """Pixels as the model sees them: ``rgb`` ``(H, W, 3)`` uint8, ``valid`` ``(H, W)`` bool."""

    rgb: np.ndarray
    valid: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (int(self.rgb.shape[1]), int(self.rgb.shape[0]))

    @property
    def any_valid(self) -> bool:
        return bool(self.valid.any())


@dataclass
class BandChoice:
    """The three raster bands (1-based) shown as R, G, B, and for a paletted band its colour table
    ``lut`` ``(n, 4)`` uint8 (RGBA; alpha 0 entries are treated as masked)."""

    bands: tuple[int, int, int]
    how: str
    lut: np.ndarray | None = None


@dataclass
class _Opened:
    """A validated dataset ready for band choice: ``dataset`` is what reads go to (a WarpedVRT for a
    GCP raster), ``raw`` the file as opened (for cheap statistics)."""

    path: str
    raw: object
    dataset: object
    georef: Georef
    notes: list[str] = field(default_factory=list)
    closers: list = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # what is read over HTTP (empty for local files)

    def close(self) -> None:
        for ds in reversed(self.closers):
            ds.close()
        self.closers.clear()


class RasterSource:
    """An opened, validated raster. Reads return ``RasterImage``; ``grid`` says where pixels lie.

    Not thread-safe (one rasterio dataset): open one source per reading thread. Use as a context
    manager or call ``close()``.
    """

    def __init__(
        self,
        *,
        path: str,
        dataset,
        grid: RasterGrid,
        choice: BandChoice,
        stretch: BandStretch | None,
        notes: Sequence[str] = (),
        closers: Sequence = (),
        sample_how: str = "",
        urls: Sequence[str] = (),
    ):
        self.path = path
        self.dataset = dataset
        self.grid = grid
        self.bands = choice.bands
        self.band_choice = choice
        self.stretch = stretch
        self.notes = list(notes)
        self.sample_how = sample_how
        self.urls = list(urls)  # read over HTTP (``path`` is then the redacted label)
        self._closers = list(closers)
        self._unique_bands = list(dict.fromkeys(self.bands))
        self._alpha = shadowed_alpha(dataset)

    # -- geometry -------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.grid.width

    @property
    def height(self) -> int:
        return self.grid.height

    @property
    def georef(self) -> Georef:
        """Raster pixels -> map coordinates (``crs`` None when opened in pixel coordinates)."""
        return self.grid.georef

    @property
    def transform(self) -> Affine:
        return self.grid.transform

    @property
    def crs(self):
        return self.grid.crs

    @property
    def georeferenced(self) -> bool:
        return self.grid.georef.georeferenced

    @property
    def crs_string(self) -> str:
        return crs_to_string(self.crs)

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Map units per raster pixel ``(x, y)``, positive."""
        return pixel_size(self.transform)

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(self.dataset.dtypes[b - 1] for b in self.bands)

    def describe(self) -> dict:
        """A summary for logs and run reports."""
        return {
            "path": self.path,
            "size": (self.width, self.height),
            "bands": self.bands,
            "band_choice": self.band_choice.how,
            "dtypes": self.dtypes,
            "crs": self.crs_string,
            "pixel_size": self.pixel_size,
            "georeferenced": self.georeferenced,
            "stretch": None if self.stretch is None else {"low": self.stretch.low, "high": self.stretch.high},
            "sample": self.sample_how,
            "notes": list(self.notes),
        }

    # -- reads ----------------------------------------------------------------------------------
    def read(
        self,
        window: WindowLike | None = None,
        out_shape: tuple[int, int] | None = None,
        resampling: Resampling = Resampling.nearest,
    ) -> RasterImage:
        """Read ``window`` (raster pixels ``(col_off, row_off, width, height)``, whole raster if None),
        resampled to ``out_shape`` ``(height, width)`` when given, as a ``RasterImage``."""
        win = self._check_window(window)
        h, w = (
            (int(win.height), int(win.width)) if out_shape is None else (int(out_shape[0]), int(out_shape[1]))
        )
        if h <= 0 or w <= 0:
            raise ValueError(f"out_shape must be positive, got {(h, w)}")
        if h * w > MAX_READ_PIXELS:
            raise RasterError(
                f"{self.path}: a single read of {w} x {h} pixels is too large; read it in tiles instead"
            )
        if self.band_choice.lut is not None:
            resampling = Resampling.nearest  # palette indexes must not be blended
        try:
            with remote.http_env() if self.urls else nullcontext():
                values, valid_b = read_valid(
                    self.dataset, self._unique_bands, win, (h, w), resampling=resampling, alpha=self._alpha
                )
        except (RasterioError, OSError) as exc:
            where = (f"{self.path}: cannot read pixels in window col {win.col_off}, row {win.row_off}, "
                     f"{win.width} x {win.height}")
            if self.urls:  # GDAL only says a block came back short: ask the server what is wrong
                raise RasterError(f"{where} over HTTP: {remote.diagnose(self.urls[0])}") from exc
            raise RasterError(f"{where}: {gdal_reason(exc)}") from exc
        return self._to_image(values, valid_b)

    def _to_image(self, values: np.ndarray, valid_b: np.ndarray) -> RasterImage:
        h, w = values.shape[1:]
        rgb = np.zeros((h, w, 3), dtype=np.uint8)
        lut = self.band_choice.lut
        if lut is not None:
            idx = np.clip(values[0], 0, lut.shape[0] - 1).astype(np.intp)
            rgb[:] = lut[idx, :3]
            valid = valid_b[0] & (lut[idx, 3] > 0)
        else:
            valid = valid_b.any(axis=0)
            for c, band in enumerate(self.bands):
                k = self._unique_bands.index(band)
                chan = self.stretch.apply(values[k], c) if self.stretch else to_uint8_unscaled(values[k])
                rgb[:, :, c] = np.where(valid_b[k], chan, 0)
        rgb[~valid] = 0
        return RasterImage(rgb, valid)

    def _check_window(self, window: WindowLike | None) -> Window:
        if window is None:
            return Window(0, 0, self.width, self.height)
        if isinstance(window, Window):
            parts = (window.col_off, window.row_off, window.width, window.height)
        else:
            parts = tuple(window)
        if len(parts) != 4 or any(float(p) != int(p) for p in parts):
            raise ValueError(f"a window is 4 whole numbers (col_off, row_off, width, height), got {parts}")
        col, row, w, h = (int(p) for p in parts)
        if w <= 0 or h <= 0 or col < 0 or row < 0 or col + w > self.width or row + h > self.height:
            raise ValueError(
                f"window {(col, row, w, h)} is not inside the raster ({self.width} x {self.height})"
            )
        return Window(col, row, w, h)

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        for ds in reversed(self._closers):
            ds.close()
        self._closers.clear()

    @property
    def closed(self) -> bool:
        return not self._closers

    def __enter__(self) -> "RasterSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RasterSource({self.path!r}, {self.width}x{self.height}, bands={self.bands}, crs={self.crs_string!r})"


def open_raster(
    path: str | os.PathLike,
    *,
    bands: Sequence[int] | None = None,
    stretch: str = "auto",
    percentiles: tuple[float, float] = (2.0, 98.0),
    allow_pixel_coords: bool = False,
    check_empty: bool = True,
    max_sample_side: int = 1024,
    assets: Sequence[str] | None = None,
) -> RasterSource:
    """Open and validate a raster for reading as RGB uint8.

    ``path``: a file GDAL reads, an http(s) URL of a GeoTIFF, or a STAC item (file or URL; ``assets`` names
    the assets to read, see ``stac``), each location passing the source guard in force (``remote``).

    ``bands``: 1-based indexes, three for R, G, B or one shown as grey; default: the bands whose colour
    interpretation is red/green/blue, else the first three non-alpha bands, else the first band
    repeated (a paletted band is expanded through its colour table). ``stretch``: ``"auto"`` leaves Byte
    bands as they are and stretches any other type per band between ``percentiles`` of a bounded sample
    (at most ``max_sample_side`` px on a side, never a full read); ``"percentile"`` stretches Byte too;
    ``"none"`` clips values to 0..255. A raster with only GCPs is warped to a georeferenced virtual
    raster in the GCPs' CRS. A raster without georeferencing is refused unless ``allow_pixel_coords``,
    which keeps its own transform (identity if none) with ``crs=None``.

    Raises ``RasterError`` naming the file and the problem; ``ConfigError`` for invalid settings.
    """
    if stretch not in STRETCH_MODES:
        raise ConfigError(f"stretch must be one of {', '.join(STRETCH_MODES)}; got {stretch!r}")
    opened = _open_dataset(path, allow_pixel_coords=allow_pixel_coords, assets=assets)
    try:
        choice, band_stretch, sample = _validate(opened, bands, stretch, percentiles, check_empty, max_sample_side)
    except BaseException:
        opened.close()
        raise
    grid = RasterGrid(opened.dataset.width, opened.dataset.height, opened.georef)
    for note in opened.notes:
        log.info("%s: %s", opened.path, note)
    return RasterSource(
        path=opened.path,
        dataset=opened.dataset,
        grid=grid,
        choice=choice,
        stretch=band_stretch,
        notes=opened.notes,
        closers=opened.closers,
        sample_how=sample.how if sample is not None else "",
        urls=opened.urls,
    )


def _validate(opened: _Opened, bands, stretch: str, percentiles, check_empty: bool, max_sample_side: int):
    """Band choice, probe read and stretch of an opened raster -> ``(choice, stretch, sample)``. Remote
    rasters skip the block probe (three blocks fetched for nothing: a bad block fails the tile that reads
    it) and take a smaller sample, from overviews where the file has them."""
    with remote.http_env() if opened.urls else nullcontext():
        choice = choose_bands(opened.dataset, bands, opened.path)
        budget = None
        if opened.urls:
            max_sample_side, budget = min(max_sample_side, REMOTE_SAMPLE_SIDE), REMOTE_DECODE_BUDGET_PX
        else:
            _probe_read(opened.dataset, opened.path)
        band_stretch, sample = _band_stretch(opened.raw, opened.path, choice, stretch, percentiles, check_empty,
                                             max_sample_side, budget)
    return choice, band_stretch, sample


def peek_crs(path: str | os.PathLike, assets: Sequence[str] | None = None):
    """The CRS of a raster (as ``open_raster`` reads it: a GCP-only raster's is its GCPs'), or ``None``;
    nothing but the header is read."""
    opened = _open_dataset(path, allow_pixel_coords=True, assets=assets)
    try:
        return opened.georef.crs
    finally:
        opened.close()


def gdal_reason(exc: BaseException) -> str:
    """The most specific message in a rasterio exception's chain (rasterio's own top message is often
    just "Read failed. See previous exception for details.")."""
    messages = []
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        text = str(cur).strip()
        if text and "see previous exception" not in text.lower():
            messages.append(text)
        cur = cur.__cause__ or cur.__context__
    return remote.scrub(messages[-1] if messages else str(exc))


def _is_virtual_path(path: str) -> bool:
    return (
        path.startswith("/vsi") or "://" in path or path.lower().startswith(("<vrtdataset", "netcdf:", "hdf"))
    )


def _open_dataset(path: str | os.PathLike, *, allow_pixel_coords: bool,
                  assets: Sequence[str] | None = None) -> _Opened:
    """Open ``path`` (see ``locate``) and settle its georeferencing (GCP warp, or pixel coordinates when
    allowed)."""
    located = locate(os.fspath(path), assets)
    with remote.http_env() if located.remote else nullcontext():
        datasets = []
        try:
            for part in located.parts:
                datasets.append(_open_part(part, located))
        except BaseException:
            for ds in datasets:
                ds.close()
            raise
    raw = datasets[0] if len(datasets) == 1 else BandStack(datasets, [p.name for p in located.parts], located.label)
    label = located.label
    opened = _Opened(path=label, raw=raw, dataset=raw, georef=Georef(raw.transform, raw.crs), closers=[raw],
                     urls=located.urls)
    try:
        if raw.count == 0 or raw.width == 0 or raw.height == 0:
            raise RasterError(f"{label}: the file has no raster bands or no pixels")
        _settle_georef(opened, allow_pixel_coords)
    except BaseException:
        opened.close()
        raise
    return opened


def _open_part(part, located: Located):
    """One file of a located raster as a rasterio dataset (a URL with the GeoTIFF driver only)."""
    path = part.path
    label = located.label if len(located.parts) == 1 else f"{located.label}, asset {part.name}"
    if part.url is None and not _is_virtual_path(path) and not os.path.exists(path):
        raise RasterError(f"{label}: file does not exist")
    try:
        with warnings.catch_warnings():
            # Georeferencing is checked below with a clearer message.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path, driver=part.driver) if part.driver else rasterio.open(path)
    except (RasterioError, OSError) as exc:
        text = remote.scrub(str(exc))
        if part.url:
            raise RasterError(f"{label}: cannot be read as a GeoTIFF over HTTP ({text})") from exc
        if "not recognized as" in text or "not a supported file format" in text:
            raise RasterError(f"{label}: not a raster GDAL can read ({text})") from exc
        raise RasterError(f"{label}: cannot be opened as a raster ({text})") from exc


def _settle_georef(opened: _Opened, allow_pixel_coords: bool) -> None:
    raw, path = opened.raw, opened.path
    gcps, gcp_crs = raw.gcps
    has_transform = not raw.transform.is_identity
    if not has_transform and gcps and gcp_crs is not None:
        opened.dataset = per_member(raw, lambda ds: _warp_gcps(ds, gcp_crs, path))
        opened.closers.append(opened.dataset)
        opened.georef = Georef(opened.dataset.transform, gcp_crs)
        opened.notes.append(
            f"warped from {len(gcps)} ground control points to a virtual raster in {crs_to_string(gcp_crs)}"
        )
        return
    if raw.crs is not None and has_transform:
        if raw.transform.is_degenerate:
            raise RasterError(
                f"{path}: the geotransform {tuple(raw.transform)[:6]} is degenerate (zero pixel size)"
            )
        opened.georef = Georef(raw.transform, raw.crs)
        return
    problem = (
        "has no coordinate reference system (CRS)"
        if raw.crs is None
        else "has a CRS but no geotransform or ground control points"
    )
    if not allow_pixel_coords:
        raise RasterError(
            f"{path}: the raster {problem}; assign a CRS (e.g. with QGIS 'Assign Projection' or gdal_edit.py "
            "-a_srs) or allow pixel coordinates to work in the raster's pixel frame"
        )
    if raw.transform.is_degenerate:
        raise RasterError(
            f"{path}: the geotransform {tuple(raw.transform)[:6]} is degenerate (zero pixel size)"
        )
    opened.georef = Georef(raw.transform, None)
    opened.notes.append(
        f"the raster {problem}: coordinates are in its own pixel frame"
        + ("" if raw.transform.is_identity else " through its geotransform")
        + ", not georeferenced"
    )


def _warp_gcps(raw, gcp_crs, path: str) -> WarpedVRT:
    """A virtual raster warped from the GCPs (polynomial fit) into their CRS. Pixels outside the
    warped footprint are masked: by the source nodata when there is one, else by an added alpha band."""
    has_alpha = any(ci == ColorInterp.alpha for ci in raw.colorinterp)
    paletted = raw.colorinterp[0] == ColorInterp.palette
    try:
        return WarpedVRT(
            raw,
            src_crs=gcp_crs,
            crs=gcp_crs,
            resampling=Resampling.nearest if paletted else Resampling.bilinear,
            add_alpha=raw.nodata is None and not has_alpha,
            SRC_METHOD="GCP_POLYNOMIAL",
        )
    except (RasterioError, OSError) as exc:
        raise RasterError(
            f"{path}: cannot warp the raster from its ground control points: {gdal_reason(exc)}"
        ) from exc


def choose_bands(ds, bands: Sequence[int] | None, path: str = "") -> BandChoice:
    """The bands shown as R, G, B (see ``open_raster``). ``ds`` is a rasterio dataset."""
    count = ds.count
    if bands is not None:
        try:
            picked = tuple(int(b) for b in bands)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bands must be 1-based band numbers, got {bands!r}") from exc
        if any(isinstance(b, bool) or float(b) != int(b) for b in bands):
            raise ConfigError(f"bands must be whole 1-based band numbers, got {bands!r}")
        if len(picked) not in (1, 3):
            raise ConfigError(
                f"give 3 bands (R, G, B) or 1 band (shown as grey), got {len(picked)}: {picked}"
            )
        bad = [b for b in picked if not 1 <= b <= count]
        if bad:
            raise RasterError(f"{path}: band {bad[0]} does not exist; the raster has bands 1 to {count}")
        if len(picked) == 1:
            return BandChoice((picked[0],) * 3, f"band {picked[0]} as grey (requested)")
        return BandChoice(picked, f"bands {picked} (requested)")

    interp = list(ds.colorinterp)
    if interp[0] == ColorInterp.palette:
        lut = _palette_lut(ds)
        if lut is not None:
            return BandChoice((1, 1, 1), "band 1 through its colour table", lut)
    rgb = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    if all(ci in interp for ci in rgb):
        picked = tuple(interp.index(ci) + 1 for ci in rgb)
        return BandChoice(picked, f"bands {picked} by colour interpretation")
    non_alpha = [i + 1 for i, ci in enumerate(interp) if ci != ColorInterp.alpha]
    if len(non_alpha) >= 3:
        picked = tuple(non_alpha[:3])
        return BandChoice(picked, f"bands {picked} (first three)")
    if non_alpha:
        return BandChoice((non_alpha[0],) * 3, f"band {non_alpha[0]} as grey (single band)")
    raise RasterError(f"{path}: the raster has only alpha bands, nothing to show")


def _palette_lut(ds) -> np.ndarray | None:
    try:
        cmap = ds.colormap(1)
    except ValueError:
        return None
    if not cmap:
        return None
    lut = np.zeros((max(cmap) + 1, 4), dtype=np.uint8)
    for index, rgba in cmap.items():
        lut[index] = rgba
    return lut


def _probe_points(ds) -> list[tuple[int, int]]:
    """``(col, row)`` at the first, centre and last block of the raster."""
    block_h, block_w = ds.block_shapes[0]
    last_col, last_row = ds.width - 1, ds.height - 1
    centre_col = (ds.width // 2) // block_w * block_w
    centre_row = (ds.height // 2) // block_h * block_h
    return list(dict.fromkeys([(0, 0), (centre_col, centre_row), (last_col, last_row)]))


def _probe_read(ds, path: str) -> None:
    """Read one pixel of all bands in a few blocks so that corrupt pixel data fails at open."""
    for col, row in _probe_points(ds):
        try:
            ds.read(window=Window(col, row, 1, 1))
        except (RasterioError, OSError) as exc:
            raise RasterError(
                f"{path}: pixel data cannot be read near column {col}, row {row} (corrupt or truncated file?): {gdal_reason(exc)}"
            ) from exc


def _band_stretch(
    raw,
    path: str,
    choice: BandChoice,
    mode: str,
    percentiles: tuple[float, float],
    check_empty: bool,
    max_side: int,
    budget_px: int | None = None,
) -> tuple[BandStretch | None, BandSample | None]:
    """Sample the chosen bands, refuse an all-nodata raster, and work out the stretch."""
    unique = list(dict.fromkeys(choice.bands))
    dtypes = [raw.dtypes[b - 1] for b in unique]
    needs_stretch = choice.lut is None and (
        mode == "percentile" or (mode == "auto" and any(dt != "uint8" for dt in dtypes))
    )
    if not (needs_stretch or check_empty):
        return None, None
    try:
        sample = sample_bands(raw, unique, max_side=max_side, budget_px=budget_px)
    except (RasterioError, OSError) as exc:
        raise RasterError(
            f"{path}: pixel data cannot be read (corrupt or truncated file?): {gdal_reason(exc)}"
        ) from exc
    if check_empty and not sample.any_valid:
        raise RasterError(
            f"{path}: every pixel of bands {tuple(unique)} is nodata (checked on a {sample.how}); "
            "choose other bands or another file"
        )
    if not needs_stretch:
        return None, sample
    per_band = percentile_stretch(sample, dtypes, percentiles)
    k = [unique.index(b) for b in choice.bands]
    return BandStretch(tuple(per_band.low[i] for i in k), tuple(per_band.high[i] for i in k)), sample
