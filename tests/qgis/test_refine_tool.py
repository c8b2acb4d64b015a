"""The "Refine by clicking" map tool in headless QGIS against a real backend with a tiny random-weight SAM2: a
segmentation run from the dock makes its polygons layer refinable; simulated clicks, Shift-clicks and drags
send requests; Enter (or right-click) replaces the feature's geometry and measures through the edit buffer,
and undo restores them; Esc leaves the feature alone. Random weights make the outlines meaningless: the tests
check the plumbing, not what SAM2 draws."""

from __future__ import annotations

import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsRectangle
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtGui import QKeyEvent

from .conftest import ServerProcess, result_groups, start_plugin

pytest.importorskip("torch")
pytest.importorskip("sam2")

#: A square (raster pixels of naip 2009: col, row, size) inside the first of its 2 x 2 tiles of 512 px.
SQUARE = (100, 50, 100)


@pytest.fixture(scope="module")
def sam2_server(tmp_path_factory):
    """A backend whose segmenter is a tiny random-weight SAM2 (256 px input) on the CPU."""
    from tests.helpers.tiny_models import build_sam2_tiny

    folder = tmp_path_factory.mktemp("refine_backend")
    checkpoint = build_sam2_tiny(folder / "sam2_tiny_random.pt", image_size=256)
    server = ServerProcess(folder, latency=0.0, extra_args=(
        "--segmenter", "sam2", "--sam2-checkpoint", str(checkpoint), "--sam2-size", "tiny",
        "--sam2-image-size", "256", "--device", "cpu"))
    yield server
    server.stop()


@pytest.fixture
def refine_plugin(qgis_iface, project, monkeypatch, sam2_server, tmp_path, plugin_pkg):
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", sam2_server.url)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TOKEN", sam2_server.token)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OUTPUT_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TILE_SIZE", "512")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OVERLAP", "0")
    plugin = start_plugin(qgis_iface, monkeypatch)
    yield plugin
    plugin.unload()


@pytest.fixture
def segmented(refine_plugin, project, qtbot, qgis_iface):
    """A finished segmentation run from the dock, with a square added to its polygons layer (the run's own
    outlines come from random weights); the layer is current and the canvas shows it."""
    plugin = refine_plugin
    dock = plugin.show_dock()
    dock.instruction.setEditText("segment the fields")
    dock.set_task("seg")
    raster = project.mapLayersByName("naip 2009")[0]
    dock.layer_combo.setLayer(raster)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=60000) as finished:
        dock.request_run()
    assert finished.args[2].error is None, finished.args[2].error
    layer = next(node.layer() for node in result_groups(project)[0].findLayers()
                 if node.layer().name().split(" ")[0].endswith("_polygons"))
    col, row, size = SQUARE
    transform = raster.dataProvider().extent()
    res_x, res_y = raster.rasterUnitsPerPixelX(), raster.rasterUnitsPerPixelY()
    x0, y1 = transform.xMinimum() + col * res_x, transform.yMaximum() - row * res_y
    square = QgsFeature(layer.fields())
    square.setGeometry(QgsGeometry.fromRect(QgsRectangle(x0, y1 - size * res_y, x0 + size * res_x, y1)))
    square["label"] = "field"
    square["area_m2"] = size * size * res_x * res_y
    ok, added = layer.dataProvider().addFeatures([square])
    assert ok
    canvas = qgis_iface.mapCanvas()
    canvas.resize(800, 600)
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(raster.extent())
    qgis_iface.setActiveLayer(layer)
    plugin._current_layer_changed()
    return plugin, layer, added[0].id()


def pixel(canvas, x: float, y: float) -> QPoint:
    point = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
    return QPoint(round(point.x()), round(point.y()))


def click(tool, canvas, at: QPoint, button=Qt.LeftButton, modifiers=Qt.NoModifier) -> None:
    for kind, handler in ((QEvent.MouseButtonPress, tool.canvasPressEvent),
                          (QEvent.MouseButtonRelease, tool.canvasReleaseEvent)):
        handler(QgsMapMouseEvent(canvas, kind, at, button, button, modifiers))


