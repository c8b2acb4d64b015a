"""GeoChat-style dialect: rotated boxes ``{<x1><y1><x2><y2>|<θ>}`` on a 0..100 grid.

``x1, y1, x2, y2`` is the unrotated box, integers 0..100 over the image as sent ((0,0) top-left
corner, (100,100) bottom-right corner). ``θ`` is an angle in degrees (``|<θ>`` or ``|θ``, absent
means 0): the box is rotated about its centre *in pixel space* by θ, and a positive θ turns it
clockwise as seen on screen (x right, y down), i.e. ``x' = cx + dx cosθ - dy sinθ``,
``y' = cy + dx sinθ + dy cosθ``. The formatter folds θ into [0, 90) (swapping width and height),
as GeoChat's training data does. Labels are ``<p>label</p>`` before the boxes.

Requests use GeoChat's task words, as its evaluation scripts write them
(``geochat/eval/batch_geochat_grounding.py``, ``batch_geochat_referring.py``): ``[refer] Give me the
location of <p> planes </p>`` for detection and segmentation (the object phrase, without the user's verb),
``[identify] What is the object present at {...}`` for a region. GeoChat was not trained to filter a list of
regions by a condition (``chain_regions = False``): the chain asks it again with one referring phrase.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import shapely
from shapely.geometry import Polygon

from ..geometry import GeoObject, GeoPoint, ParseResult, PolygonRegion, RotatedBox, SegTarget
from ..geometry.types import XY, box_corners
from ..tasks import Task
from ._common import NUM, Collector, LabelTracker, clean_label, instruction_or_default, numbers, quantize, to_float
from .base import Dialect, ImageSize
from .chat import is_default_region_request
from .phrases import bare_phrase

SCALE = 100
FRAME = (SCALE, SCALE)

_ITEM_RE = re.compile(r"<p>(?P<ref>[^<]*)</p>|\{(?P<box>[^{}]*)\}")
_COORD_RE = re.compile(rf"<\s*({NUM})\s*>")
_MARKER_RE = re.compile(r"<p>|\{\s*<")


def rotate_box(bbox_px: tuple[float, float, float, float], theta_deg: float) -> list[XY]:
    """Corners (TL, TR, BR, BL before rotation) of a horizontal pixel box turned by ``theta_deg``
    about its centre; positive is clockwise on screen (y down)."""
    x1, y1, x2, y2 = bbox_px
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    t = math.radians(theta_deg)
    c, s = math.cos(t), math.sin(t)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in box_corners(bbox_px)]


def box_and_angle(corners_px: Sequence[XY]) -> tuple[tuple[float, float, float, float], float]:
    """Inverse of :func:`rotate_box` for a rectangle: unrotated pixel box and θ in [0, 90) degrees."""
    (x0, y0), (x1, y1), (x2, y2) = corners_px[0], corners_px[1], corners_px[2]
    cx = sum(p[0] for p in corners_px) / 4.0
    cy = sum(p[1] for p in corners_px) / 4.0
    w = math.hypot(x1 - x0, y1 - y0)
    h = math.hypot(x2 - x1, y2 - y1)
    theta = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 180.0
    if theta >= 90.0:
        theta -= 90.0
        w, h = h, w
    return (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0), theta


class GeoChatDialect(Dialect):
    """GeoChat rotated boxes on a 0..100 grid (see module doc for the angle convention)."""

    name = "geochat"
    tasks = frozenset({Task.DETECTION, Task.SEGMENTATION, Task.CAPTION, Task.IDENTIFY, Task.VQA, Task.CLASSIFY})
    chain_regions = False

    def build_prompt(
        self, task: Task, instruction: str, image_size: ImageSize, regions: Sequence[GeoObject] = ()
    ) -> str:
        boxes = [r for r in regions if not isinstance(r, GeoPoint)]
        self.check_request(task, boxes, "GeoChat")
        if task is Task.IDENTIFY:  # the region alone: its name is what is asked
            boxes = [r.with_(label=None) for r in boxes]
        regions_text = " ".join(self._format_one(r, image_size) for r in boxes)
        if task is Task.IDENTIFY:
            text = "What is the object present at" if is_default_region_request(instruction) else instruction.strip()
            return f"[identify] {text} {regions_text}".rstrip()
        if task in (Task.DETECTION, Task.SEGMENTATION):
            return f"[refer] Give me the location of <p> {instruction_or_default(task, bare_phrase(instruction))} </p>"
        return instruction_or_default(task, instruction)

    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Answer -> objects in pixels of the image as sent; never raises on bad model output."""
        text = text if isinstance(text, str) else ""
        col = Collector(text, task, image_size)
        labels = LabelTracker(text)
        covered: list[tuple[int, int]] = []
        for m in _ITEM_RE.finditer(text):
            if m.group("ref") is not None:
                covered.append(m.span())
                labels.set(m.group("ref"), m.start(), m.end())
                continue
            inner = m.group("box")
            if "<" not in inner:
                continue  # braces in free text
            covered.append(m.span())
            label, start = labels.take(m.start(), m.end())
            self._box(col, inner, label, (start, m.end()))
        col.warn_leftovers(_MARKER_RE, covered)
        return col.result()

    def _box(self, col: Collector, inner: str, label: str | None, span: tuple[int, int]) -> None:
        left, _, right = inner.partition("|")
        coords = [to_float(v) for v in _COORD_RE.findall(left)]
        if _COORD_RE.sub("", left).strip() or len(coords) != 4:
            col.warn(span[0], f"box needs <x1><y1><x2><y2>, got {len(coords)} coordinate(s): ignored")
            return
        angle = numbers(right)
        if len(angle) > 1 or (right.strip() and not angle):
            col.warn(span[0], "malformed angle after '|': taken as 0")
        theta = angle[0] if len(angle) == 1 and math.isfinite(angle[0]) else 0.0
        (x1, y1), (x2, y2) = col.frame_to_px([(coords[0], coords[1]), (coords[2], coords[3])], FRAME, span[0])
        if theta % 180.0 == 0.0:
            col.add_hbox((x1, y1, x2, y2), label, span)
            return
        if theta % 180.0 == 90.0:  # a quarter turn is a horizontal box with its sides swapped
            cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, abs(y2 - y1) / 2, abs(x2 - x1) / 2
            box = col.clip_px([(cx - hw, cy - hh), (cx + hw, cy + hh)], span[0])
            col.add_hbox((box[0][0], box[0][1], box[1][0], box[1][1]), label, span)
            return
        corners = col.clip_px(rotate_box((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), theta), span[0])
        col.add_quad(corners, label, span)

    def _format_one(self, obj: GeoObject, image_size: ImageSize) -> str:
        if isinstance(obj, SegTarget):
            bbox, theta = obj.bbox, 0.0
        elif isinstance(obj, RotatedBox):
            bbox, theta = box_and_angle(obj.corners)
        elif isinstance(obj, PolygonRegion):
            rect = shapely.minimum_rotated_rectangle(Polygon(obj.exterior))
            pts = list(rect.exterior.coords)[:4] if isinstance(rect, Polygon) else []
            if len(pts) == 4:
                bbox, theta = box_and_angle(pts)
            else:
                xs, ys = [p[0] for p in obj.exterior], [p[1] for p in obj.exterior]
                bbox, theta = (min(xs), min(ys), max(xs), max(ys)), 0.0
        else:
            raise TypeError(f"cannot write {type(obj).__name__} in GeoChat's syntax")
        theta_i = round(theta)
        if theta_i == 90:  # rounding up to 90 is the same box with sides swapped at 0
            cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
            hw, hh = (bbox[3] - bbox[1]) / 2, (bbox[2] - bbox[0]) / 2
            bbox, theta_i = (cx - hw, cy - hh, cx + hw, cy + hh), 0
        w, h = image_size
        q = [quantize(v, w if i % 2 == 0 else h, SCALE) for i, v in enumerate(bbox)]
        label = clean_label(obj.label)
        prefix = f"<p>{label}</p> " if label else ""
        return prefix + "{" + "".join(f"<{v}>" for v in q) + f"|<{theta_i}>" + "}"

    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """One object per line (GeoPoints are not expressible and are skipped)."""
        return "\n".join(self._format_one(o, image_size) for o in objects if not isinstance(o, GeoPoint))
