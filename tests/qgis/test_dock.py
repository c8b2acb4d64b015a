"""The dock driven with qtbot: instruction -> Run -> live layer -> GeoPackage layers in a group, answers in
the panel; Show plan; cancel mid-run; a backend killed mid-run gives a message, not a hang."""

from __future__ import annotations

import os
import signal

from qgis.core import QgsVectorLayer
from qgis.PyQt.QtCore import QThread

from .conftest import result_groups, start_slow_run


def test_run_from_the_dock_adds_styled_layers_with_the_recipe(plugin, project, qtbot):
    dock = plugin.show_dock()
    threads, running_layers = [], []
    plugin.controller.job_progress.connect(lambda key, event: threads.append(QThread.currentThread()))
    project.layersAdded.connect(lambda layers: running_layers.extend(
        layer.name() for layer in layers if layer.providerType() == "memory"))
    dock.instruction.setEditText("detect the ponds")
    dock.set_task("detection")
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        qtbot.mouseClick(dock.run_button, 1)
    key, summary, outcome = finished.args
    assert outcome.error is None, outcome.error
    assert summary == "4 ponds"
    assert threads and all(t is QThread.currentThread() for t in threads)  # events reach the GUI thread
    assert any("(running)" in name for name in running_layers)  # live layer while it ran
    assert not [lyr for lyr in project.mapLayers().values() if lyr.providerType() == "memory"]  # replaced at the end
    group = result_groups(project)[0]
    # scripted answers, not a model's: the group (and the run's row) say so
    assert group.name().startswith("detect the ponds") and group.name().endswith("demo (scripted answers)")
    layer = group.findLayers()[0].layer()
    assert isinstance(layer, QgsVectorLayer) and layer.featureCount() == 4
    assert layer.crs().authid() == "EPSG:26914"
    assert "detect the ponds" in layer.metadata().abstract()
    assert "Plan:\n1. \u25c6 Model (detection): find the ponds in every tile." in layer.metadata().abstract()
    assert "detection" in layer.metadata().keywords().get("georsmllm", [])
    assert layer.renderer().symbol().symbolLayer(0).brushStyle() == 0  # boxes: outline only (Qt.NoBrush)
    assert layer.labelsEnabled()
    row = dock.runs.rows[key]
    assert row.state == "done" and row.outcome.fullText() == summary and "demo" in row.title
    # where it was saved, with one timestamp shared by the group, the file and the layer inside it
    assert row.saved_path == outcome.gpkg and row.saved_box.isVisibleTo(dock)
    stamp = os.path.basename(outcome.gpkg)[-len("20261126_202039.gpkg"):-len(".gpkg")]
    assert layer.name().endswith(f"{stamp}_boxes (demo)")
    assert group.name().startswith(f"detect the ponds ({stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]})")
    assert {f["area_m2"] for f in layer.getFeatures()} and all(f["area_m2"] > 0 for f in layer.getFeatures())


def test_a_reference_the_model_finds_is_loaded_as_its_own_layer(plugin, project, qtbot):
    """"near a bridge" with no bridge layer: the backend finds the bridges too (the demo engine answers its
    canned box), and the run's group holds the bridges it measured against beside the ponds kept."""
    dock = plugin.show_dock()
    dock.instruction.setEditText("detect the ponds near a bridge")
    dock.set_task("detection")
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        qtbot.mouseClick(dock.run_button, 1)
    outcome = finished.args[2]
    assert outcome.error is None, outcome.error
    assert outcome.result["references"]["r1"]["phrase"] == "bridge"
    layers = {node.layer().name(): node.layer() for node in result_groups(project)[0].findLayers()}
    bridges = next(layer for name, layer in layers.items() if "_ref_bridge_boxes" in name)
    assert bridges.featureCount() == outcome.result["references"]["r1"]["found"] > 0
    assert bridges.renderer().symbol().symbolLayer(0).brushStyle() == 0  # styled as boxes
    assert "1. \u25c6 Model (detection): find the bridge first" in bridges.metadata().abstract()


def test_caption_answer_shows_in_the_panel(plugin, project, qtbot):
    dock = plugin.show_dock()
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    dock.set_task("caption")
    dock.instruction.setEditText("")
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000):
        dock.request_run()
    assert "Farmland with several small ponds." in dock.answers.toPlainText()


def test_change_from_the_layer_menu_uses_both_rasters(plugin, project, qtbot):
    before = project.mapLayersByName("naip 2009")[0]
    plugin.on_raster_action(before, "change")
    dock = plugin.dock
    assert dock.current_task() == "change"
    assert dock.layer_b_combo.currentLayer().name() == "naip 2020"
    dock.instruction.setEditText("new ponds")
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        dock.request_run()
    assert finished.args[2].error is None
    layer = result_groups(project)[0].findLayers()[0].layer()
    assert {f["label"] for f in layer.getFeatures()} == {"new pond"}


