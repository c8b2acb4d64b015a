"""Result layers the plugin makes itself (live layers while a run goes, an empty Processing output) have the
backend's output fields, with the values the backend's features carry."""

from __future__ import annotations

from qgis.core import NULL, QgsProject


def test_live_layers_keep_every_attribute_the_backend_sends(plugin_pkg, qgis_new_project):
    from model_backend.geometry import RotatedBox
    from model_backend.vector.features import Feature, RunInfo
    from model_backend.vector.geojson import feature_collection

    from georsmllm.plugin.logic.live_layer import LiveLayers
    from georsmllm.plugin.toolbelt import vocabulary

    box = RotatedBox(((487000, 5207000), (487100, 5207000), (487100, 5207100), (487000, 5207100)),
                     label="plane", score=0.9)
    collection = feature_collection([Feature(box, tile="3")], crs="EPSG:26914",
                                    run=RunInfo(run_id="live", task="detection", model="m"))
    live = LiveLayers("planes", "detection", QgsProject.instance())
    assert live.add(collection["features"]) == 1
    (layer_id,) = live.layer_ids
    layer = QgsProject.instance().mapLayer(layer_id)
    names = [f.name for f in vocabulary.current().output_fields]
    assert layer.fields().names() == names
    (feature,) = layer.getFeatures()
    assert (feature["label"], feature["score"], feature["tile"], feature["task"], feature["model"]) == \
        ("plane", 0.9, "3", "detection", "m")
    assert feature["caption"] == NULL
    live.remove()
