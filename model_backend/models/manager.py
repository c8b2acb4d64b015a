"""The model manager: list the catalogue, download an entry into the hub cache, check it loads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, GeoRSMLLMError
from .catalogue import CATALOGUE, ModelEntry, find_model
from .download import DownloadResult, ProgressCallback, download_repo
from .errors import ModelDownloadError
from .hubcache import cached_snapshot, default_cache_dir


def resolve_entry(model_id: str) -> ModelEntry:
    """The catalogue entry for ``model_id``; a hub id not in the catalogue gets an ad-hoc entry
    (unknown size and licence: read its model card)."""
    try:
        return find_model(model_id)
    except ConfigError:
        if "/" not in str(model_id):
            raise
    return ModelEntry(str(model_id), str(model_id), "vlm", str(model_id), None, None, (), None,
                      "unknown: read the model card")


def download_model(
    model_id: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    revision: str = "main",
    progress: ProgressCallback | None = None,
    cancel=None,
    timeout_s: float = 30.0,
) -> DownloadResult:
    """Download a catalogue entry (or any hub id) into the hub cache; see ``download.download_repo``."""
    entry = resolve_entry(model_id)
    if not entry.downloadable:
        raise ModelDownloadError(f"{entry.title} is not downloaded by the manager: {entry.notes}")
    return download_repo(
        entry.repo_id,
        revision=revision,
        cache_dir=cache_dir,
        endpoint=endpoint,
        allow_patterns=entry.allow_patterns,
        memory_gb=entry.memory_gb,
        progress=progress,
        cancel=cancel,
        timeout_s=timeout_s,
    )


def local_path(model_id_or_path: str, cache_dir: str | os.PathLike | None = None, revision: str = "main") -> Path:
    """A model folder: ``model_id_or_path`` itself when it is a folder, else its finished download."""
    if Path(model_id_or_path).is_dir():
        return Path(model_id_or_path)
    entry = resolve_entry(model_id_or_path)
    if not entry.downloadable:
        raise ConfigError(f"{entry.title}: {entry.notes}")
    snapshot = cached_snapshot(cache_dir or default_cache_dir(), entry.repo_id, revision)
    if snapshot is None:
        raise ConfigError(f"{entry.id} is not downloaded yet; run: python -m model_backend models download {entry.id}")
    return snapshot


@dataclass
class CheckResult:
    """Whether a model folder loads, and what the engine says it loaded."""

    path: Path
    ok: bool
    message: str


def check_model(
    model_id_or_path: str, cache_dir: str | os.PathLike | None = None, device: str = "cpu", kind: str | None = None
) -> CheckResult:
    """Load the model once (vision-language models through the transformers engine, SAM2 through its
    segmenter, parser LLMs through the text-llm engine) and release it. Imports torch: run it in the backend's
    environment, not in QGIS's Python."""
    path = local_path(model_id_or_path, cache_dir)
    if kind is None:
        try:
            kind = find_model(model_id_or_path).kind
        except ConfigError:
            kind = "vlm"
    try:
        if kind == "segmenter":
            from ..segmenters import create_segmenter

            checkpoint = next(iter(sorted(path.glob("*.pt"))), None)
            if checkpoint is None:
                return CheckResult(path, False, f"no SAM2 checkpoint (*.pt) in {path}")
            segmenter = create_segmenter("sam2", checkpoint=str(checkpoint), device=device)
            segmenter.load()
            described = segmenter.describe()
            segmenter.close()
        else:
            from ..engines import get_engine

            engine = get_engine("text-llm" if kind == "parser" else "transformers", model=str(path), device=device)
            try:
                engine.load()
                described = engine.describe()
            finally:
                engine.close()
    except GeoRSMLLMError as exc:
        return CheckResult(path, False, str(exc))
    except Exception as exc:  # a model that fails to load in any other way is still a failed check
        return CheckResult(path, False, f"{type(exc).__name__}: {exc}")
    return CheckResult(path, True, f"loaded {path}: " + ", ".join(f"{k}={v}" for k, v in described.items()))


def catalogue_lines() -> list[str]:
    """The catalogue as text, one model a line (sizes and memory approximate), each followed by its notes
    (what it was trained for, where its prompts come from)."""
    lines = [f"{'id':28} {'download':>12}  {'memory':>18}  {'licence':28} (approximate sizes)"]
    for entry in CATALOGUE:
        lines.append(entry.summary())
        if entry.notes:
            lines.append(f"    {entry.notes}")
    return lines