def test_describe_these_features_from_the_vector_menu(plugin, project, qtbot):
    from qgis.core import QgsFeature, QgsGeometry

    regions = QgsVectorLayer("Polygon?crs=EPSG:4326&field=name:string", "fields", "memory")
    feature = QgsFeature(regions.fields())
    feature.setGeometry(QgsGeometry.fromWkt(  # inside the NAIP scene, given in WGS84
        "POLYGON((-99.17 47.01, -99.16 47.01, -99.16 47.02, -99.17 47.02, -99.17 47.01))"))
    feature.setAttributes(["north field"])
    regions.dataProvider().addFeature(feature)
    project.addMapLayer(regions)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        plugin.on_vector_action(regions)
    assert finished.args[2].error is None, finished.args[2].error
    assert "A small pond surrounded by fields." in plugin.dock.answers.toPlainText()


def test_show_plan_shows_the_numbered_sentences_marked_by_kind(plugin, qtbot):
    """The backend's sentences, numbered, each after the mark of its kind (model step, GIS measure,
    assumption), with a legend; a reference the model finds first is a model step. Never the raw plan."""
    dock = plugin.show_dock()
    dock.instruction.setEditText("detect ponds near a bridge")
    with qtbot.waitSignal(plugin.controller.plan_ready, timeout=20000):
        qtbot.mouseClick(dock.plan_button, 1)
    lines = dock.plan_view.toPlainText().splitlines()
    assert lines[0].startswith("Task: detection") and "parser: grammar" in lines[1]
    assert [line[:len("1. \u25c6 Model (detection): find ")] for line in lines[2:4]] == [
        "1. \u25c6 Model (detection): find ", "2. \u25c6 Model (detection): find "]
    assert "the bridge first" in lines[2] and "its own layer" in lines[2] and "ponds in every tile" in lines[3]
    assert lines[4] == "3. \u25a0 GIS measure: keep the objects that lie at most 100 m from the bridge the model finds (edge to edge)."
    assert lines[5].startswith("4. \u25b2 Assumption: \u201cnear\u201d means within 100 m")
    assert "model step" in lines[6] and "GIS measure" in lines[6] and "assumption" in lines[6]  # the legend
    assert not any(c in dock.plan_view.toPlainText() for c in "{}")  # no raw dict
    html = dock.plan_view.toHtml()
    assert "#1f5fbf" in html and "#2e7d32" in html and "#b26a00" in html  # the marks' colours


def test_backend_status_line(plugin, qtbot, backend_server):
    with qtbot.waitSignal(plugin.controller.status_changed, timeout=20000):
        plugin.controller.refresh_status(start=False)
    text = plugin.dock.status_line.text()
    assert text == f"Backend at {backend_server.url}: ready, scripted demo answers from answers.json, no model", text
    assert plugin.dock.status_line.level == "ok"
    assert "MB" in plugin.dock.status_line.label.toolTip()  # memory in words, in the tooltip only


def test_an_empty_instruction_is_refused_in_the_panel(plugin, qtbot):
    dock = plugin.show_dock()
    dock.set_task("detection")
    dock.instruction.setEditText("   ")
    with qtbot.assertNotEmitted(dock.run_requested):
        dock.request_run()
    assert "instruction" in dock.answers.toPlainText()


def test_cancel_mid_run_keeps_the_partial_result(slow_plugin, project, qtbot):
    plugin, _server = slow_plugin
    dock = start_slow_run(plugin, project, qtbot)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=15000) as finished:
        qtbot.mouseClick(dock.cancel_button, 1)
    key, summary, outcome = finished.args
    assert outcome.cancelled and outcome.result.get("partial") is True
    assert outcome.result["tiles_done"] < outcome.result["tiles_total"]
    assert "cancelled" in summary
    layers = [n.layer() for g in result_groups(project) for n in g.findLayers()]
    assert layers and all(0 < layer.featureCount() < outcome.result["tiles_total"] for layer in layers)


def test_backend_killed_mid_run_gives_a_message(slow_plugin, project, qtbot):
    plugin, server = slow_plugin
    dock = start_slow_run(plugin, project, qtbot)
    server.process.send_signal(signal.SIGKILL)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=15000) as finished:
        pass
    outcome = finished.args[2]
    assert outcome.error is not None and "backend" in outcome.error
    assert "failed" in dock.answers.toPlainText()


def test_unloading_during_a_run_neither_hangs_nor_fails(slow_plugin, project, qtbot):
    from qgis.core import QgsApplication

    plugin, _server = slow_plugin
    start_slow_run(plugin, project, qtbot)
    plugin.unload()
    qtbot.waitUntil(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout=15000)
    assert not [lyr for lyr in project.mapLayers().values() if lyr.providerType() == "memory"]


def test_show_plan_knows_the_checked_context_layers(plugin, project, qtbot):
    """A condition on a context layer named without the word "layer" is a GIS filter once that layer is
    checked: the plan sent to the backend carries the layer names."""
    from qgis.PyQt.QtCore import Qt

    roads = QgsVectorLayer("LineString?crs=EPSG:26914", "roads", "memory")
    project.addMapLayer(roads)
    dock = plugin.show_dock()
    dock.instruction.setEditText("detect ponds within 200 m of roads")
    for i in range(dock.context_list.count()):
        item = dock.context_list.item(i)
        item.setCheckState(Qt.Checked if item.data(Qt.UserRole) == roads.id() else Qt.Unchecked)
    with qtbot.waitSignal(plugin.controller.plan_ready, timeout=20000):
        qtbot.mouseClick(dock.plan_button, 1)
    text = dock.plan_view.toPlainText()
    assert "GIS measure: keep the objects that lie at most 200 m from the layer 'roads'" in text, text


