"""What the backend is doing, as one of a few states the panel puts into words. Pure Python (no Qt).

The state comes from two real sources: the local server's lifecycle (``BackendService.snapshot``: not
started, starting, listening, exited) and the server's ``/v1/health`` (``model_loaded``, ``model_loading``,
``load_error``, ``device``, ``engine``). ``check_status`` asks the network, so call it from a worker thread.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from .client import BackendClient, BackendError, Connection
from .service import BackendService, ServiceState

#: ``stopped``: no local backend yet (it starts with the first run); ``starting``: the process is up but
#: does not answer yet; ``loading``: it answers and loads its model; ``ready``; ``load_failed``: it
#: answers but its model (or model server) failed; ``exited``: the local process ended by itself;
#: ``unreachable``: a backend that should answer does not.
STATES = ("stopped", "starting", "loading", "ready", "load_failed", "exited", "unreachable")
#: How a model failed to load: its model server did not answer, answered with a refusal, or the model
#: itself failed (files, memory, ...).
PROBLEMS = ("unreachable", "refused", "failed")


@dataclass(frozen=True)
class BackendStatus:
    """One observation of the backend. ``url``: the backend server; ``model``: as configured (a hub id,
    a folder, a script file or the model server's model name); ``engine``: ``transformers``, ``openai`` or
    ``scripted``; ``device``: where the model runs (``cpu``, ``cuda:0``, ``mps``; ``server`` for a model
    server); ``model_server``: the model server's URL (``openai`` engine); ``problem`` (``load_failed``
    only): one of ``PROBLEMS``; ``detail``: the reason, for ``load_failed``, ``exited`` and
    ``unreachable``; ``memory_mb``: the backend process's peak resident memory."""

    state: str
    remote: bool = False
    url: str = ""
    model: str = ""
    engine: str = ""
    device: str = ""
    model_server: str = ""
    problem: str = ""
    detail: str = ""
    memory_mb: float | None = None
    jobs_running: int = 0
    log_path: str = ""

    def __post_init__(self):
        if self.state not in STATES:
            raise ValueError(f"unknown backend state {self.state!r}; one of {STATES}")

    @property
    def model_name(self) -> str:
        """The model as a person names it: a local folder or script file by its base name."""
        model = self.model.rstrip("/\\")
        return os.path.basename(model) if os.path.isabs(model) else model

    @property
    def busy(self) -> bool:
        """Whether the state will change by itself soon (worth watching closely)."""
        return self.state in ("starting", "loading") or self.jobs_running > 0


_UNREACHABLE = re.compile(r"cannot reach|did not answer|timed out|connection (?:refused|reset)|unreachable",
                          re.IGNORECASE)
_REFUSED = re.compile(r"\bHTTP (?:4\d\d)\b|does not serve model|lists no models|does not list its models|refused the",
                      re.IGNORECASE)


_URL = re.compile(r"https?://[^\s'\"]+")


def load_problem(engine: str, error: str) -> str:
    """Classify a model load failure (``load_error`` of ``/v1/health``) into ``PROBLEMS``. Only a model
    server (``openai`` engine) can be unreachable or refuse; a local model that fails is ``failed``."""
    if engine != "openai":
        return "failed"
    if _UNREACHABLE.search(error):
        return "unreachable"
    if _REFUSED.search(error):
        return "refused"
    return "failed"


def status_from_health(health: dict[str, Any], service: ServiceState, model_server: str = "") -> BackendStatus:
    """The state a ``/v1/health`` body shows (the backend answers: loading, ready or load_failed)."""
    engine_info = health.get("engine") if isinstance(health.get("engine"), dict) else {}
    engine = str(engine_info.get("engine") or "")
    memory = health.get("memory") or {}
    peak = memory.get("rss_peak_mb")
    common = dict(remote=service.remote, url=service.url, model=str(health.get("model") or ""), engine=engine,
                  device=str(health.get("device") or engine_info.get("device") or ""),
                  model_server=str(engine_info.get("url") or (model_server if engine == "openai" else "")),
                  memory_mb=float(peak) if isinstance(peak, (int, float)) else None,
                  jobs_running=int((health.get("jobs") or {}).get("running") or 0), log_path=service.log_path)
    error = health.get("load_error")
    if error and engine == "openai" and not common["model_server"]:
        # a backend whose model never loaded does not report its model server: the error names it
        url = _URL.search(str(error))
        common["model_server"] = url.group(0).rstrip(".,;:)") if url else ""
    if error:
        return BackendStatus("load_failed", problem=load_problem(engine, str(error)), detail=str(error), **common)
    if health.get("model_loaded") is False:
        return BackendStatus("loading", **common)
    return BackendStatus("ready", **common)


def check_status(service: BackendService, *, model_server: str = "", timeout_s: float = 5.0) -> BackendStatus:
    """Observe the backend without starting it: the local process's phase, then its health when it
    listens (or the configured server's). Blocks up to ``timeout_s``: worker threads only."""
    state = service.snapshot()
    if not state.remote:
        if state.phase == "stopped":
            return BackendStatus("stopped")
        if state.phase == "exited":
            return BackendStatus("exited", detail=state.exit_message, log_path=state.log_path)
        if state.phase == "starting":
            return BackendStatus("starting", log_path=state.log_path)
    try:
        health = BackendClient(Connection(state.url, state.token)).health(timeout=timeout_s)
    except BackendError as exc:
        return BackendStatus("unreachable", remote=state.remote, url=state.url, detail=str(exc),
                             log_path=state.log_path)
    return status_from_health(health, state, model_server)
