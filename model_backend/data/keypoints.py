"""Mask -> seg target: a horizontal box plus keypoints well inside the mask.

Frames: the mask's own pixels, corner convention ((0, 0) is the top-left corner of the top-left
pixel, x right, y down); a keypoint is the centre of its pixel, ``(col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import SegTarget


def mask_bbox_xyxy_px(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight horizontal box ``(x1, y1, x2, y2)`` of the mask's foreground in pixel corners (``x2`` is
    one past the last column); ``None`` for an empty mask."""
    fg = np.asarray(mask).astype(bool)
    rows, cols = np.flatnonzero(fg.any(axis=1)), np.flatnonzero(fg.any(axis=0))
    if rows.size == 0:
        return None
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def interior_keypoints(
    mask: np.ndarray, n: int = 3, *, seed: int = 0, min_depth: float = 0.5, max_candidates: int = 20000
) -> list[tuple[float, float]]:
    """Up to ``n`` well-spread keypoints inside the mask, away from its edges, in pixel centres.

    Candidates are the pixels whose distance to the nearest background pixel (the image border counts
    as background) is at least ``min_depth`` times the deepest pixel's. The first keypoint is the
    deepest pixel; each next one is the candidate farthest from those chosen (farthest-point sampling),
    ties broken by depth, then by a ``seed``-ed random order, so the result is deterministic for a
    seed. Fewer than ``n`` points come back only when the mask has fewer candidate pixels.
    """
    if n < 0:
        raise ValueError(f"number of keypoints must be >= 0, got {n}")
    if not 0.0 <= min_depth <= 1.0:
        raise ValueError(f"min_depth must be within 0..1, got {min_depth}")
    fg = np.asarray(mask).astype(bool)
    if fg.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {fg.shape}")
    if n == 0 or not fg.any():
        return []
    depth = ndimage.distance_transform_edt(np.pad(fg, 1))[1:-1, 1:-1]
    rows, cols = np.nonzero(depth >= max(min_depth * depth.max(), 1.0))
    rng = np.random.default_rng(seed)
    order = rng.permutation(rows.size)
    if order.size > max_candidates:
        order = order[:max_candidates]
    rows, cols = rows[order], cols[order]
    cand_depth = depth[rows, cols]
    pts = np.stack([cols + 0.5, rows + 0.5], axis=1)
    first = int(np.argmax(cand_depth))  # argmax keeps the first of equals: the seeded order decides
    chosen = [first]
    dist = np.hypot(*(pts - pts[first]).T)
    while len(chosen) < min(n, pts.shape[0]):
        # Farthest first; among (nearly) equal distances the deeper pixel wins.
        score = dist + 1e-6 * cand_depth
        score[chosen] = -1.0
        nxt = int(np.argmax(score))
        if dist[nxt] <= 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.hypot(*(pts - pts[nxt]).T))
    return [(float(pts[i, 0]), float(pts[i, 1])) for i in chosen]


def mask_to_seg_target(
    mask: np.ndarray, n_keypoints: int = 3, *, seed: int = 0, min_depth: float = 0.5, label: str | None = None
) -> SegTarget | None:
    """The mask's tight box plus ``interior_keypoints``; ``None`` for an empty mask."""
    bbox = mask_bbox_xyxy_px(mask)
    if bbox is None:
        return None
    kps = interior_keypoints(mask, n_keypoints, seed=seed, min_depth=min_depth)
    return SegTarget(bbox, tuple(kps), label=label)
