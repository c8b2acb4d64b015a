"""Refining one object of a finished run by clicks: SAM2 prompted again on the image the run saw.

The user clicks positive points (part of the object), negative points (not part of it) or drags a box on a
feature of a segmentation (or SAM2-refined) result; ``reprompt`` decodes that object again with SAM2 and
returns its new outline. No model other than SAM2 is called.

Which image. The image SAM2 sees is re-read from the run's raster exactly as the run read its tiles (same
bands, stretch, tile layout, ground sample distance and area of interest: ``RunFrame``), so that its
encoding, kept by the segmenter's ``EncodingCache`` since the run, is reused, and SAM2 sees the object at
the scale the run saw it. The object's extent (the feature's envelope together with the clicked points and
box) decides the frame:

- a tile of the run's plan that holds the whole extent, the one where it lies farthest from the tile's edges
  (tiles overlap, so an object no wider than the overlap always lies wholly in one tile): its encoding is the
  run's own, shared by every object of that tile;
- otherwise (an object cut by every tile's edge) a window of a tile's size at the run's scale, centred on
  the extent and grown to hold it with a margin. Not "the tile that holds most of the object": SAM2 cannot
  outline what lies outside its image, so that tile would cut the object at its edge. Such a window is
  encoded on first use and then kept like a tile.

Prompts. The clicked points, and the dragged box if there is one; without a box, the feature's envelope
(together with the positive points, grown by ``BOX_MARGIN``) is the box, so that SAM2 is asked about
this object and the points say which parts belong to it. The new outline is the part of SAM2's mask that
holds the most positive points (the fewest negative ones, then the largest), within the box grown by
``pipeline.refine.MARGIN``.

Frames: the request's geometry and points are map coordinates of ``crs`` (the layer's CRS; default the
raster's); they go to the raster's CRS, then to the raster's pixels and to the chosen image's pixels through
the raster's and the tile's transforms (``raster.georef``, ``raster.tiling``), and the outline comes back
the same way, in ``crs``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon, mapping
from shapely.geometry.base import BaseGeometry

from ..errors import ConfigError, GeoRSMLLMError, RasterError
from ..geometry import PolygonRegion
from ..geometry.types import XY
from ..raster import RasterSource, Tile, TileLayout, auto_resampling, open_pair, open_raster
from ..raster import plan_pair_tiles, plan_tiles
from ..tasks import Task
from .refine import MARGIN, min_rotated_rectangle, shows_before

#: The prompt box made from the feature (no box dragged): its envelope grown by this share of its larger side.
BOX_MARGIN = 0.05
#: A window centred on an object cut by every tile's edge holds it grown by this share of its size per side.
WINDOW_MARGIN = 0.25
#: Most points one refinement may carry (positive and negative together).
MAX_POINTS = 32
#: Labels of the clicked points.
POSITIVE, NEGATIVE = 1, 0


class NoOutline(GeoRSMLLMError):
    """SAM2's mask holds nothing at the prompts: the feature stays as it is."""


