"""The "Raster from URL…" entry: ask for the URL of a cloud-optimised GeoTIFF or a STAC item, open it in a
``QgsTask`` (the network is never touched on the GUI thread) and add it to the project as a GDAL layer read
through ``/vsicurl/``. Runs on that layer send its URL to the backend, which reads only the tiles it needs."""

from __future__ import annotations

from typing import Callable

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject, QgsRasterLayer, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal
from qgis.PyQt.QtWidgets import QAction, QInputDialog, QLineEdit

from ..logic.remote_raster import RemoteRasterError, resolve
from ..toolbelt.i18n import tr


class AddRasterUrlTask(QgsTask):
    """Resolve ``url`` and open it as a raster layer (worker thread); ``done`` carries ``(layer, error)``
    from ``finished`` (main thread), the layer already moved to the main thread."""

    done = pyqtSignal(object, object)

    def __init__(self, url: str):
        super().__init__(tr("GeoRSMLLM: opening {url}").format(url=url.split("?")[0]), QgsTask.CanCancel)
        self.url = url
        self.layer: QgsRasterLayer | None = None
        self.error: str | None = None

    def run(self) -> bool:
        try:
            remote = resolve(self.url)
        except RemoteRasterError as exc:
            self.error = str(exc)
            return False
        layer = QgsRasterLayer(remote.gdal_source, remote.name, "gdal")
        if not layer.isValid():
            self.error = tr("{name} could not be opened as a raster layer (is it a GeoTIFF?)").format(name=remote.name)
            return False
        layer.moveToThread(QCoreApplication.instance().thread())
        self.layer = layer
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(self.layer if result else None, self.error)


class RasterFromUrl:
    """Owns the menu action and the task in flight; ``on_added(layer)`` is told about each new layer."""

    def __init__(self, parent, on_added: Callable[[QgsRasterLayer], None], on_error: Callable[[str], None]):
        self.parent = parent
        self.on_added = on_added
        self.on_error = on_error
        self.action = QAction(tr("Raster from URL…"), parent)
        self.action.setToolTip(tr("Add a cloud-optimised GeoTIFF or a STAC item by URL; runs read only the "
                                  "tiles they need"))
        self.action.triggered.connect(self.ask)
        self.task: AddRasterUrlTask | None = None

    def ask(self) -> None:
        url, ok = QInputDialog.getText(self.parent, tr("Raster from URL"),
                                       tr("URL of a cloud-optimised GeoTIFF or a STAC item (http or https):"),
                                       QLineEdit.Normal, "")
        if ok and url.strip():
            self.open(url.strip())

    def open(self, url: str) -> AddRasterUrlTask:
        task = AddRasterUrlTask(url)
        task.done.connect(self._done)
        self.task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def _done(self, layer: QgsRasterLayer | None, error: str | None) -> None:
        self.task = None
        if layer is None:
            message = error or tr("The URL could not be opened.")
            QgsMessageLog.logMessage(message, "GeoRSMLLM", Qgis.Warning)
            self.on_error(message)
            return
        QgsProject.instance().addMapLayer(layer)
        self.on_added(layer)
