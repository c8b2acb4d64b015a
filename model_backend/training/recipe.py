"""Fine-tuning recipe: a LLaVA-OneVision (GeoRSMLLM) or Qwen2.5-VL checkpoint on instruction JSON
lines with transformers' ``Trainer``, full or LoRA (peft), loss on answers only.

The output folder is a complete checkpoint the transformers engine loads: safetensors weights (LoRA
adapters merged into the base weights first), config, generation config and the processor with its
chat template; ``train_summary.json`` records the settings and the loss of every logged step.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: linear layers of the language model that LoRA adapts (attention and MLP of Qwen2-style decoders)
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
TRAINABLE_FAMILIES = ("llava_onevision", "qwen2_5_vl", "qwen2_vl")


@dataclass
class TrainConfig:
    """Settings of one fine-tuning run. ``learning_rate`` ``None``: 2e-4 with LoRA, 1e-5 full.
    ``bf16`` ``None``: on for CUDA GPUs that support it; then the weights themselves are bfloat16
    (and the checkpoint is saved so), else float32. ``train_vision`` off: the vision encoder is frozen
    (its projector/merger still trains). ``max_steps`` -1: ``epochs`` passes over the data."""

    data: str
    model: str
    output: str
    root: str | None = None
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    max_steps: int = -1
    epochs: float = 1.0
    learning_rate: float | None = None
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    batch_size: int = 1
    grad_accum: int = 1
    max_length: int | None = 4096
    train_vision: bool = False
    gradient_checkpointing: bool = False
    device: str = "auto"
    bf16: bool | None = None
    seed: int = 0
    logging_steps: int = 1


@dataclass
class TrainResult:
    """Where the checkpoint went and the logged training losses (one per logging step)."""

    output: str
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    trainable_parameters: int = 0


def _load(model_ref: str, bf16: bool):
    import torch
    import transformers

    from ..engines.checkpoint import read_config, resolve_source
    from ..engines.families import family_for

    source = resolve_source(model_ref)
    model_type = read_config(source).get("model_type")
    if model_type not in TRAINABLE_FAMILIES:
        raise ConfigError(
            f"model type {model_type!r} cannot be fine-tuned by this recipe; use one of: {', '.join(TRAINABLE_FAMILIES)}"
        )
    family = family_for(model_type)
    processor = transformers.AutoProcessor.from_pretrained(source.location)
    if not getattr(processor, "chat_template", None):
        raise ConfigError(f"checkpoint {model_ref!r} has no chat template; save it with its processor")
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = getattr(transformers, family.model_class).from_pretrained(source.location, dtype=dtype, use_safetensors=True)
    return model, processor


def _freeze_vision(model) -> None:
    """Freeze the vision encoder; the projector/merger between it and the language model stays trainable."""
    for name, param in model.named_parameters():
        if ("vision_tower" in name or ".visual." in name or name.startswith("visual.")) and "merger" not in name:
            param.requires_grad_(False)


def train(config: TrainConfig) -> TrainResult:
    """Run the recipe (see the module doc) and return the losses. ``ConfigError`` for bad settings
    or data; the output folder is written only when training finishes."""
    import torch
    import transformers

    from ..data.records import read_jsonl
    from ..engines.device import select_device
    from .dataset import Collator, InstructionDataset

    if config.max_steps == 0 or config.epochs <= 0:
        raise ConfigError("nothing to train: set --max-steps N (N >= 1) or --epochs above 0")
    device = select_device(config.device)
    bf16 = config.bf16 if config.bf16 is not None else (device == "cuda" and torch.cuda.is_bf16_supported())
    transformers.set_seed(config.seed)
    data = Path(config.data)
    records = list(read_jsonl(data))
    model, processor = _load(config.model, bf16)
    if not config.train_vision:
        _freeze_vision(model)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=LORA_TARGETS, bias="none",
        ))
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        if config.lora:
            model.enable_input_require_grads()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    dataset = InstructionDataset(records, processor, config.root or data.parent, config.max_length)
    tok = processor.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    output = Path(config.output)
    work = output.parent / (output.name + ".trainer")
    lr = config.learning_rate if config.learning_rate is not None else (2e-4 if config.lora else 1e-5)
    args = transformers.TrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=lr,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=float(config.warmup_ratio),  # a float in [0, 1) is a share of the steps
        max_steps=config.max_steps,
        num_train_epochs=config.epochs,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        bf16=bool(bf16),
        seed=config.seed,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=dataset, data_collator=Collator(pad_id))
    started = time.perf_counter()
    state = trainer.train()
    seconds = time.perf_counter() - started
    losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    model = trainer.model
    if config.lora:
        model = model.merge_and_unload()
    model.eval()
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    processor.save_pretrained(output)
    result = TrainResult(str(output), losses, int(state.global_step), seconds, int(trainable))
    summary: dict[str, Any] = {"config": asdict(config), "result": asdict(result), "device": device,
                               "learning_rate": lr, "bf16": bool(bf16)}
    (output / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return result
