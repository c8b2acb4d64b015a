"""Rasters by URL in QGIS: "Raster from URL…" adds a COG (or a STAC item's visual asset) as a /vsicurl/ layer
without touching the network on the GUI thread; runs on it send the URL, and the backend reads only what it
needs; a server that does not allow the URL gets the layer rendered instead."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import httpx
import pytest
from qgis.core import QgsProject, QgsRasterLayer

from tests.helpers.range_server import RangeServer
from tests.helpers.remote_rasters import band_asset, scene_cog, stac_item, visual_asset

from .conftest import RULES


@pytest.fixture(scope="module")
def served():
    cog = scene_cog(side=1024)
    with RangeServer({"/data/scene.tif": cog}) as server:
        server.files["/data/item.json"] = json.dumps(stac_item({"visual": visual_asset("scene.tif")},
                                                               item_id="naip")).encode()
        server.files["/data/bands.json"] = json.dumps(stac_item(
            {"B04": band_asset("scene.tif", "red", "B04")})).encode()
        yield server


def _open(plugin_pkg, qtbot, url):
    from georsmllm.plugin.gui.raster_url import RasterFromUrl

    added, errors = [], []
    entry = RasterFromUrl(None, added.append, errors.append)
    entry.open(url)
    qtbot.waitUntil(lambda: bool(added or errors), timeout=30_000)
    return added, errors


def test_raster_from_url_adds_a_cog_and_a_stac_items_visual_asset(plugin_pkg, qtbot, served, qgis_new_project):
    added, errors = _open(plugin_pkg, qtbot, served.url("data/scene.tif") + "?sig=1")
    assert not errors and added[0].isValid() and added[0].width() == 1024
    assert added[0].source() == "/vsicurl/" + served.url("data/scene.tif") + "?sig=1"
    assert added[0] in QgsProject.instance().mapLayers().values() and added[0].name() == "scene.tif"
    added, errors = _open(plugin_pkg, qtbot, served.url("data/item.json"))
    assert not errors and added[0].name() == "naip (visual)"
    assert added[0].source() == "/vsicurl/" + served.url("data/scene.tif")
    added, errors = _open(plugin_pkg, qtbot, served.url("data/bands.json"))
    assert not added and "no RGB ('visual') GeoTIFF asset" in errors[0] and "--stac-assets" in errors[0]
    added, errors = _open(plugin_pkg, qtbot, served.url("data/missing.tif"))
    assert not added and "missing.tif cannot be read" in errors[0]


def test_a_url_layer_is_sent_by_url_with_a_rendering_for_servers_the_plugin_did_not_start(plugin_pkg, served):
    from georsmllm.plugin.logic.raster_source import RenderedRaster, UrlRaster, raster_source

    layer = QgsRasterLayer("/vsicurl/" + served.url("data/scene.tif"), "cog", "gdal")
    assert layer.isValid()
    source = raster_source(layer)
    assert source == UrlRaster(served.url("data/scene.tif")) and source.prefix == served.base + "/"
    with_fallback = raster_source(layer, url_fallback=True)
    assert isinstance(with_fallback.fallback, RenderedRaster) and with_fallback.fallback.width == 1024
    del layer


def test_a_server_that_refuses_the_url_gets_the_layer_rendered(plugin_pkg, served, remote_service, backend_server,
                                                              tmp_path, qgis_new_project):
    from georsmllm.plugin.logic.prepare import RunRequest, prepare_run
    from georsmllm.plugin.logic.runner import execute_job
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    layer = QgsRasterLayer("/vsicurl/" + served.url("data/scene.tif"), "cog", "gdal")
    project = QgsProject.instance()
    project.addMapLayer(layer)
    settings = PluginSettings(server_url=backend_server.url, tile_size=512, overlap=0, output_dir=str(tmp_path))
    job = prepare_run(RunRequest(instruction="ponds", task="detection", layer_id=layer.id()), project, settings)
    assert job.raster.url == served.url("data/scene.tif") and job.raster.fallback is not None
    run = execute_job(remote_service, job)  # that server has no --allow-url: 403, then the rendered upload
    project.removeMapLayer(layer.id())
    assert run.error is None, run.error
    assert run.result["counts"] == {"pond": 4}  # 1024 px rendered and uploaded: 4 tiles of 512
    jobs = httpx.get(f"{backend_server.url}/v1/jobs", headers={"Authorization": f"Bearer {backend_server.token}"})
    assert "/uploads/" in jobs.json()[-1]["request"]["raster"]


def test_a_local_backend_is_allowed_the_host_and_reads_the_url_itself(plugin_pkg, served, tmp_path):
    from georsmllm.plugin.logic.prepare import PreparedJob
    from georsmllm.plugin.logic.raster_source import UrlRaster
    from georsmllm.plugin.logic.runner import execute_job
    from georsmllm.plugin.logic.service import BackendService, backend_config
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"rules": RULES, "default": "None", "latency": 0.0}))
    settings = PluginSettings(interpreter=sys.executable, engine="scripted", segmenter="none",
                              extra_args=f"--script {script} --work-dir {tmp_path / 'work'}", startup_timeout_s=60,
                              tile_size=256, overlap=0, output_dir=str(tmp_path / "results"))
    config = backend_config(settings)
    config = replace(config, launch=replace(config.launch, log_dir=str(tmp_path / "logs")))
    service = BackendService(lambda: config)
    source = UrlRaster(served.url("data/scene.tif"))
    job = PreparedJob(body={"instruction": "ponds", "task": "detection", **settings.job_defaults()},
                      raster=source, raster_b=None, needed_dirs=(), title="t", output_path=str(tmp_path / "out.gpkg"),
                      needed_urls=(source.prefix,))
    served.reset_counts()
    try:
        run = execute_job(service, job)
        command = service.local_server.command()
    finally:
        service.stop()
    assert run.error is None, run.error
    assert command[command.index("--allow-url") + 1] == source.prefix
    assert run.result["counts"] == {"pond": 16} and run.gpkg  # 1024 px in tiles of 256
    gets = [r for r in served.requests("data/scene.tif") if r.method == "GET"]
    assert gets and all(r.status == 206 for r in gets)  # the backend read the COG by range requests itself
