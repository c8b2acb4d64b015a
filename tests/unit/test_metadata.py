"""metadata.txt is what the QGIS plugin manager reads: check it is complete and consistent."""

import re

from plugin.about import PLUGIN_DIR, read_metadata

REQUIRED = [
    "name", "qgisMinimumVersion", "description", "version", "author", "email", "about",
    "tracker", "repository", "tags", "icon", "hasProcessingProvider", "license",
]


def test_metadata_has_every_field_the_plugin_manager_needs():
    meta = read_metadata()
    missing = [key for key in REQUIRED if not meta.get(key, "").strip()]
    assert missing == []
    assert meta["name"] == "GeoRSMLLM"
    assert meta["qgisMinimumVersion"] == "3.22"
    assert meta["hasProcessingProvider"] == "yes"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    assert meta["tracker"].startswith("https://") and meta["repository"].startswith("https://")
    assert (PLUGIN_DIR / meta["icon"]).is_file()


def test_version_matches_backend():
    import model_backend

    assert read_metadata()["version"] == model_backend.__version__


def test_class_factory_is_exposed_at_the_plugin_root():
    source = (PLUGIN_DIR / "__init__.py").read_text()
    assert "def classFactory(iface)" in source
