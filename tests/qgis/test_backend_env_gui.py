"""The backend tools in a real headless QGIS, driven with qtbot: the set-up dialog runs a REAL
``EnvBuilder`` (a real venv in a temporary folder, real pip) against tiny home-made wheels served by a
loopback HTTP server (no network); cancel, resume, check and repair; the model manager downloads from a
loopback hub-like server into a temporary cache; the first-run prompt; unload leaves nothing behind."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QApplication, QPushButton

from .conftest import ROOT, load_plugin_package

pytestmark = pytest.mark.slow

REPO = "florence-community/Florence-2-base"  # a catalogue entry (florence-2-base), served by the fake hub
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
WEIGHTS = bytes(range(256)) * 4096 * 6  # 6 MiB: several of the downloader's 1 MiB reads


# -- helpers -------------------------------------------------------------------------------------------
def write_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal valid pure-Python wheel with one module."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: georsmllm-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": module + "\n",
    }
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


class Loopback:
    """A threaded HTTP server on 127.0.0.1 with a handler class; ``delay_s`` slows every answer."""

    def __init__(self, handler):
        self.delay_s = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(self.server.owner.delay_s)
        super().do_GET()


class FakeHub(SimpleHTTPRequestHandler):
    """``/api/models/<repo>/revision/main?blobs=true`` and ``/<repo>/resolve/<commit>/<file>`` with Range."""

    FILES = {"config.json": b'{"model_type": "florence2"}', "model.safetensors": WEIGHTS}

    def log_message(self, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        if self.path == f"/api/models/{REPO}/revision/main?blobs=true":
            siblings = [{"rfilename": n, "size": len(d), "lfs": {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}}
                        for n, d in self.FILES.items()]
            return self._send(200, json.dumps({"id": REPO, "sha": COMMIT, "siblings": siblings}).encode())
        name = self.path.removeprefix(f"/{REPO}/resolve/{COMMIT}/")
        if name not in self.FILES:
            return self._send(404, b"not found")
        data = self.FILES[name]
        start = int(re.fullmatch(r"bytes=(\d+)-", self.headers["Range"]).group(1)) if self.headers["Range"] else 0
        owner.ranges.append((name, start))
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        for offset in range(start, len(data), 64 * 1024):  # slow enough to cancel when delay_s is set
            self.wfile.write(data[offset:offset + 64 * 1024])
            self.wfile.flush()
            time.sleep(owner.delay_s)

    def _send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def flush_deletes():
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def clean_settings(plugin_pkg, monkeypatch):
    """No stored plugin settings and no environment overrides."""
    for key in list(os.environ):
        if key.startswith("GEORSMLLM_PLUGIN_"):
            monkeypatch.delenv(key)
    QgsSettings().remove("georsmllm")
    yield
    QgsSettings().remove("georsmllm")


@pytest.fixture
def wheel_index(tmp_path, monkeypatch):
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name, version in (("gsm-alpha", "1.0"), ("gsm-beta", "1.0")):
        write_wheel(folder, name, version)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # pip must not send loopback requests to a proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = Loopback(partial(QuietFiles, directory=str(folder)))
    yield server
    server.close()


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = Loopback(FakeHub)
    server.ranges = []
    yield server
    server.close()


@pytest.fixture
def bare_iface(qgis_iface, monkeypatch):
    """The test iface without the registrations the plugin makes (its menus are not under test here)."""
    for name in ("addCustomActionForLayerType", "removeCustomActionForLayerType", "registerOptionsWidgetFactory",
                 "unregisterOptionsWidgetFactory", "addPluginToRasterMenu", "removePluginRasterMenu",
                 "addToolBarIcon", "removeToolBarIcon"):
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.load_history", lambda: [])
    return qgis_iface


def click_and_wait(qtbot, dialog, button, kind, timeout_s=60):
    """Click ``button`` and wait for the task it ends or starts: listening before the click, so an outcome
    signalled at once (a download that ended just before its cancel) is not missed."""
    with qtbot.waitSignal(dialog.task_done, timeout=timeout_s * 1000,
                          check_params_cb=lambda k, _outcome: k == kind) as blocker:
        button.click()
    return blocker.args[1]


def wait_done(qtbot, dialog, kind, timeout_s=60):
    with qtbot.waitSignal(dialog.task_done, timeout=timeout_s * 1000,
                          check_params_cb=lambda k, _outcome: k == kind) as blocker:
        pass
    return blocker.args[1]


# -- the set-up dialog ------------------------------------------------------------------------------------
def test_setup_dialog_cancel_resume_check_repair(qtbot, clean_settings, wheel_index, tmp_path):
    from georsmllm.model_backend.envsetup import SetupOptions
    from georsmllm.model_backend.envsetup.state import SetupState
    from georsmllm.plugin.gui.backend_env_dialog import BackendEnvDialog
    from georsmllm.plugin.toolbelt.settings import load_settings

    reqs = tmp_path / "requirements.txt"
    reqs.write_text("gsm-alpha==1.0\ngsm-beta\n")
    env = tmp_path / "env"
    template = SetupOptions(env, [reqs], pip_args=["--no-index", "--find-links", wheel_index.url + "/"],
                            backend_root=ROOT)
    dialog = BackendEnvDialog(None, template)
    qtbot.addWidget(dialog)
    dialog.show()
    plans: list[list[str]] = []
    dialog.confirm = lambda lines: plans.append(lines) or True
    saved = []
    dialog.settings_saved.connect(saved.append)

    # 1. cancel while pip waits on the (slowed) index: the venv step is kept, nothing is configured
    wheel_index.delay_s = 3.0
    original = dialog._on_line

    def cancel_at_pip(step, fraction, text):
        original(step, fraction, text)
        if step == "install-requirements" and text.startswith("$") and dialog.task is not None:
            dialog.cancel_button.click()

    dialog._on_line = cancel_at_pip
    dialog.setup_button.click()
    outcome = wait_done(qtbot, dialog, "run")
    assert outcome.status == "cancelled", outcome
    assert plans and "  verify: to do" in plans[0] and "no PyTorch" in plans[0][1]
    assert plans[0][-1].startswith("Download: about ")  # what it will download, before anything is installed
    assert "Cancelled" in dialog.result_label.text()
    assert dialog.setup_button.isEnabled() and not dialog.cancel_button.isEnabled()
    steps = SetupState(env).steps
    assert steps["create-venv"]["status"] == "done" and steps["install-requirements"]["status"] == "cancelled"
    assert load_settings(environ={}).interpreter == "" and not saved
    log = dialog.log.toPlainText()
    assert "[create-venv] $" in log and "[install-requirements] $" in log

    # 2. set up again: the plan says what is done, the run skips it and finishes
    dialog._on_line = original
    wheel_index.delay_s = 0.0
    dialog.log.clear()
    dialog.setup_button.click()
    outcome = wait_done(qtbot, dialog, "run")
    assert outcome.ok, dialog.result_label.text()
    assert "  create-venv: done before, skipped" in plans[1]
    log = dialog.log.toPlainText()
    assert "[create-venv] create-venv: done before, skipped" in log
    assert "gsm_alpha-1.0" in log and "Successfully installed" in log
    assert dialog.progress.value() == 1000
    python = str(env / "bin" / "python")
    assert load_settings(environ={}).interpreter == python
    assert [s.interpreter for s in saved] == [python]
    assert "No PyTorch" in dialog.result_label.text() and python in dialog.result_label.text()

    # 3. Check finds it complete; a package removed behind its back is found and Repair puts it back
    dialog.check_button.click()
    assert wait_done(qtbot, dialog, "check").value.ok
    assert "complete" in dialog.result_label.text()
    site = next((env / "lib").glob("python*/site-packages"))
    shutil.rmtree(site / "gsm_beta")
    shutil.rmtree(next(site.glob("gsm_beta-*.dist-info")))
    dialog.check_button.click()
    report = wait_done(qtbot, dialog, "check").value
    assert [p.name for p in report.broken] == ["gsm-beta"]
    assert "problem(s) found" in dialog.result_label.text()
    dialog.repair_button.click()
    assert wait_done(qtbot, dialog, "repair").value.ok
    assert (site / "gsm_beta" / "__init__.py").is_file()


# -- the model manager --------------------------------------------------------------------------------------
def test_models_dialog_lists_downloads_resumes_and_uses(qtbot, clean_settings, hub, tmp_path, monkeypatch):
    from georsmllm.model_backend.models import CATALOGUE
    from georsmllm.plugin.gui.models_dialog import ModelsDialog
    from georsmllm.plugin.toolbelt.settings import load_settings

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    dialog = ModelsDialog(None, cache_dir=cache, endpoint=hub.url)
    qtbot.addWidget(dialog)
    dialog.show()
    wait_done(qtbot, dialog, "scan", 20)
    assert dialog.table.rowCount() == len(CATALOGUE)
    titles = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert "Florence-2 base (transformers-native conversion)" in titles and "A local folder" in titles
    row = [e.id for e in CATALOGUE].index("florence-2-base")
    assert dialog.table.item(row, 1).text() == "~0.5 GB" and dialog.table.item(row, 4).text() == "MIT"
    assert dialog.table.item(row, 5).text() == "not downloaded"

    # cancel mid-download: the partial file stays and the next download continues it with a Range request
    dialog.select_model("florence-2-base")
    hub.delay_s = 0.02
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=20000)
    outcome = click_and_wait(qtbot, dialog, dialog.cancel_button, "download")
    assert outcome.status == "cancelled" and "Partial files are kept" in dialog.status.text()
    assert list(cache.rglob("model.safetensors.incomplete"))
    hub.delay_s = 0.0
    outcome = click_and_wait(qtbot, dialog, dialog.download_button, "download")
    assert outcome.ok, dialog.status.text()
    assert any(name == "model.safetensors" and start > 0 for name, start in hub.ranges), hub.ranges
    snapshot = cache / "models--florence-community--Florence-2-base" / "snapshots" / COMMIT
    assert (snapshot / "model.safetensors").read_bytes() == WEIGHTS
    assert dialog.progress.value() == 1000 and "MB" in dialog.log.toPlainText()
    wait_done(qtbot, dialog, "scan", 20)
    assert dialog.table.item(row, 5).text() == "downloaded"

    # Use this model: the plugin's model setting points at the downloaded folder
    saved = []
    dialog.settings_saved.connect(saved.append)
    dialog.use_button.click()
    stored = load_settings(environ={})
    assert stored.model == str(snapshot) and stored.engine == "transformers" and saved == [stored]

    # a local folder and a model server URL (the pickers answered by the test)
    monkeypatch.setattr(dialog, "ask_folder", lambda: str(tmp_path))
    dialog.select_model("local")
    dialog.use_button.click()
    assert load_settings(environ={}).model == str(tmp_path)
    monkeypatch.setattr(dialog, "ask_url", lambda: "http://127.0.0.1:9/v1")
    dialog.select_model("server")
    dialog.use_button.click()
    stored = load_settings(environ={})
    assert stored.engine == "openai" and stored.model_base_url == "http://127.0.0.1:9/v1"


def test_models_dialog_offline_message_and_check_in_the_backend_python(qtbot, clean_settings, tmp_path, monkeypatch):
    from georsmllm.plugin.gui.models_dialog import ModelsDialog

    # a "backend interpreter" that records how it was called: Check must run it, not load torch in QGIS
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {calls}\necho \"loaded fake model\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_INTERPRETER", str(fake))
    cache = tmp_path / "cache"
    snapshot = cache / "models--florence-community--Florence-2-base" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(COMMIT)
    closed = Loopback(FakeHub)
    closed.close()  # a port nobody listens on any more: the hub is "offline"

    dialog = ModelsDialog(None, cache_dir=cache, endpoint=closed.url)
    qtbot.addWidget(dialog)
    wait_done(qtbot, dialog, "scan", 20)
    dialog.select_model("florence-2-large")
    dialog.download_button.click()
    outcome = wait_done(qtbot, dialog, "download", 30)
    assert outcome.status == "failed" and "offline" in dialog.status.text()

    dialog.select_model("florence-2-base")
    assert dialog.check_button.isEnabled()
    dialog.check_button.click()
    outcome = wait_done(qtbot, dialog, "check", 30)
    assert outcome.ok and "loaded fake model" in dialog.status.text()
    assert calls.read_text().split() == ["-m", "model_backend", "models", "check", "florence-2-base",
                                         "--cache-dir", str(cache), "--device", "auto"]


# -- first run and lifecycle ---------------------------------------------------------------------------------------
def start_plugin(iface):
    plugin = load_plugin_package().classFactory(iface)
    plugin.initGui()
    return plugin


def test_first_run_prompt_when_nothing_is_configured(qtbot, clean_settings, bare_iface, tmp_path, monkeypatch):
    from georsmllm.plugin.gui import backend_tools
    from georsmllm.plugin.toolbelt.settings import load_settings

    asked = []
    monkeypatch.setattr(backend_tools, "ask_first_run", lambda parent, reason: asked.append(reason) or True)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_INTERPRETER", str(tmp_path / "no-env" / "bin" / "python"))
    plugin = start_plugin(bare_iface)
    try:
        with qtbot.waitSignal(plugin.backend_tools.first_run_checked, timeout=20000) as blocker:
            pass
        assert blocker.args == [True] and len(asked) == 1 and "does not exist" in asked[0]
        dialog = plugin.backend_tools.setup_dialog
        assert dialog is not None and dialog.isVisible()  # answered yes: the set-up dialog opened
        assert load_settings(environ={}).setup_prompted
    finally:
        plugin.unload()
    flush_deletes()
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "GeoRSMLLMBackendEnvDialog"]

    plugin = start_plugin(bare_iface)  # asked once: not again at the next start
    try:
        assert plugin.backend_tools.probe_task is None and plugin.backend_tools._timer is None
    finally:
        plugin.unload()
    assert len(asked) == 1


def test_first_run_prompt_waits_for_qgis_to_start_and_says_what_is_missing(qtbot, clean_settings, bare_iface,
                                                                          tmp_path, monkeypatch):
    from qgis.PyQt.QtCore import QObject, pyqtSignal

    from georsmllm.plugin.gui import backend_tools

    class Qgis(QObject):
        initializationCompleted = pyqtSignal()

    qgis = Qgis()
    monkeypatch.setattr(bare_iface, "initializationCompleted", qgis.initializationCompleted, raising=False)
    env = tmp_path / "bare-env"  # a Python without any of the backend's packages
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(env)], check=True, timeout=60)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_INTERPRETER", str(env / "bin" / "python"))
    asked = []
    monkeypatch.setattr(backend_tools, "ask_first_run", lambda parent, reason: asked.append(reason) or False)
    plugin = start_plugin(bare_iface)
    try:
        qtbot.wait(1500)
        assert plugin.backend_tools._timer is None and not asked  # QGIS is still starting: nothing yet
        with qtbot.waitSignal(plugin.backend_tools.first_run_checked, timeout=30000):
            qgis.initializationCompleted.emit()
        [reason] = asked
        assert "has none of the" in reason and "numpy, rasterio, shapely" in reason, reason
        assert "ModuleNotFoundError" not in reason and "Traceback" not in reason
    finally:
        plugin.unload()


def test_no_prompt_when_a_backend_is_configured(qtbot, clean_settings, bare_iface, monkeypatch):
    from georsmllm.plugin.gui import backend_tools

    asked = []
    monkeypatch.setattr(backend_tools, "ask_first_run", lambda parent, reason: asked.append(reason) or False)
    monkeypatch.setenv("GEORSMLLM_PLUGIN_INTERPRETER", sys.executable)  # can run -m model_backend
    plugin = start_plugin(bare_iface)
    try:
        with qtbot.waitSignal(plugin.backend_tools.first_run_checked, timeout=30000) as blocker:
            pass
        assert blocker.args == [False]
    finally:
        plugin.unload()
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", "http://127.0.0.1:9")
    plugin = start_plugin(bare_iface)
    try:
        assert plugin.backend_tools._timer is None  # a server URL: nothing to look for
    finally:
        plugin.unload()
    assert asked == []


def test_menu_actions_open_dialogs_and_unload_removes_them(qtbot, clean_settings, bare_iface, monkeypatch):
    monkeypatch.setenv("GEORSMLLM_PLUGIN_SERVER_URL", "http://127.0.0.1:9")
    plugin = start_plugin(bare_iface)
    tools = plugin.backend_tools
    texts = [a.text() for a in plugin.actions]
    assert "Set up backend…" in texts and "Models…" in texts
    tools.setup_action.trigger()
    tools.models_action.trigger()
    assert tools.setup_dialog.isVisible() and tools.models_dialog.isVisible()
    plugin.unload()
    flush_deletes()
    assert plugin.backend_tools is None and plugin.actions == []
    names = {w.objectName() for w in QApplication.topLevelWidgets()}
    assert not names & {"GeoRSMLLMBackendEnvDialog", "GeoRSMLLMModelsDialog"}


def test_options_page_buttons_open_the_tools_and_follow_their_settings(qtbot, clean_settings):
    from georsmllm.plugin.gui.backend_tools import BackendTools
    from georsmllm.plugin.gui.options import SettingsPageFactory
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    tools = BackendTools(None)
    page = SettingsPageFactory(None, tools.open_setup, tools.open_models).createWidget(None)
    qtbot.addWidget(page)
    buttons = {b.text(): b for b in page.findChildren(QPushButton)}
    buttons["Set up backend…"].click()
    assert tools.setup_dialog is not None and tools.setup_dialog.isVisible()
    tools.setup_dialog.settings_saved.emit(PluginSettings(interpreter="/envs/backend/bin/python"))
    assert page.settings().interpreter == "/envs/backend/bin/python"  # OK/Apply will not write the old one back
    buttons["Models…"].click()
    tools.models_dialog.settings_saved.emit(PluginSettings(model="/models/florence", engine="transformers"))
    assert page.settings().model == "/models/florence"
    tools.unload()


def test_device_sentence_states_a_cpu_fallback_plainly(plugin_pkg):
    from georsmllm.model_backend.envsetup import EnvReport
    from georsmllm.plugin.logic.env_tasks import device_summary

    def report(device):
        return EnvReport(Path("/env"), "3.11", device=device)

    cpu = device_summary(report({"torch": "2.5.1", "device": "cpu"}), torch_expected=True)
    assert "CPU ONLY" in cpu and "slowly" in cpu
    gpu = device_summary(report({"torch": "2.5.1", "device": "cuda", "gpu": "RTX 4090"}), torch_expected=True)
    assert gpu == "PyTorch 2.5.1 runs on cuda (RTX 4090)."
    broken = device_summary(report({"torch": None, "error": "ImportError: libcudart"}), torch_expected=True)
    assert "does not import" in broken and "libcudart" in broken
    assert "No PyTorch" in device_summary(report({"torch": None}), torch_expected=False)


def test_the_dialogs_speak_chinese(qtbot, clean_settings, tmp_path):
    from georsmllm.plugin.gui.backend_env_dialog import BackendEnvDialog
    from georsmllm.plugin.gui.models_dialog import ModelsDialog
    from georsmllm.plugin.toolbelt import i18n

    if i18n.qm_path("zh_CN") is None:
        pytest.skip("i18n/georsmllm_zh_CN.qm not built (make translations)")
    translator = i18n.install_translator("zh_CN")
    try:
        setup = BackendEnvDialog(None)
        models = ModelsDialog(None, cache_dir=tmp_path)
        qtbot.addWidget(setup)
        qtbot.addWidget(models)
        assert setup.windowTitle() == "GeoRSMLLM：配置后端" and setup.repair_button.text() == "修复"
        assert models.use_button.text() == "使用此模型"
        assert models.table.horizontalHeaderItem(4).text() == "许可证"
        wait_done(qtbot, models, "scan", 20)
    finally:
        i18n.remove_translator(translator)
