"""Following up on the dock's last result in words: the next instruction ("now only those larger than …",
"remove the ones inside the west layer", "how many of these …?") filters the layer of the run before, with no
model call (the scripted backend's request count does not grow), and its layer joins the same group and the
same GeoPackage, with the chain of steps in its metadata."""

from __future__ import annotations

import os

import httpx
import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsVectorFileWriter, QgsVectorLayer
from qgis.PyQt.QtCore import Qt

from .conftest import result_groups


def requests_answered(server) -> int:
    health = httpx.get(f"{server.url}/v1/health", headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
    return int(health.json()["engine"]["requests"])


def run(plugin, qtbot, instruction: str, task: str | None = None):
    dock = plugin.dock
    dock.instruction.setEditText(instruction)
    dock.set_task(task)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        qtbot.mouseClick(dock.run_button, Qt.LeftButton)
    key, summary, outcome = finished.args
    assert outcome is not None and outcome.error is None, outcome and outcome.error
    return key, summary, outcome


def west_half(project, raster, folder) -> QgsVectorLayer:
    """A context layer covering the western half of ``raster``, in a GeoPackage in ``folder`` (one the test
    server may read: context layers go by path to a server on this machine)."""
    extent = raster.extent()
    memory = QgsVectorLayer(f"Polygon?crs={raster.crs().authid()}", "west", "memory")
    feature = QgsFeature()
    middle = (extent.xMinimum() + extent.xMaximum()) / 2
    feature.setGeometry(QgsGeometry.fromWkt(
        f"POLYGON(({extent.xMinimum()} {extent.yMinimum()}, {middle} {extent.yMinimum()}, {middle} "
        f"{extent.yMaximum()}, {extent.xMinimum()} {extent.yMaximum()}, {extent.xMinimum()} {extent.yMinimum()}))"))
    memory.dataProvider().addFeature(feature)
    path = str(folder / "west.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName, options.layerName = "GPKG", "west"
    error, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(memory, path, project.transformContext(), options)
    assert error == QgsVectorFileWriter.NoError
    west = QgsVectorLayer(f"{path}|layername=west", "west", "ogr")
    project.addMapLayer(west)
    return west


def test_follow_ups_filter_the_last_result_without_a_model_call(plugin, project, qtbot, backend_server):
    dock = plugin.show_dock()
    raster = project.mapLayersByName("naip 2009")[0]
    dock.layer_combo.setLayer(raster)
    assert dock.follow_up_mode() == "auto" and not dock.last_result_label.isEnabled()
    _key, summary, first = run(plugin, qtbot, "detect the ponds", "detection")
    assert summary == "4 ponds"
    group = result_groups(project)[0]
    ponds = group.findLayers()[0].layer()
    assert "detect the ponds" in dock.last_result_label.fullText()
    area = min(f["area_m2"] for f in ponds.getFeatures())
    asked = requests_answered(backend_server)

    # 1. a measure: every pond is larger than half its own area
    key, summary, outcome = run(plugin, qtbot, f"now only those larger than {area / 2:.0f} m²", None)
    assert summary == "4 ponds kept of 4"
    assert len(result_groups(project)) == 1 and len(group.findLayers()) == 2  # same group, no new one
    filtered = group.findLayers()[0].layer()  # on top of the group
    assert filtered.featureCount() == 4 and filtered.source().startswith(first.gpkg)  # the same GeoPackage
    assert not group.findLayer(ponds.id()).itemVisibilityChecked()  # the layer it filtered is hidden
    row = dock.runs.rows[key]
    assert row.title.startswith("↳") and "follow-up of detect the ponds" in row.title
    assert outcome.gpkg == first.gpkg and not [f for f in os.listdir(os.path.dirname(first.gpkg))
                                               if f.startswith("now_only")]  # no file of its own left over

    # 2. a context layer, removal: a follow-up of the follow-up
    west = west_half(project, raster, backend_server.workdir)
    for i in range(dock.context_list.count()):
        item = dock.context_list.item(i)
        item.setCheckState(Qt.Checked if item.data(Qt.UserRole) == west.id() else Qt.Unchecked)
    _key, summary, _outcome = run(plugin, qtbot, "remove the ones inside the west layer")
    assert summary == "2 ponds kept of 4"
    east = group.findLayers()[0].layer()
    assert east.featureCount() == 2 and len(group.findLayers()) == 3
    middle = (raster.extent().xMinimum() + raster.extent().xMaximum()) / 2
    assert all(f.geometry().boundingBox().xMinimum() > middle for f in east.getFeatures())
    abstract = east.metadata().abstract()
    assert "Chain (objects after each step): 1. detect the ponds → 4; 2. now only those larger than" in abstract
    assert "3. remove the ones inside the west layer → 2" in abstract
    assert "Follows up on:" in abstract and "_then_1_boxes" in abstract

    # 3. counting: the number is the answer
    _key, _summary, counted = run(plugin, qtbot, f"how many of these are larger than {area * 2:.0f} m²?")
    assert [a["text"] for a in counted.result["answers"]] == ["0"]
    assert requests_answered(backend_server) == asked  # none of the follow-ups asked the model anything
    layers = [name.split("|")[0] for name in (lyr.layer().source() for lyr in group.findLayers())]
    assert set(layers) == {first.gpkg}


def test_show_plan_reads_a_follow_up_of_the_last_result(plugin, project, qtbot):
    dock = plugin.show_dock()
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    run(plugin, qtbot, "detect the ponds", "detection")
    dock.instruction.setEditText("which of these are larger than 2 ha?")
    with qtbot.waitSignal(plugin.controller.plan_ready, timeout=20000):
        qtbot.mouseClick(dock.plan_button, Qt.LeftButton)
    text = dock.plan_view.toPlainText()
    assert "Start from the 4 objects of layer" in text and "area of more than 2 ha" in text, text


def test_a_follow_up_with_nothing_to_follow_up_on_is_refused_clearly(plugin, project, qtbot):
    dock = plugin.show_dock()
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    dock.set_follow_up_mode("yes")
    dock.instruction.setEditText("larger than 500 m²")
    with qtbot.assertNotEmitted(plugin.controller.job_started):
        dock.request_run()
    assert "There is no result to follow up on" in dock.answers.toPlainText()
    dock.set_follow_up_mode("auto")  # the backend reads the wording, and says there is nothing to follow
    dock.instruction.setEditText("now only those larger than 500 m²")
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        dock.request_run()
    assert "there is none to follow up on" in finished.args[2].error


def test_a_new_run_after_a_result_is_no_follow_up(plugin, project, qtbot):
    dock = plugin.show_dock()
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    run(plugin, qtbot, "detect the ponds", "detection")
    dock.set_follow_up_mode("no")  # forced: "those" ponds are searched again, a new group
    _key, summary, outcome = run(plugin, qtbot, "those ponds", "detection")
    assert summary == "4 ponds" and outcome.result.get("followup") is None and len(result_groups(project)) == 2


def write_result_gpkg(path, layers: dict[str, list[str]], recipe: str = "") -> None:
    """A GeoPackage of result layers (name -> polygon WKTs in EPSG:26914), with a recipe in the metadata."""
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(26914)
    driver = ogr.GetDriverByName("GPKG")
    dataset = ogr.Open(str(path), 1) if path.exists() else driver.CreateDataSource(str(path))
    for name, wkts in layers.items():
        layer = dataset.CreateLayer(name, srs, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
        for wkt in wkts:
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("label", "pond")
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            layer.CreateFeature(feature)
        if recipe:
            layer.SetMetadataItem("GEORSMLLM_RECIPE", recipe)
    dataset = None


def gpkg_layers(path) -> list[str]:
    from osgeo import ogr

    dataset = ogr.Open(str(path))
    return [dataset.GetLayerByIndex(i).GetName() for i in range(dataset.GetLayerCount())]


SQUARE = "POLYGON((486000 5206000, 486100 5206000, 486100 5206100, 486000 5206100, 486000 5206000))"


def test_the_previous_result_goes_by_path_to_the_plugins_own_backend_and_inline_to_a_server(
        plugin_pkg, project, tmp_path):
    from georsmllm.plugin.logic.followup import LastResult
    from georsmllm.plugin.logic.prepare import JobInputs, PrepareError, prepare_job
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    gpkg = tmp_path / "results" / "ponds.gpkg"
    gpkg.parent.mkdir()
    write_result_gpkg(gpkg, {"ponds_boxes": [SQUARE]})
    layer = QgsVectorLayer(f"{gpkg}|layername=ponds_boxes", "ponds_boxes", "ogr")
    project.addMapLayer(layer)
    raster = project.mapLayersByName("naip 2009")[0]
    last = LastResult("detect the ponds (12:00:00)", "detect the ponds (12:00:00)", layer.id(), str(gpkg),
                      "ponds_boxes", {"instruction": "detect the ponds"})
    inputs = JobInputs(instruction="now only those larger than 5 m²", task=None, layer=raster, previous=last)
    own = prepare_job(inputs, project, PluginSettings(output_dir=str(tmp_path)))
    assert own.body["previous"] == {"layer": f"{gpkg}|ponds_boxes"} and own.body["follow_up"] == "auto"
    assert str(gpkg.parent) in own.needed_dirs and own.followup_gpkg == str(gpkg)
    served = prepare_job(inputs, project, PluginSettings(server_url="http://127.0.0.1:8765", output_dir=str(tmp_path)))
    previous = served.body["previous"]
    assert previous["name"] == "ponds_boxes" and previous["siblings"] == ["ponds_boxes"]
    assert len(previous["geojson"]["features"]) == 1 and previous["recipe"] == {"instruction": "detect the ponds"}
    assert str(gpkg.parent) not in served.needed_dirs
    never = prepare_job(JobInputs(instruction="those", task=None, layer=raster, previous=last, follow_up="no"),
                        project, PluginSettings(output_dir=str(tmp_path)))
    assert "previous" not in never.body and never.body["follow_up"] == "no" and never.followup_gpkg is None
    project.removeMapLayer(layer.id())  # gone from the project: nothing to follow up on
    with pytest.raises(PrepareError, match="no result to follow up on"):
        prepare_job(JobInputs(instruction="larger than 5 m²", task=None, layer=raster, previous=last, follow_up="yes"),
                    project, PluginSettings(output_dir=str(tmp_path)))


def test_a_follow_ups_layer_joins_the_previous_geopackage_under_a_free_name(plugin_pkg, tmp_path):
    from osgeo import ogr

    from georsmllm.plugin.logic.followup import merge_into

    dest, source = tmp_path / "ponds.gpkg", tmp_path / "download.gpkg"
    write_result_gpkg(dest, {"ponds_boxes": [SQUARE, SQUARE], "ponds_then_1_boxes": [SQUARE]})
    write_result_gpkg(source, {"ponds_then_1_boxes": [SQUARE]}, recipe='{"chain": [1, 2]}')
    assert merge_into(str(source), str(dest), {"boxes": "ponds_then_1_boxes"}) == {"boxes": "ponds_then_2_boxes"}
    assert not source.exists()
    dataset = ogr.Open(str(dest))
    names = [dataset.GetLayerByIndex(i).GetName() for i in range(dataset.GetLayerCount())]
    assert names == ["ponds_boxes", "ponds_then_1_boxes", "ponds_then_2_boxes"]
    copied = dataset.GetLayerByName("ponds_then_2_boxes")
    assert copied.GetFeatureCount() == 1 and copied.GetMetadataItem("GEORSMLLM_RECIPE") == '{"chain": [1, 2]}'
    assert dataset.GetLayerByName("ponds_boxes").GetFeatureCount() == 2  # the others untouched


def test_processing_filters_a_result_layer_in_words_without_the_model(provider, plugin_env, tmp_path, backend_server):
    import processing

    from .conftest import NAIP_2009

    small = "POLYGON((486000 5206000, 486020 5206000, 486020 5206020, 486000 5206020, 486000 5206000))"  # 400 m²
    gpkg = tmp_path / "ponds.gpkg"
    write_result_gpkg(gpkg, {"ponds_boxes": [SQUARE, small]})  # 10000 m² and 400 m²
    asked = requests_answered(backend_server)
    result = processing.run("georsmllm:followup", {
        "INPUT": NAIP_2009, "RESULT": f"{gpkg}|layername=ponds_boxes", "INSTRUCTION": "larger than 1000 m²",
        "TILE_SIZE": 512, "OVERLAP": 0, "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = result["OUTPUT"]
    layer = layer if isinstance(layer, QgsVectorLayer) else QgsVectorLayer(layer, "output", "ogr")
    assert layer.featureCount() == 1 == result["FEATURE_COUNT"]
    assert [round(f["area_m2"]) for f in layer.getFeatures()] == [10000]
    assert requests_answered(backend_server) == asked
    assert os.listdir(tmp_path) == ["ponds.gpkg"]  # the input's GeoPackage gets no layer
    assert len(gpkg_layers(gpkg)) == 1