def drag(tool, canvas, start: QPoint, end: QPoint) -> None:
    tool.canvasPressEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonPress, start, Qt.LeftButton, Qt.LeftButton))
    middle = (start + end) / 2
    for at in (middle, end):
        tool.canvasMoveEvent(QgsMapMouseEvent(canvas, QEvent.MouseMove, at, Qt.NoButton, Qt.LeftButton))
    tool.canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, end, Qt.LeftButton, Qt.NoButton))


def key(tool, code) -> QKeyEvent:
    event = QKeyEvent(QEvent.KeyPress, code, Qt.NoModifier)
    tool.keyPressEvent(event)
    return event


def activate(plugin):
    assert plugin.refine_action.isEnabled()
    plugin.refine_action.trigger()
    tool = plugin.refine_tool
    assert plugin.iface.mapCanvas().mapTool() is tool and plugin.refine_action.isChecked()
    sent = []
    original = tool.start_refine

    def record(body, dirs, on_answer):
        sent.append(body)
        original(body, dirs, on_answer)

    tool.start_refine = record
    return tool, sent


def geometry_of(layer, fid):
    return QgsGeometry(layer.getFeature(fid).geometry())


def test_clicks_and_a_drag_refine_the_object_and_undo_restores_it(segmented, qtbot):
    plugin, layer, fid = segmented
    canvas = plugin.iface.mapCanvas()
    tool, sent = activate(plugin)
    original = geometry_of(layer, fid)
    original_area = layer.getFeature(fid)["area_m2"]
    centre = original.centroid().asPoint()
    bounds = original.boundingBox()

    with qtbot.waitSignal(tool.answered, timeout=30000):
        click(tool, canvas, pixel(canvas, centre.x(), centre.y()))
    assert tool.fid == fid and tool.preview is not None and not tool.preview.isEmpty()
    body = sent[-1]
    assert body["job_id"] and body["run"]["task"] == "seg" and body["crs"] == "EPSG:26914"
    assert body["feature"]["type"] == "Polygon" and body["label"] == "field" and "box" not in body
    [point] = body["points"]
    assert point["label"] == 1
    assert abs(point["x"] - centre.x()) < 2 * canvas.mapUnitsPerPixel()
    assert abs(point["y"] - centre.y()) < 2 * canvas.mapUnitsPerPixel()

    near_edge = QgsPointXY(bounds.xMinimum() + 0.1 * bounds.width(), centre.y())
    with qtbot.waitSignal(tool.answered, timeout=30000):
        click(tool, canvas, pixel(canvas, near_edge.x(), near_edge.y()), modifiers=Qt.ShiftModifier)
    assert [p["label"] for p in sent[-1]["points"]] == [1, 0]

    grown = bounds.buffered(bounds.width() * 0.2)
    with qtbot.waitSignal(tool.answered, timeout=30000):
        drag(tool, canvas, pixel(canvas, grown.xMinimum(), grown.yMaximum()),
             pixel(canvas, grown.xMaximum(), grown.yMinimum()))
    xmin, ymin, xmax, ymax = sent[-1]["box"]
    assert xmin == pytest.approx(grown.xMinimum(), abs=2 * canvas.mapUnitsPerPixel())
    assert ymax == pytest.approx(grown.yMaximum(), abs=2 * canvas.mapUnitsPerPixel())
    assert len(sent[-1]["points"]) == 2 and len(tool._markers) == 2
    preview, measures = QgsGeometry(tool.preview), dict(tool.measures)

    assert key(tool, Qt.Key_Return).isAccepted()
    assert layer.isEditable() and layer.undoStack().count() == 1
    refined = layer.getFeature(fid)
    assert refined.geometry().equals(preview) and not refined.geometry().equals(original)
    assert refined["area_m2"] == pytest.approx(measures["area_m2"])
    assert tool.fid is None and tool.preview is None and tool._markers == []  # ready for the next object

    layer.undoStack().undo()
    restored = layer.getFeature(fid)
    assert restored.geometry().equals(original) and restored["area_m2"] == pytest.approx(original_area)
    layer.rollBack()


