"""From what the user asked to what a worker thread sends, for every entry point: the dock and the layer
menu give a ``RunRequest`` (layer ids and plain values), Processing gives ``JobInputs`` (layers in hand);
``prepare_job`` turns either into a ``PreparedJob`` (the job body, the rasters as files or rendered images,
the folders a local backend must allow, where the result goes). Runs in the main thread: it reads layers
and the project, never the network.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    NULL,
    QgsContrastEnhancement,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsMultiBandColorRenderer,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterDataProvider,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsRectangle,
    QgsSingleBandGrayRenderer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ..toolbelt.i18n import tr
from ..toolbelt.settings import PluginSettings
from .followup import LastResult, previous_body
from .raster_source import FileRaster, RasterSourceError, RenderedRaster, UrlRaster, raster_source

AREAS = ("layer", "extent", "selection")


class PrepareError(Exception):
    """The request cannot be turned into a job; the message is for the user."""


@dataclass(frozen=True)
class RunRequest:
    """One run as the user asked for it (the dock and the layer menu produce these).

    ``task``: a backend task value (``detection``, ``seg``, ...) or ``None`` to let the backend choose.
    ``area``: ``layer`` (whole raster), ``extent`` (``extent`` bounds xmin, ymin, xmax, ymax in
    ``extent_crs``, e.g. the map canvas) or ``selection`` (bounding box of the selected features of
    ``area_layer_id``). ``units_per_px``: resolution, in ``extent_crs`` units, for rasters that must be
    rendered (web layers) when no target GSD is set.
    """

    instruction: str
    layer_id: str
    task: str | None = None
    layer_b_id: str | None = None
    area: str = "layer"
    extent: tuple[float, float, float, float] | None = None
    extent_crs: str = ""
    area_layer_id: str | None = None
    regions_layer_id: str | None = None
    context_layer_ids: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    run_name: str | None = None
    units_per_px: float | None = None
    follow_up: str = "auto"
    previous: LastResult | None = None


@dataclass
class PreparedJob:
    """A job ready for a worker thread. ``body``: the ``POST /v1/jobs`` fields except ``raster``/``raster_b``
    (filled after any upload). ``recipe``: what the run was, for layer metadata. ``needed_dirs`` and
    ``needed_urls``: folders and URL prefixes a local backend must allow."""

    body: dict[str, Any]
    raster: FileRaster | UrlRaster | RenderedRaster
    raster_b: FileRaster | UrlRaster | RenderedRaster | None
    needed_dirs: tuple[str, ...]
    title: str
    output_path: str
    recipe: dict[str, Any] = field(default_factory=dict)
    needed_urls: tuple[str, ...] = ()
    followup_gpkg: str | None = None  # a follow-up's layers join this GeoPackage (the previous run's)


def output_folder(settings: PluginSettings, project: QgsProject) -> Path:
    """Where result GeoPackages go: the setting, else ``<project folder>/georsmllm``, else ``~/GeoRSMLLM``."""
    if settings.output_dir:
        return Path(settings.output_dir).expanduser()
    home = project.homePath() if project is not None else ""
    return Path(home) / "georsmllm" if home else Path.home() / "GeoRSMLLM"


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of ``text``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:limit].lower() or "run"


def vector_path(layer: QgsVectorLayer, project: QgsProject | None = None) -> str:
    """A path the backend can read for ``layer`` (``file`` or ``file|layername``). Layers not stored in a
    file (memory, database) are written to a GeoPackage in QGIS's temporary folder first (QGIS removes it
    when it quits)."""
    if layer.providerType() == "ogr":
        parts = layer.source().split("|")
        path = parts[0]
        if os.path.isfile(path):
            names = [p.split("=", 1)[1] for p in parts[1:] if p.startswith("layername=")]
            return f"{path}|{names[0]}" if names else path
    path = QgsProcessingUtils.generateTempFilename(f"{slug(layer.name())}.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = slug(layer.name())
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, path, (project or QgsProject.instance()).transformContext(), options)
    if error != QgsVectorFileWriter.NoError:
        raise PrepareError(tr("The layer {name} could not be exported for the backend: {reason}").format(
            name=layer.name(), reason=message))
    return f"{path}|{options.layerName}"


def features_geojson(layer: QgsVectorLayer, crs: QgsCoordinateReferenceSystem, selected_only: bool = True,
                     project: QgsProject | None = None) -> dict[str, Any]:
    """The selected features of ``layer`` (all of them when none is selected or ``selected_only`` is false)
    as a GeoJSON FeatureCollection with coordinates in ``crs`` (not EPSG:4326: the backend wants the raster's
    CRS, so ``QgsJsonExporter``'s WGS84 output is not used)."""
    project = project or QgsProject.instance()
    transform = QgsCoordinateTransform(layer.crs(), crs, project) if layer.crs() != crs else None
    ids = layer.selectedFeatureIds() if selected_only else []
    request = QgsFeatureRequest().setFilterFids(ids) if ids else QgsFeatureRequest()
    names = layer.fields().names()
    features = []
    for feature in layer.getFeatures(request):
        geometry = QgsGeometry(feature.geometry())
        if geometry.isNull():
            continue
        if transform is not None:
            geometry.transform(transform)
        # "fid" is left out: GeoPackage layers carry it as a field, and the backend's GeoPackage writer
        # cannot add a field of that name to its output.
        properties = {name: _json_value(feature[name]) for name in names if name.lower() != "fid"}
        features.append({"type": "Feature", "id": feature.id(), "properties": properties,
                         "geometry": json.loads(geometry.asJson(8))})
    if not features:
        raise PrepareError(tr("The layer {name} has no features to describe.").format(name=layer.name()))
    return {"type": "FeatureCollection", "features": features}


def _json_value(value: Any) -> Any:
    if value is None or value == NULL:
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _to_layer_crs(bounds: QgsRectangle, source: QgsCoordinateReferenceSystem, layer: QgsRasterLayer,
                  project: QgsProject) -> QgsRectangle:
    if not source.isValid() or source == layer.crs():
        return QgsRectangle(bounds)
    return QgsCoordinateTransform(source, layer.crs(), project).transformBoundingBox(bounds)


def area_bounds(request: RunRequest, layer: QgsRasterLayer, project: QgsProject) -> QgsRectangle | None:
    """The area of interest in the raster's CRS, or ``None`` for the whole layer."""
    if request.area == "layer":
        return None
    if request.area == "extent":
        if request.extent is None:
            raise PrepareError(tr("No map extent was given."))
        crs = QgsCoordinateReferenceSystem(request.extent_crs) if request.extent_crs else layer.crs()
        bounds = _to_layer_crs(QgsRectangle(*request.extent), crs, layer, project)
    elif request.area == "selection":
        area_layer = project.mapLayer(request.area_layer_id or "")
        if not isinstance(area_layer, QgsVectorLayer):
            raise PrepareError(tr("Choose a polygon layer whose selected features give the area."))
        if area_layer.selectedFeatureCount() == 0:
            raise PrepareError(tr("Select features in {name} first.").format(name=area_layer.name()))
        bounds = _to_layer_crs(area_layer.boundingBoxOfSelected(), area_layer.crs(), layer, project)
    else:
        raise PrepareError(tr("Unknown area {area}.").format(area=request.area))
    if layer.dataProvider().capabilities() & QgsRasterDataProvider.Size:
        bounds = bounds.intersect(layer.extent())
    if bounds.isEmpty():
        raise PrepareError(tr("The chosen area does not overlap the raster {name}.").format(name=layer.name()))
    return bounds


def _raster_layer(project: QgsProject, layer_id: str | None, what: str) -> QgsRasterLayer:
    layer = project.mapLayer(layer_id or "")
    if not isinstance(layer, QgsRasterLayer) or not layer.isValid():
        raise PrepareError(tr("Choose a valid raster layer for {what}.").format(what=what))
    return layer


def _units_per_px(request: RunRequest, layer: QgsRasterLayer, settings: PluginSettings,
                  project: QgsProject) -> float | None:
    if settings.gsd:
        return settings.gsd
    if request.units_per_px and request.extent_crs:
        crs = QgsCoordinateReferenceSystem(request.extent_crs)
        if crs == layer.crs() or not crs.isValid():
            return request.units_per_px
        # Convert a canvas resolution to the layer's units with a one-pixel square at the extent centre.
        if request.extent is not None:
            cx = (request.extent[0] + request.extent[2]) / 2
            cy = (request.extent[1] + request.extent[3]) / 2
            pixel = QgsRectangle(cx, cy, cx + request.units_per_px, cy + request.units_per_px)
            return _to_layer_crs(pixel, crs, layer, project).width() or None
    return None


def layer_bands(layer: QgsRasterLayer) -> tuple[int, ...]:
    """The 1-based bands the layer's renderer draws (red, green, blue; or the one band of a grey, pseudocolour
    or paletted renderer), so the model sees what the map shows; ``()`` when that is not 1 or 3 bands."""
    renderer = layer.renderer()
    bands = tuple(b for b in (renderer.usesBands() if renderer is not None else []) if b > 0)
    return bands if len(bands) in (1, 3) else ()


def check_bands(layer: QgsRasterLayer, bands: tuple[int, ...]) -> tuple[int, ...]:
    """``bands`` if they are 1 or 3 band numbers of ``layer``; ``PrepareError`` otherwise."""
    if len(bands) not in (1, 3):
        raise PrepareError(tr("Give one band or three bands (red, green, blue), not {count}.").format(count=len(bands)))
    wrong = [b for b in bands if not 1 <= b <= layer.bandCount()]
    if wrong:
        raise PrepareError(tr("The layer {name} has no band {band} (it has {count}).").format(
            name=layer.name(), band=wrong[0], count=layer.bandCount()))
    return bands


def _showing_bands(layer: QgsRasterLayer, bands: tuple[int, ...]) -> QgsRasterLayer:
    """A copy of ``layer`` drawing ``bands`` (stretched 2-98 %), for rendering an upload with chosen bands."""
    copy = layer.clone()
    provider = copy.dataProvider()
    renderer = QgsMultiBandColorRenderer(provider, *bands) if len(bands) == 3 else \
        QgsSingleBandGrayRenderer(provider, bands[0])
    copy.setRenderer(renderer)
    copy.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum, QgsRasterMinMaxOrigin.CumulativeCut)
    return copy


