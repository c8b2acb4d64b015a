"""Building a SAM2 torch model from a size or config name plus a checkpoint (local file or hub id).

Shared by the torch segmenter and the ONNX export. ``torch``, ``sam2`` and ``huggingface_hub``
are imported inside the functions so that the backend imports without them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, EngineError

#: model size -> the sam2 package's hydra config for SAM 2.1
SIZE_CONFIGS = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}

#: official hub repositories -> (size, checkpoint file in the repository)
HUB_CHECKPOINTS = {
    "facebook/sam2.1-hiera-tiny": ("tiny", "sam2.1_hiera_tiny.pt"),
    "facebook/sam2.1-hiera-small": ("small", "sam2.1_hiera_small.pt"),
    "facebook/sam2.1-hiera-base-plus": ("base_plus", "sam2.1_hiera_base_plus.pt"),
    "facebook/sam2.1-hiera-large": ("large", "sam2.1_hiera_large.pt"),
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w./-]+\.pth?)?$")
DEFAULT_IMAGE_SIZE = 1024


def resolve_config(size: str | None, config: str | None, checkpoint: str | Path) -> str:
    """The sam2 hydra config name: ``config`` if given, else the one of ``size``, else the size
    implied by an official hub id or checkpoint file name (``sam2.1_hiera_tiny.pt``)."""
    if config:
        return str(config)
    if size is None:
        size = infer_size(checkpoint)
        if size is None:
            raise ConfigError(
                f"cannot tell the SAM2 model size of checkpoint {str(checkpoint)!r}: "
                f"set size to one of {', '.join(SIZE_CONFIGS)}"
            )
    if size not in SIZE_CONFIGS:
        raise ConfigError(f"unknown SAM2 size {size!r}: use one of {', '.join(SIZE_CONFIGS)}")
    return SIZE_CONFIGS[size]


def infer_size(checkpoint: str | Path) -> str | None:
    """The size named by an official hub id or checkpoint file name, else ``None``."""
    text = str(checkpoint)
    if text in HUB_CHECKPOINTS:
        return HUB_CHECKPOINTS[text][0]
    name = Path(text).name.lower().replace("-", "_")
    for size in ("base_plus", "tiny", "small", "large"):
        if f"hiera_{size}" in name:
            return size
    return None


def resolve_checkpoint(checkpoint: str | Path) -> Path:
    """A local checkpoint file: ``checkpoint`` itself if it exists, else a hub id downloaded with
    ``huggingface_hub.hf_hub_download``: an official id (``facebook/sam2.1-hiera-tiny``) or
    ``owner/repo:file.pt`` for any other repository."""
    path = Path(checkpoint).expanduser()
    if path.is_file():
        return path
    text = str(checkpoint)
    if path.exists():
        raise EngineError(f"SAM2 checkpoint {text!r} is not a file: point it at the .pt file")
    looks_like_file = ":" not in text and text.lower().endswith((".pt", ".pth"))
    if looks_like_file or not _HUB_ID.match(text) or text.startswith((".", "/", "~")):
        raise EngineError(
            f"SAM2 checkpoint not found: {text!r}; set it to an existing .pt file or a hub id "
            f"such as {next(iter(HUB_CHECKPOINTS))!r}"
        )
    repo_id, _, filename = text.partition(":")
    if not filename:
        if repo_id not in HUB_CHECKPOINTS:
            raise EngineError(
                f"SAM2 checkpoint {text!r} is neither a local file nor a known hub id "
                f"({', '.join(HUB_CHECKPOINTS)}); for another repository write 'owner/repo:file.pt'"
            )
        filename = HUB_CHECKPOINTS[repo_id][1]
    try:
        import huggingface_hub
    except ImportError as exc:
        raise EngineError(
            f"downloading SAM2 checkpoint {text!r} needs huggingface_hub ({exc}); "
            "install it or set the checkpoint to a local .pt file"
        ) from exc
    try:
        return Path(huggingface_hub.hf_hub_download(repo_id=repo_id, filename=filename))
    except Exception as exc:  # offline, unknown repo, gated repo, disk full: one message for all
        raise EngineError(
            f"could not get {filename!r} from the Hugging Face hub repository {repo_id!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}); "
            "check the network connection, or download the file and set the checkpoint to its path"
        ) from exc


def select_device(requested: str | None = None) -> str:
    """``requested`` (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"``) if usable, else with
    ``None``/``"auto"`` the first of CUDA, MPS, CPU that is available."""
    import torch

    mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if mps_ok else "cpu"
    kind = str(requested).split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"device {requested!r} requested but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if kind == "mps" and not mps_ok:
        raise EngineError(f"device {requested!r} requested but MPS is not available; use 'auto' or 'cpu'")
    if kind not in ("cuda", "mps", "cpu"):
        raise ConfigError(f"unknown device {requested!r}: use auto, cuda, cuda:N, mps or cpu")
    return str(requested)


def build_sam2_model(
    config_name: str, checkpoint_path: Path, image_size: int = DEFAULT_IMAGE_SIZE, device: str = "cpu"
) -> Any:
    """A ``SAM2Base`` in eval mode on ``device`` with the checkpoint's weights. The checkpoint is a
    ``torch.save``d dict, either ``{"model": state_dict}`` (the official files) or the state dict
    itself. ``image_size``: side of the model's square input in pixels (official weights: 1024)."""
    if image_size <= 0 or image_size % 16:
        raise ConfigError(f"SAM2 image_size must be a positive multiple of 16, got {image_size}")
    try:
        import torch
        from sam2.build_sam import build_sam2
    except ImportError as exc:
        raise EngineError(
            f"the SAM2 segmenter needs torch and the sam2 package ({exc}); install them "
            "(see requirements/ml.txt) or use the 'sam2-onnx' segmenter"
        ) from exc

    try:
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EngineError(
            f"cannot read SAM2 checkpoint {str(checkpoint_path)!r} ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise EngineError(f"SAM2 checkpoint {str(checkpoint_path)!r} holds no state dict")

    try:
        model = build_sam2(
            config_name,
            ckpt_path=None,
            device="cpu",
            hydra_overrides_extra=[f"++model.image_size={int(image_size)}"],
        )
    except Exception as exc:  # hydra raises its own types for a missing config
        raise ConfigError(
            f"cannot build SAM2 from config {config_name!r} ({type(exc).__name__}: {exc})"
        ) from exc

    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        k for k in expected
        if k in state and tuple(getattr(state[k], "shape", ())) != tuple(expected[k].shape)
    ]
    if missing or unexpected or mismatched:
        example = (mismatched or missing or unexpected)[0]
        raise EngineError(
            f"SAM2 checkpoint {str(checkpoint_path)!r} does not fit config {config_name!r} "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(mismatched)} wrongly shaped "
            f"weights, e.g. {example!r}); set the size or config that matches the checkpoint"
        )
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
