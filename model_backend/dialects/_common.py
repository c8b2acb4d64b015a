"""Building blocks shared by the dialect parsers and formatters.

Parsers read numbers in the model's own coordinate frame (``frame = (fx, fy)``: ``(1000, 1000)`` for
0-1000 normalised dialects, ``(100, 100)`` for GeoChat, the resized input size for Qwen2.5-VL) and
hand them to a :class:`Collector`, which clips them to the frame, converts them to pixels of the
image as sent (corner convention: frame value 0 is the image's left/top edge, ``fx``/``fy`` its
right/bottom edge), builds valid geometry and records warnings instead of raising.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from typing import Iterable, Sequence

from ..geometry import GeoObject, GeoPoint, ParseResult, PolygonRegion, RotatedBox, SegTarget
from ..geometry.norm import px_to_norm
from ..geometry.rings import sanitize_quad, sanitize_ring
from ..geometry.types import XY, Span, box_corners
from ..tasks import Task, split_tag

#: a number as models write them (no exponents: a stray "e" is text, not a number)
NUM = r"[-+]?\d+(?:\.\d+)?"
NUM_RE = re.compile(NUM)
#: ``(x, y)``
PAIR_RE = re.compile(rf"\(\s*({NUM})\s*,\s*({NUM})\s*\)")
#: ``<gps>[lat, lon]</gps>``, inner text checked separately so that malformed content is reported
GPS_RE = re.compile(r"<gps>\s*\[([^\[\]<>]*)\]\s*</gps>")

#: what a prompt says when the caller gives no instruction
DEFAULT_INSTRUCTION = {
    Task.DETECTION: "all objects",
    Task.SEGMENTATION: "the main object",
    Task.CHANGE: "all changed regions",
    Task.CAPTION: "Describe the image in detail.",
    Task.IDENTIFY: "Describe this region.",
    Task.VQA: "What is in the image?",
    Task.CLASSIFY: "Classify the scene of the image.",
    Task.GEOLOCATION: "Where was this image taken?",
}

MAX_WARNINGS = 50


def instruction_or_default(task: Task, instruction: str) -> str:
    """The caller's instruction, stripped, or the task's default when it is empty."""
    text = (instruction or "").strip()
    return text if text else DEFAULT_INSTRUCTION[task]


def to_float(s: str) -> float:
    """A matched ``NUM`` as float; absurdly long digit strings become ``inf`` (clipped later)."""
    try:
        return float(s)
    except (ValueError, OverflowError):
        return math.inf


def numbers(s: str) -> list[float]:
    """All numbers in ``s`` in order."""
    return [to_float(m.group()) for m in NUM_RE.finditer(s)]


def has_separator(s: str) -> bool:
    """Objects are separated by newlines or ``;``."""
    return "\n" in s or ";" in s


def clean_label(label: str | None, forbidden: str = "<>{}[]|\n\r;") -> str | None:
    """A label made safe to write into markup: forbidden characters become spaces; empty -> None."""
    if label is None:
        return None
    out = "".join(" " if c in forbidden else c for c in str(label))
    out = " ".join(out.split())
    return out or None


def envelope_px(obj: GeoObject) -> tuple[float, float, float, float] | None:
    """Horizontal bounding box ``(x1, y1, x2, y2)`` in pixels of any geometry (None for GeoPoint)."""
    if isinstance(obj, SegTarget):
        return obj.bbox
    if isinstance(obj, GeoPoint):
        return None
    ring = obj.ring
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return (min(xs), min(ys), max(xs), max(ys))


def quantize(value_px: float, size_px: float, scale: int) -> int:
    """Pixel coordinate -> integer ``0..scale`` of a frame spanning the image (rounded, clipped)."""
    return px_to_norm(value_px, size_px, scale)


def quantize_xy(xy: XY, image_size: tuple[int, int], frame: tuple[int, int]) -> tuple[int, int]:
    return (quantize(xy[0], image_size[0], frame[0]), quantize(xy[1], image_size[1], frame[1]))


def dedupe_consecutive(points: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Quantised ring without consecutive repeats (also across the closing edge)."""
    out: list[tuple[int, int]] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    while len(out) >= 2 and out[0] == out[-1]:
        out.pop()
    return out