@dataclass
class JobInputs:
    """A run with its layers in hand: what a ``RunRequest`` names (dock, layer menu) or what a Processing
    algorithm's parameters give. Layers need not be in the project.

    ``bounds``: area of interest in the raster's CRS (``None``: whole layer); ``area``: the selected polygons
    (GeoJSON FeatureCollection in the raster's CRS) that results must touch; ``render_extent``: for layers
    without a size (web services), the area to render when there are no bounds; ``units_per_px``: resolution
    of rendered layers, in the raster's CRS units. ``bands``: 1-based bands to send (empty: those the layer's
    renderer shows). ``options``: tile_size, overlap (pixels sent), gsd, concurrency. ``output_path``: where
    the GeoPackage goes (``None``: the results folder of the settings). ``previous`` and ``follow_up``: the
    result the instruction may follow up on, and whether it does (see ``RunRequest``); ``previous_layer``: that
    result's layer when it is not in the project."""

    instruction: str
    task: str | None
    layer: QgsRasterLayer
    layer_b: QgsRasterLayer | None = None
    bounds: QgsRectangle | None = None
    area: dict[str, Any] | None = None
    area_kind: str = "layer"
    render_extent: QgsRectangle | None = None
    units_per_px: float | None = None
    regions_layer: QgsVectorLayer | None = None
    regions_selected_only: bool = True
    context_layers: tuple[QgsVectorLayer, ...] = ()
    classes: tuple[str, ...] = ()
    bands: tuple[int, ...] = ()
    run_name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    output_path: str | None = None
    follow_up: str = "auto"
    previous: LastResult | None = None
    previous_layer: QgsVectorLayer | None = None  # its layer in hand (else looked up in the project)


