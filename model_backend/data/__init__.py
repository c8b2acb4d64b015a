"""Instruction data in set-of-points: converters from remote-sensing label formats to LLaVA-style JSON
lines, interior keypoints of masks, and cyclic-referring self-augmentation.

Every answer is written by the canonical ``georsmllm`` dialect, so training text and parsing agree.
"""

from .augment import AugmentReport, cyclic_augment, identify_from_referring, referring_from_identify
from .change import convert_change
from .keypoints import interior_keypoints, mask_bbox_xyxy_px, mask_to_seg_target
from .masks import convert_coco, convert_instance_masks, convert_referring, rasterize_polygons
from .records import (
    ConversionReport,
    content_hash,
    image_size_px,
    make_record,
    read_jsonl,
    record_images,
    record_turns,
    write_jsonl,
)
from .rotated import convert_rotated, parse_label_line, rbox_corners

__all__ = [
    "AugmentReport",
    "ConversionReport",
    "content_hash",
    "convert_change",
    "convert_coco",
    "convert_instance_masks",
    "convert_referring",
    "convert_rotated",
    "cyclic_augment",
    "identify_from_referring",
    "image_size_px",
    "interior_keypoints",
    "make_record",
    "mask_bbox_xyxy_px",
    "mask_to_seg_target",
    "parse_label_line",
    "rasterize_polygons",
    "rbox_corners",
    "read_jsonl",
    "record_images",
    "record_turns",
    "referring_from_identify",
    "write_jsonl",
]
