"""Fine-tuning recipe (transformers ``Trainer``, full or LoRA via peft) for LLaVA-OneVision/GeoRSMLLM
and Qwen2.5-VL checkpoints on the instruction JSON lines of ``model_backend.data``; torch, transformers
and peft are imported on use."""

from .recipe import LORA_TARGETS, TrainConfig, TrainResult, train

__all__ = ["LORA_TARGETS", "TrainConfig", "TrainResult", "train"]