@dataclass(frozen=True)
class RunFrame:
    """How a run read its images, enough to read them again identically: the raster(s) (server paths or URLs),
    bands (and the STAC assets of a STAC item), tile layout (sizes in pixels of the image sent, ``gsd`` in map
    units per image pixel), the area of interest's bounds (raster CRS), and the task, instruction and refinement
    of the run."""

    raster: str
    raster_b: str | None = None
    bands: tuple[int, ...] | None = None
    stac_assets: tuple[str, ...] | None = None
    allow_pixel_coords: bool = False
    tile_size: int = 768
    overlap: int = 96
    gsd: float | None = None
    aoi_bounds: tuple[float, float, float, float] | None = None
    task: str = Task.SEGMENTATION.value
    instruction: str = ""
    refine: str = "none"

    def layout(self) -> TileLayout:
        """The run's tile layout (no tile cap: the run was allowed its plan)."""
        return TileLayout(tile_size=self.tile_size, overlap=self.overlap, gsd=self.gsd)

    def shown(self) -> "RunFrame":
        """This frame as clients may see it: URLs without their credentials (``raster.remote.redact``: a signed
        URL's query string is one), which a refinement cannot use, so the server keeps the full frame itself."""
        from ..raster.remote import is_url, redact

        def show(location: str | None) -> str | None:
            return redact(location) if location and is_url(location) else location

        return dataclasses.replace(self, raster=show(self.raster), raster_b=show(self.raster_b))

    def to_dict(self) -> dict[str, Any]:
        return {"raster": self.raster, "raster_b": self.raster_b,
                "bands": None if self.bands is None else list(self.bands),
                "stac_assets": None if self.stac_assets is None else list(self.stac_assets),
                "allow_pixel_coords": self.allow_pixel_coords, "tile_size": self.tile_size, "overlap": self.overlap,
                "gsd": self.gsd, "aoi_bounds": None if self.aoi_bounds is None else list(self.aoi_bounds),
                "task": self.task, "instruction": self.instruction, "refine": self.refine}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunFrame":
        """A frame from ``to_dict``'s keys (unknown keys are ignored; ``raster`` is required)."""
        if not data.get("raster"):
            raise ConfigError("the run's frame names no raster")
        bands, aoi, assets = data.get("bands"), data.get("aoi_bounds"), data.get("stac_assets")
        return cls(raster=str(data["raster"]), raster_b=data.get("raster_b") or None,
                   bands=None if not bands else tuple(int(b) for b in bands),
                   stac_assets=None if not assets else tuple(str(a) for a in assets),
                   allow_pixel_coords=bool(data.get("allow_pixel_coords", False)),
                   tile_size=int(data.get("tile_size") or cls.tile_size),
                   overlap=int(data.get("overlap") if data.get("overlap") is not None else cls.overlap),
                   gsd=None if data.get("gsd") is None else float(data["gsd"]),
                   aoi_bounds=None if not aoi else tuple(float(v) for v in aoi),
                   task=str(data.get("task") or cls.task), instruction=str(data.get("instruction") or ""),
                   refine=str(data.get("refine") or "none"))

    @classmethod
    def of_pipeline(cls, pipeline) -> "RunFrame":
        """The frame of a ``runner.Pipeline`` (what its run read)."""
        cfg = pipeline.config
        return cls(raster=str(cfg.raster), raster_b=cfg.raster_b and str(cfg.raster_b),
                   bands=None if cfg.bands is None else tuple(cfg.bands),
                   stac_assets=None if cfg.stac_assets is None else tuple(cfg.stac_assets),
                   allow_pixel_coords=cfg.allow_pixel_coords,
                   tile_size=cfg.tile_size, overlap=cfg.overlap, gsd=cfg.gsd,
                   aoi_bounds=None if pipeline.aoi_bounds is None else tuple(pipeline.aoi_bounds),
                   task=pipeline.choice.task.value, instruction=pipeline.choice.instruction, refine=cfg.refine)


