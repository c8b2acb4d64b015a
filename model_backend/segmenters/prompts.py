"""SegTargets -> SAM2 prompt arrays, in the pixel frame of the model's square input.

Our geometry uses the corner convention (``geometry.types``): pixel ``(col, row)`` covers
``[col, col+1] x [row, row+1]``. SAM2 reads prompt coordinates as pixel *indices* of its
``S x S`` input: its prompt encoder adds 0.5 to reach pixel centres, and it was trained with
boxes from ``mask_to_box`` whose right/bottom edges are the *last* covered index (inclusive).
So, after scaling the image frame to the model frame (``x * S / width``), a keypoint moves by
-0.5 and a box ``(x1, y1, x2, y2)`` becomes ``(x1, y1, x2 - 1, y2 - 1)`` (never crossing
``x1``/``y1``). Doing this in the model frame, not the image frame, keeps it exact when the
image is resized to ``S``.

An object refined by clicks (``build_click_prompt``) is one prompt of positive (label 1) and negative
(label 0) points, with or without a box.

Targets with fewer keypoints than the longest are padded with label ``-1``: SAM2's prompt
encoder replaces a ``-1`` point's positional encoding with its learned ``not_a_point`` embedding
(the coordinates are ignored) and itself appends one such point to every prompt. The padding
points still take part in the decoder's attention, so a padded target's mask is close to, but
not bit-identical with, the mask of the same target prompted alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..geometry import SegTarget

LABEL_POSITIVE = 1
LABEL_NEGATIVE = 0
LABEL_PADDING = -1
# SAM2 marks a box's two corners as points with these labels
LABEL_BOX_TOP_LEFT = 2
LABEL_BOX_BOTTOM_RIGHT = 3


@dataclass(frozen=True)
class SamPrompts:
    """One batched SAM2 prompt for N targets, in pixel-index coordinates of the ``S x S`` model input.

    ``boxes_xyxy_model``: (N, 4) float32, inclusive index boxes, or ``None`` for prompts of points
    only. ``points_xy_model``: (N, K, 2) float32 points, ``point_labels``: (N, K) int32 (1 = keypoint
    or positive click, 0 = negative click, -1 = padding); both ``None`` when no target has points.
    """

    model_size: int
    boxes_xyxy_model: np.ndarray | None
    points_xy_model: np.ndarray | None
    point_labels: np.ndarray | None

    def __post_init__(self):
        if self.boxes_xyxy_model is None and self.points_xy_model is None:
            raise ValueError("a SAM2 prompt needs a box or points")

    def __len__(self) -> int:
        first = self.boxes_xyxy_model if self.boxes_xyxy_model is not None else self.points_xy_model
        return int(first.shape[0])

    def decoder_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Boxes and keypoints merged the way ``SAM2ImagePredictor._predict`` merges them: the two
        box corners first (labels 2, 3), then the keypoints. Returns ``(coords (N, 2+K, 2) float32
        in model-input pixel indices, labels (N, 2+K) int32)``."""
        n = len(self)
        coords = np.zeros((n, 0, 2), np.float32)
        labels = np.zeros((n, 0), np.int32)
        if self.boxes_xyxy_model is not None:
            coords = self.boxes_xyxy_model.reshape(n, 2, 2)
            labels = np.tile(np.array([[LABEL_BOX_TOP_LEFT, LABEL_BOX_BOTTOM_RIGHT]], np.int32), (n, 1))
        if self.points_xy_model is not None:
            coords = np.concatenate([coords, self.points_xy_model], axis=1)
            labels = np.concatenate([labels, self.point_labels], axis=1)
        return coords.astype(np.float32), labels.astype(np.int32)