def resolve_request(request: RunRequest, project: QgsProject, settings: PluginSettings) -> JobInputs:
    """The layers and areas a ``RunRequest`` names, looked up in ``project`` (main thread)."""
    layer = _raster_layer(project, request.layer_id, tr("the image"))
    layer_b = _raster_layer(project, request.layer_b_id, tr("the 'after' image")) if request.layer_b_id else None
    bounds = area_bounds(request, layer, project)
    area = None
    if request.area == "selection":
        # the selected polygons themselves, not only their bounding box: the backend drops what misses them
        area_layer = project.mapLayer(request.area_layer_id or "")
        area = {"type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": f["geometry"]}
                             for f in features_geojson(area_layer, layer.crs(), project=project)["features"]]}
    regions = None
    if request.regions_layer_id:
        regions = project.mapLayer(request.regions_layer_id)
        if not isinstance(regions, QgsVectorLayer):
            raise PrepareError(tr("The layer of features to describe is missing."))
    context = tuple(c for c in (project.mapLayer(i) for i in request.context_layer_ids) if isinstance(c, QgsVectorLayer))
    return JobInputs(
        instruction=request.instruction, task=request.task, layer=layer, layer_b=layer_b, bounds=bounds, area=area,
        area_kind=request.area, render_extent=_fallback_extent(request, layer, project),
        units_per_px=_units_per_px(request, layer, settings, project), regions_layer=regions,
        context_layers=context, classes=request.classes, run_name=request.run_name, options=settings.job_defaults(),
        follow_up=request.follow_up, previous=request.previous)


