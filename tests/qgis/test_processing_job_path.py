"""Processing runs through the plugin's one job path (the dock's): context layers keep their names and go
inline to a server on another machine, the bands the layer shows (or the BANDS parameter) reach the backend,
progress follows the job's tiles, outputs carry the dock's styles and labels, and temporary files live in
QGIS's own temporary folder, which QGIS removes when it quits."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsGeometry,
    QgsMultiBandColorRenderer,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)

from .conftest import ROOT
from .test_processing import NAIP_2009, output_layer, run


def last_request(server) -> dict:
    """What the backend received in its latest job."""
    jobs = httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {server.token}"}, timeout=10).json()
    return max(jobs, key=lambda j: j["created"])["request"]


def roads_through_the_first_pond(name: str = "roads") -> QgsVectorLayer:
    """A memory line layer crossing the pond the scripted model finds in the first (top-left) 512-px tile of
    NAIP 2009 (box 100-300 of 1000 of the tile): the other tiles' ponds lie kilometres away."""
    raster = QgsRasterLayer(NAIP_2009, "naip")
    extent, res = raster.extent(), raster.rasterUnitsPerPixelX()
    del raster
    cx, cy = extent.xMinimum() + 102.4 * res, extent.yMaximum() - 102.4 * res
    roads = QgsVectorLayer("LineString?crs=EPSG:26914", name, "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(cx - 200, cy), QgsPointXY(cx + 200, cy)]))
    roads.dataProvider().addFeatures([feature])
    return roads


def test_context_layers_reach_a_server_on_another_machine_inline_with_their_names(provider, backend_server,
                                                                                  monkeypatch):
    # The settings name a server off this machine (a name, not loopback); the provider's service still
    # talks to the local test server, which records what it received.
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", "http://gpu-box.example:8765")
    roads = roads_through_the_first_pond("main roads")
    result = run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds within 100 m of main roads",
                            "CONTEXT_LAYERS": [roads]})
    request = last_request(backend_server)
    assert "/uploads/" in request["raster"]  # the other machine cannot open our file: the pixels were uploaded
    assert request["context_layers"] == []  # nor our paths
    assert request["context_geojson"] == {"main roads": 1}  # the listing counts the inline features
    assert output_layer(result).featureCount() == 1  # the GIS filter found the layer by its name: 1 of 4 ponds


def test_context_layers_of_a_local_server_go_by_path_with_their_names(provider, backend_server):
    from qgis.core import QgsVectorFileWriter

    # a file in a folder the test server allows (the plugin's own local server allows the temp folder too)
    path = str(backend_server.workdir / "network.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName, options.layerName = "GPKG", "lines"
    QgsVectorFileWriter.writeAsVectorFormatV3(roads_through_the_first_pond(), path,
                                              QgsProject.instance().transformContext(), options)
    roads = QgsVectorLayer(f"{path}|layername=lines", "roads", "ogr")
    result = run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds within 100 m of the roads layer",
                            "CONTEXT_LAYERS": [roads]})
    assert last_request(backend_server)["context_layers"] == [f"roads={path}|lines"]
    assert output_layer(result).featureCount() == 1
    # the run's GeoPackage lies in QGIS's temporary folder, which QGIS removes when it quits
    assert Path(result["GPKG"]).resolve().is_relative_to(Path(QgsProcessingUtils.tempFolder()).resolve())


def test_the_bands_the_layer_shows_reach_the_backend(provider, backend_server):
    layer = QgsRasterLayer(NAIP_2009, "naip")
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), 4, 3, 2))  # false colour
    run("detect", {"INPUT": layer, "INSTRUCTION": "ponds"})
    assert last_request(backend_server)["bands"] == [4, 3, 2]
    run("detect", {"INPUT": layer, "INSTRUCTION": "ponds", "BANDS": [3, 2, 1]})  # the parameter wins
    assert last_request(backend_server)["bands"] == [3, 2, 1]
    del layer


def test_bands_that_are_neither_one_nor_three_are_refused(provider):
    import processing

    feedback = QgsProcessingFeedback()
    errors = []
    feedback.reportError = lambda message, fatal=False: errors.append(message)
    with pytest.raises(QgsProcessingException):
        processing.run("georsmllm:detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "BANDS": [1, 2],
                                            "OUTPUT": "TEMPORARY_OUTPUT"}, feedback=feedback)
    assert any("one band or three bands" in e for e in errors)


