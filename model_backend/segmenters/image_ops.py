"""NumPy/Pillow versions of SAM2's image pre- and post-processing, for runtimes without torch.

They reproduce ``sam2.utils.transforms.SAM2Transforms``: the image is resized to the model's
square input with antialiased bilinear filtering (torchvision's ``Resize`` on tensors, whose
antialiasing follows Pillow's) and normalised with ImageNet statistics; mask logits are
resized back with plain bilinear interpolation (``F.interpolate(..., align_corners=False)``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocess_image(
    image_rgb: np.ndarray,
    model_size: int,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, S, S) float32 normalised model input, S = ``model_size``."""
    image = image_rgb.astype(np.float32) / 255.0
    height, width = image.shape[:2]
    if (height, width) != (model_size, model_size):
        # one float32 ("F" mode) image per channel: full precision, as torchvision on float tensors
        channels = [Image.fromarray(np.ascontiguousarray(image[..., c])) for c in range(3)]
        image = np.stack(
            [np.asarray(ch.resize((model_size, model_size), Image.BILINEAR)) for ch in channels], axis=-1
        )
    image = (image - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)


def _linear_taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of bilinear resizing with half-pixel centres (PyTorch's
    ``align_corners=False``): output ``i`` samples input ``(i + 0.5) * in/out - 0.5``."""
    src = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    frac = (src - i0).astype(np.float32)
    return i0, i1, frac


def resize_logits(logits: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (..., h, w) mask logits to (..., H, W) = ``out_hw``, no antialiasing
    (matches ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``)."""
    out_h, out_w = out_hw
    r0, r1, fr = _linear_taps(logits.shape[-2], out_h)
    c0, c1, fc = _linear_taps(logits.shape[-1], out_w)
    rows = logits[..., r0, :] * (1.0 - fr)[:, None] + logits[..., r1, :] * fr[:, None]
    return rows[..., c0] * (1.0 - fc) + rows[..., c1] * fc