def build_prompts(
    targets: Sequence[SegTarget], image_hw: tuple[int, int], model_size: int
) -> SamPrompts:
    """Batch ``targets`` (pixels of an image of ``image_hw = (height, width)``, corner convention)
    into SAM2 prompts for a model whose input is ``model_size`` pixels square.

    Boxes and keypoints are clipped to the image first; see the module docstring for the
    corner-to-index conversion and the ``-1`` padding.
    """
    if not targets:
        raise ValueError("build_prompts needs at least one target")
    boxes_xyxy_model = np.empty((len(targets), 4), np.float32)
    for i, target in enumerate(targets):
        boxes_xyxy_model[i] = _box_to_model(target.bbox, image_hw, model_size)

    k_max = max(len(t.keypoints) for t in targets)
    if k_max == 0:
        return SamPrompts(model_size, boxes_xyxy_model, None, None)

    points_xy_model = np.zeros((len(targets), k_max, 2), np.float32)
    point_labels = np.full((len(targets), k_max), LABEL_PADDING, np.int32)
    for i, target in enumerate(targets):
        for j, xy in enumerate(target.keypoints):
            points_xy_model[i, j] = _point_to_model(xy, image_hw, model_size)
            point_labels[i, j] = LABEL_POSITIVE
    return SamPrompts(model_size, boxes_xyxy_model, points_xy_model, point_labels)


def build_click_prompt(
    points_xy: Sequence[tuple[float, float]],
    labels: Sequence[int],
    box_xyxy: tuple[float, float, float, float] | None,
    image_hw: tuple[int, int],
    model_size: int,
) -> SamPrompts:
    """One object prompted by clicks: ``points_xy`` (pixels of an image of ``image_hw = (height, width)``,
    corner convention) with ``labels`` 1 (positive: part of the object) or 0 (negative: not part of it),
    and an optional ``box_xyxy`` (same frame). Coordinates are clipped to the image, as in ``build_prompts``."""
    if len(points_xy) != len(labels):
        raise ValueError(f"{len(points_xy)} points but {len(labels)} labels")
    if not points_xy and box_xyxy is None:
        raise ValueError("a click prompt needs points or a box")
    bad = sorted({int(v) for v in labels} - {LABEL_POSITIVE, LABEL_NEGATIVE})
    if bad:
        raise ValueError(f"point labels are 1 (positive) or 0 (negative), got {bad}")
    boxes = None if box_xyxy is None else np.asarray([_box_to_model(box_xyxy, image_hw, model_size)], np.float32)
    if not points_xy:
        return SamPrompts(model_size, boxes, None, None)
    points = np.asarray([[_point_to_model(xy, image_hw, model_size) for xy in points_xy]], np.float32)
    return SamPrompts(model_size, boxes, points, np.asarray([list(labels)], np.int32))


def _box_to_model(
    bbox: tuple[float, float, float, float], image_hw: tuple[int, int], model_size: int
) -> tuple[float, float, float, float]:
    """A corner-convention box of the image -> an inclusive pixel-index box of the model input."""
    height, width = image_hw
    sx, sy = model_size / float(width), model_size / float(height)
    x1, y1, x2, y2 = (float(v) for v in bbox)
    x1, x2 = min(x1, x2), max(x1, x2)
    y1, y2 = min(y1, y2), max(y1, y2)
    x1_m = min(max(x1, 0.0), width) * sx
    x2_m = min(max(x2, 0.0), width) * sx
    y1_m = min(max(y1, 0.0), height) * sy
    y2_m = min(max(y2, 0.0), height) * sy
    return (x1_m, y1_m, max(x2_m - 1.0, x1_m), max(y2_m - 1.0, y1_m))


def _point_to_model(xy: tuple[float, float], image_hw: tuple[int, int], model_size: int) -> tuple[float, float]:
    """A corner-convention point of the image -> a pixel index of the model input."""
    height, width = image_hw
    x, y = float(xy[0]), float(xy[1])
    return (
        min(max(x, 0.0), width) * model_size / float(width) - 0.5,
        min(max(y, 0.0), height) * model_size / float(height) - 0.5,
    )
