"""SAM2 on ONNX Runtime: the encoder and prompt decoder exported by ``segmenters.export``.

Needs ``onnxruntime`` (or ``onnxruntime-gpu``, which the backend environment builder installs beside a
CUDA PyTorch) but neither torch nor sam2. It runs on the GPU through ONNX Runtime's CUDA execution
provider when that provider is present and the device setting allows it (see ``choose_providers``),
else on the CPU; ``describe()`` says which provider the sessions really use. Pre- and post-processing
are ``image_ops``, prompts the same ``SamPrompts`` as the torch segmenter, so both give the same masks
up to float rounding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, EngineError
from .base import Segmenter
from .image_ops import IMAGENET_MEAN, IMAGENET_STD, preprocess_image, resize_logits
from .prompts import SamPrompts

MANIFEST_NAME = "sam2_onnx.json"
MANIFEST_FORMAT = 1
ENCODER_INPUTS = ("image",)
ENCODER_OUTPUTS = ("image_embed", "high_res_feats_0", "high_res_feats_1")
DECODER_INPUTS = ("image_embed", "high_res_feats_0", "high_res_feats_1", "point_coords", "point_labels")
DECODER_OUTPUTS = ("low_res_masks", "iou_predictions")


CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
DEVICES = ("auto", "cuda", "cpu", "mps")


def choose_providers(available: Sequence[str], device: str = "auto") -> list[str]:
    """ONNX Runtime execution providers, in order of preference, for a device setting.

    ``auto``: the CUDA provider when this onnxruntime has it (``onnxruntime-gpu``), then the CPU;
    ``cuda``: the same, but a ``ConfigError`` when the CUDA provider is missing; ``cpu`` (and ``mps``:
    ONNX Runtime has no Metal provider; Apple's CoreML provider is not used): the CPU only.
    ``available``: ``onnxruntime.get_available_providers()``."""
    device = str(device or "auto").strip().lower()
    if device not in DEVICES:
        raise ConfigError(f"device {device!r} is not valid for the sam2-onnx segmenter; use one of {', '.join(DEVICES)}")
    has_cuda = CUDA_PROVIDER in available
    if device == "cuda" and not has_cuda:
        raise ConfigError(
            f"device 'cuda' needs ONNX Runtime's {CUDA_PROVIDER}, but this onnxruntime offers only "
            f"{', '.join(available) or 'none'}: install onnxruntime-gpu instead of onnxruntime (they cannot "
            "be installed together), or use device auto or cpu"
        )
    if device in ("auto", "cuda") and has_cuda:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    return [CPU_PROVIDER]


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    """The export's manifest (``sam2_onnx.json``) with file paths made absolute."""
    model_dir = Path(model_dir).expanduser()
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        raise EngineError(
            f"no SAM2 ONNX export in {str(model_dir)!r} (missing {MANIFEST_NAME}); create one with "
            "`python -m model_backend.segmenters.export --size tiny --checkpoint FILE.pt --out DIR`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot read {str(path)!r}: {exc}; export the model again") from exc
    if manifest.get("format") != MANIFEST_FORMAT:
        raise EngineError(
            f"{str(path)!r} has format {manifest.get('format')!r}, this version reads "
            f"{MANIFEST_FORMAT}; export the model again"
        )
    for key in ("encoder", "decoder"):
        file = model_dir / manifest[key]
        if not file.is_file():
            raise EngineError(f"SAM2 ONNX {key} {str(file)!r} is missing; export the model again")
        manifest[key] = str(file)
    return manifest


class Sam2OnnxSegmenter(Segmenter):
    """SAM2 from an ONNX export folder (``model_dir`` holding ``sam2_onnx.json``).

    ``device``: ``auto`` (the GPU through ONNX Runtime's CUDA provider when present, else the CPU),
    ``cuda`` or ``cpu`` (see ``choose_providers``). ``providers``: ONNX Runtime execution providers in
    order of preference, overriding ``device``. ``mask_threshold``: mask logit above which a pixel is
    inside.
    """

    name = "sam2-onnx"

    def __init__(
        self,
        model_dir: str | Path,
        device: str = "auto",
        providers: Sequence[str] | None = None,
        mask_threshold: float = 0.0,
        min_area_px: float = 16.0,
        simplify_px: float = 1.0,
    ) -> None:
        super().__init__(min_area_px=min_area_px, simplify_px=simplify_px)
        self.model_dir = Path(model_dir)
        self.device = device
        self.providers = list(providers) if providers else None  # None: chosen from device at load
        self.mask_threshold = float(mask_threshold)
        self._manifest: dict[str, Any] | None = None
        self._encoder: Any = None
        self._decoder: Any = None
        self._features: dict[str, np.ndarray] | None = None
        self._image_hw: tuple[int, int] | None = None
        self._requested: list[str] = []

    @property
    def is_loaded(self) -> bool:
        return self._decoder is not None

    @property
    def model_size(self) -> int:
        if self._manifest is None:
            raise EngineError("segmenter 'sam2-onnx' is not loaded: call load() first")
        return int(self._manifest["image_size"])

    def load(self) -> None:
        if self._decoder is not None:
            return
        manifest = read_manifest(self.model_dir)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EngineError(
                f"the 'sam2-onnx' segmenter needs onnxruntime ({exc}); pip install onnxruntime"
            ) from exc
        available = list(ort.get_available_providers())
        providers = self.providers or choose_providers(available, self.device)
        unknown = [p for p in providers if p not in available]
        if unknown:
            raise ConfigError(f"ONNX Runtime providers {unknown} are not available here; available: {available}")
        try:
            encoder = ort.InferenceSession(manifest["encoder"], providers=providers)
            decoder = ort.InferenceSession(manifest["decoder"], providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"cannot load the SAM2 ONNX export in {str(self.model_dir)!r}: {exc}") from exc
        self._manifest, self._encoder, self._decoder = manifest, encoder, decoder
        self._requested = providers

    def _encode(self, image_rgb: np.ndarray) -> None:
        manifest = self._manifest
        pixels = preprocess_image(
            image_rgb,
            int(manifest["image_size"]),
            tuple(manifest.get("mean", IMAGENET_MEAN)),
            tuple(manifest.get("std", IMAGENET_STD)),
        )
        outputs = self._encoder.run(list(ENCODER_OUTPUTS), {ENCODER_INPUTS[0]: pixels})
        self._features = dict(zip(ENCODER_OUTPUTS, outputs))
        self._image_hw = image_rgb.shape[:2]

    def _snapshot(self) -> tuple[Any, int]:
        # _encode replaces the dict on every call, so keeping a reference is enough
        return (self._features, self._image_hw), int(sum(a.nbytes for a in self._features.values()))

    def _restore(self, features: Any) -> None:
        self._features, self._image_hw = features

    def _decode(self, prompts: SamPrompts) -> tuple[np.ndarray, np.ndarray]:
        coords_model, labels = prompts.decoder_inputs()
        low_res_logits, iou = self._decoder.run(
            list(DECODER_OUTPUTS),
            {**self._features, "point_coords": coords_model, "point_labels": labels},
        )
        # one target at a time: full-size float logits of all targets at once can take gigabytes
        masks = np.stack(
            [resize_logits(logits, self._image_hw) > self.mask_threshold for logits in low_res_logits[:, 0]]
        )
        return masks, np.asarray(iou, np.float32).reshape(len(prompts))

    def _release(self) -> None:
        self._encoder = self._decoder = self._features = self._image_hw = None

    @property
    def active_provider(self) -> str | None:
        """The execution provider the encoder session really runs on (ONNX Runtime falls back to the
        CPU when the CUDA provider cannot start, e.g. without a driver); ``None`` before ``load``."""
        if self._encoder is None:
            return None
        return self._encoder.get_providers()[0]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        manifest = self._manifest or {}
        active = self.active_provider
        info.update(
            model=str(self.model_dir),
            config=manifest.get("config"),
            checkpoint=manifest.get("checkpoint"),
            image_size=manifest.get("image_size"),
            device=None if active is None else ("cuda" if active == CUDA_PROVIDER else "cpu"),
            provider=active,
            providers_requested=list(self._requested),
        )
        if active is not None and self._requested and active != self._requested[0]:
            info["warning"] = f"{self._requested[0]} was asked for but could not start: running on {active}"
        return info
