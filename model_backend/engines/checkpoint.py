"""Where a transformers checkpoint comes from (a local folder or a Hugging Face hub id) and the
checks made before any weights are read: the folder exists, holds a config and safetensors weights.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineError

# "name" or "org/name" as the hub spells repository ids.
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

_SET_WHAT = "set the model setting to a local checkpoint folder, or use the openai engine with a server URL"


@dataclass(frozen=True)
class CheckpointSource:
    """A checkpoint reference resolved to exactly one of a local folder or a hub id."""

    ref: str
    local_dir: Path | None = None
    hub_id: str | None = None

    @property
    def location(self) -> str:
        """What ``from_pretrained`` is given."""
        return str(self.local_dir) if self.local_dir is not None else str(self.hub_id)


def hub_offline() -> bool:
    """Whether hub downloads are disabled (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` now, or at
    huggingface_hub's import)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover
        return False
    return bool(constants.HF_HUB_OFFLINE)


def resolve_source(ref: str) -> CheckpointSource:
    """A local folder if ``ref`` names an existing directory; a hub id if it has the ``org/name``
    shape; otherwise ``EngineError`` (a path that does not exist)."""
    text = str(ref).strip()
    if not text:
        raise EngineError(f"no model given: {_SET_WHAT}")
    path = Path(os.path.expanduser(text))
    if path.is_dir():
        return CheckpointSource(text, local_dir=path.resolve())
    if path.exists():
        raise EngineError(f"model path {text!r} is a file, not a checkpoint folder: {_SET_WHAT}")
    looks_like_path = path.is_absolute() or text.startswith((".", "~")) or "\\" in text or text.count("/") > 1
    if looks_like_path or not _HUB_ID_RE.match(text):
        raise EngineError(f"model folder {text!r} does not exist: {_SET_WHAT}")
    return CheckpointSource(text, hub_id=text)


def check_local_weights(folder: Path) -> None:
    """Refuse a folder without safetensors weights (pickled ``.bin`` weights can run code on load)."""
    if not (folder / "config.json").is_file():
        raise EngineError(
            f"folder {str(folder)!r} has no config.json, so it is not a transformers checkpoint: {_SET_WHAT}"
        )
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".ckpt"})
    if pickled:
        raise EngineError(
            f"folder {str(folder)!r} has only pickled weights ({', '.join(pickled[:3])}); "
            "only safetensors are loaded because pickle files can run code: convert the checkpoint to "
            "safetensors (save_pretrained(..., safe_serialization=True)) or use a safetensors release"
        )
    raise EngineError(f"folder {str(folder)!r} has no model weights (*.safetensors): {_SET_WHAT}")


def _exception_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def hub_error_message(exc: BaseException, source: CheckpointSource) -> str | None:
    """A user message for a hub download failure found in ``exc``'s chain, or ``None``."""
    names = {type(e).__name__ for e in _exception_chain(exc)}
    ref = source.hub_id or source.ref
    if {"RepositoryNotFoundError", "GatedRepoError"} & names:
        return (
            f"hub repository {ref!r} was not found or needs a login (private or gated); "
            f"check the id, or download it and {_SET_WHAT}"
        )
    if "OfflineModeIsEnabled" in names or hub_offline():
        return (
            f"{ref!r} is not a local folder and cannot be downloaded from the Hugging Face hub "
            f"(offline mode, HF_HUB_OFFLINE is set, and it is not in the local cache): {_SET_WHAT}"
        )
    # huggingface_hub reports "no connection and not cached" as LocalEntryNotFoundError too.
    connection = {
        "LocalEntryNotFoundError",
        "ConnectError",
        "ConnectTimeout",
        "ConnectionError",
        "NameResolutionError",
        "ProxyError",
    }
    text = " ".join(str(e) for e in _exception_chain(exc)).lower()
    if connection & names or "couldn't connect" in text:
        return (
            f"{ref!r} is not a local folder and the Hugging Face hub cannot be reached (no network?) "
            f"and it is not in the local cache: {_SET_WHAT}"
        )
    return None


def read_config(
    source: CheckpointSource, *, trust_remote_code: bool = False, revision: str | None = None
) -> dict[str, Any]:
    """The checkpoint's ``config.json`` as a dict (its ``model_type`` picks the family). Reads a
    local folder directly; fetches a hub id's config (from cache only when offline)."""
    if source.local_dir is not None:
        config_path = source.local_dir / "config.json"
        if not config_path.is_file():
            raise EngineError(
                f"folder {str(source.local_dir)!r} has no config.json, so it is not a transformers "
                f"checkpoint: {_SET_WHAT}"
            )
        try:
            return json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EngineError(f"cannot read {str(config_path)!r}: {exc}") from None
    from transformers import PretrainedConfig

    message = None
    try:
        options: dict[str, Any] = {"local_files_only": hub_offline(), "trust_remote_code": trust_remote_code}
        if revision:
            options["revision"] = revision
        config, _ = PretrainedConfig.get_config_dict(source.hub_id, **options)
        return config
    except Exception as exc:
        message = hub_error_message(exc, source) or f"cannot read the configuration of {source.ref!r}: {exc}"
    raise EngineError(message)
