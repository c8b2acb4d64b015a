"""Render docs/screenshot.png, docs/screenshot-running.png and docs/screenshot-refine.png: a QGIS main window
(map canvas, layer tree, the GeoRSMLLM panel) during and after real runs of the plugin against a local backend it
starts itself, and while an object of a segmentation is refined by clicking.

The backend runs the scripted demo engine (canned answers, so no model is needed); the plugin labels such
runs itself, so the picture says "demo (scripted answers)" in the group, layer and run names and in the
status line: the boxes come from a script, not from a model looking at the ponds. No SAM2 weights are
downloaded either (and random ones outline noise): the backend runs with ``scripts/demo_backend.py``'s
``demo-fill`` segmenter, a colour flood fill from the prompts standing in for SAM2, and the refine picture
says so in its message bar. That picture shows what the tool does (the clicked point, the dragged box, the
answer drawn as a preview over the outline it replaces), not SAM2's quality.

Run under an X server (scripts/screenshot.sh starts Xvfb): ``python scripts/screenshot.py OUT.png`` (the
mid-run and refine pictures go beside it, ``OUT-running.png`` and ``OUT-refine.png``). QGIS settings go to a
temporary folder, so the user's profile is not touched.
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
#: The pond the segmentation demo asks about, in raster pixels of naip_2009.tif: its centre, the box the
#: scripted answer gives (too tight: it misses the pond's eastern end, which the refinement then adds), a point
#: inside, and the box dragged around the whole pond when refining.
POND_CENTRE_PX = (715, 389)
POND_BOX_PX = (668, 348, 748, 432)
REFINE_POINT_PX = (766, 380)
REFINE_BOX_PX = (660, 338, 792, 440)
SEG_TILE = 480  # the demo's tile size (GEORSMLLM_PLUGIN_TILE_SIZE below)
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


def seg_answer(raster_path: str) -> str:
    """The scripted segmentation answer (a box and a keypoint, 0-1000 of the tile) that points at the pond, for
    the one tile a run over a map extent centred on the pond reads (the backend's own tile planner)."""
    if str(ROOT) not in sys.path:  # the backend package, from this checkout
        sys.path.insert(0, str(ROOT))
    from model_backend.raster import TileLayout, open_raster, plan_tiles

    with open_raster(raster_path) as source:
        centre = source.georef.to_map(POND_CENTRE_PX)
        half = 200 * source.pixel_size[0]  # an extent smaller than a tile: one tile, centred on the pond
        plan = plan_tiles(source, TileLayout(tile_size=SEG_TILE, overlap=0),
                          aoi_bounds=(centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half))
    tile = next(iter(plan))
    col, row, width, height = tile.window
    x0, y0, x1, y1 = POND_BOX_PX

    def norm(x, y):
        return round(1000 * (x - col) / width), round(1000 * (y - row) / height)

    (a, b), (c, d) = norm(x0, y0), norm(x1, y1)
    kx, ky = norm(*POND_CENTRE_PX)
    return f"<ref>pond</ref><box>[{a},{b},{c},{d}]</box><keypoint>[({kx},{ky})]</keypoint>"


def demo_interpreter(folder: Path) -> Path:
    """An "interpreter" for the plugin's local backend: ``-m model_backend ...`` runs ``scripts/demo_backend.py``
    (the backend plus the ``demo-fill`` segmenter); anything else goes to this Python as it is."""
    wrapper = folder / "python-demo-backend"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "model_backend" ]; then\n'
        f'    shift 2; exec "{sys.executable}" "{ROOT / "scripts" / "demo_backend.py"}" "$@"\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def main(out: str) -> int:
    from qgis.PyQt.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(TMP / "settings"))
    naip = str(ROOT / "tests" / "data" / "naip_2009.tif")
    script = TMP / "answers.json"
    answers = dict(ANSWERS, rules=[*ANSWERS["rules"], {"prompt_contains": "[seg]", "answer": seg_answer(naip)}])
    script.write_text(json.dumps(answers), encoding="utf-8")
    os.environ.update({
        "GEORSMLLM_PLUGIN_INTERPRETER": str(demo_interpreter(TMP)), "GEORSMLLM_PLUGIN_ENGINE": "scripted",
        "GEORSMLLM_PLUGIN_SEGMENTER": "none", "GEORSMLLM_PLUGIN_DEVICE": "cpu",
        "GEORSMLLM_PLUGIN_EXTRA_ARGS": f"--script {script} --segmenter demo-fill",
        "GEORSMLLM_PLUGIN_TILE_SIZE": str(SEG_TILE), "GEORSMLLM_PLUGIN_OVERLAP": "0",
        "GEORSMLLM_PLUGIN_CONCURRENCY": "1",
        "GEORSMLLM_PLUGIN_OUTPUT_DIR": str(TMP / "results"), "GEORSMLLM_PLUGIN_STARTUP_TIMEOUT_S": "60",
    })

    from qgis.core import QgsApplication, QgsLayerTreeModel, QgsProject, QgsRasterLayer
    from qgis.gui import QgsLayerTreeMapCanvasBridge, QgsLayerTreeView, QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtCore import QEventLoop, QObject, Qt, QTimer, pyqtSignal
    from qgis.PyQt.QtWidgets import QDockWidget, QMainWindow, QMenu, QVBoxLayout, QWidget

    app = QgsApplication([], True)
    app.initQgis()
    window = QMainWindow()
    window.setWindowTitle("QGIS — GeoRSMLLM")
    canvas = QgsMapCanvas()
    canvas.setCanvasColor(Qt.white)
    message_bar = QgsMessageBar()
    centre = QWidget()
    centre_layout = QVBoxLayout(centre)
    centre_layout.setContentsMargins(0, 0, 0, 0)
    centre_layout.addWidget(message_bar)  # above the map, as in QGIS (hidden while empty)
    centre_layout.addWidget(canvas, 1)
    window.setCentralWidget(centre)
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

    class Signals(QObject):
        currentLayerChanged = pyqtSignal(object)

    signals = Signals()
    tree_view.currentLayerChanged.connect(lambda layer: signals.currentLayerChanged.emit(layer))

    class Iface:
        """The part of QgisInterface the plugin uses."""

        def __init__(self):
            self.menu = window.menuBar().addMenu("&Raster")
            self.toolbar = window.addToolBar("Plugins")
            self.currentLayerChanged = signals.currentLayerChanged

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

    raster = QgsRasterLayer(naip, "naip_2009 (NAIP, 5 m)")
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
    refine_out = str(Path(out).with_name(Path(out).stem + "-refine" + Path(out).suffix))
    ok = refine_picture(app, plugin, dock, canvas, raster, tree_view, message_bar, wait, settle, window,
                        refine_out) and ok
    plugin.unload()
    project.removeAllMapLayers()
    del raster
    window.close()
    tree_view.setModel(None)
    window.deleteLater()  # widgets go before exitQgis, or QGIS can crash at exit
    app.processEvents()
    app.exitQgis()
    print(f"screenshot: {running_out} {out} {refine_out}" if ok else "screenshot: could not save", flush=True)
    return 0 if ok else 1


