"""The plugin's settings: one typed, frozen object with defaults, persisted in QgsSettings under
``georsmllm/``. Environment variables ``GEORSMLLM_PLUGIN_<FIELD>`` override stored values (tests, CI);
nothing else in the plugin reads QgsSettings or the environment for these. Defaults and the names a
setting may take come from the backend's vocabulary (``vocabulary.py``)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from collections.abc import Mapping
from urllib.parse import urlparse

from qgis.core import QgsSettings

from . import vocabulary

PREFIX = "georsmllm/"
ENV_PREFIX = "GEORSMLLM_PLUGIN_"
PLUGIN_DIR = Path(__file__).resolve().parents[2]

#: The backend's run defaults as the plugin ships them (the settings page shows a running backend's names).
_DEFAULTS = vocabulary.cached().defaults
#: Settings whose value must be one of the backend's names (empty: the backend's default).
NAMED_SETTINGS = ("engine", "dialect", "segmenter", "device")


def split_urls(text: str) -> tuple[str, ...]:
    """URLs given one per line or comma separated (also a single URL, as older settings stored it)."""
    return tuple(part.strip() for part in re.split(r"[,\n]", text or "") if part.strip())


@dataclass(frozen=True)
class PluginSettings:
    """Everything the user can set. Empty strings mean "the backend's default". Sizes are pixels of the
    image sent to the model; ``gsd`` is map units per pixel sent (0: native resolution)."""

    interpreter: str = ""  # empty: the plugin folder's .venv Python if present, else python3
    server_url: str = ""  # empty: start a local backend
    token: str = ""  # for server_url; a local backend gets a random one
    engine: str = _DEFAULTS["engine"]
    model: str = ""  # model folder or hub id (transformers), or the name a model server expects
    #: OpenAI-compatible model server(s), for engine "openai": one URL, or several one per line or comma
    #: separated (each becomes a ``--base-url`` of the local backend)
    model_base_url: str = ""
    dialect: str = ""
    parser_model: str = ""
    segmenter: str = _DEFAULTS["segmenter"]
    refine: str = "none"  # "sam2": boxes of detection and change prompt SAM2 (outlines and rotated boxes)
    sam2_checkpoint: str = ""
    device: str = _DEFAULTS["device"]
    tile_size: int = _DEFAULTS["tile_size"]
    overlap: int = _DEFAULTS["overlap"]
    gsd: float = 0.0
    concurrency: int = _DEFAULTS["concurrency"]
    extra_args: str = ""  # more `model_backend serve` options, shell-quoted
    startup_timeout_s: float = 300.0
    output_dir: str = ""  # empty: <project folder>/georsmllm, or ~/GeoRSMLLM when the project is unsaved
    history_size: int = 30
    setup_prompted: bool = False  # the first-run "set up the backend?" question was asked once

    # -- derived values -------------------------------------------------------------------------

    @property
    def server_is_remote(self) -> bool:
        """True when ``server_url`` names another machine: it cannot open this machine's files, so rasters
        are rendered and uploaded instead of passed by path."""
        if not self.server_url:
            return False
        from ...model_backend.server.security import is_loopback  # standard library only

        return not is_loopback((urlparse(self.server_url).hostname or "").strip("[]"))

    def resolved_interpreter(self) -> str:
        """The Python that runs the local backend."""
        if self.interpreter:
            return self.interpreter
        venv = PLUGIN_DIR / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        if venv.exists():
            return str(venv)
        return "python" if sys.platform == "win32" else "python3"

    @property
    def model_base_urls(self) -> tuple[str, ...]:
        """The model servers of ``model_base_url``, in order."""
        return split_urls(self.model_base_url)

    def serve_args(self) -> tuple[str, ...]:
        """``model_backend serve`` options for the model settings (empty ones left to the backend); one
        ``--base-url`` per model server."""
        args: list[str] = ["--engine", self.engine]
        for url in self.model_base_urls:
            args += ["--base-url", url]
        for flag, value in (("--model", self.model), ("--dialect", self.dialect),
                            ("--parser-model", self.parser_model), ("--segmenter", self.segmenter),
                            ("--sam2-checkpoint", self.sam2_checkpoint), ("--device", self.device)):
            if value:
                args += [flag, value]
        return tuple(args) + tuple(shlex.split(self.extra_args))

    def job_defaults(self) -> dict[str, Any]:
        """The per-job request fields these settings fill (``gsd`` left out when native)."""
        return {"tile_size": self.tile_size, "overlap": self.overlap, "gsd": self.gsd or None,
                "concurrency": self.concurrency, "refine": self.refine}

    def check(self) -> list[str]:
        """Problems a user should fix (empty when fine)."""
        problems = []
        if self.tile_size < 32:
            problems.append(f"tile size must be at least 32 pixels (is {self.tile_size})")
        if not 0 <= self.overlap < self.tile_size // 2:
            problems.append(f"overlap must be between 0 and half the tile size (is {self.overlap})")
        if self.concurrency < 1:
            problems.append("concurrency must be at least 1")
        if self.gsd < 0:
            problems.append("target GSD cannot be negative")
        if self.refine not in ("none", "sam2"):
            problems.append(f"refine must be none or sam2 (is {self.refine!r})")
        try:
            shlex.split(self.extra_args)
        except ValueError as exc:
            problems.append(f"extra backend options cannot be parsed: {exc}")
        names = vocabulary.current()
        problems += [p for p in (names.problem(name, getattr(self, name)) for name in NAMED_SETTINGS) if p]
        for url in (self.server_url, *self.model_base_urls):
            parts = urlparse(url)
            if url and (parts.scheme not in ("http", "https") or not parts.hostname):
                problems.append(f"{url!r} is not an http(s)://host:port address")
        return problems


_TYPES = {f.name: f.type for f in fields(PluginSettings)}


def _coerce(name: str, raw: Any) -> Any:
    kind = {"int": int, "float": float, "bool": bool}.get(str(_TYPES[name]), str)
    if kind is bool and isinstance(raw, str):
        return raw.lower() in ("1", "true", "yes", "on")
    return kind(raw)


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Values given as ``GEORSMLLM_PLUGIN_<FIELD>`` environment variables (invalid numbers are ignored)."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(PluginSettings):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            try:
                values[f.name] = _coerce(f.name, raw)
            except ValueError:
                continue
    return values


def load_settings(environ: Mapping[str, str] | None = None) -> PluginSettings:
    """Stored settings (defaults where unset), then environment overrides."""
    store = QgsSettings()
    defaults = PluginSettings()
    values = {}
    for f in fields(PluginSettings):
        default = getattr(defaults, f.name)
        raw = store.value(PREFIX + f.name, default)
        try:
            values[f.name] = _coerce(f.name, raw if raw is not None else default)
        except (TypeError, ValueError):
            values[f.name] = default
    return replace(PluginSettings(**values), **env_overrides(environ))


def save_settings(settings: PluginSettings) -> None:
    """Persist every field under ``georsmllm/``."""
    store = QgsSettings()
    for f in fields(PluginSettings):
        store.setValue(PREFIX + f.name, getattr(settings, f.name))


def load_history() -> list[str]:
    """Instructions entered before, newest first."""
    value = QgsSettings().value(PREFIX + "history", [])
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in (value or [])]


def save_history(history: list[str]) -> None:
    QgsSettings().setValue(PREFIX + "history", list(history))
