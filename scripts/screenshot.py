"""Render docs/screenshot.png and docs/screenshot-running.png: a QGIS main window (map canvas, layer tree,
the GeoRSMLLM panel) during and after real runs of the plugin against a local backend it starts itself.

The backend runs the scripted demo engine (canned answers, so no model is needed); the plugin labels such
runs itself, so the picture says "demo (scripted answers)" in the group, layer and run names and in the
status line: the boxes come from a script, not from a model looking at the ponds.

Run under an X server (scripts/screenshot.sh starts Xvfb): ``python scripts/screenshot.py OUT.png`` (the
mid-run picture goes beside it, ``OUT-running.png``). QGIS settings go to a temporary folder, so the
user's profile is not touched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="georsmllm-screenshot-"))
ANSWERS = {
    "rules": [
        {"prompt_contains": "[detection]",
         "answer": "<ref>pond</ref>{(120,140),(260,140),(260,250),(120,250)}\n"
                   "<ref>pond</ref>{(600,560),(720,540),(745,650),(625,672)}"},
        {"prompt_contains": "[caption]",
         "answer": "Rural North Dakota: square crop fields in several shades of green and brown, scattered "
                   "prairie potholes (small ponds and wetlands), a few farmsteads and gravel section roads."},
    ],
    "default": "None",
    "latency": 1.0,  # slow enough to photograph the panel mid-run
}


def main(out: str) -> int:
    from qgis.PyQt.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(TMP / "settings"))
    script = TMP / "answers.json"
    script.write_text(json.dumps(ANSWERS), encoding="utf-8")
    os.environ.update({
        "GEORSMLLM_PLUGIN_INTERPRETER": sys.executable, "GEORSMLLM_PLUGIN_ENGINE": "scripted",
        "GEORSMLLM_PLUGIN_SEGMENTER": "none", "GEORSMLLM_PLUGIN_EXTRA_ARGS": f"--script {script}",
        "GEORSMLLM_PLUGIN_TILE_SIZE": "480", "GEORSMLLM_PLUGIN_OVERLAP": "0", "GEORSMLLM_PLUGIN_CONCURRENCY": "1",
        "GEORSMLLM_PLUGIN_OUTPUT_DIR": str(TMP / "results"), "GEORSMLLM_PLUGIN_STARTUP_TIMEOUT_S": "60",
    })

    from qgis.core import QgsApplication, QgsLayerTreeModel, QgsProject, QgsRasterLayer
    from qgis.gui import QgsLayerTreeMapCanvasBridge, QgsLayerTreeView, QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtCore import QEventLoop, Qt, QTimer
    from qgis.PyQt.QtWidgets import QDockWidget, QMainWindow, QMenu

    app = QgsApplication([], True)
    app.initQgis()
    window = QMainWindow()
    window.setWindowTitle("QGIS — GeoRSMLLM")
    canvas = QgsMapCanvas()
    canvas.setCanvasColor(Qt.white)
    window.setCentralWidget(canvas)
    project = QgsProject.instance()
    tree_view = QgsLayerTreeView()
    tree_model = QgsLayerTreeModel(project.layerTreeRoot())  # the view does not own its model: keep it
    tree_view.setModel(tree_model)
    # Keeps the canvas layers in sync with the tree; held on the window so it lives as long.
    window.bridge = QgsLayerTreeMapCanvasBridge(project.layerTreeRoot(), canvas)
    layers_dock = QDockWidget("Layers")
    layers_dock.setWidget(tree_view)
    window.addDockWidget(Qt.LeftDockWidgetArea, layers_dock)
    window.resizeDocks([layers_dock], [290], Qt.Horizontal)
    message_bar = QgsMessageBar()

    class Iface:
        """The part of QgisInterface the plugin uses."""

        def __init__(self):
            self.menu = window.menuBar().addMenu("&Raster")
            self.toolbar = window.addToolBar("Plugins")

        def mainWindow(self):
            return window

        def mapCanvas(self):
            return canvas

        def messageBar(self):
            return message_bar

        def activeLayer(self):
            return tree_view.currentLayer()

        def addDockWidget(self, area, dock):
            window.addDockWidget(area, dock)

        def removeDockWidget(self, dock):
            window.removeDockWidget(dock)

        def addPluginToRasterMenu(self, name, action):
            sub = next((a.menu() for a in self.menu.actions() if a.text() == name), None) or self.menu.addMenu(name)
            sub.addAction(action)

        def removePluginRasterMenu(self, name, action):
            for entry in self.menu.actions():
                if isinstance(entry.menu(), QMenu) and entry.text() == name:
                    entry.menu().removeAction(action)

        def addToolBarIcon(self, action):
            self.toolbar.addAction(action)

        def removeToolBarIcon(self, action):
            self.toolbar.removeAction(action)

        def addCustomActionForLayerType(self, *args):
            pass

        def removeCustomActionForLayerType(self, *args):
            pass

        def registerOptionsWidgetFactory(self, factory):
            pass

        def unregisterOptionsWidgetFactory(self, factory):
            pass

    spec = importlib.util.spec_from_file_location("georsmllm", ROOT / "__init__.py",
                                                  submodule_search_locations=[str(ROOT)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["georsmllm"] = package
    spec.loader.exec_module(package)

    raster = QgsRasterLayer(str(ROOT / "tests" / "data" / "naip_2009.tif"), "naip_2009 (NAIP, 5 m)")
    project.addMapLayer(raster)
    canvas.setDestinationCrs(raster.crs())
    canvas.setExtent(raster.extent())
    plugin = package.classFactory(Iface())
    plugin.initGui()
    dock = plugin.show_dock()
    window.resize(1500, 900)
    window.show()

    def wait(signal, seconds: float) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec_()

    def settle(seconds: float) -> None:
        canvas.refreshAllLayers()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:  # let the canvas render and labels settle
            app.processEvents()
            time.sleep(0.05)
        tree_view.expandAll()
        app.processEvents()

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    running_out = str(Path(out).with_name(Path(out).stem + "-running" + Path(out).suffix))
    dock.layer_combo.setLayer(raster)
    dock.set_task("caption")
    dock.instruction.setEditText("")
    dock.request_run()
    wait(plugin.controller.job_finished, 90)
    dock.set_task(None)
    dock.instruction.setEditText("detect the ponds")
    dock.request_plan()
    wait(plugin.controller.plan_ready, 30)
    tiles_done = []
    plugin.controller.job_progress.connect(lambda key, event: tiles_done.append(event.tiles_done))
    dock.request_run()
    deadline = time.monotonic() + 60
    while max(tiles_done, default=0) < 2 and time.monotonic() < deadline:  # half-way: the picture mid-run
        wait(plugin.controller.job_progress, 5)
    settle(1.5)
    ok = window.grab().save(running_out)
    wait(plugin.controller.job_finished, 60)
    plugin.controller.refresh_status(start=False)
    wait(plugin.controller.status_changed, 20)
    settle(4)
    ok = window.grab().save(out) and ok
    plugin.unload()
    project.removeAllMapLayers()
    del raster
    window.close()
    tree_view.setModel(None)
    window.deleteLater()  # widgets go before exitQgis, or QGIS can crash at exit
    app.processEvents()
    app.exitQgis()
    print(f"screenshot: {running_out} {out}" if ok else "screenshot: could not save", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "screenshot.png")))
