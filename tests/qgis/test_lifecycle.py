"""classFactory -> initGui -> unload in a real headless QGIS leaves nothing behind: no menu entry,
toolbar icon, dock, custom layer action, options page, Processing provider or translator."""

from __future__ import annotations

from collections import defaultdict

import pytest
from qgis.core import QgsApplication, QgsMapLayerType
from qgis.PyQt.QtCore import QCoreApplication

from .conftest import load_plugin_package


class Recorder:
    """Replaces the iface methods the plugin registers with, recording (method, args)."""

    PAIRS = {
        "addPluginToRasterMenu": "removePluginRasterMenu",
        "addToolBarIcon": "removeToolBarIcon",
        "addDockWidget": "removeDockWidget",
        "addCustomActionForLayerType": "removeCustomActionForLayerType",
        "registerOptionsWidgetFactory": "unregisterOptionsWidgetFactory",
    }

    def __init__(self, iface, monkeypatch):
        self.calls: dict[str, list[tuple]] = defaultdict(list)
        for add, remove in self.PAIRS.items():
            for name in (add, remove):
                monkeypatch.setattr(iface, name, self._recorder(name), raising=False)

    def _recorder(self, name):
        def record(*args):
            self.calls[name].append(args)
        return record

    def added(self, name: str) -> list[int]:
        index = {"addPluginToRasterMenu": 1, "addDockWidget": 1}.get(name, 0)
        return sorted(id(args[index]) for args in self.calls[name])

    def removed(self, name: str) -> list[int]:
        index = {"removePluginRasterMenu": 1}.get(name, 0)
        return sorted(id(args[index]) for args in self.calls[name])


@pytest.fixture
def recorder(qgis_iface, monkeypatch):
    return Recorder(qgis_iface, monkeypatch)


def test_init_gui_then_unload_leaves_nothing_behind(qgis_iface, qgis_processing, recorder):
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    registry = QgsApplication.processingRegistry()
    assert registry.providerById("georsmllm") is not None
    assert len(registry.providerById("georsmllm").algorithms()) == 9
    raster_actions = [a for a in recorder.calls["addCustomActionForLayerType"] if a[2] == QgsMapLayerType.RasterLayer]
    vector_actions = [a for a in recorder.calls["addCustomActionForLayerType"] if a[2] == QgsMapLayerType.VectorLayer]
    assert len(raster_actions) == 5 and len(vector_actions) == 1
    for add in Recorder.PAIRS:
        assert recorder.calls[add], f"initGui did not call {add}"

    plugin.unload()
    for add, remove in Recorder.PAIRS.items():
        assert recorder.removed(remove) == recorder.added(add), f"{remove} does not undo {add}"
    assert registry.providerById("georsmllm") is None
    assert plugin.actions == [] and plugin.dock is None and plugin.provider is None
    assert plugin.layer_actions is None and plugin.options_factory is None
    assert plugin.translator is None


def test_unload_removes_the_translator(qgis_iface, recorder, monkeypatch):
    from georsmllm.plugin.toolbelt import i18n

    monkeypatch.setattr(i18n, "user_locale", lambda: "zh_CN")
    if i18n.qm_path("zh_CN") is None:
        pytest.skip("i18n/georsmllm_zh_CN.qm not built (make translations)")
    plugin = load_plugin_package().classFactory(qgis_iface)
    assert plugin.translator is not None
    assert QCoreApplication.translate("@default", "Run") == "运行"
    plugin.initGui()
    assert plugin.dock.run_button.text() == "运行"
    plugin.unload()
    assert QCoreApplication.translate("@default", "Run") == "Run"


def test_process_only_mode_registers_the_provider_without_a_gui(qgis_processing):
    plugin = load_plugin_package().classFactory(None)  # what qgis_process does
    plugin.initProcessing()
    registry = QgsApplication.processingRegistry()
    assert registry.algorithmById("georsmllm:detect") is not None
    plugin.unload()
    assert registry.providerById("georsmllm") is None