def _axis_aligned(corners: Sequence[XY]) -> bool:
    span = max(max(abs(c) for c in p) for p in corners) or 1.0
    tol = 1e-9 * span
    for i in range(4):
        (x0, y0), (x1, y1) = corners[i], corners[(i + 1) % 4]
        if abs(x0 - x1) > tol and abs(y0 - y1) > tol:
            return False
    return True


class LabelTracker:
    """Carries a label (``<ref>plane</ref>``) over to the geometries after it until a separator
    (newline or ``;``) or the next label; the first geometry's span starts at the label."""

    def __init__(self, text: str):
        self._text = text
        self._label: str | None = None
        self._active = False
        self._label_start = 0
        self._pending = False
        self._last_end = 0

    def set(self, label: str | None, start: int, end: int) -> None:
        self._label = (label or "").strip() or None
        self._active = True
        self._label_start = start
        self._pending = True
        self._last_end = end

    def take(self, geom_start: int, geom_end: int) -> tuple[str | None, int]:
        """Label for a geometry at ``[geom_start, geom_end)`` and the start of its span."""
        if self._active and has_separator(self._text[self._last_end : geom_start]):
            self._active = False
            self._label = None
            self._pending = False
        label = self._label if self._active else None
        start = self._label_start if (self._active and self._pending) else geom_start
        self._pending = False
        self._last_end = geom_end
        return label, start


