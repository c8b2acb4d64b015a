"""From what the user asked (``RunRequest``, layer ids and plain values) to what a worker thread sends
(``PreparedJob``: the job body, the rasters as files or rendered images, the folders a local backend must
allow, where the result goes). Runs in the main thread: it reads layers and the project, never the network.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProject,
    QgsRasterDataProvider,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ..toolbelt.i18n import tr
from ..toolbelt.settings import PluginSettings
from .raster_source import FileRaster, RasterSourceError, RenderedRaster, raster_source

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


@dataclass
class PreparedJob:
    """A job ready for a worker thread. ``body``: the ``POST /v1/jobs`` fields except ``raster``/``raster_b``
    (filled after any upload). ``recipe``: what the run was, for layer metadata."""

    body: dict[str, Any]
    raster: FileRaster | RenderedRaster
    raster_b: FileRaster | RenderedRaster | None
    needed_dirs: tuple[str, ...]
    title: str
    output_path: str
    recipe: dict[str, Any] = field(default_factory=dict)


def output_folder(settings: PluginSettings, project: QgsProject) -> Path:
    """Where result GeoPackages go: the setting, else ``<project folder>/georsmllm``, else ``~/GeoRSMLLM``."""
    if settings.output_dir:
        return Path(settings.output_dir).expanduser()
    home = project.homePath() if project is not None else ""
    return Path(home) / "georsmllm" if home else Path.home() / "GeoRSMLLM"


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of ``text``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:limit].lower() or "run"


def vector_path(layer: QgsVectorLayer) -> str:
    """A path the backend can read for ``layer`` (``file`` or ``file|layername``). Layers not stored in a
    file (memory, database) are written to a temporary GeoPackage first."""
    if layer.providerType() == "ogr":
        parts = layer.source().split("|")
        path = parts[0]
        if os.path.isfile(path):
            names = [p.split("=", 1)[1] for p in parts[1:] if p.startswith("layername=")]
            return f"{path}|{names[0]}" if names else path
    folder = tempfile.mkdtemp(prefix="georsmllm-context-")
    path = os.path.join(folder, f"{slug(layer.name())}.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = slug(layer.name())
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, path, QgsProject.instance().transformContext(), options)
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


def prepare_run(request: RunRequest, project: QgsProject, settings: PluginSettings) -> PreparedJob:
    """Turn ``request`` into a ``PreparedJob`` (main thread). Raises ``PrepareError`` with a user message."""
    instruction = request.instruction.strip()
    if not instruction:
        raise PrepareError(tr("Write an instruction first."))
    layer = _raster_layer(project, request.layer_id, tr("the image"))
    layer_b = _raster_layer(project, request.layer_b_id, tr("the 'after' image")) if request.layer_b_id else None
    if request.task == "change" and layer_b is None:
        raise PrepareError(tr("Change detection needs a second ('after') raster layer."))
    bounds = area_bounds(request, layer, project)
    upp = _units_per_px(request, layer, settings, project)
    try:
        remote = settings.server_is_remote
        source = raster_source(layer, bounds if bounds is not None else _fallback_extent(request, layer, project),
                               upp, force_render=remote)
        source_b = None
        if layer_b is not None:
            source_b = raster_source(layer_b, bounds, upp, force_render=remote)
            if isinstance(source, RenderedRaster) and isinstance(source_b, RenderedRaster):
                # Render both on one grid so the backend pairs identical pixels.
                source_b = RenderedRaster(layer_b, source.extent_map, source.width, source.height)
    except RasterSourceError as exc:
        raise PrepareError(str(exc)) from None

    body: dict[str, Any] = {"instruction": instruction, "task": request.task, **settings.job_defaults()}
    if bounds is not None and isinstance(source, FileRaster):
        body["window"] = [bounds.xMinimum(), bounds.yMinimum(), bounds.xMaximum(), bounds.yMaximum()]
    if request.area == "selection":
        # the selected polygons themselves, not only their bounding box: the backend drops what misses them
        area_layer = project.mapLayer(request.area_layer_id or "")
        body["area"] = {"type": "FeatureCollection",
                        "features": [{"type": "Feature", "properties": {}, "geometry": f["geometry"]}
                                     for f in features_geojson(area_layer, layer.crs(), project=project)["features"]]}
    if request.classes:
        body["classes"] = list(request.classes)
    needed = [s.folder for s in (source, source_b) if isinstance(s, FileRaster)]
    if request.regions_layer_id:
        regions_layer = project.mapLayer(request.regions_layer_id)
        if not isinstance(regions_layer, QgsVectorLayer):
            raise PrepareError(tr("The layer of features to describe is missing."))
        body["regions"] = features_geojson(regions_layer, layer.crs())
        body["task"] = body["task"] or "identify"
    context_paths = []
    context_inline: dict[str, Any] = {}
    for layer_id in request.context_layer_ids:
        context = project.mapLayer(layer_id)
        if isinstance(context, QgsVectorLayer):
            if settings.server_is_remote:
                # another machine cannot open our files: send the features, in the raster's CRS
                context_inline[context.name()] = features_geojson(context, layer.crs(), selected_only=False,
                                                                  project=project)
                continue
            path = vector_path(context)
            # named as in QGIS, which is what the instruction says ("within 200 m of the Roads layer")
            named = not any(c in context.name() for c in "=/\\|")
            context_paths.append(f"{context.name()}={path}" if named else path)
            needed.append(os.path.dirname(path.split("|")[0]))
    if context_paths:
        body["context_layers"] = context_paths
    if context_inline:
        body["context_geojson"] = context_inline

    # One moment names the run everywhere: the group title, the file and the layers inside it.
    now = time.localtime()
    stamp = time.strftime("%Y%m%d_%H%M%S", now)
    base = f"{slug(instruction)}_{stamp}"
    body["run_name"] = request.run_name or base
    folder = output_folder(settings, project)
    title = request.run_name or f"{instruction[:48]} ({time.strftime('%H:%M:%S', now)})"
    recipe = {"instruction": instruction, "task": request.task or "auto", "raster": layer.name(),
              "raster_b": layer_b.name() if layer_b is not None else "", "area": request.area,
              "tile_size": settings.tile_size, "overlap": settings.overlap, "gsd": settings.gsd or "native"}
    return PreparedJob(body=body, raster=source, raster_b=source_b, needed_dirs=tuple(dict.fromkeys(needed)),
                       title=title, output_path=str(folder / f"{base}.gpkg"), recipe=recipe)


def _fallback_extent(request: RunRequest, layer: QgsRasterLayer, project: QgsProject) -> QgsRectangle | None:
    """For a whole-layer run on a layer without a size (web services): the given map extent, if any."""
    if layer.dataProvider().capabilities() & QgsRasterDataProvider.Size or request.extent is None:
        return None
    crs = QgsCoordinateReferenceSystem(request.extent_crs) if request.extent_crs else layer.crs()
    return _to_layer_crs(QgsRectangle(*request.extent), crs, layer, project)