def test_escape_leaves_the_object_alone(segmented, qtbot):
    plugin, layer, fid = segmented
    canvas = plugin.iface.mapCanvas()
    tool, sent = activate(plugin)
    original = geometry_of(layer, fid)
    centre = original.centroid().asPoint()
    click(tool, canvas, pixel(canvas, centre.x(), centre.y()))
    assert tool.pending and len(tool._markers) == 1
    assert key(tool, Qt.Key_Escape).isAccepted()
    assert tool.fid is None and tool._markers == [] and tool.preview is None
    from georsmllm.plugin.logic.tasks import running_tasks

    qtbot.waitUntil(lambda: running_tasks() == 0, timeout=30000)  # the answer already asked for arrives...
    qtbot.wait(100)
    assert tool.preview is None and not layer.isEditable()  # ...and is ignored
    assert geometry_of(layer, fid).equals(original)
    assert len(sent) == 1


def test_right_click_keeps_the_answer_even_before_it_arrives(segmented, qtbot):
    plugin, layer, fid = segmented
    canvas = plugin.iface.mapCanvas()
    tool, _sent = activate(plugin)
    original = geometry_of(layer, fid)
    centre = original.centroid().asPoint()
    with qtbot.waitSignal(tool.refined, timeout=30000) as refined:
        click(tool, canvas, pixel(canvas, centre.x(), centre.y()))
        click(tool, canvas, pixel(canvas, centre.x(), centre.y()), button=Qt.RightButton)  # still pending
    assert refined.args == [layer.id(), fid]
    assert not geometry_of(layer, fid).equals(original)
    assert layer.undoStack().count() == 1
    layer.rollBack()


def test_a_click_outside_every_object_says_so(segmented, qtbot):
    plugin, layer, _fid = segmented
    canvas = plugin.iface.mapCanvas()
    tool, sent = activate(plugin)
    messages = []
    tool.message.connect(lambda text, error: messages.append((text, error)))
    extent = layer.extent()
    click(tool, canvas, pixel(canvas, extent.xMaximum() + 50, extent.yMaximum() + 50))
    assert sent == [] and messages and messages[-1][1] is True and "Click inside an object" in messages[-1][0]


def test_the_action_is_enabled_only_for_refinable_layers(segmented, project, qgis_iface):
    plugin, layer, _fid = segmented
    assert plugin.refine_action.isEnabled()
    qgis_iface.setActiveLayer(project.mapLayersByName("naip 2009")[0])
    plugin._current_layer_changed()
    assert not plugin.refine_action.isEnabled()
    qgis_iface.setActiveLayer(layer)
    plugin._current_layer_changed()
    plugin.refine_action.trigger()
    assert qgis_iface.mapCanvas().mapTool() is plugin.refine_tool
    qgis_iface.setActiveLayer(project.mapLayersByName("naip 2020")[0])
    plugin._current_layer_changed()  # the tool stops when the current layer cannot be refined
    assert qgis_iface.mapCanvas().mapTool() is not plugin.refine_tool
    assert not plugin.refine_action.isChecked()


def test_backspace_removes_the_last_prompt_without_deleting_selected_features(segmented, qtbot):
    """QGIS deletes the selected features on a Backspace or Delete the map tool leaves accepted; the tool uses
    those keys itself, so it leaves them ignored (as QGIS's own digitizing tools do)."""
    plugin, layer, fid = segmented
    canvas = plugin.iface.mapCanvas()
    tool, sent = activate(plugin)
    centre = geometry_of(layer, fid).centroid().asPoint()
    with qtbot.waitSignal(tool.answered, timeout=30000):
        click(tool, canvas, pixel(canvas, centre.x(), centre.y()))
    with qtbot.waitSignal(tool.answered, timeout=30000):
        click(tool, canvas, pixel(canvas, centre.x() + 5, centre.y()), modifiers=Qt.ShiftModifier)
    assert not key(tool, Qt.Key_Backspace).isAccepted()  # used by the tool: QGIS must not act on it
    assert [label for _p, label in tool.points] == [1] and len(tool._markers) == 1
    qtbot.waitUntil(lambda: not tool.pending, timeout=30000)
    assert [p["label"] for p in sent[-1]["points"]] == [1]  # sent again without the removed point
    assert not key(tool, Qt.Key_Delete).isAccepted()  # the last prompt: the preview goes, the object is dropped
    assert tool.order == [] and tool.preview is None and tool._markers == [] and tool.fid is None
    assert key(tool, Qt.Key_Backspace).isAccepted() is False  # nothing to remove: passed on as QGIS expects
    assert layer.featureCount() > 0 and not layer.isEditable()