def refine_picture(app, plugin, dock, canvas, raster, tree_view, message_bar, wait, settle, window,
                   out: str) -> bool:
    """Segment the pond (a run over a map extent centred on it), then refine its outline by clicking: a point
    inside, a Shift+click outside, the preview; the picture is taken before Enter keeps it, which is checked."""
    from qgis.core import Qgis, QgsPointXY, QgsRectangle
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt
    from qgis.PyQt.QtGui import QKeyEvent

    provider = raster.dataProvider().extent()
    res = raster.rasterUnitsPerPixelX()
    cx, cy = provider.xMinimum() + POND_CENTRE_PX[0] * res, provider.yMaximum() - POND_CENTRE_PX[1] * res
    canvas.setExtent(QgsRectangle(cx - 180 * res, cy - 120 * res, cx + 180 * res, cy + 120 * res))
    settle(0.5)
    dock.set_task("seg")
    dock.instruction.setEditText("segment the pond")
    dock.area_combo.setCurrentIndex(dock.area_combo.findData("extent"))
    dock.request_run()
    wait(plugin.controller.job_finished, 120)
    layer = next((lyr for lyr in plugin.controller.project.mapLayers().values()
                  if lyr.customProperty("georsmllm/refine")), None)
    if layer is None or layer.featureCount() == 0:
        print("screenshot: the segmentation wrote no polygon", flush=True)
        return False
    root = plugin.controller.project.layerTreeRoot()
    for node in root.children():  # as a user would: only the segmentation over the image
        if node.nodeType() == 0 and node.findLayer(layer.id()) is None:
            node.setItemVisibilityChecked(False)
    tree_view.setCurrentLayer(layer)
    settle(0.5)
    plugin.refine_action.trigger()
    tool = plugin.refine_tool

    def pixel(x, y):
        point = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
        return QPoint(round(point.x()), round(point.y()))

    def click(x, y, modifiers=Qt.NoModifier):  # map coordinates
        at = pixel(x, y)
        for kind, handler in ((QEvent.MouseButtonPress, tool.canvasPressEvent),
                              (QEvent.MouseButtonRelease, tool.canvasReleaseEvent)):
            handler(QgsMapMouseEvent(canvas, kind, at, Qt.LeftButton, Qt.LeftButton, modifiers))
        wait(tool.answered, 60)

    def map_xy(col, row):
        return provider.xMinimum() + col * res, provider.yMaximum() - row * res

    feature = max(layer.getFeatures(), key=lambda f: f.geometry().area())
    original = feature.geometry()
    (x0, y0), (x1, y1) = map_xy(*REFINE_BOX_PX[:2]), map_xy(*REFINE_BOX_PX[2:])
    tool.canvasPressEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonPress, pixel(x0, y0), Qt.LeftButton,
                                           Qt.LeftButton))
    tool.canvasMoveEvent(QgsMapMouseEvent(canvas, QEvent.MouseMove, pixel(x1, y1), Qt.NoButton, Qt.LeftButton))
    tool.canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, pixel(x1, y1), Qt.LeftButton,
                                             Qt.NoButton))
    wait(tool.answered, 60)
    click(*map_xy(*REFINE_POINT_PX))  # "this is pond too": beyond the run's outline
    if tool.fid is None or len(tool.points) != 1:
        print("screenshot: the refine tool did not take the box and the point", flush=True)
        return False
    message_bar.clearWidgets()
    message_bar.pushMessage("Demo", "a colour flood fill stands in for SAM2 (no weights downloaded); the "
                            "answers are scripted.", Qgis.Warning, 0)
    settle(2)
    ok = window.grab().save(out)
    tool.keyPressEvent(QKeyEvent(QEvent.KeyPress, Qt.Key_Return, Qt.NoModifier))
    refined = layer.getFeature(feature.id()).geometry()
    if refined.equals(original) or layer.undoStack().count() != 1:
        print("screenshot: Enter did not replace the geometry through the edit buffer", flush=True)
        ok = False
    layer.rollBack()
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "screenshot.png")))
