"""What the panel tells the user: the backend's state in words (driven by the real local server's
lifecycle), "cancelling…" at once and one consistent outcome after a cancel, run states that look
different, plural summaries, and a runs list that stays usable (newest first, removable, elided)."""

from __future__ import annotations

import json
import sys

import pytest
from qgis.core import QgsApplication

from .conftest import IFACE_STUBS, RULES, load_plugin_package, result_groups, start_slow_run


def status(state, **kw):
    from georsmllm.plugin.logic.backend_state import BackendStatus

    return BackendStatus(state, **kw)


@pytest.mark.parametrize("kw,expected,level", [
    (dict(state="stopped"), "Local backend: not started yet; it starts with the first run.", "idle"),
    (dict(state="starting"), "Local backend: starting…", "busy"),
    (dict(state="loading", model="/models/qwen3-vl", engine="transformers"),
     "Local backend: loading the model qwen3-vl…", "busy"),
    (dict(state="ready", model="Qwen/Qwen3-VL-2B-Instruct", engine="transformers", device="cpu", memory_mb=552.2),
     "Local backend: ready, model Qwen/Qwen3-VL-2B-Instruct on the CPU (slow)", "ok"),
    (dict(state="ready", model="m", engine="transformers", device="cuda:0"),
     "Local backend: ready, model m on the GPU (cuda:0)", "ok"),
    (dict(state="ready", model="oracle", engine="openai", device="server", model_server="http://10.0.0.5:8000/v1",
          remote=True, url="http://10.0.0.2:8765"),
     "Backend at http://10.0.0.2:8765: ready, using the model server at http://10.0.0.5:8000/v1 (model oracle)", "ok"),
    (dict(state="load_failed", model="oracle", engine="openai", problem="unreachable",
          model_server="http://10.0.0.5:8000/v1", detail="cannot reach the model server"),
     "Local backend runs, but the model server at http://10.0.0.5:8000/v1 is unreachable", "error"),
    (dict(state="load_failed", model="oracle", engine="openai", problem="refused",
          model_server="http://h:8000/v1", detail="it does not serve model 'oracle'"),
     "Local backend runs, but the model server at http://h:8000/v1 refused: it does not serve model 'oracle'",
     "error"),
    (dict(state="load_failed", model="/m/qwen", engine="transformers", problem="failed", detail="out of memory"),
     "Local backend runs, but the model qwen failed to load: out of memory", "error"),
    (dict(state="exited", detail="the local backend exited with status 1: its Python lacks the package shapely"),
     "Local backend stopped: the local backend exited with status 1: its Python lacks the package shapely", "error"),
    (dict(state="unreachable", remote=True, url="http://h:8765", detail="cannot reach the backend at http://h:8765"),
     "Backend at http://h:8765 is unreachable: cannot reach the backend at http://h:8765", "error"),
])
def test_status_line_words_per_backend_state(plugin, kw, expected, level):
    dock = plugin.show_dock()
    dock.show_status(status(**kw))
    text = dock.status_line.text()
    assert text.startswith(expected), text
    assert dock.status_line.level == level
    assert "rss" not in text and "_mb" not in text and "could not be loaded" not in text


@pytest.fixture
def local_plugin(qgis_iface, project, monkeypatch, tmp_path, plugin_pkg):
    """The plugin with no server URL: it starts its own backend (scripted engine) on the first run."""
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"rules": RULES, "default": "None", "latency": 0.3}), encoding="utf-8")
    env = {"SERVER_URL": "", "INTERPRETER": sys.executable, "ENGINE": "scripted", "SEGMENTER": "none",
           "EXTRA_ARGS": f"--script {script} --work-dir {tmp_path / 'work'}", "STARTUP_TIMEOUT_S": "60",
           "OUTPUT_DIR": str(tmp_path / "results"), "TILE_SIZE": "256", "OVERLAP": "0", "CONCURRENCY": "1"}
    for key, value in env.items():
        monkeypatch.setenv(f"GEORSMLLM_PLUGIN_{key}", value)
    for name in IFACE_STUBS:
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    monkeypatch.setattr("georsmllm.plugin.main.save_history", lambda history: None)
    plugin = load_plugin_package().classFactory(qgis_iface)
    plugin.initGui()
    yield plugin
    plugin.unload()


def test_status_line_follows_the_local_backend_through_the_first_run(local_plugin, project, qtbot, qgis_iface):
    plugin = local_plugin
    qgis_iface.mainWindow().show()  # the panel is shown only within a shown window
    dock = plugin.show_dock()
    qtbot.waitUntil(lambda: plugin.controller.poller.active, timeout=3000)  # shown: the status line is watched
    states = []
    plugin.controller.status_changed.connect(lambda s: states.append(s.state))
    qtbot.waitUntil(lambda: "not started yet" in dock.status_line.text(), timeout=10000)
    start_slow_run(plugin, project, qtbot, "detect the ponds", timeout_ms=60000)
    # while the first run's tiles are processed, the line says the backend is ready (not "not connected")
    qtbot.waitUntil(lambda: dock.status_line.level == "ok", timeout=10000)
    text = dock.status_line.text()
    assert text.startswith("Local backend: ready, scripted demo answers from answers.json"), text
    assert "starting" in states and states.index("starting") < states.index("ready")
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=60000):
        pass
    dock.hide()
    qtbot.waitUntil(lambda: not plugin.controller.poller.active, timeout=3000)  # hidden: no more checks
    qgis_iface.mainWindow().hide()


