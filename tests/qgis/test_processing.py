"""Every Processing algorithm through ``processing.run`` against a real backend server process (scripted
engine) on the real test rasters."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes

from .conftest import DATA

NAIP_2009 = str(DATA / "naip_2009.tif")
NAIP_2020 = str(DATA / "naip_2020.tif")
SMALL = {"TILE_SIZE": 512, "OVERLAP": 0}


def run(alg: str, params: dict):
    import processing

    return processing.run(f"georsmllm:{alg}", {**SMALL, "OUTPUT": "TEMPORARY_OUTPUT", **params})


def output_layer(result) -> QgsVectorLayer:
    layer = result["OUTPUT"]
    layer = layer if isinstance(layer, QgsVectorLayer) else QgsVectorLayer(layer, "output", "ogr")
    assert layer.isValid()
    return layer


def test_provider_lists_one_algorithm_per_task(provider):
    names = sorted(a.name() for a in provider.algorithms())
    assert names == sorted(["detect", "segment", "change", "caption", "regioncaption", "question", "classify",
                            "geolocate", "followup"])
    for alg in provider.algorithms():
        params = [p.name() for p in alg.parameterDefinitions()]
        assert params[0] == "INPUT" and "OUTPUT" in params and "INSTRUCTION" in params
        assert ("INPUT_B" in params) == (alg.name() == "change")


def test_detect_writes_boxes_in_the_raster_crs(provider):
    result = run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds"})
    layer = output_layer(result)
    assert layer.crs().authid() == "EPSG:26914"
    assert layer.featureCount() == 4 == result["FEATURE_COUNT"]  # one box per 512-px tile of a 934x724 raster
    labels = {f["label"] for f in layer.getFeatures()}
    assert labels == {"pond"}
    raster = QgsRasterLayer(NAIP_2009, "naip")
    assert raster.extent().contains(layer.extent())
    del raster
    assert result["RUN_ID"] and result["GPKG"].endswith(".gpkg")


def test_detect_in_an_extent_covers_only_that_area(provider):
    extent = "486000,487000,5208000,5209000 [EPSG:26914]"
    layer = output_layer(run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "EXTENT": extent}))
    assert layer.featureCount() >= 1
    bounds = layer.extent()
    assert 485990 <= bounds.xMinimum() and bounds.xMaximum() <= 487010
    assert 5207990 <= bounds.yMinimum() and bounds.yMaximum() <= 5209010


def test_segment_writes_polygons(provider):
    layer = output_layer(run("segment", {"INPUT": NAIP_2009, "INSTRUCTION": "fields"}))
    assert layer.featureCount() == 4
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PolygonGeometry


def test_change_compares_two_rasters(provider):
    layer = output_layer(run("change", {"INPUT": NAIP_2009, "INPUT_B": NAIP_2020, "INSTRUCTION": "new ponds"}))
    assert layer.featureCount() >= 1
    assert {f["label"] for f in layer.getFeatures()} == {"new pond"}


def test_change_without_second_raster_is_refused(provider):
    with pytest.raises(QgsProcessingException):
        run("change", {"INPUT": NAIP_2009, "INSTRUCTION": "new ponds"})


@pytest.mark.parametrize(("alg", "params", "answer"), [
    ("caption", {}, "Farmland with several small ponds."),
    ("question", {"INSTRUCTION": "what is the land used for?"}, "Yes, there are ponds."),  # the model answers
    ("question", {"INSTRUCTION": "are there ponds?"}, "yes ("),  # answered by counting the detected ponds
    ("geolocate", {}, "North Dakota"),
])
def test_text_tasks_return_the_answer(provider, alg, params, answer):
    result = run(alg, {"INPUT": NAIP_2009, **params})
    assert answer in result["ANSWER"]
    assert output_layer(result).featureCount() >= 1


def test_geolocate_writes_a_point(provider):
    layer = output_layer(run("geolocate", {"INPUT": NAIP_2009}))
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PointGeometry


def test_classify_labels_tiles_with_a_class(provider):
    layer = output_layer(run("classify", {"INPUT": NAIP_2009, "CLASSES": "farmland, city"}))
    assert {f["label"] for f in layer.getFeatures()} == {"farmland"}


def test_region_caption_describes_each_feature(provider, tmp_path):
    regions = QgsVectorLayer("Polygon?crs=EPSG:26914&field=name:string", "regions", "memory")
    from qgis.core import QgsFeature, QgsGeometry

    for i, x in enumerate((486500, 489000)):
        feature = QgsFeature(regions.fields())
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x} 5207000, {x + 500} 5207000, {x + 500} 5207500, {x} 5207500, {x} 5207000))"))
        feature.setAttributes([f"r{i}"])
        regions.dataProvider().addFeature(feature)
    result = run("regioncaption", {"INPUT": NAIP_2009, "REGIONS": regions})
    layer = output_layer(result)
    assert layer.featureCount() == 2
    assert result["ANSWER"].count("A small pond") == 2


def test_a_path_outside_the_allowed_folders_fails_with_the_reason(provider, tmp_path):
    import shutil

    outside = tmp_path / "elsewhere.tif"
    shutil.copy(NAIP_2009, outside)
    with pytest.raises(QgsProcessingException, match="allowed folders"):
        run("detect", {"INPUT": str(outside), "INSTRUCTION": "ponds"})


def test_invalid_settings_fail_with_the_servers_reason(provider):
    with pytest.raises(QgsProcessingException, match="overlap"):
        run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "TILE_SIZE": 64, "OVERLAP": 40})


@pytest.fixture
def slow_provider(qgis_processing, plugin_pkg, slow_backend_server):
    from georsmllm.plugin.logic.service import BackendConfig, BackendService
    from georsmllm.plugin.processing.provider import GeoRSMLLMProvider

    service = BackendService(lambda: BackendConfig(url=slow_backend_server.url, token=slow_backend_server.token))
    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("georsmllm")
    if existing is not None:
        registry.removeProvider(existing)
    provider = GeoRSMLLMProvider(service)
    registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)


def test_cancelling_the_feedback_cancels_the_backend_job(slow_provider):
    import time

    import processing
    from qgis.core import QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    warnings = []
    feedback.progressChanged.connect(lambda progress: feedback.cancel() if progress > 0 else None)
    feedback.pushWarning = warnings.append  # the algorithm calls it from Python, so this records them
    started = time.monotonic()
    result = processing.run("georsmllm:detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "TILE_SIZE": 128,
                                                 "OVERLAP": 0, "OUTPUT": "TEMPORARY_OUTPUT"}, feedback=feedback)
    assert time.monotonic() - started < 20  # 48 tiles at 0.5 s each would take far longer
    layer = output_layer(result)
    assert 0 < layer.featureCount() < 48
    assert {f["partial"] for f in layer.getFeatures()} == {"true"}
    assert any(w.startswith("Cancelled") for w in warnings)


def test_detect_inside_a_model_builder_model(provider):
    """A Processing model (what the Model Builder saves) with the detect algorithm as a child, its raster and
    instruction wired to model inputs, run like any algorithm."""
    import processing
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterRasterLayer,
        QgsProcessingParameterString,
    )

    model = QgsProcessingModelAlgorithm("ponds model", "tests")
    model.addModelParameter(QgsProcessingParameterRasterLayer("scene", "Scene"), QgsProcessingModelParameter("scene"))
    model.addModelParameter(QgsProcessingParameterString("what", "What"), QgsProcessingModelParameter("what"))
    child = QgsProcessingModelChildAlgorithm("georsmllm:detect")
    child.setChildId("detect")
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("scene")])
    child.addParameterSources("INSTRUCTION", [QgsProcessingModelChildParameterSource.fromModelParameter("what")])
    child.addParameterSources("TILE_SIZE", [QgsProcessingModelChildParameterSource.fromStaticValue(512)])
    child.addParameterSources("OVERLAP", [QgsProcessingModelChildParameterSource.fromStaticValue(0)])
    output = QgsProcessingModelOutput("boxes")
    output.setChildOutputName("OUTPUT")
    output.setChildId("detect")
    child.setModelOutputs({"boxes": output})
    model.addChildAlgorithm(child)

    result = processing.run(model, {"scene": NAIP_2009, "what": "ponds", "detect:boxes": "TEMPORARY_OUTPUT"})
    layer = output_layer({"OUTPUT": result["detect:boxes"]})
    assert layer.featureCount() == 4 and {f["label"] for f in layer.getFeatures()} == {"pond"}


def test_the_same_algorithm_over_a_batch_of_rasters(provider):
    """What batch mode does: one run per row of parameters, each with its own output."""
    counts = [output_layer(run("detect", {"INPUT": path, "INSTRUCTION": "ponds"})).featureCount()
              for path in (NAIP_2009, NAIP_2020)]
    assert counts == [4, 4]


def test_detect_and_change_send_the_refine_parameter(provider):
    algorithms = {a.name(): a for a in provider.algorithms()}
    for name in ("detect", "change"):
        assert "REFINE" in [p.name() for p in algorithms[name].parameterDefinitions()]
    # the session backend runs without a segmenter, so the server refuses a refined job and says why
    with pytest.raises(QgsProcessingException, match="needs a segmenter"):
        run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "REFINE": True})
    assert output_layer(run("detect", {"INPUT": NAIP_2009, "INSTRUCTION": "ponds", "REFINE": False})).featureCount()
