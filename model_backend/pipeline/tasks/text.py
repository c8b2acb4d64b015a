"""Text tasks: a caption, an answer or a geolocation of the whole raster (or area of interest) seen as one
image; a scene class per tile; a caption per region (cyclic referring)."""

from __future__ import annotations

from collections import Counter

import shapely

from ...errors import ConfigError, RasterError
from ...geometry import GeoObject, GeoPoint, PolygonRegion, RotatedBox
from ...raster import Tile, iter_tiles, plan_tiles
from ...tasks import Task
from ...vector.features import BASE_FIELDS, Feature
from ..events import Cancelled, RunEvent
from ..result import Answer
from ..scheduler import pipelined
from ..wording import DEFAULT_CLASSES, classes_from, match_class
from .base import RunContext

_ANSWER_KIND = {Task.CAPTION: "caption", Task.GEOLOCATION: "location", Task.VQA: "answer"}


def run_overview(ctx: RunContext) -> None:
    """Caption, question or geolocation of the whole raster (or the area of interest's window) as one image.
    Writes the image's extent with the answer (a point at the answered lat/lon for geolocation)."""
    task, result = ctx.task, ctx.result
    with ctx.open() as source:
        window = None
        if ctx.pipeline.aoi_bounds is not None:
            window = source.grid.window_from_bounds(ctx.pipeline.aoi_bounds)
        image, georef = ctx.overview(source, window)
        result.tiles_total = 1
        parsed = ctx.ask(task, ctx.instruction, image)
        result.tiles_done = 1
        answer = parsed.text.strip()
        result.warnings += parsed.warnings
        result.answers.append(Answer(_ANSWER_KIND.get(task, "answer"), answer, question=ctx.instruction))
        h, w = image.shape[:2]
        extent = georef.objects_to_map([PolygonRegion([(0, 0), (w, 0), (w, h), (0, h)])])[0]
        key = "caption" if task is Task.CAPTION else "answer"
        features: list[Feature] = []
        if task is Task.GEOLOCATION:
            points = [o for o in parsed.objects if isinstance(o, GeoPoint)]
            if not points:
                result.warnings.append("the model gave no <gps>[lat, lon]</gps> location")
            features += [Feature(p, label="location", extra={key: answer}) for p in points]
            result.counts = {"location": len(points)}
        else:
            features.append(Feature(extent, label=task.value, extra={key: answer}))
            result.counts = {task.value: 1}
            objects = [o for o in parsed.objects if not isinstance(o, GeoPoint)]
            features += [Feature(o, extra={key: answer}) for o in georef.objects_to_map(objects)]
        ctx.emit(RunEvent("tile", 1, 1, message=answer))
        ctx.write(features, source, partial=False)


def classification_classes(ctx: RunContext) -> tuple[list[str], str]:
    """The candidate classes and where they came from: the settings, the instruction ("... as forest,
    farmland or urban"), else the 45 NWPU-RESISC45 scene classes."""
    if ctx.config.classes:
        return list(ctx.config.classes), "given"
    named = classes_from(ctx.instruction)
    if named:
        return named, "named in the instruction"
    return list(DEFAULT_CLASSES), "none given: the 45 NWPU-RESISC45 scene classes"


def run_classify(ctx: RunContext) -> None:
    """Zero-shot scene classification per tile: each tile's core footprint labelled with one of the candidate
    classes (see ``classification_classes``)."""
    result = ctx.result
    classes, origin = classification_classes(ctx)
    if origin.startswith("none given"):
        result.warnings.append(f"no classes given: offered {origin[len('none given: '):]} (give classes to choose others)")
    question = f"{ctx.instruction.rstrip('?. ')}. Answer with one of: {', '.join(classes)}."
    source = ctx.open()
    try:
        tile_plan = plan_tiles(source, ctx.layout(), aoi_bounds=ctx.pipeline.aoi_bounds)
        result.tiles_total = len(tile_plan)
        by_tile: dict[int, Feature | None] = {}  # None: the tile is outside the area of interest

        def footprint(tile: Tile, answer: str) -> Feature | None:
            shape = tile.objects_to_map([PolygonRegion(core_ring(tile, ctx.config.overlap))])[0]
            if not ctx.touches_area(shape):
                return None
            return Feature(shape, label=match_class(answer, classes), tile=str(tile.index),
                           extra={"answer": answer.strip()})

        done = ctx.finished_tiles()
        if done:  # a resumed run: the answers of the tiles finished before
            planned = {tile.index: tile for tile in tile_plan if tile.index in done}
            ctx.log.check_windows({index: tile.window for index, tile in planned.items()})
            by_tile = {index: footprint(planned[index], done[index]["answer"]) for index in done}
            result.tiles_done = len(done)

        def work(tile_image):
            return tile_image.tile, ctx.ask(Task.CLASSIFY, question, tile_image.rgb)

        try:
            tiles = iter_tiles(source, tile_plan, skip_empty=True, skip=set(done))
            for tile, parsed in pipelined(tiles, work, ctx.config.concurrency, ctx.cancel):
                ctx.record_tile(tile, {"answer": parsed.text})
                result.tiles_done += 1
                by_tile[tile.index] = footprint(tile, parsed.text)
                label = match_class(parsed.text, classes)
                ctx.emit(RunEvent("tile", result.tiles_done, result.tiles_total, message=f"tile {tile.index}: {label}"))
        except Cancelled:
            result.partial = True
        except Exception:
            result.partial = True
            _write_classes(ctx, by_tile, source, quiet=True)
            raise
        _write_classes(ctx, by_tile, source)
    finally:
        source.close()