def prepare_run(request: RunRequest, project: QgsProject, settings: PluginSettings) -> PreparedJob:
    """Turn ``request`` into a ``PreparedJob`` (main thread). Raises ``PrepareError`` with a user message."""
    if not request.instruction.strip():
        raise PrepareError(tr("Write an instruction first."))
    return prepare_job(resolve_request(request, project, settings), project, settings)


def prepare_job(inputs: JobInputs, project: QgsProject, settings: PluginSettings) -> PreparedJob:
    """The one way a run becomes a job, for the dock, the layer menu and Processing (main thread): rasters
    as files or rendered uploads, context layers by path (named as in QGIS) or inline GeoJSON when the
    server is another machine, regions, area, bands, and the recipe. Raises ``PrepareError``."""
    instruction = inputs.instruction.strip()
    if not instruction:
        raise PrepareError(tr("Write an instruction first."))
    layer, layer_b = inputs.layer, inputs.layer_b
    if inputs.task == "change" and layer_b is None:
        raise PrepareError(tr("Change detection needs a second ('after') raster layer."))
    remote = settings.server_is_remote  # another machine cannot open our files: send pixels and features
    bands = check_bands(layer, inputs.bands) if inputs.bands else ()
    upp = inputs.units_per_px
    try:
        shown = _showing_bands(layer, bands) if bands else layer
        fallback = bool(settings.server_url)  # a server the plugin did not start may not read URLs
        source = raster_source(shown, inputs.bounds if inputs.bounds is not None else inputs.render_extent, upp,
                               force_render=remote, url_fallback=fallback)
        source_b = None
        if layer_b is not None:
            shown_b = _showing_bands(layer_b, check_bands(layer_b, bands)) if bands else layer_b
            source_b = raster_source(shown_b, inputs.bounds, upp, force_render=remote, url_fallback=fallback)
            if isinstance(source, RenderedRaster) and isinstance(source_b, RenderedRaster):
                # Render both on one grid so the backend pairs identical pixels.
                source_b = RenderedRaster(shown_b, source.extent_map, source.width, source.height)
    except RasterSourceError as exc:
        raise PrepareError(str(exc)) from None

    options = {**settings.job_defaults(), **inputs.options}
    body: dict[str, Any] = {"instruction": instruction, "task": inputs.task, **options}
    if isinstance(source, (FileRaster, UrlRaster)):  # the backend reads the raster itself
        file_bands = bands or layer_bands(layer)
        # the bands apply to both rasters of a pair: the layer's own choice only when the other has them too
        if file_bands and (bands or layer_b is None or max(file_bands) <= layer_b.bandCount()):
            body["bands"] = list(file_bands)
        if inputs.bounds is not None:
            b = inputs.bounds
            body["window"] = [b.xMinimum(), b.yMinimum(), b.xMaximum(), b.yMaximum()]
    if inputs.area is not None:
        body["area"] = inputs.area
    if inputs.classes:
        body["classes"] = list(inputs.classes)
    needed = [s.folder for s in (source, source_b) if isinstance(s, FileRaster)]
    if inputs.regions_layer is not None:
        body["regions"] = features_geojson(inputs.regions_layer, layer.crs(), inputs.regions_selected_only, project)
        body["task"] = body["task"] or "identify"
    context_paths = []
    context_inline: dict[str, Any] = {}
    for context in inputs.context_layers:
        if remote:
            # the features themselves, in the raster's CRS, under the name the instruction uses
            context_inline[context.name()] = features_geojson(context, layer.crs(), selected_only=False,
                                                              project=project)
            continue
        path = vector_path(context, project)
        # named as in QGIS, which is what the instruction says ("within 200 m of the Roads layer")
        named = not any(c in context.name() for c in "=/\\|")
        context_paths.append(f"{context.name()}={path}" if named else path)
        needed.append(os.path.dirname(path.split("|")[0]))
    if context_paths:
        body["context_layers"] = context_paths
    if context_inline:
        body["context_geojson"] = context_inline
    followup_gpkg = _previous(inputs, body, needed, bool(settings.server_url), project)

    # One moment names the run everywhere: the group title, the file and the layers inside it.
    now = time.localtime()
    base = f"{slug(instruction)}_{time.strftime('%Y%m%d_%H%M%S', now)}"
    body["run_name"] = inputs.run_name or base
    title = inputs.title or inputs.run_name or f"{instruction[:48]} ({time.strftime('%H:%M:%S', now)})"
    output = inputs.output_path or str(output_folder(settings, project) / f"{base}.gpkg")
    recipe = {"instruction": instruction, "task": inputs.task or "auto", "raster": layer.name(),
              "raster_b": layer_b.name() if layer_b is not None else "", "area": inputs.area_kind,
              "tile_size": options.get("tile_size"), "overlap": options.get("overlap"),
              "gsd": options.get("gsd") or "native"}
    if "bands" in body:
        recipe["bands"] = body["bands"]
    urls = tuple(dict.fromkeys(s.prefix for s in (source, source_b) if isinstance(s, UrlRaster)))
    return PreparedJob(body=body, raster=source, raster_b=source_b, needed_dirs=tuple(dict.fromkeys(needed)),
                       title=title, output_path=output, recipe=recipe, needed_urls=urls,
                       followup_gpkg=followup_gpkg)


