"""SAM2 through the ``sam2`` package's ``SAM2ImagePredictor`` (torch; CUDA, MPS or CPU)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .base import Segmenter
from .prompts import SamPrompts
from .sam2_loading import (
    DEFAULT_IMAGE_SIZE,
    build_sam2_model,
    resolve_checkpoint,
    resolve_config,
    select_device,
)


class Sam2Segmenter(Segmenter):
    """SAM 2.1 image predictor: one ``set_image`` per image, one batched ``predict`` per image
    (boxes plus padded keypoints, ``multimask_output=False``).

    ``checkpoint``: a local ``.pt`` file or a hub id (``facebook/sam2.1-hiera-tiny``,
    ``owner/repo:file.pt``). ``size``: tiny, small, base_plus or large (inferred from official
    names when ``None``); ``config``: a sam2 hydra config name instead of ``size``.
    ``image_size``: the model's square input in pixels (1024 for the official weights).
    ``device``: ``None``/``"auto"`` picks CUDA, then MPS, then CPU. ``mask_threshold``: mask
    logit above which a pixel is inside.
    """

    name = "sam2"

    def __init__(
        self,
        checkpoint: str | Path,
        size: str | None = None,
        config: str | None = None,
        image_size: int = DEFAULT_IMAGE_SIZE,
        device: str | None = None,
        mask_threshold: float = 0.0,
        min_area_px: float = 16.0,
        simplify_px: float = 1.0,
    ) -> None:
        super().__init__(min_area_px=min_area_px, simplify_px=simplify_px)
        self.checkpoint = str(checkpoint)
        self.size = size
        self.config = config
        self.image_size = int(image_size)
        self.requested_device = device
        self.mask_threshold = float(mask_threshold)
        self.device: str | None = None
        self._config_name: str | None = None
        self._predictor: Any = None

    @property
    def is_loaded(self) -> bool:
        return self._predictor is not None

    @property
    def model_size(self) -> int:
        return self.image_size

    def load(self) -> None:
        if self._predictor is not None:
            return
        config_name = resolve_config(self.size, self.config, self.checkpoint)
        device = select_device(self.requested_device)
        checkpoint_path = resolve_checkpoint(self.checkpoint)
        model = build_sam2_model(config_name, checkpoint_path, self.image_size, device)
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        with warnings.catch_warnings():
            # sam2 scripts its transforms with torch.jit, which torch now deprecates; not ours to fix
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.script.* is deprecated", category=FutureWarning
            )
            predictor = SAM2ImagePredictor(model, mask_threshold=self.mask_threshold)
        s = self.image_size
        # the predictor hard-codes the feature sizes of a 1024 px input
        predictor._bb_feat_sizes = [(s // 4, s // 4), (s // 8, s // 8), (s // 16, s // 16)]
        self._config_name, self.device, self._predictor = config_name, device, predictor

    def _encode(self, image_rgb: np.ndarray) -> None:
        self._predictor.set_image(image_rgb)

    def _snapshot(self) -> tuple[Any, int]:
        # set_image replaces these objects on every call (never changes them in place), so keeping
        # references is enough; the tensors stay on the model's device
        predictor = self._predictor
        features = predictor._features
        tensors = [features["image_embed"], *features["high_res_feats"]]
        nbytes = sum(t.numel() * t.element_size() for t in tensors)
        return (features, list(predictor._orig_hw)), int(nbytes)

    def _restore(self, features: Any) -> None:
        predictor = self._predictor
        predictor._features, orig_hw = features
        predictor._orig_hw = list(orig_hw)
        predictor._is_image_set, predictor._is_batch = True, False

    def _decode(self, prompts: SamPrompts) -> tuple[np.ndarray, np.ndarray]:
        s = float(prompts.model_size)
        # normalize_coords=False: the predictor multiplies by its input size, so hand it
        # fractions of the model input (our prompts are already in its pixel-index frame)
        points = None if prompts.points_xy_model is None else prompts.points_xy_model / s
        boxes = None if prompts.boxes_xyxy_model is None else prompts.boxes_xyxy_model / s
        masks, iou, _ = self._predictor.predict(
            point_coords=points,
            point_labels=prompts.point_labels,
            box=boxes,
            multimask_output=False,
            normalize_coords=False,
        )
        n = len(prompts)
        # the predictor squeezes its batch axis: (N, 1, H, W) for N > 1 but (1, H, W) for N = 1
        masks = np.asarray(masks).reshape(n, *masks.shape[-2:]).astype(bool)
        return masks, np.asarray(iou, np.float32).reshape(n)

    def _release(self) -> None:
        if self._predictor is None:
            return
        self._predictor = None
        if self.device and self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            model=self.checkpoint,
            config=self._config_name or self.config,
            size=self.size,
            image_size=self.image_size,
            device=self.device,
        )
        return info
