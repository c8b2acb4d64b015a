"""Device and dtype choice for in-process engines, and releasing accelerator memory.

torch is imported inside the functions so that engines without torch (openai, scripted) never load it.
"""

from __future__ import annotations

import gc
import re

from ..errors import ConfigError, EngineError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
DTYPE_CHOICES = ("auto", "float32", "float16", "bfloat16")

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_setting(device: str) -> str:
    """Validate a device setting (``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``); returns it
    lower-cased."""
    value = str(device).strip().lower()
    if not _DEVICE_RE.match(value):
        raise ConfigError(f"device {device!r} is not valid; use one of auto, cuda, cuda:N, mps, cpu")
    return value


def check_dtype_setting(dtype: str) -> str:
    """Validate a dtype setting (``auto``, ``float32``, ``float16``, ``bfloat16``); returns it lower-cased."""
    value = str(dtype).strip().lower()
    if value not in DTYPE_CHOICES:
        raise ConfigError(f"dtype {dtype!r} is not valid; use one of {', '.join(DTYPE_CHOICES)}")
    return value


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(requested: str = "auto") -> str:
    """The torch device to load on: for ``auto`` CUDA, then Apple MPS, then CPU; a forced device that
    is not available raises ``EngineError``."""
    import torch

    value = check_device_setting(requested)
    if value == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available(torch):
            return "mps"
        return "cpu"
    if value.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EngineError(
                f"device {value!r} was requested but CUDA is not available; set device to auto or cpu"
            )
        index = int(value.split(":")[1]) if ":" in value else 0
        if index >= torch.cuda.device_count():
            raise EngineError(
                f"device {value!r} was requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    if value == "mps" and not _mps_available(torch):
        raise EngineError(
            "device 'mps' was requested but Apple MPS is not available; set device to auto or cpu"
        )
    return value


def select_dtype(device: str, requested: str = "auto"):
    """The ``torch.dtype`` to load weights in: for ``auto`` bfloat16 on CUDA (float16 where the GPU has
    no bfloat16), float16 on MPS, float32 on CPU; otherwise the requested one."""
    import torch

    value = check_dtype_setting(requested)
    if value != "auto":
        return getattr(torch, value)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def dtype_name(dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``."""
    return str(dtype).replace("torch.", "")


def release_memory() -> None:
    """Collect garbage and return cached accelerator memory to the driver (after dropping a model)."""
    gc.collect()
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional for this module's callers
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _mps_available(torch) and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception raised while loading or running a model means the device ran out of memory."""
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
