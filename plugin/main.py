"""The plugin object QGIS creates: registers every entry point in ``initGui`` (``initProcessing`` alone
under ``qgis_process``) and removes each one in ``unload``. Work is delegated: the dock collects
parameters, the run controller starts tasks, the backend service owns the backend process."""

from __future__ import annotations

import atexit

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt, pyqtBoundSignal
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from . import about
from .gui.backend_tools import BackendTools
from .gui.dock import GeoRSMLLMDock
from .gui.layer_actions import LayerActions
from .gui.options import SettingsPageFactory
from .gui.raster_url import RasterFromUrl
from .gui.refine_tool import RefineMapTool
from .logic.prepare import RunRequest
from .logic.refine import refine_link
from .logic.service import BackendConfig, BackendService, backend_config
from .logic.tasks import RefineTask, start_task
from .processing.provider import GeoRSMLLMProvider
from .runs import RunController
from .toolbelt import vocabulary
from .toolbelt.i18n import install_translator, remove_translator, tr
from .toolbelt.settings import load_history, load_settings, save_history

MENU = "&GeoRSMLLM"
REFINE_ICON = about.PLUGIN_DIR / "resources" / "icons" / "refine.svg"


def current_backend_config() -> BackendConfig:
    """Read on each job (worker threads too: QgsSettings is thread-safe), so new settings apply at once."""
    return backend_config(load_settings())


