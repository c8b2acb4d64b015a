"""What the backend reads for a raster layer: the file itself when the layer is a GDAL file on disk, the URL
when it is a GDAL layer read over http(s) (``/vsicurl/``: a cloud-optimised GeoTIFF, which the backend reads
by range requests), or an image rendered through the layer's own pipe (WMS, XYZ, WCS, virtual or in-memory
rasters) and uploaded with its geotransform and CRS.

``raster_source`` runs in the main thread (it touches the layer: it clones the provider and renderer);
``RenderedRaster.render_png`` then runs in a worker thread on those clones only.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from qgis.core import QgsCoordinateReferenceSystem, QgsRasterDataProvider, QgsRasterLayer, QgsRasterPipe, QgsRectangle
from qgis.PyQt.QtCore import QBuffer, QByteArray, QIODevice

from ..toolbelt.i18n import tr
from .remote_raster import layer_url, origin

#: Longest side in pixels of a rendered upload (the backend caps uploads at 256 MB; this stays far below).
MAX_RENDER_PX = 4096


class RasterSourceError(Exception):
    """A raster layer cannot be sent to the backend; the message is for the user."""


@dataclass(frozen=True)
class FileRaster:
    """A raster file the backend opens itself (path as the layer's GDAL source names it)."""

    path: str

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))


@dataclass(frozen=True)
class UrlRaster:
    """A raster the backend reads by URL. ``fallback``: the layer rendered, to upload instead when the
    backend is another machine that does not allow the URL (its ``--allow-url``)."""

    url: str
    fallback: "RenderedRaster | None" = None

    @property
    def prefix(self) -> str:
        """What a local backend must allow (``--allow-url``): the URL's host."""
        return origin(self.url)


class RenderedRaster:
    """An image rendered from clones of a layer's provider and renderer for ``extent_map`` (layer CRS) at
    ``width`` x ``height`` pixels; ``geotransform`` is GDAL's six numbers from the top-left corner."""

    def __init__(self, layer: QgsRasterLayer, extent_map: QgsRectangle, width: int, height: int):
        self.name = layer.name()
        self.extent_map = QgsRectangle(extent_map)
        self.width = width
        self.height = height
        crs: QgsCoordinateReferenceSystem = layer.crs()
        self.crs = crs.authid() if crs.authid().upper().startswith("EPSG:") else crs.toWkt()
        self._pipe = QgsRasterPipe()
        self._pipe.set(layer.dataProvider().clone())
        self._pipe.set(layer.renderer().clone())

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        e = self.extent_map
        return (e.xMinimum(), e.width() / self.width, 0.0, e.yMaximum(), 0.0, -e.height() / self.height)

    def render_png(self, feedback=None) -> bytes:
        """PNG bytes (RGBA) of the rendered image. Worker thread: touches only the cloned pipe."""
        block = self._pipe.last().block(1, self.extent_map, self.width, self.height, feedback)
        if block is None or not block.isValid():
            raise RasterSourceError(tr("The layer {name} could not be rendered for upload.").format(name=self.name))
        image = block.image()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        return bytes(data)


def file_path(layer: QgsRasterLayer) -> str | None:
    """The file behind a GDAL raster layer, or ``None`` (web services, ``/vsimem``, subdatasets, ...)."""
    if layer.providerType() != "gdal":
        return None
    path = layer.source().split("|")[0]
    return path if os.path.isfile(path) else None


def raster_source(layer: QgsRasterLayer, extent_map: QgsRectangle | None = None,
                  units_per_px: float | None = None, *, force_render: bool = False,
                  url_fallback: bool = False) -> FileRaster | UrlRaster | RenderedRaster:
    """How to hand ``layer`` to the backend. ``extent_map`` (layer CRS) and ``units_per_px`` (layer CRS
    units) only matter for rendered layers: the area and resolution to render (defaults: the layer's
    extent at its native resolution, or 1024 pixels across when the provider has no size).
    ``force_render``: files are rendered (the backend is another machine). URL layers are sent as URLs;
    ``url_fallback`` (a server the plugin did not start, which may not allow them) adds a rendering."""
    if layer is None or not layer.isValid():
        raise RasterSourceError(tr("The raster layer is missing or invalid."))
    url = layer_url(layer.source()) if layer.providerType() == "gdal" else None
    if url is not None:
        return UrlRaster(url, _rendered(layer, extent_map, units_per_px) if url_fallback else None)
    path = None if force_render else file_path(layer)
    if path is not None:
        return FileRaster(path)
    return _rendered(layer, extent_map, units_per_px)


def _rendered(layer: QgsRasterLayer, extent_map: QgsRectangle | None, units_per_px: float | None) -> RenderedRaster:
    extent = QgsRectangle(extent_map) if extent_map is not None and not extent_map.isEmpty() else layer.extent()
    extent = extent.intersect(layer.extent()) if extent_map is not None and _has_size(layer) else extent
    if extent.isEmpty() or not all(map(math.isfinite, (extent.xMinimum(), extent.yMaximum(), extent.width()))):
        raise RasterSourceError(tr("The area to send lies outside the layer {name}.").format(name=layer.name()))
    if units_per_px is None or units_per_px <= 0:
        units_per_px = layer.rasterUnitsPerPixelX() if _has_size(layer) else extent.width() / 1024.0
    width = max(1, round(extent.width() / units_per_px))
    height = max(1, round(extent.height() / units_per_px))
    scale = min(1.0, MAX_RENDER_PX / max(width, height))
    return RenderedRaster(layer, extent, max(1, round(width * scale)), max(1, round(height * scale)))


def _has_size(layer: QgsRasterLayer) -> bool:
    provider = layer.dataProvider()
    return bool(provider.capabilities() & QgsRasterDataProvider.Size) and layer.width() > 0
