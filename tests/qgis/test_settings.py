"""Settings: typed defaults, QgsSettings round trip under ``georsmllm/``, environment overrides, the
options page, and what they turn into (backend command line, connection)."""

from __future__ import annotations

import sys
from dataclasses import fields, replace

import pytest
from qgis.core import QgsSettings


@pytest.fixture
def settings_mod(plugin_pkg):
    from georsmllm.plugin.toolbelt import settings

    QgsSettings().remove("georsmllm")
    yield settings
    QgsSettings().remove("georsmllm")


def test_defaults_when_nothing_is_stored(settings_mod):
    loaded = settings_mod.load_settings(environ={})
    assert loaded == settings_mod.PluginSettings()
    assert loaded.server_url == "" and loaded.tile_size == 768 and loaded.gsd == 0.0


def test_round_trip_through_qgssettings(settings_mod):
    custom = replace(settings_mod.PluginSettings(), interpreter="/opt/py/bin/python", server_url="http://gpu:8765",
                     token="s3cret", model="/models/qwen", dialect="qwen2.5-vl", tile_size=1024, overlap=128, gsd=0.5,
                     concurrency=4, extra_args="--max-upload-mb 512")
    settings_mod.save_settings(custom)
    assert QgsSettings().value("georsmllm/tile_size") in (1024, "1024")
    loaded = settings_mod.load_settings(environ={})
    assert loaded == custom
    for f in fields(loaded):
        assert type(getattr(loaded, f.name)) is type(getattr(custom, f.name))


def test_environment_overrides_stored_values(settings_mod):
    settings_mod.save_settings(replace(settings_mod.PluginSettings(), tile_size=1024))
    loaded = settings_mod.load_settings(environ={"GEORSMLLM_PLUGIN_TILE_SIZE": "256",
                                                 "GEORSMLLM_PLUGIN_SERVER_URL": "http://x:1",
                                                 "GEORSMLLM_PLUGIN_GSD": "not a number"})
    assert loaded.tile_size == 256 and loaded.server_url == "http://x:1" and loaded.gsd == 0.0


def test_local_backend_command_line(settings_mod):
    from georsmllm.plugin.logic.service import backend_config

    s = replace(settings_mod.PluginSettings(), interpreter=sys.executable, model="/m", dialect="qwen2-vl",
                sam2_checkpoint="/c.pt", device="cpu", extra_args="--script 'a b.json'")
    config = backend_config(s, allow_dirs=("/data/rasters",))
    assert config.url == "" and config.launch.interpreter == sys.executable
    args = config.launch.serve_args
    assert args[:2] == ("--engine", "transformers")
    assert ("--model", "/m") == args[args.index("--model"):args.index("--model") + 2]
    assert args[-2:] == ("--script", "a b.json")
    assert "--parser-model" not in args  # empty settings are left to the backend
    assert config.launch.covers("/data/rasters/x.tif")


def test_a_server_url_means_no_local_process(settings_mod):
    from georsmllm.plugin.logic.service import backend_config

    config = backend_config(replace(settings_mod.PluginSettings(), server_url="http://gpu:8765", token="t"))
    assert config.url == "http://gpu:8765" and config.token == "t" and config.launch is None


def test_default_interpreter_is_the_plugin_venv(settings_mod):
    expected = settings_mod.PLUGIN_DIR / ".venv" / "bin" / "python"
    resolved = settings_mod.PluginSettings().resolved_interpreter()
    assert resolved == (str(expected) if expected.exists() else "python3")


def test_check_names_problems(settings_mod):
    assert settings_mod.PluginSettings().check() == []
    problems = replace(settings_mod.PluginSettings(), tile_size=64, overlap=40, extra_args="'unclosed").check()
    assert any("overlap" in p for p in problems) and any("extra" in p for p in problems)


def test_options_page_saves_on_apply(settings_mod, qtbot):
    from georsmllm.plugin.gui.options import SettingsPage, SettingsPageFactory

    saved = []
    factory = SettingsPageFactory(saved.append)
    page = factory.createWidget(None)
    qtbot.addWidget(page)
    assert isinstance(page, SettingsPage)
    page.tile_size.setValue(512)
    page.server_url.setText("http://gpu:8765")
    page.dialect.setCurrentIndex(page.dialect.findData("florence-2"))
    page.apply()
    loaded = settings_mod.load_settings(environ={})
    assert loaded.tile_size == 512 and loaded.server_url == "http://gpu:8765" and loaded.dialect == "florence-2"
    assert saved == [loaded]


def test_options_page_refuses_invalid_values(settings_mod, qtbot):
    from georsmllm.plugin.gui.options import SettingsPage

    page = SettingsPage()
    qtbot.addWidget(page)
    page.tile_size.setValue(64)
    page.overlap.setValue(40)
    page.apply()
    assert "overlap" in page.problems.text()
    assert settings_mod.load_settings(environ={}).overlap == 96  # nothing saved


# -- one vocabulary: every name the plugin can send is one the backend accepts ---------------------------

def backend_accepts_serve_args(args: tuple[str, ...]):
    """Parse ``model_backend serve`` options as the backend does and resolve every name through its own
    registries; returns the run settings (raises on anything the backend would refuse)."""
    from model_backend.cli import _overrides, build_parser
    from model_backend.dialects import get_dialect
    from model_backend.engines import engine_factory
    from model_backend.engines.device import check_device_setting
    from model_backend.pipeline.config import RunConfig
    from model_backend.pipeline.factory import NO_SEGMENTER
    from model_backend.segmenters import SEGMENTERS

    parsed = build_parser().parse_args(["serve", *args])
    config = RunConfig.load(_overrides(parsed), environ={})
    engine_factory(config.engine)
    if config.dialect:
        get_dialect(config.dialect)
    assert config.segmenter == NO_SEGMENTER or config.segmenter in SEGMENTERS, config.segmenter
    check_device_setting(config.device)
    return config


