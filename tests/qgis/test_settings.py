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
                     token="s3cret", model="/models/qwen", dialect="qwen", tile_size=1024, overlap=128, gsd=0.5,
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
    s = replace(settings_mod.PluginSettings(), interpreter=sys.executable, model="/m", dialect="qwen",
                sam2_checkpoint="/c.pt", device="cpu", extra_args="--script 'a b.json'")
    config = s.backend_config(allow_dirs=("/data/rasters",))
    assert config.url == "" and config.launch.interpreter == sys.executable
    args = config.launch.serve_args
    assert args[:2] == ("--engine", "transformers")
    assert ("--model", "/m") == args[args.index("--model"):args.index("--model") + 2]
    assert args[-2:] == ("--script", "a b.json")
    assert "--parser-model" not in args  # empty settings are left to the backend
    assert config.launch.covers("/data/rasters/x.tif")


def test_a_server_url_means_no_local_process(settings_mod):
    config = replace(settings_mod.PluginSettings(), server_url="http://gpu:8765", token="t").backend_config()
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
    page.dialect.setCurrentIndex(page.dialect.findData("florence2"))
    page.apply()
    loaded = settings_mod.load_settings(environ={})
    assert loaded.tile_size == 512 and loaded.server_url == "http://gpu:8765" and loaded.dialect == "florence2"
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