class GeoRSMLLMPlugin:
    """Created by ``classFactory(iface)``; ``iface`` is ``None`` under ``qgis_process``."""

    def __init__(self, iface):
        self.iface = iface
        self.translator = install_translator()
        self.service = BackendService(current_backend_config)
        self.provider: GeoRSMLLMProvider | None = None
        self.actions: list[QAction] = []
        self.dock: GeoRSMLLMDock | None = None
        self.controller: RunController | None = None
        self.layer_actions: LayerActions | None = None
        self.options_factory: SettingsPageFactory | None = None
        self.toolbar_action: QAction | None = None
        self.backend_tools: BackendTools | None = None
        self.refine_action: QAction | None = None
        self.refine_tool: RefineMapTool | None = None
        self.raster_url: RasterFromUrl | None = None
        self._quit_connected = False

    # -- registration -------------------------------------------------------------------------------
    def initProcessing(self) -> None:
        if self.provider is None:
            self.provider = GeoRSMLLMProvider(self.service)
            QgsApplication.processingRegistry().addProvider(self.provider)
        atexit.register(self.service.stop)  # qgis_process has no aboutToQuit for a plugin to hear
        app = QgsApplication.instance()
        if app is not None and not self._quit_connected:
            app.aboutToQuit.connect(self.service.stop)
            self._quit_connected = True

    def initGui(self) -> None:
        self.initProcessing()
        icon = QIcon(str(about.ICON_PATH))
        self.controller = RunController(self.service)
        self.dock = GeoRSMLLMDock(self.iface.mapCanvas(), load_history(), self.iface.mainWindow())
        self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self._wire_dock()

        panel = self.dock.toggleViewAction()
        panel.setIcon(icon)
        panel.setText(tr("GeoRSMLLM panel"))
        settings_action = QAction(tr("Settings…"), self.iface.mainWindow())
        settings_action.triggered.connect(self.show_settings)
        about_action = QAction(icon, tr("About GeoRSMLLM"), self.iface.mainWindow())
        about_action.triggered.connect(self.show_about)
        self.backend_tools = BackendTools(self.iface.mainWindow(),
                                          lambda _settings: self.controller.refresh_status(start=False))
        self.raster_url = RasterFromUrl(self.iface.mainWindow(), self._url_layer_added,
                                        lambda text: self._message(text, True))
        for action in (panel, self.raster_url.action, settings_action, *self.backend_tools.actions(), about_action):
            self.iface.addPluginToRasterMenu(MENU, action)
            self.actions.append(action)
        self.iface.addToolBarIcon(panel)
        self.toolbar_action = panel
        self._init_refine_tool()

        self.layer_actions = LayerActions(self.iface, self.on_raster_action, self.on_vector_action)
        self.layer_actions.register()
        self.options_factory = SettingsPageFactory(lambda _settings: self.controller.refresh_status(start=False),
                                                   self.backend_tools.open_setup, self.backend_tools.open_models)
        self.iface.registerOptionsWidgetFactory(self.options_factory)
        self._after_startup(self._first_run_check)

    def _init_refine_tool(self) -> None:
        """The "Refine by clicking" map tool and its checkable action (toolbar and menu), enabled while the
        current layer is a refinable result (segmentation or SAM2-refined polygons)."""
        action = QAction(QIcon(str(REFINE_ICON)), tr("Refine by clicking"), self.iface.mainWindow())
        action.setCheckable(True)
        action.setToolTip(tr("Refine an object of the current GeoRSMLLM result layer with SAM2: click inside it, "
                             "Shift+click outside it or drag a box; Enter keeps the result, Esc cancels"))
        action.toggled.connect(self._refine_toggled)
        self.refine_action = action
        self.refine_tool = RefineMapTool(self.iface.mapCanvas(), self._start_refine)
        self.refine_tool.setAction(action)
        self.refine_tool.message.connect(self._tool_message)
        self.iface.addPluginToRasterMenu(MENU, action)
        self.iface.addToolBarIcon(action)
        self.actions.append(action)
        self.iface.currentLayerChanged.connect(self._current_layer_changed)
        self.controller.job_finished.connect(lambda *_args: self._current_layer_changed())
        self._current_layer_changed()

    def _current_layer_changed(self, *_args) -> None:
        """Enable the refine action for refinable layers; an active tool follows the current layer."""
        if self.refine_action is None or self.refine_tool is None:
            return
        layer = self.iface.activeLayer()
        ok = refine_link(layer) is not None
        self.refine_action.setEnabled(ok)
        canvas = self.iface.mapCanvas()
        if canvas.mapTool() is self.refine_tool:
            if ok:
                if layer is not self.refine_tool.layer:
                    self.refine_tool.set_layer(layer)
            else:
                canvas.unsetMapTool(self.refine_tool)

    def _refine_toggled(self, checked: bool) -> None:
        canvas = self.iface.mapCanvas()
        if not checked:
            if canvas.mapTool() is self.refine_tool:
                canvas.unsetMapTool(self.refine_tool)
            return
        if self.refine_tool.set_layer(self.iface.activeLayer()):
            canvas.setMapTool(self.refine_tool)
        else:
            self.refine_action.setChecked(False)
            self._tool_message(tr("Select a segmentation result layer (or a SAM2-refined one) to refine."), True)

    def _start_refine(self, body: dict, needed_dirs: tuple[str, ...], on_answer) -> None:
        """Run one refinement request in a ``QgsTask``; ``on_answer(answer, error)`` runs in the main thread."""
        task = RefineTask(self.service, body, needed_dirs)
        task.done.connect(on_answer)
        start_task(task)

    def _tool_message(self, text: str, error: bool) -> None:
        if self.iface is not None:
            self.iface.messageBar().pushMessage(about.TITLE, text, Qgis.Critical if error else Qgis.Info,
                                                10 if error else 6)

    def _unload_refine_tool(self) -> None:
        if self.refine_tool is None:
            return
        try:
            self.iface.currentLayerChanged.disconnect(self._current_layer_changed)
        except TypeError:  # never connected
            pass
        canvas = self.iface.mapCanvas()
        if canvas.mapTool() is self.refine_tool:
            canvas.unsetMapTool(self.refine_tool)
        self.refine_tool.release()
        self.refine_tool.deleteLater()
        self.refine_tool = None
        if self.refine_action is not None:
            self.iface.removeToolBarIcon(self.refine_action)
            self.refine_action = None

    def _after_startup(self, callback) -> None:
        """Call ``callback`` once QGIS has finished starting (its window shown, the project given on the
        command line opened), or now when the plugin is enabled in a running QGIS."""
        signal = getattr(self.iface, "initializationCompleted", None)
        window = self.iface.mainWindow()
        if not isinstance(signal, pyqtBoundSignal) or window is None or window.isVisible():
            callback()
            return

        def once() -> None:
            signal.disconnect(once)
            callback()

        signal.connect(once)

    def _first_run_check(self) -> None:
        if self.backend_tools is not None:  # unloaded before QGIS finished starting: nothing to ask
            self.backend_tools.start_first_run_check(delay_ms=500)

    def _wire_dock(self) -> None:
        dock, controller = self.dock, self.controller
        dock.run_requested.connect(self.run)
        dock.plan_requested.connect(lambda instruction, task, n_rasters, names: controller.request_plan(
            instruction, task, n_rasters, names, follow_up=dock.follow_up_mode()))
        dock.cancel_requested.connect(controller.cancel)
        dock.resume_requested.connect(controller.resume)
        dock.restart_requested.connect(lambda: controller.refresh_status(restart=True))
        dock.visibilityChanged.connect(self._dock_visible)
        controller.job_started.connect(dock.job_started)
        controller.job_progress.connect(dock.job_progress)
        controller.job_status.connect(dock.job_status)
        controller.job_cancelling.connect(dock.job_cancelling)
        controller.job_retitled.connect(dock.job_retitled)
        controller.job_finished.connect(self._job_finished)
        controller.answers.connect(dock.show_answers)
        controller.message.connect(self._message)
        controller.plan_ready.connect(dock.show_plan)
        controller.status_changed.connect(dock.show_status)
        controller.last_result_changed.connect(dock.show_last_result)

    def unload(self) -> None:
        if self.iface is not None:
            self._unload_refine_tool()
        if self.controller is not None:
            self.controller.shutdown()
        if self.backend_tools is not None:
            self.backend_tools.unload()
            self.backend_tools = None
        if self.layer_actions is not None:
            self.layer_actions.unregister()
            self.layer_actions = None
        self.raster_url = None  # its action goes with the others below
        if self.iface is not None:
            for action in self.actions:
                self.iface.removePluginRasterMenu(MENU, action)
            if self.toolbar_action is not None:
                self.iface.removeToolBarIcon(self.toolbar_action)
                self.toolbar_action = None
        for action in self.actions:
            if self.dock is None or action is not self.dock.toggleViewAction():
                action.deleteLater()
        self.actions.clear()
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.disconnect_project()
            self.dock.deleteLater()
            self.dock = None
        if self.options_factory is not None:
            self.iface.unregisterOptionsWidgetFactory(self.options_factory)
            self.options_factory = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self._quit_connected:
            QgsApplication.instance().aboutToQuit.disconnect(self.service.stop)
            self._quit_connected = False
        atexit.unregister(self.service.stop)
        self.service.stop()
        vocabulary.forget_backend()
        self.controller = None
        remove_translator(self.translator)
        self.translator = None

    # -- actions ------------------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str | None:
        """Start a run (the dock's and the layer menu's entry point)."""
        text = request.instruction.strip()
        if text and self.dock is not None:
            history = [text] + [h for h in load_history() if h != text]
            history = history[: load_settings().history_size]
            save_history(history)
            self.dock.set_history(history)
        return self.controller.start_run(request)

    def show_dock(self) -> GeoRSMLLMDock:
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def _url_layer_added(self, layer: QgsRasterLayer) -> None:
        """A raster added by URL becomes the panel's image: runs on it send the URL to the backend."""
        if self.dock is not None:
            self.dock.layer_combo.setLayer(layer)

    def on_raster_action(self, layer: QgsMapLayer, kind: str) -> None:
        dock = self.show_dock()
        dock.layer_combo.setLayer(layer)
        if kind == "caption":
            dock.set_task("caption")
            self.run(RunRequest(instruction=vocabulary.current().task("caption").default_instruction,
                                task="caption", layer_id=layer.id(), **self._canvas_view()))
            return
        dock.set_task(None if kind == "ask" else kind)
        if kind == "change":
            others = [lyr for lyr in QgsProject.instance().mapLayers().values()
                      if isinstance(lyr, QgsRasterLayer) and lyr.id() != layer.id()]
            dock.layer_b_combo.setLayer(others[0] if others else None)
            dock.layer_b_combo.setFocus()
        else:
            dock.instruction.setFocus()

    def on_vector_action(self, layer: QgsMapLayer) -> None:
        raster = self.raster_under(layer)
        if raster is None:
            self._message(tr("No visible raster layer lies under {name}: add the image to describe.").format(
                name=layer.name()), True)
            return
        self.show_dock().set_task("identify")
        self.run(RunRequest(instruction=vocabulary.current().task("identify").default_instruction, task="identify",
                            layer_id=raster.id(), regions_layer_id=layer.id(), **self._canvas_view()))

    def _canvas_view(self) -> dict:
        """The map view, which sets the area and resolution of layers that must be rendered (web layers)."""
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        if canvas is None:
            return {}
        rect, crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        return {"extent": (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()),
                "extent_crs": crs.authid() or crs.toWkt(), "units_per_px": canvas.mapUnitsPerPixel()}

    def raster_under(self, layer: QgsVectorLayer) -> QgsRasterLayer | None:
        """The topmost visible raster layer whose extent overlaps the layer's selected (or all) features."""
        bounds = layer.boundingBoxOfSelected() if layer.selectedFeatureCount() else layer.extent()
        project = QgsProject.instance()
        for tree_layer in project.layerTreeRoot().findLayers():
            candidate = tree_layer.layer()
            if isinstance(candidate, QgsRasterLayer) and tree_layer.isVisible() and candidate.isValid():
                transform = QgsCoordinateTransform(layer.crs(), candidate.crs(), project)
                if candidate.extent().intersects(transform.transformBoundingBox(bounds)):
                    return candidate
        return None

    def show_settings(self) -> None:
        self.iface.showOptionsDialog(self.iface.mainWindow(), currentPage="GeoRSMLLMOptions")

    def show_about(self) -> None:
        QMessageBox.about(
            self.iface.mainWindow(),
            about.TITLE,
            tr("GeoRSMLLM {version}\nNatural-language instructions on raster layers.\nIssues: {tracker}").format(
                version=about.VERSION, tracker=about.TRACKER
            ),
        )

    # -- feedback -------------------------------------------------------------------------------------
    def _dock_visible(self, visible: bool) -> None:
        if self.controller is not None:
            self.controller.watch_status(visible)  # the status line follows the backend while shown

    def _job_finished(self, key: str, summary: str, outcome) -> None:
        if self.dock is not None and self.controller is not None:
            self.dock.job_finished(key, summary, outcome)

    def _message(self, text: str, error: bool) -> None:
        if self.dock is not None:
            self.dock.show_message(text, error)
        if error and self.iface is not None:
            self.iface.messageBar().pushMessage(about.TITLE, text, Qgis.Critical, 10)