def test_an_upload_is_rendered_with_the_chosen_bands(plugin_pkg, qgis_new_project, tmp_path):
    """For a server on another machine the bands are applied by rendering: red of (3, 2, 1) is blue of
    (1, 2, 3), both stretched the same way."""
    from qgis.PyQt.QtGui import QImage

    from georsmllm.plugin.logic.prepare import JobInputs, prepare_job
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    layer = QgsRasterLayer(NAIP_2009, "naip")
    settings = PluginSettings(server_url="http://10.9.8.7:8765", output_dir=str(tmp_path))
    images = {}
    for bands in ((1, 2, 3), (3, 2, 1)):
        job = prepare_job(JobInputs("ponds", "detection", layer, bands=bands), QgsProject.instance(), settings)
        assert "bands" not in job.body  # nothing for the server to choose: the pixels are the bands
        images[bands] = QImage.fromData(job.raster.render_png(), "PNG")
    del layer
    for x, y in ((100, 100), (500, 300), (800, 600)):
        a, b = images[(1, 2, 3)].pixelColor(x, y), images[(3, 2, 1)].pixelColor(x, y)
        assert (a.red(), a.green(), a.blue()) == (b.blue(), b.green(), b.red())


def test_progress_follows_the_tiles(provider):
    import processing

    feedback = QgsProcessingFeedback()
    progress, texts = [], []
    feedback.progressChanged.connect(progress.append)
    feedback.setProgressText = texts.append  # the algorithm calls it from Python, so this records them

    processing.run("georsmllm:detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "TILE_SIZE": 256, "OVERLAP": 0,
                                        "OUTPUT": "TEMPORARY_OUTPUT"}, feedback=feedback)
    tiles = [p for p in progress if 0 < p < 100]
    assert len(set(tiles)) >= 10  # 12 tiles of 256 px: one step per tile, not a jump at the end
    assert progress == sorted(progress) and progress[-1] == 100
    assert "12/12 tiles" in texts


def test_progress_reaches_the_feedback_while_a_background_run_goes(provider, qtbot):
    """As the algorithm dialog runs it: prepared in the main thread, run by a task in a worker thread."""
    from qgis.core import QgsProcessingAlgRunnerTask

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("georsmllm:detect")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    seen = []
    feedback.progressChanged.connect(lambda value: seen.append((time.monotonic(), value)))
    task = QgsProcessingAlgRunnerTask(algorithm, {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "TILE_SIZE": 128,
                                                  "OVERLAP": 0, "OUTPUT": "TEMPORARY_OUTPUT"}, context, feedback)
    ended = []
    task.executed.connect(lambda ok, results: ended.append((time.monotonic(), ok)))
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    end, ok = ended[0]
    assert ok
    before_end = {value for t, value in seen if t < end and 0 < value < 100}
    assert len(before_end) >= 20  # 48 tiles: the bar moves during the run


def test_loaded_outputs_have_the_dock_style_labels_and_recipe(provider):
    import processing

    result = processing.runAndLoadResults("georsmllm:detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds",
                                                               "TILE_SIZE": 512, "OVERLAP": 0,
                                                               "OUTPUT": "TEMPORARY_OUTPUT"})
    (layer,) = [lyr for lyr in QgsProject.instance().mapLayers().values()
                if lyr.source().split("|")[0] == result["OUTPUT"]]
    assert isinstance(layer, QgsVectorLayer) and layer.featureCount() == 4
    reference = QgsVectorLayer("Polygon?crs=EPSG:26914", "reference", "memory")
    reference.loadNamedStyle(str(ROOT / "resources" / "styles" / "boxes.qml"))
    assert layer.renderer().symbol().color() == reference.renderer().symbol().color()
    assert layer.renderer().symbol().symbolLayer(0).properties() == \
        reference.renderer().symbol().symbolLayer(0).properties()
    assert layer.labelsEnabled() and layer.labeling().settings().fieldName == \
        reference.labeling().settings().fieldName
    assert "Instruction: ponds" in layer.metadata().abstract()
    QgsProject.instance().removeMapLayer(layer.id())


def test_qgis_removes_the_temporary_files_when_it_quits(tmp_path):
    """Context exports and Processing outputs go to QGIS's temporary folder: nothing stays after exit."""
    script = tmp_path / "session.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from qgis.core import QgsApplication, QgsProcessingUtils, QgsVectorLayer
        app = QgsApplication([], False)
        app.initQgis()
        from tests.qgis.conftest import load_plugin_package
        load_plugin_package()
        from georsmllm.plugin.logic.prepare import vector_path
        layer = QgsVectorLayer("Point?crs=EPSG:4326", "sites", "memory")
        print(vector_path(layer).split("|")[0])
        print(QgsProcessingUtils.generateTempFilename("result.gpkg"))
        del layer
        app.exitQgis()
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    paths = [Path(line) for line in done.stdout.splitlines() if line.startswith("/")]
    assert len(paths) == 2, done.stdout + done.stderr
    assert paths[0].name == "sites.gpkg"
    assert not any(p.exists() or p.parent.exists() for p in paths)
