"""The backend's vocabulary: every name a client may send or will read back, derived from the registries
and definitions that decide it (task enum, dialect and engine registries, segmenters, model families, run
defaults, output fields). Served at ``GET /v1/capabilities`` and by ``python -m model_backend capabilities``;
the QGIS plugin builds its choices from it and ships a copy (``resources/capabilities.json``) for when no
backend runs. Pure Python: importing it loads no model library."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from . import __version__
from .dialects import available_dialects
from .dialects._common import DEFAULT_INSTRUCTION
from .engines import DEFAULT_ENGINE, image_engines
from .engines.device import DEVICE_CHOICES
from .engines.families import FAMILIES
from .pipeline.config import RunConfig
from .pipeline.factory import NO_SEGMENTER
from .segmenters import SEGMENTERS
from .segmenters.sam2_loading import SIZE_CONFIGS
from .tasks import Task
from .vector.features import (
    ANSWER_FIELDS,
    BASE_FIELDS,
    KINDS,
    NUMERIC_FIELDS,
    PARTIAL_FIELD,
    with_measure_fields,
)

#: Run settings whose defaults a client shows (the others are command-line or server concerns).
_DEFAULT_SETTINGS = ("engine", "model", "dialect", "device", "segmenter", "sam2_size", "tile_size", "overlap",
                     "gsd", "concurrency")


def _run_defaults() -> dict[str, Any]:
    defaults = {}
    for f in dataclasses.fields(RunConfig):
        if f.name in _DEFAULT_SETTINGS:
            defaults[f.name] = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return defaults


def capabilities() -> dict[str, Any]:
    """The vocabulary as a JSON-ready dict (stable order, so two calls serialise identically).

    ``tasks``: name (the ``task`` value of a job), tag, images per request, the default instruction and
    whether the user must give one. ``output_fields``: every attribute a result layer may carry, with
    ``type`` ``real`` or ``string`` (region captions also carry the regions' own attributes)."""
    return {
        "version": __version__,
        "tasks": [{"name": t.value, "tag": t.tag, "images": t.images,
                   "default_instruction": DEFAULT_INSTRUCTION[t], "needs_instruction": t.needs_instruction}
                  for t in Task],
        "dialects": available_dialects(),
        "engines": image_engines(),  # a run's main model; text-llm serves the parser only
        "default_engine": DEFAULT_ENGINE,
        "segmenters": [*sorted(SEGMENTERS), NO_SEGMENTER],
        "sam2_sizes": list(SIZE_CONFIGS),
        "devices": list(DEVICE_CHOICES),
        "model_families": [{"model_type": f.model_type, "title": f.title, "dialect": f.dialect,
                            "max_images": f.max_images} for f in FAMILIES.values()],
        "defaults": _run_defaults(),
        "output_fields": [{"name": name, "type": "real" if name in NUMERIC_FIELDS else "string"}
                          for name in (*with_measure_fields(list(BASE_FIELDS)), *ANSWER_FIELDS, PARTIAL_FIELD)],
        "layer_kinds": list(KINDS),
    }


def capabilities_json(data: dict[str, Any] | None = None) -> str:
    """The vocabulary as the text of ``resources/capabilities.json`` (indented, newline-terminated)."""
    return json.dumps(capabilities() if data is None else data, indent=1, ensure_ascii=False) + "\n"


def describe(data: dict[str, Any] | None = None) -> str:
    """The vocabulary for a terminal, one line per kind of name."""
    data = capabilities() if data is None else data
    tasks = ", ".join(t["name"] + ("" if t["needs_instruction"] else " (instruction optional)") for t in data["tasks"])
    defaults = ", ".join(f"{k}={v}" for k, v in data["defaults"].items())
    families = ", ".join(f"{f['model_type']} ({f['dialect']})" for f in data["model_families"])
    lines = [
        f"version        {data['version']}",
        f"tasks          {tasks}",
        f"dialects       {', '.join(data['dialects'])}",
        f"engines        {', '.join(data['engines'])} (default {data['default_engine']})",
        f"segmenters     {', '.join(data['segmenters'])}; SAM2 sizes {', '.join(data['sam2_sizes'])}",
        f"devices        {', '.join(data['devices'])}",
        f"model families {families}",
        f"defaults       {defaults}",
        f"output fields  {', '.join(f['name'] for f in data['output_fields'])}",
    ]
    return "\n".join(lines)
