"""The backend's state as the panel tells it (plugin side, pure Python): the local process's lifecycle and
the server's health fields make one state; a model server's failures are told apart (unreachable,
refused, failed) from the OpenAI engine's real error messages."""

from __future__ import annotations

import socket

import pytest

from model_backend.engines.openai_engine import OpenAIEngine
from model_backend.errors import GeoRSMLLMError
from plugin.logic.backend_state import BackendStatus, check_status, load_problem, status_from_health
from plugin.logic.service import BackendConfig, BackendService, ServiceState
from tests.helpers.fake_openai import FakeOpenAIServer

LOCAL = ServiceState(remote=False, phase="listening", url="http://127.0.0.1:5000")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_error(**kw) -> str:
    with pytest.raises(GeoRSMLLMError) as info:
        OpenAIEngine(retries=0, connect_timeout=2, **kw).load()
    return str(info.value)


def test_an_unreachable_model_server_is_not_a_model_that_failed():
    url = f"http://127.0.0.1:{free_port()}/v1"
    error = load_error(base_url=url, model="oracle")
    assert load_problem("openai", error) == "unreachable"
    # a backend server that runs the openai engine reports the failure; the status names the model server
    health = {"model": "oracle", "model_loaded": False, "load_error": error,
              "engine": {"engine": "openai", "loaded": False}}
    status = status_from_health(health, LOCAL)
    assert status.state == "load_failed" and status.problem == "unreachable" and status.model_server == url


def test_a_model_server_that_lacks_the_model_refuses():
    with FakeOpenAIServer(models=("tiny",)) as server:
        error = load_error(base_url=server.url, model="oracle")
    assert load_problem("openai", error) == "refused"


def test_a_local_model_that_fails_to_load_has_failed():
    assert load_problem("transformers", "cannot reach the hub") == "failed"


@pytest.mark.parametrize("health,state,fields", [
    ({"model": "/m/qwen3-vl", "model_loaded": False, "model_loading": True, "load_error": None,
      "engine": {"engine": "transformers", "loaded": False}}, "loading", {"model_name": "qwen3-vl"}),
    ({"model": "Qwen/Qwen3-VL-2B-Instruct", "model_loaded": True, "device": "cuda:0",
      "engine": {"engine": "transformers", "device": "cuda:0"}, "memory": {"rss_peak_mb": 552.2},
      "jobs": {"running": 1}}, "ready", {"device": "cuda:0", "memory_mb": 552.2, "jobs_running": 1}),
    ({"model": "oracle", "model_loaded": False, "load_error": "cannot reach the model server at http://h:8000/v1",
      "engine": {"engine": "openai", "loaded": False}}, "load_failed",
     {"problem": "unreachable", "model_server": "http://h:8000/v1"}),
])
def test_health_fields_make_the_state(health, state, fields):
    status = status_from_health(health, LOCAL, model_server="http://h:8000/v1")
    assert status.state == state
    for name, value in fields.items():
        assert getattr(status, name) == value


def test_a_local_backend_not_started_is_stopped_and_a_dead_url_unreachable():
    local = BackendService(lambda: BackendConfig(launch=None))
    assert check_status(local).state == "stopped"
    remote = BackendService(lambda: BackendConfig(url=f"http://127.0.0.1:{free_port()}"))
    status = check_status(remote, timeout_s=2)
    assert status.state == "unreachable" and status.remote and "cannot reach" in status.detail


def test_unknown_states_are_refused():
    with pytest.raises(ValueError):
        BackendStatus("sleeping")


def test_a_backend_log_is_summed_up_in_words():
    from plugin.logic.local_server import log_reason

    traceback = ('Traceback (most recent call last):\n  File "/p/model_backend/geometry/rings.py", line 14, in <module>\n'
                 "    import shapely\nModuleNotFoundError: No module named 'shapely'\n")
    reason = log_reason(traceback)
    assert reason.startswith("its Python lacks the package shapely") and "Traceback" not in reason
    assert log_reason("loading...\nerror: cannot read script /x/answers.json\n") == \
        "error: cannot read script /x/answers.json"
    assert log_reason("") == "no output"
