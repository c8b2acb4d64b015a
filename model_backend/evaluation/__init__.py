"""Benchmark evaluation through the same engines and dialect parsers the plugin uses: grounding
Acc@0.5, referring-segmentation mIoU/oIoU/P@0.5, change-region mIoU, VQA accuracy, classification
top-1 (see ``metrics`` and ``runner``)."""

from .metrics import (
    ChangeScore,
    GroundingScore,
    SegmentationScore,
    box_iou_xyxy,
    exact_match,
    mask_inter_union,
    normalize_answer,
    polygon_iou,
    rasterize_rings,
)
from .runner import EvalResult, SampleResult, evaluate, write_outputs

__all__ = [
    "ChangeScore",
    "EvalResult",
    "GroundingScore",
    "SampleResult",
    "SegmentationScore",
    "box_iou_xyxy",
    "evaluate",
    "exact_match",
    "mask_inter_union",
    "normalize_answer",
    "polygon_iou",
    "rasterize_rings",
    "write_outputs",
]