class Collector:
    """Gathers the objects and warnings of one answer in pixels of the image as sent."""

    def __init__(self, text: str, task: Task, image_size: tuple[int, int]):
        self.text = text
        self.task = task
        self.width = float(image_size[0])
        self.height = float(image_size[1])
        self.objects: list[GeoObject] = []
        self.warnings: list[str] = []
        self._dropped_warnings = 0

    # -- bookkeeping -------------------------------------------------------------------------
    def warn(self, at: int, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"at character {at}: {message}")
        else:
            self._dropped_warnings += 1

    def result(self) -> ParseResult:
        warnings = list(self.warnings)
        if self._dropped_warnings:
            warnings.append(f"{self._dropped_warnings} more warning(s) not shown")
        objects = sorted(self.objects, key=lambda o: o.span[0] if o.span else -1)
        return ParseResult(objects=objects, text=self.text, warnings=warnings)

    # -- coordinates ---------------------------------------------------------------------------
    def frame_to_px(self, points: Iterable[tuple[float, float]], frame: tuple[float, float], at: int) -> list[XY]:
        """Model-frame points -> pixels, clipping to the frame (one warning per call if needed)."""
        fx, fy = float(frame[0]), float(frame[1])
        out: list[XY] = []
        clipped = False
        for x, y in points:
            cx = min(max(x, 0.0), fx) if not math.isnan(x) else 0.0
            cy = min(max(y, 0.0), fy) if not math.isnan(y) else 0.0
            clipped = clipped or cx != x or cy != y
            out.append((cx / fx * self.width, cy / fy * self.height))
        if clipped:
            self.warn(at, f"coordinates outside 0..{fx:g} x 0..{fy:g} clipped to the image")
        return out

    def clip_px(self, points: Iterable[XY], at: int) -> list[XY]:
        """Pixel points clipped to the image rectangle (one warning per call if needed)."""
        out: list[XY] = []
        clipped = False
        for x, y in points:
            cx = min(max(x, 0.0), self.width) if not math.isnan(x) else 0.0
            cy = min(max(y, 0.0), self.height) if not math.isnan(y) else 0.0
            clipped = clipped or cx != x or cy != y
            out.append((cx, cy))
        if clipped:
            self.warn(at, "points outside the image clipped to it")
        return out

    # -- geometry builders (all inputs already in pixels, inside the image) --------------------
    def add_polygon(self, points_px: Sequence[XY], label: str | None, span: Span) -> None:
        ring, warning = sanitize_ring(points_px)
        if warning:
            self.warn(span[0], warning)
        if ring is not None:
            self.objects.append(PolygonRegion(ring, label=label, span=span))

    def add_quad(self, corners_px: Sequence[XY], label: str | None, span: Span, as_task: bool = True) -> None:
        """A four-corner box. ``as_task``: a horizontal one becomes the task's geometry (SegTarget for
        seg) and any becomes a PolygonRegion for change; otherwise it stays a RotatedBox."""
        corners, warning = sanitize_quad(corners_px)
        if warning:
            self.warn(span[0], warning)
        if corners is None:
            return
        if as_task and self.task is Task.CHANGE:
            self.objects.append(PolygonRegion(corners, label=label, span=span))
        elif as_task and self.task is Task.SEGMENTATION and _axis_aligned(corners):
            xs = [p[0] for p in corners]
            ys = [p[1] for p in corners]
            self.objects.append(SegTarget((min(xs), min(ys), max(xs), max(ys)), label=label, span=span))
        else:
            self.objects.append(RotatedBox(tuple(corners), label=label, span=span))

    def add_hbox(
        self,
        bbox_px: tuple[float, float, float, float],
        label: str | None,
        span: Span,
        keypoints_px: Sequence[XY] = (),
    ) -> None:
        """A horizontal box as the task wants it: SegTarget when it has keypoints or the task is seg,
        PolygonRegion for change, an axis-aligned RotatedBox otherwise."""
        x1, y1, x2, y2 = bbox_px
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        if not (x2 > x1 and y2 > y1):
            self.warn(span[0], "degenerate box (zero width or height) dropped")
            return
        if keypoints_px or self.task is Task.SEGMENTATION:
            self.objects.append(SegTarget((x1, y1, x2, y2), tuple(keypoints_px), label=label, span=span))
        elif self.task is Task.CHANGE:
            self.objects.append(PolygonRegion(box_corners((x1, y1, x2, y2)), label=label, span=span))
        else:
            self.objects.append(RotatedBox(tuple(box_corners((x1, y1, x2, y2))), label=label, span=span))

    def add_gps(self, inner: str, span: Span) -> None:
        vals = numbers(inner)
        if len(vals) != 2:
            self.warn(span[0], f"<gps> needs [lat, lon], got {len(vals)} number(s): ignored")
            return
        lat, lon = vals
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            self.warn(span[0], f"<gps> latitude/longitude out of range ({lat:g}, {lon:g}): ignored")
            return
        self.objects.append(GeoPoint(lat, lon, span=span))

    def scan_gps(self, covered: list[Span]) -> None:
        """Add every ``<gps>[lat, lon]</gps>`` of the text (and mark it covered)."""
        for m in GPS_RE.finditer(self.text):
            self.add_gps(m.group(1), m.span())
            covered.append(m.span())

    def warn_leftovers(self, marker_re: re.Pattern, covered: Sequence[Span]) -> None:
        """Warn about geometry markup that no complete object consumed (truncated or malformed)."""
        # A position is covered when some span starting at or before it ends after it: with spans sorted
        # by start, that is the running maximum of their ends (one bisect per marker, not a scan: long
        # answers have thousands of markers and spans).
        spans = sorted(covered)
        starts = [s for s, _e in spans]
        reach = list(itertools.accumulate((e for _s, e in spans), max))
        for m in marker_re.finditer(self.text):
            pos = m.start()
            i = bisect.bisect_right(starts, pos)
            if i == 0 or reach[i - 1] <= pos:
                self.warn(pos, f"incomplete or malformed markup {m.group()!r} ignored (answer cut off?)")


def scan_pairs(inner: str) -> tuple[list[tuple[float, float]], bool]:
    """``(x, y)`` pairs in ``inner`` and whether anything other than pairs and separators is left."""
    pairs = [(to_float(a), to_float(b)) for a, b in PAIR_RE.findall(inner)]
    rest = PAIR_RE.sub("", inner)
    leftover = bool(rest.strip(" \t\r\n,;"))
    return pairs, leftover


def format_gps(obj: GeoPoint) -> str:
    """``<gps>[lat, lon]</gps>`` with 6 decimals (about 0.1 m)."""
    return f"<gps>[{obj.lat:.6f}, {obj.lon:.6f}]</gps>"


def strip_own_tag(task: Task, instruction: str) -> str:
    """Drop a leading ``[tag]`` equal to ``task``'s from a user instruction (it is added again)."""
    found, rest = split_tag(instruction or "")
    return rest if found is task else (instruction or "").strip()
