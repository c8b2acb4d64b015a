"""Conversions between pixel coordinates and the 0-1000 normalised integers of the dialects.

Pixel frame: (0, 0) is the top-left *corner* of the top-left pixel, (width, height) the bottom-right
corner of the bottom-right pixel; x right, y down; units are pixels of the image as sent to the model.
Normalised frame: integers 0..1000 with the same corners, i.e. ``n = x / width * 1000``.
"""

from __future__ import annotations

from .types import XY

NORM_MAX = 1000


def px_to_norm(value_px: float, size_px: float, scale: int = NORM_MAX) -> int:
    """Pixel coordinate -> integer in ``0..scale`` (rounded to nearest, clipped)."""
    if size_px <= 0:
        raise ValueError(f"image size must be positive, got {size_px}")
    n = round(value_px / size_px * scale)
    return min(max(n, 0), scale)


def norm_to_px(value: float, size_px: float, scale: int = NORM_MAX) -> float:
    """Normalised ``0..scale`` value -> pixel coordinate (clipped to ``0..size_px``)."""
    v = min(max(float(value), 0.0), float(scale))
    return v / scale * size_px


def clip_xy(xy: XY, size_px: tuple[float, float]) -> XY:
    """Clip a pixel point to the image rectangle ``[0, w] x [0, h]``."""
    w, h = size_px
    return (min(max(float(xy[0]), 0.0), float(w)), min(max(float(xy[1]), 0.0), float(h)))
