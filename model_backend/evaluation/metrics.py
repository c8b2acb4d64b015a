"""Benchmark metrics, pure functions and accumulators. All geometry is in pixels of one image
(corner convention, x right, y down); masks are ``(H, W)`` bool arrays, ``mask[row, col]`` covering
the pixel ``[col, col+1] x [row, row+1]``.

- Visual grounding (DIOR-RSVG, VRSBench): IoU of the predicted and reference regions as polygons (exact
  for horizontal and rotated boxes alike); Acc@0.5 is the share of samples with IoU >= 0.5.
- Referring segmentation (RRSIS-D, RefSegRS): mIoU = mean of per-sample IoU; oIoU = total
  intersection / total union over all samples; precision@0.5 = share of samples with IoU >= 0.5.
- Change regions (LEVIR-MCI): per class, IoU = TP / (TP + FP + FN) over all pixels of the samples
  asking for that class; background IoU counts "neither reference nor prediction" as its TP; mIoU is the
  mean over background and every class seen.
- VQA and zero-shot classification: normalised exact match (``normalize_answer``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from shapely.geometry import Polygon

XY = tuple[float, float]

_ARTICLES = {"a", "an", "the"}
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def polygon_iou(ring_a: Sequence[XY], ring_b: Sequence[XY]) -> float:
    """IoU of two simple polygons given as rings (open or closed); 0 for degenerate ones.
    Self-intersecting rings are repaired with a zero buffer first."""
    a, b = Polygon(ring_a), Polygon(ring_b)
    if not a.is_valid:
        a = a.buffer(0)
    if not b.is_valid:
        b = b.buffer(0)
    union = a.union(b).area
    return float(a.intersection(b).area / union) if union > 0 else 0.0


def box_iou_xyxy(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two horizontal boxes ``(x1, y1, x2, y2)`` (continuous areas, no +1 pixel convention)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def mask_inter_union(pred: np.ndarray, ref: np.ndarray) -> tuple[int, int]:
    """(intersection, union) pixel counts of two same-shape masks."""
    pred, ref = np.asarray(pred, bool), np.asarray(ref, bool)
    if pred.shape != ref.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {ref.shape}")
    return int(np.logical_and(pred, ref).sum()), int(np.logical_or(pred, ref).sum())


def normalize_answer(text: str) -> str:
    """Lower case, punctuation to spaces, articles (a, an, the) dropped, whitespace collapsed."""
    words = str(text).lower().translate(_PUNCT).split()
    return " ".join(w for w in words if w not in _ARTICLES)


def exact_match(prediction: str, references: Sequence[str]) -> bool:
    """Whether the normalised prediction equals any normalised reference."""
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(r) for r in references)


@dataclass
class GroundingScore:
    """Acc@``threshold`` and mean IoU over grounding samples."""

    threshold: float = 0.5
    ious: list[float] = field(default_factory=list)

    def add(self, iou: float) -> None:
        self.ious.append(float(iou))

    @property
    def accuracy(self) -> float:
        return sum(i >= self.threshold for i in self.ious) / len(self.ious) if self.ious else 0.0

    @property
    def mean_iou(self) -> float:
        return float(np.mean(self.ious)) if self.ious else 0.0


@dataclass
class SegmentationScore:
    """mIoU, oIoU and precision@``threshold`` over referring-segmentation samples."""

    threshold: float = 0.5
    inters: list[int] = field(default_factory=list)
    unions: list[int] = field(default_factory=list)

    def add(self, inter: int, union: int) -> None:
        self.inters.append(int(inter))
        self.unions.append(int(union))

    def _ious(self) -> list[float]:
        # An empty reference and an empty prediction agree completely.
        return [i / u if u else 1.0 for i, u in zip(self.inters, self.unions)]

    @property
    def miou(self) -> float:
        ious = self._ious()
        return float(np.mean(ious)) if ious else 0.0

    @property
    def oiou(self) -> float:
        total = sum(self.unions)
        return sum(self.inters) / total if total else 0.0

    @property
    def precision(self) -> float:
        ious = self._ious()
        return sum(i >= self.threshold for i in ious) / len(ious) if ious else 0.0


@dataclass
class ChangeScore:
    """Per-class pixel counts of change-region samples (see the module doc)."""

    counts: dict[str, list[int]] = field(default_factory=dict)  # class -> [tp, fp, fn]
    background: list[int] = field(default_factory=lambda: [0, 0, 0])

    def add(self, cls: str, pred: np.ndarray, ref: np.ndarray) -> None:
        pred, ref = np.asarray(pred, bool), np.asarray(ref, bool)
        if pred.shape != ref.shape:
            raise ValueError(f"mask shapes differ: {pred.shape} vs {ref.shape}")
        tp = int((pred & ref).sum())
        fp = int((pred & ~ref).sum())
        fn = int((~pred & ref).sum())
        tn = int(pred.size - tp - fp - fn)
        c = self.counts.setdefault(cls, [0, 0, 0])
        c[0], c[1], c[2] = c[0] + tp, c[1] + fp, c[2] + fn
        # For background a class false negative is a false positive and vice versa.
        b = self.background
        b[0], b[1], b[2] = b[0] + tn, b[1] + fn, b[2] + fp

    def class_iou(self) -> dict[str, float]:
        """IoU per class, background first under the key ``"background"``."""
        out = {}
        for name, (tp, fp, fn) in [("background", self.background), *sorted(self.counts.items())]:
            denom = tp + fp + fn
            out[name] = tp / denom if denom else 0.0
        return out

    @property
    def miou(self) -> float:
        if not self.counts:
            return 0.0
        return float(np.mean(list(self.class_iou().values())))


def rasterize_rings(rings: Sequence[Sequence[XY]], size_px: tuple[int, int]) -> np.ndarray:
    """Union of polygon rings -> bool mask ``(H, W)`` of an image ``size_px = (width, height)``;
    a pixel is in when its centre is."""
    import rasterio.features
    from affine import Affine

    w, h = size_px
    shapes = []
    for ring in rings:
        if len(ring) < 3:
            continue
        poly = Polygon(ring)
        if not poly.is_valid:
            poly = poly.buffer(0)
        if not poly.is_empty:
            shapes.append((poly, 1))
    if not shapes:
        return np.zeros((h, w), bool)
    return rasterio.features.rasterize(shapes, out_shape=(h, w), transform=Affine.identity(), dtype="uint8") > 0

