"""The state of one run while it works, shared by the task runners: settings and loaded models come from the
(frozen) ``Pipeline``; the plan, the result being filled in, where it is written, progress and cancel are the
run's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ...conditions.image_parts import ImageExtent
from ...conditions.plan import Plan
from ...geometry import ParseResult
from ...engines.base import EngineRequest
from ...geometry import GeoObject
from ...raster import RasterSource, TileLayout, open_raster
from ...raster.georef import Georef
from ...tasks import Task
from ..config import RunConfig
from ..events import CancelToken, EventSink
from ..output import RunOutput
from ..result import RunResult
from ..resume import RunLog
from ...vector.features import Feature

if TYPE_CHECKING:
    from ..references import ReferenceLayer
    from ..runner import Pipeline


def image_extent(source: RasterSource) -> ImageExtent | None:
    """Where ``source``'s image lies in map coordinates of its CRS (its footprint: the four outer pixel
    corners through its geotransform), what "in the northern half of the image" is measured against;
    ``None`` for a raster opened in pixel coordinates (no map to measure on)."""
    if not source.georeferenced:
        return None
    return ImageExtent.of_grid(source.grid.width, source.grid.height, source.transform)


@dataclass
class RunContext:
    """One run: ``pipeline`` (settings, engine, segmenter, context layers, area of interest), its ``plan``, the
    ``result`` being filled in, the ``output`` it writes to, the caller's ``emit`` and ``cancel``, and the run's
    durable record ``log`` (finished tiles; for a resumed run, those finished before)."""

    pipeline: "Pipeline"
    plan: Plan
    result: RunResult
    output: RunOutput
    emit: EventSink
    cancel: CancelToken
    log: RunLog | None = None

    def finished_tiles(self) -> Mapping[int, Any]:
        """Payloads of the tiles a resumed run finished before, by tile index (none for a fresh run)."""
        return {index: tile.payload for index, tile in self.log.done.items()} if self.log else {}

    def record_tile(self, tile, payload: Mapping[str, Any]) -> None:
        """Make a finished tile durable (``tile``: a ``raster.Tile``; ``payload``: JSON-ready)."""
        if self.log is not None:
            self.log.record(tile.index, tile.window, payload, self.result.tiles_total)

    @property
    def config(self) -> RunConfig:
        return self.pipeline.config

    @property
    def task(self) -> Task:
        return self.pipeline.choice.task

    @property
    def instruction(self) -> str:
        """The instruction without its task tag."""
        return self.pipeline.choice.instruction

    def layout(self) -> TileLayout:
        cfg = self.config
        return TileLayout(tile_size=cfg.tile_size, overlap=cfg.overlap, gsd=cfg.gsd, max_tiles=cfg.max_tiles)

    def open(self) -> RasterSource:
        cfg = self.config
        return open_raster(cfg.raster, bands=cfg.bands, allow_pixel_coords=cfg.allow_pixel_coords,
                           assets=cfg.stac_assets)

    def ask(self, task: Task, instruction: str, image: np.ndarray, regions: Sequence[GeoObject] = ()) -> ParseResult:
        """One request about one image (pixels as sent, ``(H, W, 3)`` uint8), parsed by the run's dialect;
        ``regions`` (pixels of that image) are written into the prompt in set-of-points."""
        pipeline = self.pipeline
        size = (image.shape[1], image.shape[0])
        prompt = pipeline.dialect.build_prompt(task, instruction, size, regions=regions)
        response = pipeline.engine.generate(EngineRequest(prompt=prompt, images=(image,),
                                                          max_new_tokens=self.config.max_new_tokens))
        return pipeline.dialect.parse(response.text, task, size)

    def overview(self, source: RasterSource, window=None) -> tuple[np.ndarray, Georef]:
        """The whole raster (or ``window``, raster pixels ``(col, row, width, height)``) as one image whose
        longer side is at most ``tile_size`` px, and the georef of that image's pixels."""
        from affine import Affine
        from rasterio.enums import Resampling

        col, row, w, h = window or (0, 0, source.grid.width, source.grid.height)
        scale = max(w, h) / self.config.tile_size
        out_w, out_h = (w, h) if scale <= 1 else (max(1, round(w / scale)), max(1, round(h / scale)))
        image = source.read(window=(col, row, w, h), out_shape=(out_h, out_w),
                            resampling=Resampling.average if scale > 1 else Resampling.nearest)
        image_to_raster = Affine.translation(col, row) @ Affine.scale(w / out_w, h / out_h)
        return image.rgb, source.georef.compose(image_to_raster)

    def write(self, features: Sequence[Feature], source: RasterSource, *, partial: bool,
              references: Sequence["ReferenceLayer"] = ()) -> None:
        """Write the run's features (map coordinates of ``source``'s CRS) to its output, and the layers of
        what the model found for the plan's references (``RunOutput.write``)."""
        crs = source.crs_string if source.georeferenced else None
        self.output.write(features, self.result, self.config, crs=crs, partial=partial, references=references)

    def touches_area(self, obj: GeoObject) -> bool:
        """Whether an object in map coordinates (raster CRS) touches the area of interest (always, without one)."""
        from ...geometry import GeoPoint
        from ...geometry.shapes import to_shapely

        area = self.pipeline.area
        return area is None or isinstance(obj, GeoPoint) or to_shapely(obj).intersects(area)
