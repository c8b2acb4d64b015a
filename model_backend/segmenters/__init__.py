"""Promptable segmenters (SAM2) that turn SegTargets into polygons, chosen by registry name.

``create_segmenter("sam2", checkpoint="facebook/sam2.1-hiera-tiny")`` or
``create_segmenter("sam2-onnx", model_dir="exports/sam2_tiny")``; see ``base.Segmenter``.
Heavy dependencies (torch, sam2, onnxruntime) load only in ``load()``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import PromptSegmentation, Segmenter, TargetSegmentation
from .encodings import EncodingCache
from .sam2_onnx import Sam2OnnxSegmenter
from .sam2_torch import Sam2Segmenter

SEGMENTERS: dict[str, type[Segmenter]] = {
    Sam2Segmenter.name: Sam2Segmenter,
    Sam2OnnxSegmenter.name: Sam2OnnxSegmenter,
}


def create_segmenter(name: str, **options: Any) -> Segmenter:
    """A new, not yet loaded segmenter of registry ``name`` built with ``options``."""
    try:
        cls = SEGMENTERS[name]
    except KeyError:
        raise ConfigError(f"unknown segmenter {name!r}: use one of {', '.join(sorted(SEGMENTERS))}") from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for segmenter {name!r}: {exc}") from exc


__all__ = [
    "SEGMENTERS",
    "EncodingCache",
    "PromptSegmentation",
    "Sam2OnnxSegmenter",
    "Sam2Segmenter",
    "Segmenter",
    "TargetSegmentation",
    "create_segmenter",
]
