"""Overlapping tiles over a raster, planned and read lazily.

Two frames per tile: *raster pixels* (the window read from the raster) and *image pixels* (the image
sent to the model, ``image_size`` = ``(width, height)``). Without ``gsd`` both are the same size; with
``gsd`` the window is scaled so one image pixel covers ``gsd`` map units, and the read is resampled.
A tile's ``image_to_raster`` affine maps image pixels to raster pixels (scale + offset, no rotation);
``georef`` maps image pixels to map coordinates through the raster's full transform.

Tiles are produced one at a time: a plan holds only the per-axis start offsets, and reading yields
each tile's pixels before the next is read, so memory stays bounded for any raster size.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from ..errors import ConfigError, RasterError
from ..geometry.types import XY, GeoObject
from .georef import Georef, RasterGrid, pixel_size, pixel_to_map, transform_objects
from .source import RasterImage, RasterSource

log = logging.getLogger(__name__)

WindowTuple = tuple[int, int, int, int]  # (col_off, row_off, width, height) in raster pixels


@dataclass(frozen=True)
class TileLayout:
    """How to cut tiles. ``tile_size`` and ``overlap`` are in pixels of the image sent to the model
    (square tiles). ``gsd``: map units (of the raster's CRS) per image pixel; ``None`` reads raster
    pixels one to one. ``max_tiles``: plans with more tiles are refused (``None``: no cap)."""

    tile_size: int = 1024
    overlap: int = 128
    gsd: float | None = None
    max_tiles: int | None = None

    def __post_init__(self):
        if isinstance(self.tile_size, bool) or int(self.tile_size) != self.tile_size or self.tile_size < 1:
            raise ConfigError(f"tile size must be a positive whole number of pixels, got {self.tile_size!r}")
        if isinstance(self.overlap, bool) or int(self.overlap) != self.overlap or self.overlap < 0:
            raise ConfigError(f"tile overlap must be a whole number of pixels >= 0, got {self.overlap!r}")
        if self.overlap >= self.tile_size:
            raise ConfigError(
                f"tile overlap ({self.overlap}) must be smaller than the tile size ({self.tile_size})"
            )
        if self.gsd is not None and not (math.isfinite(self.gsd) and self.gsd > 0):
            raise ConfigError(f"gsd must be a positive number of map units per pixel, got {self.gsd!r}")


@dataclass(frozen=True)
class Tile:
    """One tile: ``window`` in raster pixels, ``image_size`` ``(width, height)`` of the image sent,
    ``image_to_raster`` (image px -> raster px) and ``georef`` (image px -> map, in the raster's CRS).
    ``grid_rc`` is the tile's (row, column) in the plan, ``index`` its position in iteration order."""

    index: int
    grid_rc: tuple[int, int]
    window: WindowTuple
    image_size: tuple[int, int]
    image_to_raster: Affine
    georef: Georef

    @property
    def transform(self) -> Affine:
        """Image pixels -> map coordinates."""
        return self.georef.transform

    @property
    def crs(self):
        return self.georef.crs

    @property
    def rio_window(self) -> Window:
        return Window(*self.window)

    @property
    def out_shape(self) -> tuple[int, int]:
        """``(height, width)`` of the image sent, as rasterio's ``out_shape`` wants it."""
        return (self.image_size[1], self.image_size[0])

    @property
    def scale(self) -> tuple[float, float]:
        """Raster pixels per image pixel ``(x, y)``; > 1 means the image is downsampled."""
        return (self.image_to_raster.a, self.image_to_raster.e)

    def to_raster_px(self, xy_img: XY) -> XY:
        """Image-sent pixel -> raster pixel (corner convention, fractional)."""
        return pixel_to_map(self.image_to_raster, xy_img)

    def from_raster_px(self, xy_raster: XY) -> XY:
        """Raster pixel -> image-sent pixel (may fall outside the tile)."""
        return pixel_to_map(~self.image_to_raster, xy_raster)

    def to_map(self, xy_img: XY) -> XY:
        """Image-sent pixel -> map coordinates in ``crs``."""
        return self.georef.to_map(xy_img)

    def objects_to_raster_px(self, objects: Iterable[GeoObject]) -> list[GeoObject]:
        """Objects in image-sent pixels -> raster pixels (axis-aligned, so boxes stay boxes)."""
        return transform_objects(objects, self.image_to_raster)

    def objects_from_raster_px(self, objects: Iterable[GeoObject]) -> list[GeoObject]:
        """Objects in raster pixels -> image-sent pixels of this tile."""
        return transform_objects(objects, ~self.image_to_raster)

    def objects_to_map(self, objects: Iterable[GeoObject]) -> list[GeoObject]:
        """Objects in image-sent pixels -> map coordinates (rotating transforms turn a ``SegTarget``
        into a polygon, see ``georef.transform_object``)."""
        return self.georef.objects_to_map(objects)


@dataclass
class TileImage:
    """A tile and its pixels: ``rgb`` ``(H, W, 3)`` uint8 and ``valid`` ``(H, W)`` in image pixels."""

    tile: Tile
    rgb: np.ndarray
    valid: np.ndarray


@dataclass
class TilePair:
    """A tile of a raster pair: the same window of the first raster and of the second raster resampled
    onto the first's grid (``pair.RasterPair``)."""

    tile: Tile
    first: RasterImage
    second: RasterImage


@dataclass
class TileReport:
    """What a tile reader did: tiles planned, yielded, and those skipped as entirely nodata."""

    planned: int = 0
    yielded: int = 0
    skipped_empty: list[Tile] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.yielded} of {self.planned} tiles read, {len(self.skipped_empty)} skipped as entirely nodata"


def axis_starts(length: int, tile: int, stride: int, region: tuple[int, int] | None = None) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels stepping by ``stride`` along an axis of ``length``
    pixels, covering ``region`` = ``[start, stop)`` (default the whole axis).

    Every start lies in ``[0, length - tile]``, so tiles are full size when the axis is at least one tile
    long; the last tile is shifted back to end at the region's end (its overlap with the previous one
    grows). A region shorter than a tile gets one tile centred on it, clamped to the axis.
    """
    if tile < 1 or stride < 1:
        raise ValueError(f"tile and stride must be >= 1, got {tile}, {stride}")
    r0, r1 = (0, length) if region is None else region
    if not 0 <= r0 < r1 <= length:
        raise ValueError(f"region {(r0, r1)} is not inside an axis of {length} pixels")
    if tile >= length:
        return [0]
    if r1 - r0 <= tile:
        centred = r0 + (r1 - r0) // 2 - tile // 2
        return [min(max(centred, 0), length - tile)]
    n = math.ceil((r1 - r0 - tile) / stride) + 1
    starts = [r0 + i * stride for i in range(n - 1)]
    starts.append(r1 - tile)
    return starts


class TilePlan:
    """The tiles of one raster grid for one layout, enumerated lazily (rows top to bottom, columns
    left to right). ``len(plan)`` is known up front; iterating yields ``Tile`` objects."""

    def __init__(
        self,
        grid: RasterGrid,
        layout: TileLayout,
        region: WindowTuple | None = None,
    ):
        self.grid = grid
        self.layout = layout
        self.region = region or (0, 0, grid.width, grid.height)
        rc, rr, rw, rh = self.region
        if rw <= 0 or rh <= 0 or rc < 0 or rr < 0 or rc + rw > grid.width or rr + rh > grid.height:
            raise ValueError(f"region {self.region} is not inside the raster ({grid.width} x {grid.height})")

        # Raster pixels per image pixel along x and y.
        if layout.gsd is None:
            fx = fy = 1.0
        else:
            res_x, res_y = pixel_size(grid.transform)
            fx, fy = layout.gsd / res_x, layout.gsd / res_y
        self.win_w, self.img_w, ov_w = _axis_sizes(layout.tile_size, layout.overlap, fx, grid.width)
        self.win_h, self.img_h, ov_h = _axis_sizes(layout.tile_size, layout.overlap, fy, grid.height)
        self.overlap_px = (ov_w, ov_h)
        self.col_starts = axis_starts(grid.width, self.win_w, self.win_w - ov_w, (rc, rc + rw))
        self.row_starts = axis_starts(grid.height, self.win_h, self.win_h - ov_h, (rr, rr + rh))
        if layout.max_tiles is not None and len(self) > layout.max_tiles:
            # a tiny gsd or tile size can plan hundreds of thousands of model calls: say so before any
            gsd = f", gsd {layout.gsd:g}" if layout.gsd is not None else ""
            raise ConfigError(
                f"the run would cut {len(self):,} tiles ({len(self.row_starts):,} rows x {len(self.col_starts):,} "
                f"columns at tile size {layout.tile_size} px{gsd}), more than the cap of {layout.max_tiles:,}: "
                "use a coarser gsd, larger tiles or a smaller area, or raise max_tiles (--max-tiles)"
            )
        self._image_to_raster_scale = Affine.scale(self.win_w / self.img_w, self.win_h / self.img_h)

    def __len__(self) -> int:
        return len(self.col_starts) * len(self.row_starts)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of tiles."""
        return (len(self.row_starts), len(self.col_starts))

    @property
    def window_size(self) -> tuple[int, int]:
        """``(width, height)`` of every tile's window in raster pixels."""
        return (self.win_w, self.win_h)

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of every image sent."""
        return (self.img_w, self.img_h)

    def __iter__(self) -> Iterator[Tile]:
        for i in range(len(self.row_starts)):
            for j in range(len(self.col_starts)):
                yield self.tile_at(i, j)

    def tile_at(self, i: int, j: int) -> Tile:
        """The tile of row ``i`` and column ``j`` of the plan (the one iteration yields at ``index``
        ``i * columns + j``)."""
        col, row = self.col_starts[j], self.row_starts[i]
        to_raster = Affine.translation(col, row) @ self._image_to_raster_scale
        return Tile(
            index=i * len(self.col_starts) + j,
            grid_rc=(i, j),
            window=(col, row, self.win_w, self.win_h),
            image_size=(self.img_w, self.img_h),
            image_to_raster=to_raster,
            georef=self.grid.georef.compose(to_raster),
        )

    def tiles_containing(self, bounds_px: tuple[float, float, float, float]) -> list[Tile]:
        """The tiles whose window holds all of ``bounds_px`` = ``(x0, y0, x1, y1)`` in raster pixels (corner
        convention), found from the start offsets without walking the whole plan."""
        x0, y0, x1, y1 = bounds_px
        cols = [j for j, c in enumerate(self.col_starts) if c <= x0 and x1 <= c + self.win_w]
        rows = [i for i, r in enumerate(self.row_starts) if r <= y0 and y1 <= r + self.win_h]
        return [self.tile_at(i, j) for i in rows for j in cols]

    def window_tile(self, bounds_px: tuple[float, float, float, float], margin: float = 0.1,
                    max_image_side: int | None = None) -> Tile:
        """A window at this plan's scale (raster pixels per image pixel) centred on ``bounds_px`` = ``(x0, y0,
        x1, y1)`` (raster pixels, corner convention): a tile's size, or larger when the bounds grown by
        ``margin`` (a share of their size on each side) need more, clamped to the raster. Its image is
        ``max_image_side`` px at most along each axis (then it is read downsampled). Not a tile of the plan:
        ``index`` and ``grid_rc`` are -1."""
        x0, y0, x1, y1 = bounds_px
        fx, fy = self.win_w / self.img_w, self.win_h / self.img_h
        cols = _centred_span(x0, x1, self.win_w, margin, self.grid.width)
        rows = _centred_span(y0, y1, self.win_h, margin, self.grid.height)
        img_w, img_h = max(1, round(cols[1] / fx)), max(1, round(rows[1] / fy))
        if max_image_side is not None and max(img_w, img_h) > max_image_side:
            shrink = max_image_side / max(img_w, img_h)
            img_w, img_h = max(1, round(img_w * shrink)), max(1, round(img_h * shrink))
        to_raster = Affine.translation(cols[0], rows[0]) @ Affine.scale(cols[1] / img_w, rows[1] / img_h)
        return Tile(
            index=-1,
            grid_rc=(-1, -1),
            window=(cols[0], rows[0], cols[1], rows[1]),
            image_size=(img_w, img_h),
            image_to_raster=to_raster,
            georef=self.grid.georef.compose(to_raster),
        )


def _centred_span(lo: float, hi: float, size: int, margin: float, length: int) -> tuple[int, int]:
    """``(start, size)`` in whole pixels along one axis: at least ``size`` long, holding ``[lo, hi]`` grown by
    ``margin`` of its length on each side, centred on it and clamped to ``[0, length]``."""
    grow = (hi - lo) * margin
    size = min(length, max(size, math.ceil(hi - lo + 2 * grow)))
    start = round((lo + hi) / 2 - size / 2)
    return min(max(start, 0), length - size), size


def _axis_sizes(tile_size: int, overlap: int, f: float, length: int) -> tuple[int, int, int]:
    """``(window, image, overlap)`` sizes along one axis: window and overlap in raster pixels, image in
    image pixels, for ``f`` raster pixels per image pixel."""
    win = max(1, round(tile_size * f))
    ov = min(round(overlap * f), win - 1)
    if win >= length:
        # The raster is smaller than a tile along this axis: one window over all of it.
        return length, max(1, round(length / f)), 0
    return win, tile_size, max(ov, 0)


def plan_tiles(
    grid: RasterGrid | RasterSource,
    layout: TileLayout,
    *,
    aoi_window: WindowTuple | Window | None = None,
    aoi_bounds: Sequence[float] | None = None,
    aoi_crs=None,
) -> TilePlan:
    """Plan tiles over ``grid`` (or a source's grid), optionally limited to an area of interest:
    ``aoi_window`` in raster pixels ``(col_off, row_off, width, height)``, or ``aoi_bounds``
    ``(left, bottom, right, top)`` in the raster's CRS (or in ``aoi_crs``, reprojected). Tiles cover the
    area of interest; they may extend past it (up to the raster's edge) to keep their full size.
    Raises ``RasterError`` when the area of interest misses the raster."""
    if isinstance(grid, RasterSource):
        grid = grid.grid
    region = resolve_aoi(grid, aoi_window=aoi_window, aoi_bounds=aoi_bounds, aoi_crs=aoi_crs)
    return TilePlan(grid, layout, region)


def resolve_aoi(
    grid: RasterGrid,
    *,
    aoi_window: WindowTuple | Window | None = None,
    aoi_bounds: Sequence[float] | None = None,
    aoi_crs=None,
) -> WindowTuple:
    """The area of interest as a raster-pixel window clipped to the grid (whole grid if none given)."""
    if aoi_window is not None and aoi_bounds is not None:
        raise ConfigError("give the area of interest as a window or as map bounds, not both")
    full = (0, 0, grid.width, grid.height)
    if aoi_window is not None:
        if isinstance(aoi_window, Window):
            c, r, w, h = aoi_window.col_off, aoi_window.row_off, aoi_window.width, aoi_window.height
        else:
            c, r, w, h = aoi_window
        clipped = _intersect(
            full,
            (
                math.floor(c),
                math.floor(r),
                math.ceil(c + w) - math.floor(c),
                math.ceil(r + h) - math.floor(r),
            ),
        )
        if clipped is None:
            raise RasterError(
                f"the area of interest (pixel window {tuple(aoi_window)}) does not overlap the raster"
            )
        return clipped
    if aoi_bounds is not None:
        bounds = tuple(float(v) for v in aoi_bounds)
        if len(bounds) != 4 or bounds[2] <= bounds[0] or bounds[3] <= bounds[1]:
            raise ConfigError(
                f"area of interest bounds must be (left, bottom, right, top), got {tuple(aoi_bounds)}"
            )
        if aoi_crs is not None and grid.crs is not None:
            bounds = transform_bounds(aoi_crs, grid.crs, *bounds, densify_pts=21)
        window = grid.window_from_bounds(bounds, outward=True)
        if window is None:
            raise RasterError(f"the area of interest (map bounds {bounds}) does not overlap the raster")
        return window
    return full


def _intersect(a: WindowTuple, b: WindowTuple) -> WindowTuple | None:
    c0, r0 = max(a[0], b[0]), max(a[1], b[1])
    c1, r1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if c1 <= c0 or r1 <= r0:
        return None
    return (c0, r0, c1 - c0, r1 - r0)


def auto_resampling(tile: Tile) -> Resampling:
    """Nearest for a one-to-one read, average when the image is downsampled, bilinear when upsampled."""
    sx, sy = tile.scale
    if math.isclose(sx, 1.0) and math.isclose(sy, 1.0):
        return Resampling.nearest
    return Resampling.average if max(sx, sy) > 1.0 else Resampling.bilinear


def iter_tiles(
    source: RasterSource,
    plan: TilePlan | TileLayout,
    *,
    skip_empty: bool = False,
    report: TileReport | None = None,
    resampling: Resampling | None = None,
) -> Iterator[TileImage]:
    """Read the tiles of ``plan`` (or of a layout over the whole raster) one at a time.

    ``skip_empty`` drops tiles whose pixels are all nodata; each skipped tile is logged and recorded in
    ``report.skipped_empty``. ``resampling`` defaults to ``auto_resampling``.
    """
    if isinstance(plan, TileLayout):
        plan = TilePlan(source.grid, plan)
    elif plan.grid != source.grid:
        raise ValueError(f"the tile plan was made for another raster grid than {source.path}")
    report = report if report is not None else TileReport()
    report.planned += len(plan)
    for tile in plan:
        img = source.read(
            tile.window, out_shape=tile.out_shape, resampling=resampling or auto_resampling(tile)
        )
        if skip_empty and not img.any_valid:
            _skip(report, tile, source.path)
            continue
        report.yielded += 1
        yield TileImage(tile, img.rgb, img.valid)


def plan_pair_tiles(
    pair,
    layout: TileLayout,
    *,
    aoi_window: WindowTuple | Window | None = None,
    aoi_bounds: Sequence[float] | None = None,
    aoi_crs=None,
) -> TilePlan:
    """Plan tiles of a ``pair.RasterPair`` over the two rasters' overlap, intersected with an optional area
    of interest (see ``plan_tiles``), on the first raster's grid. Raises ``RasterError`` when the area of
    interest misses the overlap."""
    region = pair.overlap
    if aoi_window is not None or aoi_bounds is not None:
        aoi = resolve_aoi(pair.first.grid, aoi_window=aoi_window, aoi_bounds=aoi_bounds, aoi_crs=aoi_crs)
        region = _intersect(region, aoi)
        if region is None:
            raise RasterError(
                f"the area of interest does not overlap the common area of {pair.first.path} and {pair.second.path}"
            )
    return TilePlan(pair.first.grid, layout, region)


def iter_tile_pairs(
    pair,
    layout: TileLayout | TilePlan,
    *,
    aoi_window: WindowTuple | Window | None = None,
    aoi_bounds: Sequence[float] | None = None,
    aoi_crs=None,
    skip_empty: bool = False,
    report: TileReport | None = None,
    resampling: Resampling | None = None,
) -> Iterator[TilePair]:
    """Tiles of a ``pair.RasterPair`` over the two rasters' overlap (intersected with an optional
    area of interest, see ``plan_pair_tiles``; or the tiles of a ``TilePlan`` already made), both read with
    the same window. ``skip_empty`` drops tiles where either raster is entirely nodata (recorded in
    ``report``)."""
    if isinstance(layout, TilePlan):
        plan = layout
    else:
        plan = plan_pair_tiles(pair, layout, aoi_window=aoi_window, aoi_bounds=aoi_bounds, aoi_crs=aoi_crs)
    report = report if report is not None else TileReport()
    report.planned += len(plan)
    for tile in plan:
        rs = resampling or auto_resampling(tile)
        first = pair.first.read(tile.window, out_shape=tile.out_shape, resampling=rs)
        second = pair.second.read(tile.window, out_shape=tile.out_shape, resampling=rs)
        if skip_empty and not (first.any_valid and second.any_valid):
            _skip(report, tile, f"{pair.first.path} / {pair.second.path}")
            continue
        report.yielded += 1
        yield TilePair(tile, first, second)


def _skip(report: TileReport, tile: Tile, what: str) -> None:
    report.skipped_empty.append(tile)
    log.info("%s: tile %d (window %s) skipped: entirely nodata", what, tile.index, tile.window)
