"""Rotated-box labels -> ``[detection]`` records with four-corner answers.

Two label formats, one text file per image (same stem as the image):

- ``dota``: ``x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]`` -- the four corners in pixels (corner
  convention), in ring order. Header lines (``imagesource:...``, ``gsd:...``) are ignored.
- ``cxcywha``: ``cx cy w h angle class [difficult]`` (SkySenseGPT/FIT-RS, VRSBench-style oriented
  boxes). Centre and sizes in pixels, or in ``0..coord_scale`` of the image when ``coord_scale`` is
  set (e.g. 100 or 1). Angle in degrees (``angle_unit="deg"``) or radians (``"rad"``); a positive
  angle turns the box's width axis from +x towards +y, i.e. CLOCKWISE on screen (image y points
  down). Use ``angle_sign=-1`` for labels whose positive angles turn counter-clockwise on screen.

Objects are grouped per class: one record ``[detection] <class>`` per (image, class) whose answer
lists every box of that class (GeoRSMLLM dialect, 0..1000 over the image).
"""

from __future__ import annotations

import math
from pathlib import Path
from ..geometry import RotatedBox
from ..tasks import Task
from .records import ConversionReport, class_records, image_size_px

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def rbox_corners(
    cx: float, cy: float, w: float, h: float, angle: float, *, angle_unit: str = "deg", angle_sign: int = 1
) -> list[tuple[float, float]]:
    """Corners of an oriented box in ring order, same frame as ``cx, cy`` (pixels, y down).

    The width axis is ``(cos a, sin a)`` with ``a = angle_sign * angle`` (clockwise on screen for
    positive ``a``); corners go (-w/2,-h/2), (+w/2,-h/2), (+w/2,+h/2), (-w/2,+h/2) in box axes.
    """
    if angle_unit not in ("deg", "rad"):
        raise ValueError(f"angle_unit must be 'deg' or 'rad', got {angle_unit!r}")
    if angle_sign not in (1, -1):
        raise ValueError(f"angle_sign must be 1 or -1, got {angle_sign!r}")
    a = angle_sign * (math.radians(angle) if angle_unit == "deg" else float(angle))
    ux, uy = math.cos(a), math.sin(a)
    vx, vy = -uy, ux
    out = []
    for sw, sh in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        out.append((cx + sw * w / 2 * ux + sh * h / 2 * vx, cy + sw * w / 2 * uy + sh * h / 2 * vy))
    return out


def parse_label_line(
    line: str,
    fmt: str,
    size_px: tuple[int, int],
    *,
    coord_scale: float | None = None,
    angle_unit: str = "deg",
    angle_sign: int = 1,
) -> tuple[RotatedBox, bool] | None:
    """One label line -> (box in pixels labelled with its class, difficult flag); ``None`` for a
    header or blank line; ``ValueError`` with the reason for a malformed line."""
    parts = line.split()
    if not parts or ":" in parts[0]:
        return None
    n = 8 if fmt == "dota" else 5 if fmt == "cxcywha" else None
    if n is None:
        raise ValueError(f"unknown label format {fmt!r} (use 'dota' or 'cxcywha')")
    if len(parts) < n + 1:
        raise ValueError(f"malformed label: expected {n} numbers and a class, got {len(parts)} fields")
    try:
        nums = [float(v) for v in parts[:n]]
    except ValueError:
        raise ValueError(f"malformed label: non-numeric coordinate in {line.strip()!r}") from None
    if not all(math.isfinite(v) for v in nums):
        raise ValueError("malformed label: non-finite coordinate")
    label = parts[n]
    difficult = len(parts) > n + 1 and parts[n + 1] not in ("0", "0.0")
    if fmt == "dota":
        corners = list(zip(nums[0::2], nums[1::2]))
    else:
        cx, cy, w, h, ang = nums
        if coord_scale:
            cx, w = cx / coord_scale * size_px[0], w / coord_scale * size_px[0]
            cy, h = cy / coord_scale * size_px[1], h / coord_scale * size_px[1]
        if w <= 0 or h <= 0:
            raise ValueError("degenerate box: width or height not positive")
        corners = rbox_corners(cx, cy, w, h, ang, angle_unit=angle_unit, angle_sign=angle_sign)
    if _ring_area(corners) <= 0:
        raise ValueError("degenerate box: zero area")
    w_px, h_px = size_px
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    if max(xs) <= 0 or max(ys) <= 0 or min(xs) >= w_px or min(ys) >= h_px:
        raise ValueError("box outside the image")
    return RotatedBox(tuple(corners), label=label), difficult


def _ring_area(pts: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]))) / 2


def find_image(images_dir: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for cand in (images_dir / (stem + suffix), images_dir / (stem + suffix.upper())):
            if cand.exists():
                return cand
    return None


def convert_rotated(
    images_dir: str | Path,
    labels_dir: str | Path,
    *,
    fmt: str = "dota",
    skip_difficult: bool = False,
    coord_scale: float | None = None,
    angle_unit: str = "deg",
    angle_sign: int = 1,
    root: str | Path | None = None,
) -> ConversionReport:
    """Label text files ``labels_dir/*.txt`` -> ``[detection]`` records (see module doc).

    Image paths in the records are relative to ``root`` (default: the parent of ``images_dir``).
    Unreadable files, lines and images are reported in the returned report, never raised.
    """
    images_dir, labels_dir = Path(images_dir), Path(labels_dir)
    root = Path(root) if root is not None else images_dir.parent
    report = ConversionReport(f"rotated-{fmt}")
    for label_path in sorted(labels_dir.glob("*.txt")):
        report.inputs += 1
        image = find_image(images_dir, label_path.stem)
        if image is None:
            report.skip(label_path, f"missing image: no {label_path.stem}.* in {images_dir}")
            continue
        try:
            size = image_size_px(image)
        except Exception as exc:
            report.skip(image, f"unreadable image: {exc}")
            continue
        by_class: dict[str, list[RotatedBox]] = {}
        text = label_path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            try:
                parsed = parse_label_line(
                    line, fmt, size, coord_scale=coord_scale, angle_unit=angle_unit, angle_sign=angle_sign
                )
            except ValueError as exc:
                report.skip(f"{label_path}:{n}", str(exc))
                continue
            if parsed is None:
                continue
            box, difficult = parsed
            if difficult and skip_difficult:
                report.skip(f"{label_path}:{n}", "difficult object: skipped by setting")
                continue
            by_class.setdefault(box.label, []).append(box.with_(label=None))
        if not by_class:
            report.skip(label_path, "no objects: no valid label line")
            continue
        report.records += class_records(label_path.stem, relative_path(image, root), by_class, Task.DETECTION, size)
    return report


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, or absolute when it is not under ``root``."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