def test_cancel_says_cancelling_at_once_and_ends_with_one_outcome(slow_plugin, project, qtbot):
    plugin, _server = slow_plugin
    logged = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: logged.append(message) if tag == "GeoRSMLLM" else None)
    dock = start_slow_run(plugin, project, qtbot)
    key = next(iter(plugin.controller.runs))
    task = plugin.controller.runs[key].task
    ended = []
    task.taskCompleted.connect(lambda: ended.append("completed"))
    task.taskTerminated.connect(lambda: ended.append("terminated"))
    row = dock.runs.rows[key]
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=20000) as finished:
        row.button.click()
        # at once, before the backend has answered anything
        assert row.state == "cancelling" and row.bar.format().startswith("cancelling…")
        assert not row.button.isEnabled() and not dock.cancel_button.isEnabled()
    _key, summary, outcome = finished.args
    assert outcome.cancelled and outcome.gpkg
    assert row.state == "partial" and summary.startswith("cancelled after ") and "; kept " in summary
    layers = [n.layer() for g in result_groups(project) for n in g.findLayers()]  # what finished is kept
    assert layers and all(layer.featureCount() > 0 for layer in layers)
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert ended == ["completed"]  # QGIS's task log must not say "failed" for a cancel
    QgsApplication.processEvents()
    outcome_lines = [m for m in logged if "cancel" in m.lower() or "nothing found" in m or "partial" in m]
    assert len(outcome_lines) == 1 and summary in outcome_lines[0], outcome_lines


def test_each_finished_state_has_its_own_look_and_words(qtbot, plugin_pkg):
    from georsmllm.plugin.gui.run_list import STATE_STYLE, JobRow

    looks = set()
    for state in ("done", "partial", "cancelled", "failed"):
        row = JobRow(state, "a run")
        qtbot.addWidget(row)
        row.finish(state, f"{state} text")
        assert row.icon.text() == STATE_STYLE[state][0] and STATE_STYLE[state][1] in row.icon.styleSheet()
        assert row.outcome.fullText() == f"{state} text" and not row.bar.isVisibleTo(row)
        assert row.button.toolTip().startswith("Remove")
        looks.add(STATE_STYLE[state])
    assert len(looks) == 4


def test_a_failed_run_says_failed_once_without_a_doubled_prefix(slow_plugin, project, qtbot, qgis_iface):
    import signal

    from qgis.core import Qgis

    plugin, server = slow_plugin
    qgis_iface.messageBar().clear_messages()
    dock = start_slow_run(plugin, project, qtbot)
    key = next(iter(plugin.controller.runs))
    server.process.send_signal(signal.SIGKILL)
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=15000):
        pass
    row = dock.runs.rows[key]
    assert row.state == "failed" and row.outcome.fullText().startswith("failed: ")
    [bar_message] = qgis_iface.messageBar().get_messages(Qgis.Critical)
    title, text = bar_message.split(":", 1)
    assert title == "GeoRSMLLM" and text.startswith("ponds (") and " failed: " in text
    assert "GeoRSMLLM" not in text


def test_summaries_use_plurals_and_words_for_unlabelled_objects(plugin_pkg):
    from georsmllm.plugin.logic.wording import objects_summary, result_summary

    assert objects_summary({"plane": 6, "ship": 6}) == "6 planes, 6 ships"
    assert objects_summary({"ship": 1, "plane": 6}) == "6 planes, 1 ship"
    assert objects_summary({"(no label)": 4}) == "4 objects"
    assert objects_summary({"(no label)": 1}) == "1 object"
    assert objects_summary({"storage tank": 2, "(no label)": 1}) == "2 storage tanks, 1 other object"
    assert objects_summary({"ferry": 3, "bus": 2}) == "3 ferries, 2 buses"
    assert result_summary({"task": "classify", "counts": {"forest": 1, "farmland": 3}}) == \
        "farmland: 3 tiles, forest: 1 tile"
    assert result_summary({"task": "caption", "counts": {"caption": 1}, "answers": [{"answer": "x"}]}) == \
        "image described"
    assert result_summary({"task": "identify", "counts": {"regions": 2}}) == "2 regions described"


