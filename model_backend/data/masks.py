"""Masks -> ``[seg]`` records: a horizontal box plus keypoints inside each mask (``keypoints``).

Three inputs, all in pixels of their image (corner convention):

- referring masks (RefSegRS / RRSIS-D style): an index (JSON list or JSON lines) of
  ``{"image": path, "mask": path, "expression": text}`` (``sentence``/``phrase``/``ref`` accepted for
  ``expression``), one binary mask per expression (any nonzero pixel is foreground);
- instance / class masks (iSAID / LoveDA style): per image a class mask (single band, integer class
  values mapped to names by ``classes``) and optionally an instance mask (single band ids, or RGB
  colours, 0/black = none). Without instance masks, each 4-connected component of a class is an
  instance; with them, an instance takes the majority class under it;
- COCO-style polygon annotations (``images``, ``annotations`` with polygon ``segmentation``,
  ``categories``); RLE segmentations are skipped with a reason.

One record per (image, expression) or (image, class): ``[seg] <phrase>`` -> every target of it.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..geometry import SegTarget
from ..tasks import Task
from .keypoints import mask_to_seg_target
from .records import ConversionReport, class_records, format_answer, image_size_px, make_record, read_jsonl
from .rotated import find_image, relative_path

_EXPRESSION_KEYS = ("expression", "sentence", "phrase", "ref")


def record_seed(seed: int, key: str) -> int:
    """A per-record seed derived from a global ``seed`` and a stable key (same on every run/platform)."""
    return zlib.crc32(f"{seed}:{key}".encode("utf-8"))


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file as an array: ``(H, W)`` for one band, ``(H, W, 3)`` for colour (alpha dropped)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("RGB", "RGBA"):
            return np.asarray(im.convert("RGB"))
        # "P": palette indices are the class/instance ids; "L", "1", "I", "I;16": values as stored.
        return np.asarray(im).astype(np.int64)


def _binary(mask: np.ndarray) -> np.ndarray:
    return mask.any(axis=2) if mask.ndim == 3 else mask.astype(bool)


def convert_referring(
    index: str | Path,
    *,
    root: str | Path | None = None,
    n_keypoints: int = 3,
    seed: int = 0,
    min_area_px: int = 4,
) -> ConversionReport:
    """Referring-segmentation index -> ``[seg]`` records (see module doc). Paths in the index are
    relative to ``root`` (default: the index's folder); record paths are relative to ``root`` too."""
    index = Path(index)
    root = Path(root) if root is not None else index.parent
    report = ConversionReport("referring-masks")
    for n, item in enumerate(read_jsonl(index), 1):
        report.inputs += 1
        where = f"{index.name}#{n}"
        if not isinstance(item, Mapping):
            report.skip(where, "malformed entry: not an object")
            continue
        phrase = next((str(item[k]).strip() for k in _EXPRESSION_KEYS if item.get(k)), "")
        if not phrase or not item.get("image") or not item.get("mask"):
            report.skip(where, "malformed entry: needs image, mask and expression")
            continue
        image, mask_path = root / str(item["image"]), root / str(item["mask"])
        try:
            size = image_size_px(image)
            mask = _binary(read_mask(mask_path))
        except Exception as exc:
            report.skip(where, f"unreadable file: {exc}")
            continue
        if (mask.shape[1], mask.shape[0]) != size:
            report.skip(where, f"size mismatch: mask {mask.shape[1]}x{mask.shape[0]} vs image {size[0]}x{size[1]}")
            continue
        if mask.sum() < min_area_px:
            report.skip(where, f"empty mask: fewer than {min_area_px} foreground pixels")
            continue
        rid = str(item.get("id", f"{Path(str(item['image'])).stem}:{n}"))
        target = mask_to_seg_target(mask, n_keypoints, seed=record_seed(seed, rid))
        answer = format_answer([target], Task.SEGMENTATION, size)
        report.records.append(
            make_record(rid, [relative_path(image, root)], Task.SEGMENTATION, phrase, answer, size, phrase=phrase)
        )
    return report


def _instances(
    class_mask: np.ndarray, instance_mask: np.ndarray | None, classes: Mapping[int, str], min_area_px: int
) -> list[tuple[str, np.ndarray]]:
    from scipy import ndimage

    out: list[tuple[str, np.ndarray]] = []
    if instance_mask is None:
        for value in sorted(classes):
            comps, count = ndimage.label(class_mask == value)  # 4-connectivity
            for i in range(1, count + 1):
                m = comps == i
                if m.sum() >= min_area_px:
                    out.append((classes[value], m))
        return out
    if instance_mask.ndim == 3:
        flat = instance_mask.astype(np.int64)
        ids = (flat[..., 0] << 16) | (flat[..., 1] << 8) | flat[..., 2]
    else:
        ids = instance_mask.astype(np.int64)
    for inst in np.unique(ids):
        if inst == 0:
            continue
        m = ids == inst
        if m.sum() < min_area_px:
            continue
        values, counts = np.unique(class_mask[m], return_counts=True)
        majority = int(values[np.argmax(counts)])
        if majority in classes:
            out.append((classes[majority], m))
    return out


def convert_instance_masks(
    images_dir: str | Path,
    class_masks_dir: str | Path,
    classes: Mapping[int, str],
    *,
    instance_masks_dir: str | Path | None = None,
    root: str | Path | None = None,
    n_keypoints: int = 3,
    seed: int = 0,
    min_area_px: int = 16,
) -> ConversionReport:
    """Class (and instance) mask PNGs named like their images -> ``[seg]`` records per class.

    ``classes`` maps class-mask values to names; other values (background, no-data) are ignored.
    """
    if not classes:
        raise ValueError("classes must map at least one class-mask value to a name")
    images_dir, class_masks_dir = Path(images_dir), Path(class_masks_dir)
    root = Path(root) if root is not None else images_dir.parent
    report = ConversionReport("instance-masks")
    for mask_path in sorted(class_masks_dir.glob("*.png")):
        report.inputs += 1
        image = find_image(images_dir, mask_path.stem)
        if image is None:
            report.skip(mask_path, f"missing image: no {mask_path.stem}.* in {images_dir}")
            continue
        try:
            size = image_size_px(image)
            class_mask = read_mask(mask_path)
            inst = None
            if instance_masks_dir is not None:
                inst_path = Path(instance_masks_dir) / mask_path.name
                if not inst_path.exists():
                    report.skip(mask_path, f"missing instance mask: {inst_path}")
                    continue
                inst = read_mask(inst_path)
        except Exception as exc:
            report.skip(mask_path, f"unreadable file: {exc}")
            continue
        if class_mask.ndim != 2:
            report.skip(mask_path, "malformed class mask: expected one band of class values")
            continue
        if (class_mask.shape[1], class_mask.shape[0]) != size or (
            inst is not None and inst.shape[:2] != class_mask.shape
        ):
            report.skip(mask_path, "size mismatch: masks and image differ in size")
            continue
        by_class: dict[str, list[SegTarget]] = {}
        for k, (name, m) in enumerate(_instances(class_mask, inst, classes, min_area_px)):
            t = mask_to_seg_target(m, n_keypoints, seed=record_seed(seed, f"{mask_path.stem}:{k}"))
            by_class.setdefault(name, []).append(t)
        if not by_class:
            report.skip(mask_path, "no objects: no instance of a listed class")
            continue
        report.records += class_records(mask_path.stem, relative_path(image, root), by_class, Task.SEGMENTATION, size)
    return report


def rasterize_polygons(polygons: list[list[float]], size_px: tuple[int, int]) -> np.ndarray:
    """COCO polygons (flat ``[x1, y1, x2, y2, ...]`` lists in pixels, corner convention) -> bool mask
    ``(H, W)``; a pixel is in when its centre is."""
    import rasterio.features
    from affine import Affine
    from shapely.geometry import Polygon

    shapes = []
    for flat in polygons:
        pts = list(zip(flat[0::2], flat[1::2]))
        if len(pts) >= 3:
            poly = Polygon(pts)
            if not poly.is_valid:
                poly = poly.buffer(0)
            if not poly.is_empty:
                shapes.append((poly, 1))
    w, h = size_px
    if not shapes:
        return np.zeros((h, w), dtype=bool)
    return rasterio.features.rasterize(shapes, out_shape=(h, w), transform=Affine.identity(), dtype="uint8") > 0


def convert_coco(
    annotations: str | Path,
    images_dir: str | Path,
    *,
    root: str | Path | None = None,
    n_keypoints: int = 3,
    seed: int = 0,
    min_area_px: int = 16,
    include_crowd: bool = False,
) -> ConversionReport:
    """COCO-style instance polygons -> ``[seg]`` records per (image, category)."""
    annotations, images_dir = Path(annotations), Path(images_dir)
    root = Path(root) if root is not None else images_dir.parent
    try:
        coco: dict[str, Any] = json.loads(annotations.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        from ..errors import ConfigError

        raise ConfigError(f"cannot read COCO annotations {str(annotations)!r}: {exc}") from None
    names = {c["id"]: str(c["name"]) for c in coco.get("categories", [])}
    by_image: dict[Any, list[dict]] = {}
    report = ConversionReport("coco-polygons")
    for ann in coco.get("annotations", []):
        report.inputs += 1
        where = f"annotation {ann.get('id')}"
        seg = ann.get("segmentation")
        if ann.get("iscrowd") and not include_crowd:
            report.skip(where, "crowd annotation: skipped by setting")
        elif ann.get("category_id") not in names:
            report.skip(where, f"unknown category: {ann.get('category_id')!r}")
        elif not isinstance(seg, list) or not seg or not all(isinstance(p, list) for p in seg):
            report.skip(where, "unsupported segmentation: only polygon lists are read (not RLE)")
        else:
            by_image.setdefault(ann.get("image_id"), []).append(ann)
    for info in coco.get("images", []):
        anns = by_image.pop(info.get("id"), [])
        if not anns:
            continue
        image = images_dir / str(info.get("file_name", ""))
        try:
            size = image_size_px(image)
        except Exception as exc:
            for a in anns:
                report.skip(f"annotation {a.get('id')}", f"unreadable image: {exc}")
            continue
        if info.get("width") and info.get("height") and (int(info["width"]), int(info["height"])) != size:
            for a in anns:
                report.skip(f"annotation {a.get('id')}", "size mismatch: COCO width/height differ from the image")
            continue
        by_class: dict[str, list[SegTarget]] = {}
        for a in anns:
            m = rasterize_polygons(a["segmentation"], size)
            if m.sum() < min_area_px:
                report.skip(f"annotation {a.get('id')}", f"tiny object: fewer than {min_area_px} pixels inside")
                continue
            t = mask_to_seg_target(m, n_keypoints, seed=record_seed(seed, f"ann:{a.get('id')}"))
            by_class.setdefault(names[a["category_id"]], []).append(t)
        stem = Path(str(info.get("file_name"))).stem
        report.records += class_records(stem, relative_path(image, root), by_class, Task.SEGMENTATION, size)
    for image_id, anns in by_image.items():
        for a in anns:
            report.skip(f"annotation {a.get('id')}", f"missing image: image id {image_id!r} not listed")
    return report
