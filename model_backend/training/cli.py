"""``python -m model_backend train --data train.jsonl --model FOLDER --output OUT [--lora] ...``."""

from __future__ import annotations

import argparse
import sys


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to a CLI's sub-parsers."""
    p = subparsers.add_parser("train", help="fine-tune a LLaVA-OneVision or Qwen2.5-VL checkpoint on JSON lines")
    p.add_argument("--data", required=True, help="instruction records (JSON lines)")
    p.add_argument("--root", help="folder the records' image paths are relative to (default: the data's)")
    p.add_argument("--model", required=True, help="checkpoint folder or hub id to start from")
    p.add_argument("--output", "-o", required=True, help="folder for the fine-tuned checkpoint")
    p.add_argument("--lora", action="store_true", help="train LoRA adapters (merged into the weights on save)")
    p.add_argument("--lora-r", dest="lora_r", type=int, default=16)
    p.add_argument("--lora-alpha", dest="lora_alpha", type=int, default=32)
    p.add_argument("--lora-dropout", dest="lora_dropout", type=float, default=0.05)
    p.add_argument("--max-steps", dest="max_steps", type=int, default=-1, help="optimiser steps (default: --epochs)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", dest="learning_rate", type=float, help="learning rate (default 2e-4 LoRA, 1e-5 full)")
    p.add_argument("--lr-scheduler", dest="lr_scheduler", default="cosine")
    p.add_argument("--warmup-ratio", dest="warmup_ratio", type=float, default=0.03)
    p.add_argument("--batch-size", dest="batch_size", type=int, default=1)
    p.add_argument("--grad-accum", dest="grad_accum", type=int, default=1)
    p.add_argument("--max-length", dest="max_length", type=int, default=4096, help="tokens per sample")
    p.add_argument("--train-vision", dest="train_vision", action="store_true", help="also train the vision encoder")
    p.add_argument("--gradient-checkpointing", dest="gradient_checkpointing", action="store_true")
    p.add_argument("--device", default="auto", help="auto (default), cuda, mps or cpu")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bfloat16 weights and autocast (default: on for CUDA GPUs that support it)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_train)
    return p


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``train``; prints where the checkpoint went and the first/last loss. Returns 0."""
    import dataclasses

    from .recipe import TrainConfig, train

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    result = train(config)
    first = f"{result.losses[0]:.4f}" if result.losses else "-"
    last = f"{result.losses[-1]:.4f}" if result.losses else "-"
    print(f"trained {result.steps} steps in {result.seconds:.1f} s, loss {first} -> {last}; "
          f"checkpoint: {result.output}", file=sys.stderr)
    return 0