def test_runs_list_newest_first_removable_and_elided(qtbot, plugin_pkg, project):
    from georsmllm.plugin.gui.dock import GeoRSMLLMDock

    dock = GeoRSMLLMDock(None)
    qtbot.addWidget(dock)
    dock.resize(380, 700)
    dock.show()
    dock.job_started("run0", "a short run")
    baseline = dock.widget().minimumSizeHint().width()
    long_instruction = "segment every building " + "that is north of the river and larger than 500 m² " * 8
    dock.instruction.setEditText(long_instruction)
    dock.set_history([long_instruction])
    dock.job_started("run1", "first run (10:00:00)")
    dock.job_started("run2", long_instruction + " (10:01:00)")
    assert dock.runs.order() == ["run2", "run1", "run0"]  # newest on top, always in view
    row = dock.runs.rows["run2"]
    qtbot.waitUntil(lambda: row.label.text().endswith("…"), timeout=3000)
    assert row.label.toolTip() == long_instruction + " (10:01:00)"
    # neither the instruction nor the title widens the panel (the map keeps its room)
    assert dock.widget().minimumSizeHint().width() <= baseline
    assert not dock.runs.clear_button.isEnabled()
    dock.runs.remove("run0")
    dock.job_finished("run1", "4 ponds", None)
    assert dock.runs.rows["run1"].state == "cancelled"
    assert dock.runs.clear_button.isEnabled()
    dock.runs.clear_button.click()
    assert dock.runs.order() == ["run2"]  # a running run is never cleared
    dock.job_finished("run2", "failed: boom", None)
    dock.runs.rows["run2"].button.click()  # a finished row's button removes it
    qtbot.waitUntil(lambda: not dock.runs.isVisibleTo(dock), timeout=3000)
    assert dock.runs.order() == []


def test_open_folder_shows_where_the_result_was_saved(plugin, project, qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr("georsmllm.plugin.gui.run_list.open_folder", opened.append)
    dock = plugin.show_dock()
    dock.instruction.setEditText("detect the ponds")
    dock.set_task("detection")
    dock.layer_combo.setLayer(project.mapLayersByName("naip 2009")[0])
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=30000) as finished:
        dock.request_run()
    key, _summary, outcome = finished.args
    row = dock.runs.rows[key]
    assert row.saved_label.fullText().endswith(outcome.gpkg.rsplit("/", 1)[-1])
    assert row.saved_label.toolTip() == outcome.gpkg
    row.folder_button.click()
    assert opened == [outcome.gpkg]
    assert outcome.gpkg in dock.answers.toPlainText()


def test_a_cancel_from_the_task_manager_shows_in_the_panel_too(slow_plugin, project, qtbot):
    plugin, _server = slow_plugin
    dock = start_slow_run(plugin, project, qtbot)
    key, run = next(iter(plugin.controller.runs.items()))
    ended = []
    run.task.taskCompleted.connect(lambda: ended.append("completed"))
    run.task.taskTerminated.connect(lambda: ended.append("terminated"))
    with qtbot.waitSignal(plugin.controller.job_finished, timeout=20000):
        run.task.cancel()  # what the cancel button of QGIS's task manager does
        assert dock.runs.rows[key].state == "cancelling"
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert ended == ["completed"]


def test_summaries_and_status_in_chinese(plugin_pkg):
    from georsmllm.plugin.gui.status_line import status_text
    from georsmllm.plugin.logic.wording import objects_summary
    from georsmllm.plugin.toolbelt import i18n

    translator = i18n.install_translator("zh_CN")
    assert translator is not None, "i18n/georsmllm_zh_CN.qm missing (make translations)"
    try:
        # Chinese has no plural: the label stays as the attribute table shows it
        assert objects_summary({"plane": 6, "(no label)": 1}) == "plane 6 个, 其他对象 1 个"
        assert status_text(status("starting")) == "本地后端：正在启动…"
    finally:
        i18n.remove_translator(translator)
    assert objects_summary({"plane": 6}) == "6 planes"


def test_an_open_plan_view_follows_the_plan_of_the_run_that_starts(qtbot, plugin_pkg):
    from georsmllm.plugin.gui.dock import GeoRSMLLMDock
    from georsmllm.plugin.logic.follow import JobEvent

    dock = GeoRSMLLMDock(None)
    qtbot.addWidget(dock)
    dock.show()
    plan = {"task": "seg", "task_reason": "wording 'segment'", "dialect": "georsmllm", "parser": "grammar",
            "sentences": [{"kind": "model", "text": "Model (segmentation): find the pond in every tile."}]}
    dock.job_started("run0", "segment the pond")
    dock.job_progress("run0", JobEvent("plan", 0, data=plan))
    assert dock.plan_view.isHidden()  # not opened by a run: only "Show plan" opens it
    dock.show_plan({"task": "detection", "sentences": [{"kind": "model", "text": "find the ponds"}]}, None)
    dock.job_progress("run0", JobEvent("plan", 0, data=plan))
    text = dock.plan_view.toPlainText()
    assert "find the pond in every tile" in text and "find the ponds" not in text and "georsmllm" in text