def _write_classes(ctx: RunContext, by_tile: dict, source, quiet: bool = False) -> None:
    """Write the tiles' classes in tile order (the same layer whatever order the tiles finished in).
    ``quiet``: a failed run writes what it has if it can, the failure being what it reports."""
    features = [by_tile[index] for index in sorted(by_tile) if by_tile[index] is not None]
    ctx.result.counts = dict(Counter(f.label for f in features))
    if quiet and not features:
        return
    try:
        ctx.write(features, source, partial=ctx.result.partial)
    except Exception:
        if not quiet:
            raise


def core_ring(tile: Tile, overlap: int) -> list[tuple[float, float]]:
    """The tile's footprint less half the overlap on each side, in image pixels (tiles then barely overlap)."""
    w, h = tile.image_size
    m = overlap / 2 * (w / max(tile.window[2], 1))
    m = min(m, w / 4, h / 4)
    return [(m, m), (w - m, m), (w - m, h - m), (m, h - m)]


def run_identify(ctx: RunContext) -> None:
    """Region captions (cyclic referring): each region (map coordinates, raster CRS) is shown to the model in
    set-of-points on an image centred on it, and the answer becomes the feature's ``caption``."""
    regions = ctx.pipeline.regions
    if not regions:
        raise ConfigError("region captioning needs features to describe (regions): select features first")
    result = ctx.result
    with ctx.open() as source:
        result.tiles_total = len(regions)
        features: list[Feature] = []
        for geom, props in regions:
            if ctx.cancel.cancelled:
                result.partial = True
                break
            region_id = str(props.get("id", len(features)))
            shape_px = source.georef.geometry_to_pixel(geom)
            window = window_around(shape_px.bounds, source.grid.width, source.grid.height, ctx.config.tile_size)
            image, georef = ctx.overview(source, window)
            region = as_region(georef.geometry_to_pixel(geom))
            if region is None:
                result.warnings.append(f"region {region_id} is empty or outside the raster")
                continue
            parsed = ctx.ask(Task.IDENTIFY, ctx.instruction or "describe this region", image, [region])
            caption = parsed.text.strip()
            features.append(Feature(geom, label=props.get("label"), extra={"caption": caption,
                                                                          **carried_properties(props)}))
            result.tiles_done += 1
            result.answers.append(Answer("region_caption", caption, question=ctx.instruction, region=region_id))
            ctx.emit(RunEvent("tile", result.tiles_done, result.tiles_total, message=caption))
        result.counts = {"regions": len(features)}
        ctx.write(features, source, partial=result.partial)


#: Names a region's own attributes cannot keep in the output (GeoPackage's FID and geometry columns, and the
#: fields every layer has): they are carried over as ``src_<name>``.
_RESERVED = {"fid", "ogc_fid", "geom", "geometry", "caption"} | set(BASE_FIELDS)


def carried_properties(props: dict) -> dict[str, str]:
    """A region's attributes as text fields for the output, renaming those that would clash."""
    out = {}
    for key, value in props.items():
        if key == "label" or value is None:
            continue
        name = f"src_{key}" if key.lower() in _RESERVED else key
        out[name] = str(value)
    return out


def window_around(bounds_px, width: int, height: int, tile_size: int) -> tuple[int, int, int, int]:
    """A square-ish raster window around ``bounds_px`` (x0, y0, x1, y1) with context, clipped to the raster."""
    x0, y0, x1, y1 = bounds_px
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise RasterError("a region to describe lies outside the raster")
    side = max(x1 - x0, y1 - y0) * 2.0
    side = max(side, min(tile_size, width, height) / 2)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    c0 = int(max(0, min(cx - side / 2, width - side)))
    r0 = int(max(0, min(cy - side / 2, height - side)))
    return c0, r0, int(min(side, width - c0)) or 1, int(min(side, height - r0)) or 1


def as_region(geom) -> GeoObject | None:
    """A shapely geometry (image pixels) as a set-of-points region: a rotated box when it is a four-cornered
    rectangle, else its largest polygon's outline."""
    if geom.is_empty:
        return None
    if geom.geom_type == "MultiPolygon":
        geom = max(geom.geoms, key=lambda g: g.area)
    if geom.geom_type != "Polygon":
        geom = geom.envelope if geom.geom_type != "Point" else geom.buffer(4, cap_style=3)
    coords = list(geom.exterior.coords)[:-1]
    if len(coords) == 4 and abs(shapely.minimum_rotated_rectangle(geom).area - geom.area) < 1e-6 * max(geom.area, 1):
        return RotatedBox(tuple(coords))
    try:
        return PolygonRegion(coords)
    except ValueError:
        return None