def combo_values(combo) -> list[str]:
    return [combo.itemData(i) for i in range(combo.count())]


def test_every_choice_of_the_settings_page_is_accepted_by_the_backend(settings_mod, qtbot):
    from georsmllm.plugin.gui.options import SettingsPage

    page = SettingsPage()
    qtbot.addWidget(page)
    offered = {name: combo_values(getattr(page, name)) for name in ("engine", "dialect", "segmenter", "device")}
    assert {"qwen2-vl", "qwen2.5-vl", "qwen3-vl", "florence-2"} <= set(offered["dialect"])
    assert not {"qwen", "florence2"} & set(offered["dialect"])  # names the backend never knew
    for name, values in offered.items():
        for value in values:
            getattr(page, name).setCurrentIndex(getattr(page, name).findData(value))
            settings = page.settings()
            assert settings.check() == [], (name, value)
            config = backend_accepts_serve_args(settings.serve_args())
            assert getattr(config, name) == (value or None if name == "dialect" else value)


def test_the_default_settings_are_accepted_by_the_backend(settings_mod):
    defaults = settings_mod.PluginSettings()
    config = backend_accepts_serve_args(defaults.serve_args())
    assert (config.engine, config.segmenter, config.device) == (defaults.engine, defaults.segmenter, defaults.device)
    assert (defaults.tile_size, defaults.overlap, defaults.concurrency) == (config.tile_size, config.overlap,
                                                                            config.concurrency)


def test_names_the_backend_does_not_know_are_refused_on_the_page(settings_mod, qtbot):
    from georsmllm.plugin.gui.options import SettingsPage

    problems = replace(settings_mod.PluginSettings(), dialect="qwen", engine="vllm").check()
    assert any("dialect 'qwen'" in p and "qwen2.5-vl" in p for p in problems)
    assert any("engine 'vllm'" in p for p in problems)
    page = SettingsPage()
    qtbot.addWidget(page)
    page.dialect.setEditText("florence2")
    page.apply()
    assert "florence-2" in page.problems.text()
    assert settings_mod.load_settings(environ={}).dialect == ""  # nothing saved


def test_several_model_servers_become_repeated_base_urls(settings_mod, qtbot):
    from georsmllm.plugin.gui.options import SettingsPage

    base = replace(settings_mod.PluginSettings(), engine="openai", model="qwen")
    for text in ("http://a:8000/v1\nhttp://b:8000/v1", "http://a:8000/v1, http://b:8000/v1",
                 " http://a:8000/v1 ,\n\nhttp://b:8000/v1\n"):
        args = replace(base, model_base_url=text).serve_args()
        assert [args[i + 1] for i, a in enumerate(args) if a == "--base-url"] == ["http://a:8000/v1", "http://b:8000/v1"]
        backend_accepts_serve_args(args)
    # a single URL, as older versions stored it, still works
    single = replace(base, model_base_url="http://gpu:8000/v1")
    assert single.model_base_urls == ("http://gpu:8000/v1",) and single.check() == []
    assert replace(base, model_base_url="gpu:8000").check() == ["'gpu:8000' is not an http(s)://host:port address"]
    settings_mod.save_settings(single)
    page = SettingsPage()
    qtbot.addWidget(page)
    assert page.model_base_url.toPlainText() == "http://gpu:8000/v1"
    page.model_base_url.setPlainText("http://a:8000/v1, http://b:8000/v1")
    page.apply()
    assert settings_mod.load_settings(environ={}).model_base_urls == ("http://a:8000/v1", "http://b:8000/v1")


def test_every_task_the_plugin_sends_is_accepted_by_the_backend(settings_mod, plugin_pkg, qgis_iface, qtbot):
    """The dock's task chooser, the layer menu and every Processing algorithm send task names (and default
    instructions) the backend parses and validates."""
    from model_backend.pipeline.wording import parse_task_name
    from model_backend.server.schemas import JobRequest

    from georsmllm.plugin.gui.dock import GeoRSMLLMDock
    from georsmllm.plugin.processing.algorithms import ALGORITHMS
    from georsmllm.plugin.toolbelt import vocabulary

    dock = GeoRSMLLMDock(None)
    qtbot.addWidget(dock)
    dock_tasks = [t for t in combo_values(dock.task_combo) if t is not None]
    processing_tasks = [alg.TASK for alg in ALGORITHMS if alg.ALG_NAME != "followup"]  # one per task, plus
    names = vocabulary.current()  # the follow-up, whose runs keep the task of the result they filter
    assert dock_tasks == list(names.task_names) and sorted(processing_tasks) == sorted(names.task_names)
    for task in dock_tasks:
        assert parse_task_name(task).value == task
        instruction = names.instruction_for(task, "") or "planes"
        JobRequest(raster="x.tif", instruction=instruction, task=task)
    for kind in ("detection", "seg", "caption", "change"):  # the layer menu's raster entries
        assert parse_task_name(kind).value == kind


def test_a_running_backends_vocabulary_is_used_once_it_answers(plugin_pkg, remote_service, backend_server):
    from georsmllm.plugin.logic.tasks import BackendStatusTask
    from georsmllm.plugin.toolbelt import vocabulary

    task = BackendStatusTask(remote_service, start=True)
    try:
        assert task.run() and task.status.state == "ready", task.status
        assert vocabulary.current().source == backend_server.url
        assert vocabulary.current().dialects == vocabulary.cached().dialects
    finally:
        vocabulary.forget_backend()
    assert vocabulary.current().source == str(vocabulary.CACHE_PATH)
