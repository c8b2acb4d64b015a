"""The dock driven with qtbot: instruction -> Run -> live layer -> GeoPackage layers in a group, answers in
the panel; Show plan; cancel mid-run; a backend killed mid-run gives a message, not a hang."""

from __future__ import annotations

import signal

import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QThread

from .conftest import DATA, load_plugin_package

NAIP_2009 = str(DATA / "naip_2009.tif")
NAIP_2020 = str(DATA / "naip_2020.tif")


@pytest.fixture
def project(qgis_new_project):
    project = QgsProject.instance()
    raster = QgsRasterLayer(NAIP_2009, "naip 2009")
    after = QgsRasterLayer(NAIP_2020, "naip 2020")
    assert raster.isValid() and after.isValid()
    project.addMapLayers([raster, after])
    yield project
    project.removeAllMapLayers()
    del raster, after


@pytest.fixture
def plugin(qgis_iface, project, monkeypatch, plugin_env, plugin_pkg):
    for name in ("addCustomActionForLayerType", "removeCustomActionForLayerType", "registerOptionsWidgetFactory",
                 "unregisterOptionsWidgetFactory", "addPluginToRasterMenu", "removePluginRasterMenu"):
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.save_history", lambda history: None)
    monkeypatch.setattr("georsmllm.plugin.main.load_history", lambda: [])
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    yield plugin
    plugin.unload()


def result_groups(project):
    return [g for g in project.layerTreeRoot().children() if g.nodeType() == 0]  # 0: group node


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
    assert "4 pond" in summary
    assert threads and all(t is QThread.currentThread() for t in threads)  # events reach the GUI thread
    assert any("(running)" in name for name in running_layers)  # live layer while it ran
    assert not [lyr for lyr in project.mapLayers().values() if lyr.providerType() == "memory"]  # replaced at the end
    group = result_groups(project)[0]
    assert group.name().startswith("detect the ponds")
    layer = group.findLayers()[0].layer()
    assert isinstance(layer, QgsVectorLayer) and layer.featureCount() == 4
    assert layer.crs().authid() == "EPSG:26914"
    assert "detect the ponds" in layer.metadata().abstract()
    assert "detection" in layer.metadata().keywords().get("georsmllm", [])
    assert layer.renderer().symbol().symbolLayer(0).brushStyle() == 0  # boxes: outline only (Qt.NoBrush)
    assert layer.labelsEnabled()
    assert dock._rows[key].bar.format() == summary


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


def test_show_plan_lists_model_steps(plugin, qtbot):
    dock = plugin.show_dock()
    dock.instruction.setEditText("detect ponds")
    with qtbot.waitSignal(plugin.controller.plan_ready, timeout=20000):
        qtbot.mouseClick(dock.plan_button, 1)
    text = dock.plan_view.toPlainText()
    assert "detection" in text and "model step" in text


def test_backend_status_line(plugin, qtbot):
    with qtbot.waitSignal(plugin.controller.status_changed, timeout=20000):
        plugin.controller.refresh_status(start=False)
    text = plugin.dock.status_label.text()
    assert text.startswith("Backend: connected") and "answers.json" in text, text


def test_an_empty_instruction_is_refused_in_the_panel(plugin, qtbot):
    dock = plugin.show_dock()
    dock.set_task("detection")
    dock.instruction.setEditText("   ")
    with qtbot.assertNotEmitted(dock.run_requested):
        dock.request_run()
    assert "instruction" in dock.answers.toPlainText()


@pytest.fixture
def slow_plugin(qgis_iface, project, monkeypatch, slow_backend_server, tmp_path, plugin_pkg):
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", slow_backend_server.url)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TOKEN", slow_backend_server.token)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OUTPUT_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TILE_SIZE", "128")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OVERLAP", "0")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_CONCURRENCY", "1")
    for name in ("addCustomActionForLayerType", "removeCustomActionForLayerType", "registerOptionsWidgetFactory",
                 "unregisterOptionsWidgetFactory", "addPluginToRasterMenu", "removePluginRasterMenu"):
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.save_history", lambda history: None)
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    yield plugin, slow_backend_server
    plugin.unload()


def start_slow_run(plugin, project, qtbot):
    dock = plugin.show_dock()
    dock.instruction.setEditText("ponds")
    dock.set_task("detection")
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    with qtbot.waitSignal(plugin.controller.job_progress, timeout=20000,
                          check_params_cb=lambda key, event: event.kind == "tile"):
        dock.request_run()
    return dock


def cancel_slow_run(plugin, project, qtbot):
    """Start a slow run, cancel it after its first tile; the dock and ``job_finished``'s arguments."""
    dock = start_slow_run(plugin, project, qtbot)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=15000) as finished:
        qtbot.mouseClick(dock.cancel_button, 1)
    return dock, finished.args


def test_cancel_mid_run_keeps_the_partial_result(slow_plugin, project, qtbot):
    plugin, _server = slow_plugin
    _dock, (key, summary, outcome) = cancel_slow_run(plugin, project, qtbot)
    assert outcome.cancelled and outcome.result.get("partial") is True
    assert outcome.result["tiles_done"] < outcome.result["tiles_total"]
    assert "cancelled" in summary
    layers = [n.layer() for g in result_groups(project) for n in g.findLayers()]
    assert layers and all(0 < layer.featureCount() < outcome.result["tiles_total"] for layer in layers)


def test_a_cancelled_run_resumes_from_its_row_without_redoing_finished_tiles(slow_plugin, project, qtbot):
    plugin, _server = slow_plugin
    dock, (key, _summary, cancelled) = cancel_slow_run(plugin, project, qtbot)
    row = dock._rows[key]
    assert cancelled.resumable and row.resume_button.isVisibleTo(dock)
    done_before = cancelled.result["tiles_done"]
    partial_ids = [n.layer().id() for g in result_groups(project) for n in g.findLayers()]
    tiles_after_resume = []
    plugin.controller.job_progress.connect(
        lambda k, event: tiles_after_resume.append(event.tiles_done) if event.kind == "tile" else None)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        qtbot.mouseClick(row.resume_button, 1)
    key_again, _summary, outcome = finished.args
    assert key_again == key and outcome.succeeded and outcome.job_id == cancelled.job_id
    assert outcome.result["tiles_done"] == outcome.result["tiles_total"] and not outcome.result["partial"]
    assert tiles_after_resume and min(tiles_after_resume) == done_before + 1  # finished tiles were not redone
    assert not dock._rows[key].resume_button.isVisibleTo(dock)
    layers = [n.layer() for g in result_groups(project) for n in g.findLayers()]
    assert layers and not {layer.id() for layer in layers} & set(partial_ids)  # the partial layers made way
    assert all(layer.featureCount() > 0 for layer in layers)


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
    assert "GIS filter" in text and "roads" in text, text


@pytest.mark.parametrize("health,expected", [
    ({"model": "/models/qwen3-vl", "model_loaded": False, "load_error": None}, "loading the model qwen3-vl"),
    ({"model": "Qwen/Qwen3-VL-2B-Instruct", "model_loaded": False, "load_error": "no network"},
     "could not be loaded: no network"),
    ({"model": "m", "model_loaded": True, "device": "cuda", "memory": {"rss_peak_mb": 10}}, "device cuda"),
])
def test_status_line_tells_loading_failed_and_ready_apart(plugin, health, expected):
    from georsmllm.plugin.logic.tasks import BackendStatus

    dock = plugin.show_dock()
    dock.show_status(BackendStatus(health=health, url="http://127.0.0.1:1"))
    assert expected in dock.status_label.text()
