"""Model families the transformers engine loads, looked up by the checkpoint's ``config.model_type``.

The family decides the transformers class, how the prompt is laid out and the default dialect. It
comes from the checkpoint's configuration only, never from the model's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EngineError


@dataclass(frozen=True)
class Family:
    """How one ``model_type`` is loaded and prompted."""

    model_type: str
    #: stock transformers class, e.g. ``"Qwen2_5_VLForConditionalGeneration"``
    model_class: str
    #: dialect registry name used when the configuration names none
    dialect: str
    #: human name for messages
    title: str
    #: images per request the model accepts (change detection sends two: before, then after)
    max_images: int = 2
    #: prompt laid out with the processor's chat template; False: the raw prompt goes to the
    #: processor (Florence-2 takes task tokens such as ``<OD>`` and has no chat template)
    chat_template: bool = True


_FAMILIES = (
    Family(
        "llava_onevision",
        "LlavaOnevisionForConditionalGeneration",
        "georsmllm",
        "LLaVA-OneVision (GeoRSMLLM)",
    ),
    Family("qwen2_vl", "Qwen2VLForConditionalGeneration", "qwen2-vl", "Qwen2-VL"),
    Family("qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration", "qwen2.5-vl", "Qwen2.5-VL"),
    Family("qwen3_vl", "Qwen3VLForConditionalGeneration", "qwen3-vl", "Qwen3-VL"),
    Family("internvl", "InternVLForConditionalGeneration", "internvl", "InternVL (-hf)"),
    Family(
        "florence2",
        "Florence2ForConditionalGeneration",
        "florence-2",
        "Florence-2",
        max_images=1,
        chat_template=False,
    ),
)

FAMILIES: dict[str, Family] = {f.model_type: f for f in _FAMILIES}

#: model_type values seen in checkpoints this engine cannot load, with what to do instead
_HINTS = {
    "internvl_chat": "this is InternVL's remote-code layout; use its transformers conversion "
    "(the '-hf' checkpoint, e.g. OpenGVLab/InternVL3-2B-hf)",
    "llava_qwen": "this is the original LLaVA-NeXT training layout; convert it to the transformers "
    "'llava_onevision' layout first",
    "llava": "LLaVA-1.5 is not supported; GeoRSMLLM checkpoints use the 'llava_onevision' layout",
}


def supported_model_types() -> list[str]:
    """The ``model_type`` values the transformers engine loads, sorted."""
    return sorted(FAMILIES)


def family_for(model_type: str | None) -> Family:
    """The family of a checkpoint's ``model_type``; ``EngineError`` naming it and the supported ones."""
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    shown = repr(model_type) if model_type else "(none: config.json has no model_type)"
    hint = _HINTS.get(model_type or "")
    message = (
        f"model type {shown} is not supported by the transformers engine; "
        f"supported: {', '.join(supported_model_types())}"
    )
    if hint:
        message += f" ({hint})"
    raise EngineError(message)


def default_dialect_for(model_type: str) -> str:
    """The dialect registry name used for a checkpoint of this ``model_type`` when none is configured,
    e.g. ``"llava_onevision"`` -> ``"georsmllm"``."""
    return family_for(model_type).dialect
