"""Request images: validation, PIL conversion and PNG data URLs for model servers.

Images are ``(H, W, 3)`` uint8 RGB arrays holding exactly the pixels the dialect's coordinates refer
to; nothing here resizes them (the model's own processor does, where it does).
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np

from ..errors import EngineError


def check_images(images: Sequence[np.ndarray], max_images: int = 2, min_images: int = 0) -> list[np.ndarray]:
    """Validate request images: each ``(H, W, 3)`` uint8 with H, W >= 1, between ``min_images`` and
    ``max_images`` of them. Returns C-contiguous arrays; raises ``EngineError`` otherwise."""
    images = list(images)
    if not min_images <= len(images) <= max_images:
        if min_images == max_images:
            wanted = str(max_images)
        else:
            wanted = f"{min_images} to {max_images}"
        raise EngineError(f"this model takes {wanted} image(s) per request, got {len(images)}")
    checked = []
    for i, image in enumerate(images):
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
            raise EngineError(f"image {i} must be an (H, W, 3) RGB array, got shape {array.shape}")
        if array.dtype != np.uint8:
            raise EngineError(f"image {i} must be uint8 RGB, got dtype {array.dtype}")
        checked.append(np.ascontiguousarray(array))
    return checked


def to_pil(image: np.ndarray):
    """An ``(H, W, 3)`` uint8 array -> ``PIL.Image`` in mode RGB (same pixels)."""
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image))  # (H, W, 3) uint8 is mode RGB


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless PNG encoding of an ``(H, W, 3)`` uint8 array."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", compress_level=1)  # speed over size on loopback/LAN
    return buffer.getvalue()


def png_data_url(image: np.ndarray) -> str:
    """``data:image/png;base64,...`` URL of an ``(H, W, 3)`` uint8 array (OpenAI ``image_url`` content)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def fit_to_model_frame(images: Sequence[np.ndarray], dialect_name: str | None) -> list[np.ndarray]:
    """Resize each image to the frame the dialect's coordinates refer to, where that differs from the image.

    Qwen2.5-VL answers in absolute pixels of its processor's resized input; its dialect computes that size
    with fixed limits (``Dialect.model_input_size``), while a checkpoint's processor or a model server may
    be configured with others. Sending the image already at the dialect's size makes their resize the
    identity (the size is a multiple of the patch factor, within any usual limit), so the boxes mean what
    the parser thinks. Dialects with normalised coordinates leave images untouched."""
    if not dialect_name:
        return list(images)
    from PIL import Image

    from ..dialects import get_dialect

    dialect = get_dialect(dialect_name)
    out = []
    for image in images:
        h, w = image.shape[:2]
        fw, fh = dialect.model_input_size((w, h))
        if (fw, fh) != (w, h):
            image = np.asarray(to_pil(image).resize((fw, fh), Image.BICUBIC))
        out.append(image)
    return out