def _previous(inputs: JobInputs, body: dict[str, Any], needed: list[str], inline: bool,
              project: QgsProject) -> str | None:
    """Add the result the instruction may follow up on to the job ``body`` (the backend decides from the
    wording unless told; ``inline``: its features, not its path, see ``followup.previous_body``); returns the
    GeoPackage a follow-up's layers join. ``PrepareError`` when a follow-up is asked for and there is nothing
    to follow up on."""
    last = inputs.previous if inputs.follow_up != "no" else None
    layer = (inputs.previous_layer or project.mapLayer(last.layer_id)) if last is not None else None
    if not isinstance(layer, QgsVectorLayer) or not layer.isValid() or (last.gpkg and not os.path.isfile(last.gpkg)):
        last = None
    elif layer.featureCount() == 0:
        if inputs.follow_up == "yes":
            raise PrepareError(tr("The last result ({name}) has no objects to follow up on.").format(
                name=layer.name()))
        last = None  # nothing in it to follow up on: the instruction is a new run
    if last is None:
        if inputs.follow_up == "yes":
            raise PrepareError(tr("There is no result to follow up on: run an instruction first (its result must "
                                  "still be in the project), or choose a new run."))
        body["follow_up"] = "no" if inputs.follow_up == "no" else None
        return None
    body["previous"], folder = previous_body(last, layer, inputs.layer.crs(), inline, project)
    body["follow_up"] = inputs.follow_up
    if folder:
        needed.append(folder)
    return last.gpkg or None


def _fallback_extent(request: RunRequest, layer: QgsRasterLayer, project: QgsProject) -> QgsRectangle | None:
    """For a whole-layer run on a layer without a size (web services): the given map extent, if any."""
    if layer.dataProvider().capabilities() & QgsRasterDataProvider.Size or request.extent is None:
        return None
    crs = QgsCoordinateReferenceSystem(request.extent_crs) if request.extent_crs else layer.crs()
    return _to_layer_crs(QgsRectangle(*request.extent), crs, layer, project)
