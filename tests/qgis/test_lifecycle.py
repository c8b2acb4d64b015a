"""classFactory -> initGui -> unload in a real headless QGIS leaves nothing behind."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_plugin_package():
    """Import the repo root as the package QGIS would (folder name 'georsmllm')."""
    if "georsmllm" in sys.modules:
        return sys.modules["georsmllm"]
    spec = importlib.util.spec_from_file_location(
        "georsmllm", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["georsmllm"] = module
    spec.loader.exec_module(module)
    return module


def test_init_gui_then_unload_leaves_no_menu_action(qgis_iface):
    added, removed = [], []
    qgis_iface.addPluginToRasterMenu = lambda menu, action: added.append((menu, action))
    qgis_iface.removePluginRasterMenu = lambda menu, action: removed.append((menu, action))
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    assert added, "initGui registered nothing"
    plugin.unload()
    assert sorted(map(id, (a for _, a in removed))) == sorted(map(id, (a for _, a in added)))
    assert plugin.actions == []