@dataclass(frozen=True)
class Clicks:
    """What the user clicked, in map coordinates of the request's CRS: ``points`` with ``labels`` (``POSITIVE``
    or ``NEGATIVE``) and an optional ``box`` ``(xmin, ymin, xmax, ymax)``."""

    points: tuple[XY, ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None

    def __post_init__(self):
        if len(self.points) != len(self.labels):
            raise ConfigError(f"{len(self.points)} points but {len(self.labels)} labels")
        if not self.points and self.box is None:
            raise ConfigError("a refinement needs points or a box")
        if len(self.points) > MAX_POINTS:
            raise ConfigError(f"a refinement takes at most {MAX_POINTS} points, got {len(self.points)}")
        if any(label not in (POSITIVE, NEGATIVE) for label in self.labels):
            raise ConfigError("point labels are 1 (part of the object) or 0 (not part of it)")
        if self.box is not None and not (self.box[0] < self.box[2] and self.box[1] < self.box[3]):
            raise ConfigError("the box must be (xmin, ymin, xmax, ymax) with xmin < xmax and ymin < ymax")


@dataclass
class Reprompted:
    """A refined object: ``outline`` and its minimum rotated rectangle ``box`` (shapely polygons in map
    coordinates of the request's CRS), their ``(area_m2, length_m)`` (``None`` without a CRS), the ``frame``
    SAM2 saw (``kind`` tile or window, the tile's index, the window in raster pixels, the image size, which
    image of a change pair), whether the encoding was reused, SAM2's predicted IoU and the seconds taken."""

    outline: Polygon
    box: Polygon
    outline_measures: tuple[float, float] | None
    box_measures: tuple[float, float] | None
    frame: dict[str, Any]
    reused_encoding: bool
    predicted_iou: float
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def measures(values):
            return None if values is None else {"area_m2": values[0], "length_m": values[1]}

        return {"outline": mapping(self.outline), "box": mapping(self.box),
                "outline_measures": measures(self.outline_measures), "box_measures": measures(self.box_measures),
                "frame": self.frame, "reused_encoding": self.reused_encoding,
                "predicted_iou": round(self.predicted_iou, 4), "seconds": round(self.seconds, 3),
                "warnings": self.warnings}


def reprompt(segmenter, frame: RunFrame, feature: BaseGeometry, clicks: Clicks, *, crs: str | None = None,
             label: str | None = None) -> Reprompted:
    """Decode one object of a run again with SAM2 from ``clicks`` (see the module doc).

    ``feature``: the object's current geometry (shapely, map coordinates of ``crs``; default the raster's
    CRS). ``label``: its label, which picks the image of a change run (``refine.shows_before``). Raises
    ``ConfigError`` for bad prompts, ``RasterError`` when the raster cannot be read, ``NoOutline`` when SAM2
    finds nothing there."""
    started = time.perf_counter()
    if feature is None or feature.is_empty:
        raise ConfigError("the feature to refine has no geometry")
    segmenter.load()
    source, closer, plan, which = _open(frame, label)
    try:
        to_raster_crs, from_raster_crs = _crs_transforms(crs, source)
        georef = source.georef
        feature_px = georef.geometry_to_pixel(to_raster_crs(feature))
        points_px = [georef.to_pixel(_xy(to_raster_crs(shapely.Point(p)))) for p in clicks.points]
        box_px = None
        if clicks.box is not None:
            box_px = georef.geometry_to_pixel(to_raster_crs(shapely.box(*clicks.box)))
        _check_inside(source, feature_px, points_px, box_px)
        extent = _bounds([feature_px, *(shapely.Point(p) for p in points_px), *([box_px] if box_px else [])])
        tile, kind = _choose_tile(plan, extent, frame.tile_size)
        image = source.read(tile.window, out_shape=tile.out_shape, resampling=auto_resampling(tile))
    finally:
        closer.close()

    points_img = [tile.from_raster_px(p) for p in points_px]
    positives = [p for p, lab in zip(points_img, clicks.labels) if lab == POSITIVE]
    negatives = [p for p, lab in zip(points_img, clicks.labels) if lab == NEGATIVE]
    if box_px is not None:
        box_img = _bounds([_to_image(tile, box_px)])
    else:
        box_img = _grown(_bounds([_to_image(tile, feature_px), *(shapely.Point(p) for p in positives)]), BOX_MARGIN)
    # only the mask's part near the box can become the outline (``pick_outline``): vectorise no more
    segmentation = segmenter.segment_prompt(image.rgb, points_img, list(clicks.labels), box_img,
                                            window_xyxy=_grown(box_img, MARGIN))
    outline_img = pick_outline(segmentation.polygons, positives, negatives, box_img)
    if outline_img is None:
        raise NoOutline("SAM2 found no object at these prompts: the feature is unchanged; "
                        "try another point inside the object or a box around it")
    outline = from_raster_crs(tile.georef.geometry_to_map(outline_img))
    corners = min_rotated_rectangle(PolygonRegion(tuple(outline.exterior.coords)[:-1]))
    box = Polygon(corners)
    from ..vector.measures import polygon_measures

    out_crs = crs or (source.crs_string if source.georeferenced else None)
    outline_measures, box_measures = polygon_measures([outline, box], out_crs) if out_crs else (None, None)
    return Reprompted(
        outline=outline, box=box, outline_measures=outline_measures, box_measures=box_measures,
        frame={"kind": kind, "tile": tile.index if kind == "tile" else None, "window": list(tile.window),
               "image_size": list(tile.image_size), "image": which},
        reused_encoding=segmentation.reused_encoding, predicted_iou=segmentation.predicted_iou,
        seconds=time.perf_counter() - started)


def pick_outline(polygons: Sequence[PolygonRegion], positives: Sequence[XY], negatives: Sequence[XY],
                 box: tuple[float, float, float, float] | None) -> Polygon | None:
    """The part of a mask (``polygons``, image pixels) that is the object: within ``box`` grown by
    ``refine.MARGIN`` (when given), the part holding the most ``positives``, then the fewest ``negatives``,
    then (when no part holds a positive point) the one nearest to them -- a part far from the clicks is not
    what the user pointed at --, then the largest. ``None`` when nothing is left."""
    bounds = None if box is None else shapely.box(*_grown(box, MARGIN))
    best, best_score = None, None
    pos = [shapely.Point(p) for p in positives]
    neg = [shapely.Point(p) for p in negatives]
    for region in polygons:
        part = Polygon(region.exterior, region.holes)
        if bounds is not None:
            part = part.intersection(bounds)
        for piece in getattr(part, "geoms", [part]):
            if not isinstance(piece, Polygon) or piece.is_empty:
                continue
            distance = min((piece.distance(p) for p in pos), default=0.0)
            score = (sum(piece.covers(p) for p in pos), -sum(piece.covers(p) for p in neg), -distance, piece.area)
            if best_score is None or score > best_score:
                best, best_score = piece, score
    return best


# -- helpers ------------------------------------------------------------------------------------------------


def _open(frame: RunFrame, label: str | None):
    """``(source to read, what to close, the run's tile plan, which image)``: the raster, or for a change run
    the before or after image of the pair (the one ``refine.shows_before`` says shows the object)."""
    layout = frame.layout()
    if frame.task == Task.CHANGE.value and frame.raster_b:
        pair = open_pair(frame.raster, frame.raster_b, bands=frame.bands, allow_pixel_coords=frame.allow_pixel_coords,
                         assets=frame.stac_assets)
        try:
            plan = plan_pair_tiles(pair, layout, aoi_bounds=frame.aoi_bounds)
        except BaseException:
            pair.close()
            raise
        before = shows_before(label, frame.instruction)
        return (pair.first if before else pair.second), pair, plan, ("before" if before else "after")
    source = open_raster(frame.raster, bands=frame.bands, allow_pixel_coords=frame.allow_pixel_coords,
                         assets=frame.stac_assets)
    try:
        plan = plan_tiles(source, layout, aoi_bounds=frame.aoi_bounds)
    except BaseException:
        source.close()
        raise
    return source, source, plan, None


def _crs_transforms(crs: str | None, source: RasterSource):
    """Functions taking shapely geometries from the request's CRS to the raster's and back (identity when they
    are the same, or when either has none)."""
    def same(geom):
        return geom

    if not crs or not source.georeferenced:
        return same, same
    import pyproj

    try:
        request_crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(f"unknown CRS {crs[:80]!r} for the feature: give an authority code or WKT") from exc
    raster_crs = pyproj.CRS.from_user_input(source.crs.to_wkt())
    if request_crs.equals(raster_crs):
        return same, same
    forward = pyproj.Transformer.from_crs(request_crs, raster_crs, always_xy=True)
    back = pyproj.Transformer.from_crs(raster_crs, request_crs, always_xy=True)

    def through(transformer):
        def fn(xy: np.ndarray) -> np.ndarray:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return lambda geom: shapely.transform(geom, fn)

    return through(forward), through(back)


def _check_inside(source: RasterSource, feature_px: BaseGeometry, points_px: Sequence[XY],
                  box_px: BaseGeometry | None) -> None:
    raster = shapely.box(0, 0, source.width, source.height)
    if not feature_px.intersects(raster):
        raise ConfigError("the feature lies outside the run's raster (is it a feature of this run?)")
    for i, p in enumerate(points_px):
        if not raster.covers(shapely.Point(p)):
            raise ConfigError(f"point {i + 1} lies outside the run's raster")
    if box_px is not None and not box_px.intersects(raster):
        raise ConfigError("the box lies outside the run's raster")


def _choose_tile(plan, extent_px: tuple[float, float, float, float], tile_size: int) -> tuple[Tile, str]:
    """The run's tile that holds ``extent_px`` (raster pixels) farthest from its edges, else a window centred on
    it at the run's scale (see the module doc)."""
    x0, y0, x1, y1 = extent_px
    containing = plan.tiles_containing(extent_px)
    if containing:
        def clearance(tile: Tile) -> float:
            col, row, w, h = tile.window
            return min(x0 - col, col + w - x1, y0 - row, row + h - y1)

        return max(containing, key=clearance), "tile"
    # an object up to twice a tile across keeps the run's scale; a larger one is read downsampled
    return plan.window_tile(extent_px, margin=WINDOW_MARGIN, max_image_side=2 * tile_size), "window"


def _to_image(tile: Tile, geom_px: BaseGeometry) -> BaseGeometry:
    """A shapely geometry in raster pixels -> pixels of the tile's image."""
    return shapely.transform(geom_px, lambda xy: np.asarray([tile.from_raster_px(p) for p in xy], dtype=float))


def _bounds(geoms: Sequence[BaseGeometry]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(list(geoms), dtype=object))
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        raise RasterError("the feature's coordinates cannot be placed on the raster")
    return (float(x0), float(y0), float(x1), float(y1))


def _grown(box: tuple[float, float, float, float], share: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    grow = share * max(x1 - x0, y1 - y0, 1.0)
    return (x0 - grow, y0 - grow, x1 + grow, y1 + grow)


def _xy(point: BaseGeometry) -> XY:
    return (float(point.x), float(point.y))
