"""Bi-temporal change masks (LEVIR-MCI style) -> ``[change]`` records with closed polygons.

Layout under one split folder: ``A/<name>`` (before), ``B/<name>`` (after), ``label/<name>`` (change
mask, same size). The mask is one band of class values mapped to names by ``classes`` (default
``{1: "road", 2: "building"}``), or RGB colours mapped by ``colors`` (``{(r, g, b): name}``); other
values are "no change". An optional captions JSON (LEVIR-CC layout: ``{"images": [{"filename": ...,
"sentences": [{"raw": ...}, ...]}, ...]}``) adds one record per pair whose answer is the first
caption followed by every changed region labelled with its class.

Polygons come from ``vector.mask.mask_to_polygons`` (pixels of the mask, corner convention) and are
written closed by the canonical dialect, 0..1000 over the image. Records: ``[change] <class>`` -> all
changed regions of that class (images: before, then after).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import ConfigError
from ..geometry import PolygonRegion
from ..tasks import Task
from ..vector.mask import mask_to_polygons
from .masks import read_mask
from .records import ConversionReport, format_answer, image_size_px, make_record
from .rotated import IMAGE_SUFFIXES, relative_path

DEFAULT_CLASSES = {1: "road", 2: "building"}
CAPTION_INSTRUCTION = "Describe the changes and outline the changed regions."


def _read_captions(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read captions {str(path)!r}: {exc}") from None
    out: dict[str, str] = {}
    for item in data.get("images", []) if isinstance(data, dict) else []:
        sentences = item.get("sentences") or []
        raw = next((str(s.get("raw", "")).strip() for s in sentences if str(s.get("raw", "")).strip()), "")
        if item.get("filename") and raw:
            out[Path(str(item["filename"])).name] = raw
    return out


def _class_masks(
    mask: np.ndarray, classes: Mapping[int, str] | None, colors: Mapping[tuple[int, int, int], str] | None
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if mask.ndim == 3:
        if colors is None:
            if np.array_equal(mask[..., 0], mask[..., 1]) and np.array_equal(mask[..., 1], mask[..., 2]):
                mask = mask[..., 0].astype(np.int64)  # grey stored as RGB
            else:
                raise ValueError("colour mask: set colors={(r, g, b): name}")
        else:
            for rgb, name in colors.items():
                m = np.all(mask == np.asarray(rgb, dtype=mask.dtype), axis=2)
                out[name] = out[name] | m if name in out else m
            return out
    for value, name in (classes or DEFAULT_CLASSES).items():
        m = mask == value
        out[name] = out[name] | m if name in out else m
    return out


def convert_change(
    split_dir: str | Path,
    *,
    captions: str | Path | None = None,
    classes: Mapping[int, str] | None = None,
    colors: Mapping[tuple[int, int, int], str] | None = None,
    root: str | Path | None = None,
    min_area_px: float = 16.0,
    simplify_px: float = 1.0,
) -> ConversionReport:
    """``A/``, ``B/``, ``label/`` under ``split_dir`` -> ``[change]`` records (see module doc).
    Record image paths are relative to ``root`` (default ``split_dir``)."""
    split_dir = Path(split_dir)
    root = Path(root) if root is not None else split_dir
    report = ConversionReport("change-masks")
    label_dir = split_dir / "label"
    if not label_dir.is_dir():
        raise ConfigError(f"{str(split_dir)!r} has no label/ folder of change masks (LEVIR-MCI layout)")
    caption_of = _read_captions(Path(captions)) if captions else {}
    for mask_path in sorted(p for p in label_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        report.inputs += 1
        a, b = split_dir / "A" / mask_path.name, split_dir / "B" / mask_path.name
        if not a.exists() or not b.exists():
            report.skip(mask_path, f"missing image: A/{mask_path.name} or B/{mask_path.name} not found")
            continue
        try:
            size_a, size_b = image_size_px(a), image_size_px(b)
            mask = read_mask(mask_path)
            per_class = _class_masks(mask, classes, colors)
        except Exception as exc:
            report.skip(mask_path, f"unreadable file: {exc}")
            continue
        if size_a != size_b or (mask.shape[1], mask.shape[0]) != size_a:
            report.skip(mask_path, "size mismatch: before, after and mask differ in size")
            continue
        images = [relative_path(a, root), relative_path(b, root)]
        regions: dict[str, list[PolygonRegion]] = {}
        for name, m in per_class.items():
            polys = mask_to_polygons(m, min_area_px=min_area_px, simplify_px=simplify_px)
            if polys:
                regions[name] = polys
        for name in sorted(regions):
            answer = format_answer(regions[name], Task.CHANGE, size_a)
            report.records.append(
                make_record(f"{mask_path.stem}:{name}", images, Task.CHANGE, name, answer, size_a, phrase=name)
            )
        caption = caption_of.get(mask_path.name)
        if caption:
            labelled = [p.with_(label=name) for name in sorted(regions) for p in regions[name]]
            body = format_answer(labelled, Task.CHANGE, size_a) if labelled else ""
            answer = caption + ("\n" + body if body else "")
            report.records.append(
                make_record(f"{mask_path.stem}:caption", images, Task.CHANGE, CAPTION_INSTRUCTION, answer, size_a)
            )
        elif not regions:
            report.skip(mask_path, "no change: no region of a listed class and no caption")
    return report
