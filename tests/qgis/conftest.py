"""Fixtures of the headless-QGIS tests: the plugin package imported as QGIS would (``georsmllm``), and a
REAL backend server process (``python -m model_backend serve``) with the scripted engine, started once per
session. Every wait is bounded."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from qgis.core import QgsProject, QgsRasterLayer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

#: Scripted answers in the GeoRSMLLM dialect (coordinates 0-1000 of each tile), one per task tag.
RULES = [
    {"prompt_contains": "[detection]", "answer": "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"},
    {"prompt_contains": "[seg]", "answer": "<ref>field</ref><box>[200,200,600,600]</box>"},
    {"prompt_contains": "[change]",
     "answer": "<ref>new pond</ref>{(100,100),(400,100),(400,400),(100,400),(100,100)}"},
    {"prompt_contains": "[caption]", "answer": "Farmland with several small ponds."},
    {"prompt_contains": "[identify]", "answer": "A small pond surrounded by fields."},
    {"prompt_contains": "[vqa]", "answer": "Yes, there are ponds."},
    {"prompt_contains": "[classify]", "answer": "farmland"},
    {"prompt_contains": "[geolocation]", "answer": "North Dakota, USA <gps>[47.02, -99.15]</gps>"},
]


def load_plugin_package():
    """Import the repo root as the package QGIS would (folder name ``georsmllm``)."""
    if "georsmllm" in sys.modules:
        return sys.modules["georsmllm"]
    spec = importlib.util.spec_from_file_location(
        "georsmllm", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["georsmllm"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def plugin_pkg():
    return load_plugin_package()


def write_script(path: Path, latency: float) -> Path:
    path.write_text(json.dumps({"rules": RULES, "default": "None", "latency": latency}), encoding="utf-8")
    return path


class ServerProcess:
    """A backend server child process with a port and a token."""

    def __init__(self, workdir: Path, latency: float, extra_dirs: tuple[str, ...] = (),
                 extra_args: tuple[str, ...] = ()):
        self.workdir = workdir
        self.token = secrets.token_urlsafe(16)
        self.port_file = workdir / "port"
        self.log = workdir / "server.log"
        script = write_script(workdir / "answers.json", latency)
        args = [sys.executable, "-m", "model_backend", "serve", "--port", "0", "--port-file", str(self.port_file),
                "--work-dir", str(workdir / "work"), "--allow-dir", str(DATA), "--allow-dir", str(workdir),
                "--engine", "scripted", "--script", str(script), "--segmenter", "none"]
        for folder in extra_dirs:
            args += ["--allow-dir", folder]
        args += list(extra_args)  # later options win (e.g. --segmenter sam2)
        env = {**os.environ, "GEORSMLLM_TOKEN": self.token}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"backend server did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(self.port_file.read_text())}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="session")
def backend_server(tmp_path_factory):
    """One real backend (scripted engine, 0.05 s per answer) for the whole session."""
    server = ServerProcess(tmp_path_factory.mktemp("backend"), latency=0.05)
    yield server
    server.stop()


@pytest.fixture
def slow_backend_server(tmp_path):
    """A backend of its own (0.5 s per answer) for cancel and kill tests."""
    server = ServerProcess(tmp_path, latency=0.5)
    yield server
    server.stop()


@pytest.fixture
def plugin_env(backend_server, tmp_path, monkeypatch):
    """Plugin settings pointing at the session backend (through the settings module's environment override)."""
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", backend_server.url)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TOKEN", backend_server.token)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OUTPUT_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TILE_SIZE", "512")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OVERLAP", "0")
    return backend_server


@pytest.fixture
def remote_service(plugin_pkg, backend_server):
    """A BackendService connected to the session backend by URL."""
    from georsmllm.plugin.logic.service import BackendConfig, BackendService

    return BackendService(lambda: BackendConfig(url=backend_server.url, token=backend_server.token))


@pytest.fixture
def provider(qgis_processing, plugin_pkg, remote_service):
    """The plugin's Processing provider, registered with a service connected to the session backend."""
    from qgis.core import QgsApplication

    from georsmllm.plugin.processing.provider import GeoRSMLLMProvider

    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("georsmllm")
    if existing is not None:
        registry.removeProvider(existing)
    provider = GeoRSMLLMProvider(remote_service)
    assert registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)


# -- the plugin in a project with the two NAIP rasters (dock tests) ------------------------------------

NAIP_2009 = str(DATA / "naip_2009.tif")
NAIP_2020 = str(DATA / "naip_2020.tif")
IFACE_STUBS = ("addCustomActionForLayerType", "removeCustomActionForLayerType", "registerOptionsWidgetFactory",
               "unregisterOptionsWidgetFactory", "addPluginToRasterMenu", "removePluginRasterMenu")


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


def start_plugin(qgis_iface, monkeypatch):
    """The plugin loaded into the stub iface (its missing methods patched, no instruction history)."""
    for name in IFACE_STUBS:
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.save_history", lambda history: None)
    monkeypatch.setattr("georsmllm.plugin.main.load_history", lambda: [])
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    return plugin


@pytest.fixture
def plugin(qgis_iface, project, monkeypatch, plugin_env, plugin_pkg):
    plugin = start_plugin(qgis_iface, monkeypatch)
    yield plugin
    plugin.unload()


def result_groups(project):
    return [g for g in project.layerTreeRoot().children() if g.nodeType() == 0]  # 0: group node


@pytest.fixture
def slow_plugin(qgis_iface, project, monkeypatch, slow_backend_server, tmp_path, plugin_pkg):
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", slow_backend_server.url)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TOKEN", slow_backend_server.token)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OUTPUT_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("GEORSMLLM_PLUGIN_TILE_SIZE", "128")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_OVERLAP", "0")
    monkeypatch.setenv("GEORSMLLM_PLUGIN_CONCURRENCY", "1")
    for name in IFACE_STUBS:
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.save_history", lambda history: None)
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    yield plugin, slow_backend_server
    plugin.unload()


def start_slow_run(plugin, project, qtbot, instruction: str = "ponds", timeout_ms: int = 20000):
    """Start a detection run from the dock on "naip 2009" and return the dock once its first tile is done."""
    dock = plugin.show_dock()
    dock.instruction.setEditText(instruction)
    dock.set_task("detection")
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    with qtbot.waitSignal(plugin.controller.job_progress, timeout=timeout_ms,
                          check_params_cb=lambda key, event: event.kind == "tile"):
        dock.request_run()
    return dock
