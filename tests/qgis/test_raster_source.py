"""Any raster source: a GDAL file is sent by path; anything else (here an in-memory GDAL raster, as a web
layer would be) is rendered through the layer's pipe, uploaded with its geotransform and CRS, and runs."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtGui import QImage

from .conftest import DATA

NAIP_2009 = str(DATA / "naip_2009.tif")


@pytest.fixture
def memory_raster(qgis_app):
    from osgeo import gdal

    gdal.Translate("/vsimem/georsmllm_naip.tif", NAIP_2009)
    layer = QgsRasterLayer("/vsimem/georsmllm_naip.tif", "in memory")
    assert layer.isValid()
    yield layer
    del layer
    gdal.Unlink("/vsimem/georsmllm_naip.tif")


def test_a_file_layer_is_sent_by_path(plugin_pkg):
    from georsmllm.plugin.logic.raster_source import FileRaster, raster_source

    layer = QgsRasterLayer(NAIP_2009, "naip")
    source = raster_source(layer)
    del layer
    assert source == FileRaster(NAIP_2009)


def test_a_layer_without_a_file_is_rendered_with_its_geotransform(plugin_pkg, memory_raster):
    from georsmllm.plugin.logic.raster_source import RenderedRaster, raster_source

    source = raster_source(memory_raster)
    assert isinstance(source, RenderedRaster)
    assert (source.width, source.height) == (934, 724)  # native resolution
    x0, dx, rx, y0, ry, dy = source.geotransform
    extent = memory_raster.extent()
    assert (x0, y0) == (extent.xMinimum(), extent.yMaximum()) and rx == ry == 0
    assert dx == pytest.approx(5.0) and dy == pytest.approx(-extent.height() / 724)
    assert source.crs == "EPSG:26914"
    image = QImage.fromData(source.render_png(), "PNG")
    assert (image.width(), image.height()) == (934, 724)
    assert len({image.pixel(x, y) for x in range(0, 934, 97) for y in range(0, 724, 97)}) > 10  # real content


def test_a_rendered_area_and_resolution_follow_the_request(plugin_pkg, memory_raster):
    from georsmllm.plugin.logic.raster_source import raster_source

    area = QgsRectangle(486000, 5206000, 487000, 5207000)
    source = raster_source(memory_raster, area, units_per_px=10.0)
    assert (source.width, source.height) == (100, 100)
    assert source.geotransform == (486000, 10.0, 0.0, 5207000, 0.0, -10.0)


def test_a_job_on_a_rendered_layer_runs_through_an_upload(plugin_pkg, memory_raster, remote_service, tmp_path,
                                                           qgis_new_project):
    from georsmllm.plugin.logic.prepare import RunRequest, prepare_run
    from georsmllm.plugin.logic.runner import execute_job
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    project = QgsProject.instance()
    project.addMapLayer(memory_raster, False)
    settings = PluginSettings(tile_size=512, overlap=0, output_dir=str(tmp_path))
    request = RunRequest(instruction="ponds", task="detection", layer_id=memory_raster.id(), area="extent",
                         extent=(486000, 5206000, 488000, 5208000), extent_crs="EPSG:26914")
    job = prepare_run(request, project, settings)
    assert "window" not in job.body  # the rendered image already is the area
    statuses = []
    run = execute_job(remote_service, job, on_status=statuses.append)
    project.takeMapLayer(memory_raster)  # give ownership back to the fixture
    assert run.error is None, run.error
    assert "uploading" in statuses
    assert run.result["counts"] == {"pond": 1}  # 2 km at 5 m: 400 px, one 512-px tile
    name = run.result["outputs"]["layers"]["boxes"]
    layer = QgsVectorLayer(f"{run.gpkg}|layername={name}", "boxes", "ogr")
    assert layer.crs().authid() == "EPSG:26914"
    assert QgsRectangle(486000, 5206000, 488000, 5208000).contains(layer.extent())


@pytest.mark.parametrize("url,remote", [
    ("", False), ("http://127.0.0.1:8765", False), ("http://localhost:9000/", False), ("http://[::1]:8765", False),
    ("http://10.1.2.3:8765", True), ("https://gpu-box.example.org/georsmllm", True),
])
def test_which_server_urls_count_as_another_machine(plugin_pkg, url, remote):
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    assert PluginSettings(server_url=url).server_is_remote is remote


def test_a_file_raster_is_uploaded_not_named_when_the_server_is_another_machine(plugin_pkg, tmp_path,
                                                                              qgis_new_project):
    from georsmllm.plugin.logic.prepare import RunRequest, prepare_run
    from georsmllm.plugin.logic.raster_source import FileRaster, RenderedRaster
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    layer = QgsRasterLayer(str(DATA / "naip_2020.tif"), "naip")
    project = QgsProject.instance()
    project.addMapLayer(layer)
    request = RunRequest(instruction="ponds", task="detection", layer_id=layer.id())
    local = prepare_run(request, project, PluginSettings(output_dir=str(tmp_path)))
    remote = prepare_run(request, project, PluginSettings(output_dir=str(tmp_path),
                                                          server_url="http://10.1.2.3:8765"))
    assert isinstance(local.raster, FileRaster)
    assert isinstance(remote.raster, RenderedRaster) and (remote.raster.width, remote.raster.height) == (934, 723)
    assert not remote.needed_dirs
    project.removeMapLayer(layer.id())


def test_selected_polygons_bound_the_run_and_filter_its_results(plugin_pkg, remote_service, tmp_path,
                                                                qgis_new_project):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

    from georsmllm.plugin.logic.prepare import RunRequest, prepare_run
    from georsmllm.plugin.logic.runner import execute_job
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    raster = QgsRasterLayer(NAIP_2009, "naip")
    extent = raster.extent()
    left, top = extent.xMinimum(), extent.yMaximum()
    # a triangle over the top-left tile, selected in a polygon layer
    polygons = QgsVectorLayer("Polygon?crs=EPSG:26914", "areas", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(left, top), QgsPointXY(left + 2000, top),
                                                    QgsPointXY(left, top - 2000)]]))
    polygons.dataProvider().addFeatures([feature])
    project = QgsProject.instance()
    project.addMapLayers([raster, polygons])
    polygons.selectAll()
    request = RunRequest(instruction="ponds", task="detection", layer_id=raster.id(), area="selection",
                         area_layer_id=polygons.id())
    job = prepare_run(request, project, PluginSettings(tile_size=512, overlap=0, output_dir=str(tmp_path)))
    assert job.body["area"]["features"][0]["geometry"]["type"] == "Polygon"
    run = execute_job(remote_service, job)
    assert run.error is None, run.error
    assert run.result["tiles_total"] == 1
    name = run.result["outputs"]["layers"]["boxes"]
    boxes = QgsVectorLayer(f"{run.gpkg}|layername={name}", "boxes", "ogr")
    triangle = feature.geometry()
    assert boxes.featureCount() >= 1
    assert all(f.geometry().intersects(triangle) for f in boxes.getFeatures())
    project.removeMapLayers([raster.id(), polygons.id()])


def test_context_layers_go_inline_when_the_server_is_another_machine(plugin_pkg, tmp_path, qgis_new_project):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

    from georsmllm.plugin.logic.prepare import RunRequest, prepare_run
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    raster = QgsRasterLayer(NAIP_2009, "naip")
    roads = QgsVectorLayer("LineString?crs=EPSG:4326", "roads", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(-99.19, 47.03), QgsPointXY(-99.17, 47.03)]))
    roads.dataProvider().addFeatures([feature])
    project = QgsProject.instance()
    project.addMapLayers([raster, roads])
    request = RunRequest(instruction="ponds within 100 m of the roads layer", task="detection",
                         layer_id=raster.id(), context_layer_ids=(roads.id(),))
    job = prepare_run(request, project, PluginSettings(output_dir=str(tmp_path), server_url="http://10.1.2.3:8765"))
    assert "context_layers" not in job.body
    (line,) = job.body["context_geojson"]["roads"]["features"]
    x, y = line["geometry"]["coordinates"][0]
    assert 400000 < x < 600000 and 5000000 < y < 5300000  # reprojected to the raster's UTM 14N
    project.removeMapLayers([raster.id(), roads.id()])
