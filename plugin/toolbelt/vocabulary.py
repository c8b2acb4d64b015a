"""The backend's vocabulary as the plugin uses it: task names and default instructions, dialects, engines,
segmenters, devices, run defaults and output fields. The backend is the one source
(``model_backend/vocabulary.py``): a running backend's ``GET /v1/capabilities`` answer replaces the copy the
plugin ships (``resources/capabilities.json``, written by ``make capabilities`` and checked by a test), which
serves when no backend runs. Standard library only; no Qt."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_PATH = Path(__file__).resolve().parents[2] / "resources" / "capabilities.json"


class VocabularyError(ValueError):
    """A capabilities document is missing something the plugin needs."""


@dataclass(frozen=True)
class TaskInfo:
    """One backend task: ``name`` is the job's ``task`` value; ``needs_instruction`` is false when
    ``default_instruction`` is a complete request (describe, classify, geolocate)."""

    name: str
    tag: str
    images: int
    default_instruction: str
    needs_instruction: bool


@dataclass(frozen=True)
class Field:
    """An attribute of result layers; ``type`` is ``real`` or ``string``."""

    name: str
    type: str


@dataclass(frozen=True)
class Vocabulary:
    """Every name the plugin may send to the backend or read back from it. ``source``: where it came from
    (the shipped file, or the backend's URL)."""

    version: str
    tasks: tuple[TaskInfo, ...]
    dialects: tuple[str, ...]
    engines: tuple[str, ...]
    default_engine: str
    segmenters: tuple[str, ...]
    sam2_sizes: tuple[str, ...]
    devices: tuple[str, ...]
    model_families: tuple[Mapping[str, Any], ...]
    defaults: Mapping[str, Any]
    output_fields: tuple[Field, ...]
    source: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> Vocabulary:
        """Parse a capabilities document; ``VocabularyError`` names what is missing or malformed."""
        try:
            return cls(
                version=str(data["version"]),
                tasks=tuple(TaskInfo(str(t["name"]), str(t["tag"]), int(t["images"]), str(t["default_instruction"]),
                                     bool(t["needs_instruction"])) for t in data["tasks"]),
                dialects=tuple(map(str, data["dialects"])),
                engines=tuple(map(str, data["engines"])),
                default_engine=str(data["default_engine"]),
                segmenters=tuple(map(str, data["segmenters"])),
                sam2_sizes=tuple(map(str, data["sam2_sizes"])),
                devices=tuple(map(str, data["devices"])),
                model_families=tuple(dict(f) for f in data["model_families"]),
                defaults=dict(data["defaults"]),
                output_fields=tuple(Field(str(f["name"]), str(f["type"])) for f in data["output_fields"]),
                source=source,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VocabularyError(f"the capabilities from {source or 'the backend'} are incomplete: {exc!r}") from None

    # -- tasks --------------------------------------------------------------------------------------
    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def task(self, name: str) -> TaskInfo:
        for info in self.tasks:
            if info.name == name:
                return info
        raise KeyError(f"unknown task {name!r}; the backend knows {', '.join(self.task_names)}")

    def instruction_for(self, task: str | None, text: str) -> str:
        """``text`` stripped, or the task's default when it is empty and the task has a complete default;
        '' when the user must write one."""
        text = (text or "").strip()
        if text or task is None:
            return text
        info = self.task(task)
        return "" if info.needs_instruction else info.default_instruction

    # -- settings -----------------------------------------------------------------------------------
    def choices(self, setting: str) -> tuple[str, ...]:
        """The values the backend accepts for a named setting (``engine``, ``dialect``, ``segmenter``,
        ``device``, ``sam2_size``)."""
        return {"engine": self.engines, "dialect": self.dialects, "segmenter": self.segmenters,
                "device": self.devices, "sam2_size": self.sam2_sizes}[setting]

    def problem(self, setting: str, value: str) -> str | None:
        """Why ``value`` is not accepted for ``setting`` ('' means the backend's default), or ``None``."""
        if not value:
            return None
        allowed = self.choices(setting)
        if value in allowed or (setting == "device" and _is_cuda_index(value)):
            return None
        return f"{setting} {value!r} is not known to the backend; use one of {', '.join(allowed)}"


def _is_cuda_index(value: str) -> bool:
    head, _, index = value.partition(":")
    return head == "cuda" and index.isdigit()


_lock = threading.Lock()
_cached: Vocabulary | None = None
_live: Vocabulary | None = None


def load(path: Path = CACHE_PATH) -> Vocabulary:
    """A capabilities file (``VocabularyError`` when incomplete, ``OSError`` when unreadable)."""
    with open(path, encoding="utf-8") as fh:
        return Vocabulary.from_dict(json.load(fh), source=str(path))


def cached() -> Vocabulary:
    """The copy shipped with the plugin (read once)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load(CACHE_PATH)
        return _cached


def current() -> Vocabulary:
    """The running backend's vocabulary once one has answered, else the shipped copy."""
    live = _live
    return live if live is not None else cached()


def adopt(data: Mapping[str, Any], source: str) -> Vocabulary:
    """Use a backend's capabilities (``GET /v1/capabilities``) from now on; thread-safe."""
    global _live
    vocabulary = Vocabulary.from_dict(data, source)
    with _lock:
        _live = vocabulary
    return vocabulary


def forget_backend() -> None:
    """Back to the shipped copy (the plugin unloads, or tests)."""
    global _live
    with _lock:
        _live = None
