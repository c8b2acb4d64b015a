"""SAM2 on ONNX Runtime: the encoder and prompt decoder exported by ``segmenters.export``.

For machines without a usable torch GPU; needs ``onnxruntime`` but neither torch nor sam2.
Pre- and post-processing are ``image_ops``, prompts the same ``SamPrompts`` as the torch
segmenter, so both give the same masks up to float rounding.
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

    ``providers``: ONNX Runtime execution providers in order of preference (default: CPU).
    ``mask_threshold``: mask logit above which a pixel is inside.
    """

    name = "sam2-onnx"

    def __init__(
        self,
        model_dir: str | Path,
        providers: Sequence[str] | None = None,
        mask_threshold: float = 0.0,
        min_area_px: float = 16.0,
        simplify_px: float = 1.0,
    ) -> None:
        super().__init__(min_area_px=min_area_px, simplify_px=simplify_px)
        self.model_dir = Path(model_dir)
        self.providers = list(providers) if providers else ["CPUExecutionProvider"]
        self.mask_threshold = float(mask_threshold)
        self._manifest: dict[str, Any] | None = None
        self._encoder: Any = None
        self._decoder: Any = None
        self._features: dict[str, np.ndarray] | None = None
        self._image_hw: tuple[int, int] | None = None

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
        unknown = [p for p in self.providers if p not in ort.get_available_providers()]
        if unknown:
            raise ConfigError(
                f"ONNX Runtime providers {unknown} are not available here; "
                f"available: {ort.get_available_providers()}"
            )
        try:
            encoder = ort.InferenceSession(manifest["encoder"], providers=self.providers)
            decoder = ort.InferenceSession(manifest["decoder"], providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"cannot load the SAM2 ONNX export in {str(self.model_dir)!r}: {exc}") from exc
        self._manifest, self._encoder, self._decoder = manifest, encoder, decoder

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

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        manifest = self._manifest or {}
        info.update(
            model=str(self.model_dir),
            config=manifest.get("config"),
            checkpoint=manifest.get("checkpoint"),
            image_size=manifest.get("image_size"),
            device=",".join(self.providers),
        )
        return info
