"""The local backend the plugin starts itself: ``python -m model_backend serve`` on a free port with a
random token, health within a timeout, the log quoted on failure, stopped on request, a death mid-job
reported (bounded waits throughout)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import replace

import pytest

from .conftest import DATA, RULES


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"rules": RULES, "default": "None", "latency": 0.4}), encoding="utf-8")
    return path


@pytest.fixture
def local_settings(plugin_pkg, script, tmp_path):
    from georsmllm.plugin.toolbelt.settings import PluginSettings

    return PluginSettings(interpreter=sys.executable, engine="scripted", segmenter="none",
                          extra_args=f"--script {script} --work-dir {tmp_path / 'work'}", startup_timeout_s=60,
                          tile_size=128, overlap=0, concurrency=1, output_dir=str(tmp_path / "results"))


@pytest.fixture
def make_service(tmp_path):
    """A BackendService for some settings, with the server logs in the test's folder."""
    from georsmllm.plugin.logic.service import BackendService, backend_config

    def make(settings):
        config = backend_config(settings)
        config = replace(config, launch=replace(config.launch, log_dir=str(tmp_path / "logs")))
        return BackendService(lambda: config)

    return make


def test_start_check_health_and_stop(local_settings, make_service):
    from georsmllm.plugin.logic.client import BackendClient, BackendUnreachable

    service = make_service(local_settings)
    try:
        connection = service.ensure(timeout_s=60)
        server = service.local_server
        assert connection.url.startswith("http://127.0.0.1:") and connection.token
        assert str(server.token) not in " ".join(server.command())  # the token travels in the environment
        health = BackendClient(connection).health()
        assert health["status"] == "ok" and health["engine"]["engine"] == "scripted"
        assert service.ensure(timeout_s=60) == connection  # reused, not restarted
        pid = server.pid
    finally:
        service.stop()
    assert not server.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(BackendUnreachable):
        BackendClient(connection).health(timeout=2)


def test_a_folder_not_allowed_restarts_the_server_with_it(local_settings, make_service, tmp_path):
    service = make_service(local_settings)
    try:
        service.ensure([str(DATA)], timeout_s=60)
        first = service.local_server
        assert service.ensure([str(DATA / "naip_2009.tif")], timeout_s=60) and service.local_server is first
        outside = "/opt" if not first.spec.covers("/opt") else str(tmp_path)
        service.ensure([outside], timeout_s=60)
        second = service.local_server
        assert second is not first and not first.running()
        assert second.spec.covers(outside) and second.spec.covers(str(DATA))
    finally:
        service.stop()


def test_a_server_that_cannot_start_shows_its_log(local_settings, make_service):
    from georsmllm.plugin.logic.local_server import BackendStartError

    service = make_service(replace(local_settings, extra_args="--script /nonexistent/answers.json"))
    started = time.monotonic()
    with pytest.raises(BackendStartError) as info:
        service.ensure(timeout_s=60)
    assert time.monotonic() - started < 30
    assert "exited with status" in str(info.value) and "answers.json" in str(info.value)


def test_a_missing_interpreter_is_named(local_settings, make_service):
    from georsmllm.plugin.logic.local_server import BackendStartError

    service = make_service(replace(local_settings, interpreter="/nonexistent/python"))
    with pytest.raises(BackendStartError, match="/nonexistent/python"):
        service.ensure(timeout_s=10)


def test_local_backend_killed_mid_job_is_reported(local_settings, make_service, qgis_new_project):
    from qgis.core import QgsRasterLayer

    from georsmllm.plugin.logic.follow import FollowLimits
    from georsmllm.plugin.logic.prepare import PreparedJob
    from georsmllm.plugin.logic.raster_source import raster_source
    from georsmllm.plugin.logic.runner import execute_job

    layer = QgsRasterLayer(str(DATA / "naip_2009.tif"), "naip")
    job = PreparedJob(body={"instruction": "ponds", "task": "detection", **local_settings.job_defaults()},
                      raster=raster_source(layer), raster_b=None, needed_dirs=(str(DATA),), title="t",
                      output_path=str(DATA.parent / "unused.gpkg"))
    del layer
    service = make_service(local_settings)
    events = []

    def on_event(event):
        events.append(event)
        if len(events) == 2:  # the plan, then a tile: the job is running
            os.kill(service.local_server.pid, signal.SIGKILL)

    try:
        started = time.monotonic()
        run = execute_job(service, job, on_event=on_event, limits=FollowLimits(reconnect_pause=0.2))
    finally:
        service.stop()
    assert time.monotonic() - started < 30
    assert run.error is not None
    assert "exited with status" in run.error  # the service knows its process died, and says so


def test_the_plugin_starts_a_local_backend_and_stops_it_at_unload(qgis_iface, plugin_pkg, script, tmp_path,
                                                                 monkeypatch, qtbot):
    for name in ("addCustomActionForLayerType", "removeCustomActionForLayerType", "registerOptionsWidgetFactory",
                 "unregisterOptionsWidgetFactory", "addPluginToRasterMenu", "removePluginRasterMenu"):
        monkeypatch.setattr(qgis_iface, name, lambda *args: None, raising=False)
    for key, value in {"INTERPRETER": sys.executable, "ENGINE": "scripted", "SEGMENTER": "none",
                       "EXTRA_ARGS": f"--script {script} --work-dir {tmp_path / 'work'}", "SERVER_URL": "",
                       "STARTUP_TIMEOUT_S": "60"}.items():
        monkeypatch.setenv(f"GEORSMLLM_PLUGIN_{key}", value)
    plugin = plugin_pkg.classFactory(qgis_iface)
    plugin.initGui()
    try:
        with qtbot.waitSignal(plugin.controller.status_changed, timeout=60000,
                              check_params_cb=lambda s: s.state not in ("stopped", "starting")) as status:
            qtbot.mouseClick(plugin.show_dock().restart_button, 1)
            assert plugin.dock.status_line.text() == "Local backend: starting…"
        assert status.args[0].state == "ready", status.args[0]
        assert plugin.dock.status_line.text().startswith("Local backend: ready, scripted demo answers")
        server = plugin.service.local_server
        assert server is not None and server.running()
    finally:
        plugin.unload()
    assert not server.running()
