"""Build the engine, the segmenter and the condition-parser engine a ``RunConfig`` asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engines import get_engine
from ..engines.base import Engine
from ..errors import ConfigError
from ..models.catalogue import catalogue_dialect, catalogue_repo
from ..tasks import Task
from .config import RunConfig

#: The ``segmenter`` setting that turns segmentation masks off (targets' boxes become the polygons).
NO_SEGMENTER = "none"


def build_engine(config: RunConfig) -> Engine:
    """The (not yet loaded) engine named by ``config.engine``.

    A model named by its catalogue id (``geo-r1-3b-ovd``) loads its hub id; a model the catalogue knows (by
    catalogue or hub id, exact match) runs with the catalogue's dialect -- its prompt style and answer
    format -- unless the settings name one (checkpoints fine-tuned with their own prompts, like Geo-R1)."""
    settings: dict[str, Any]
    dialect = config.dialect or catalogue_dialect(config.model)
    if config.engine == "transformers":
        model = config.model if Path(config.model).exists() else (catalogue_repo(config.model) or config.model)
        settings = {"model": model, "device": config.device, "dialect": dialect,
                    "trust_remote_code": config.trust_remote_code, "max_batch": config.max_batch}
    elif config.engine == "openai":
        if not config.base_url:
            raise ConfigError("the openai engine needs --base-url (e.g. http://localhost:8000/v1)")
        # Each server takes at most endpoint_concurrency requests; without that limit any one of them may
        # hold every tile in flight (when the others rest).
        settings = {"base_url": config.base_url, "model": config.model, "api_key": config.api_key,
                    "concurrency": config.endpoint_concurrency or config.concurrency,
                    "read_timeout": config.timeout_s, "dialect": dialect}
    elif config.engine == "scripted":
        if not config.script:
            raise ConfigError("the scripted engine needs --script FILE (JSON or JSON lines of answers)")
        settings = {"path": config.script}
    else:
        settings = {}
    return get_engine(config.engine, **{k: v for k, v in settings.items() if v is not None})


def build_parser_engine(config: RunConfig, main_engine: Engine) -> Engine | None:
    """The independent text LLM that writes instructions' plans, or ``None`` for the grammar.

    ``parser_model``: ``"same"`` reuses the main engine; with the openai engine, a model the server
    serves; otherwise a folder, a hub id or a catalogue id (``qwen2.5-0.5b-instruct``: its download when
    there is one). Text-only causal LMs run in the ``text-llm`` engine, vision-language checkpoints in
    the ``transformers`` engine."""
    if not config.parser_model:
        return None
    if config.parser_model == "same":
        return main_engine
    if config.engine == "openai":
        return get_engine("openai", base_url=config.base_url, model=config.parser_model,
                          api_key=config.api_key, read_timeout=config.timeout_s)
    ref = _parser_checkpoint(config.parser_model)
    name = "transformers" if _is_vision_checkpoint(ref) else "text-llm"
    return get_engine(name, model=ref, device=config.device)


def _parser_checkpoint(value: str) -> str:
    """A catalogue id -> its downloaded folder (else its hub id); anything else as given."""
    from ..models.catalogue import find_model

    try:
        entry = find_model(value)
    except ConfigError:
        return value
    if entry.repo_id is None:
        return value
    from ..models.manager import local_path

    try:
        return str(local_path(entry.id))
    except ConfigError:  # not downloaded: the hub id (fetched into the hub cache on load)
        return entry.repo_id


def _is_vision_checkpoint(ref: str) -> bool:
    """Whether ``ref`` is a checkpoint of a vision-language family the transformers engine loads (read
    from its config; unreadable configs are left to the text engine, whose load says what is wrong)."""
    from ..engines.checkpoint import read_config, resolve_source
    from ..engines.families import FAMILIES
    from ..errors import EngineError

    try:
        return read_config(resolve_source(ref)).get("model_type") in FAMILIES
    except EngineError:
        return False


def needs_segmenter(config: RunConfig, task: Task) -> bool:
    """Whether a run of ``task`` may use the segmenter: segmentation; detection, change and questions (a "how
    many" question counts detections) for SAM2 refinement and for references the plan has the model segment
    ("not within 50 m of any road" with no road layer), when a segmenter is configured. Building it is cheap:
    it loads only when a run segments something."""
    if task is Task.SEGMENTATION:
        return True
    return task in (Task.DETECTION, Task.CHANGE, Task.VQA) and config.segmenter not in (NO_SEGMENTER, "", None)


def build_segmenter(config: RunConfig):
    """The SAM2 segmenter for segmentation runs, or ``None`` when ``segmenter == "none"`` (the
    targets' boxes are then written as polygons, with a warning)."""
    if config.segmenter in (NO_SEGMENTER, "", None):
        return None
    from ..segmenters import create_segmenter

    if config.segmenter == "sam2":
        size = config.sam2_size.replace("-", "_")
        checkpoint = config.sam2_checkpoint or f"facebook/sam2.1-hiera-{size.replace('_', '-')}"
        return create_segmenter("sam2", checkpoint=checkpoint, size=size, image_size=config.sam2_image_size,
                                device=None if config.device == "auto" else config.device)
    if config.segmenter == "sam2-onnx":
        if not config.sam2_checkpoint:
            raise ConfigError("the sam2-onnx segmenter needs --sam2-checkpoint set to the exported model folder")
        return create_segmenter("sam2-onnx", model_dir=config.sam2_checkpoint, device=config.device)
    return create_segmenter(config.segmenter)
