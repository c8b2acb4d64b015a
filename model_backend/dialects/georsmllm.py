"""The canonical GeoRSMLLM dialect: the text protocol external GeoRSMLLM servers speak.

Request: ``"[tag] instruction"`` (tags from ``Task.tag``); regions for ``[identify]`` and chain steps
are appended in set-of-points. Answer geometry, coordinates integers 0..1000 over the image as sent
((0,0) top-left corner, (1000,1000) bottom-right corner, x right, y down), one object per line or
``;``-separated, each optionally preceded by ``<ref>label</ref>``:

- rotated box   ``{(x1,y1),(x2,y2),(x3,y3),(x4,y4)}`` (four corners in ring order, not closed)
- polygon       ``{(x1,y1),...,(xn,yn),(x1,y1)}`` (closed, or more than four points) or
                ``<rbox>({<x,y><x,y>...})</rbox>``
- seg target    ``<box>[x1,y1,x2,y2]</box><keypoint>[(x,y),...]</keypoint>`` (keypoints optional)
- geolocation   ``<gps>[lat, lon]</gps>`` (WGS84 degrees) anywhere in free text
- nothing       empty answer or ``None``
"""

from __future__ import annotations

import re
from typing import Sequence

from ..geometry import GeoObject, GeoPoint, ParseResult, PolygonRegion, RotatedBox, SegTarget
from ..tasks import Task
from ._common import (
    NUM,
    Collector,
    LabelTracker,
    clean_label,
    dedupe_consecutive,
    format_gps,
    instruction_or_default,
    numbers,
    quantize_xy,
    scan_pairs,
    strip_own_tag,
    to_float,
)
from .base import Dialect, ImageSize
from .phrases import bare_phrase

FRAME = (1000, 1000)

_ITEM_RE = re.compile(
    r"<ref>(?P<ref>[^<]*)</ref>"
    r"|<rbox>\s*\(?\s*\{(?P<rbox>[^{}]*)\}\s*\)?\s*</rbox>"
    r"|<box>\s*\[(?P<box>[^\[\]<>]*)\]\s*</box>"
    r"(?:\s*<keypoint>\s*\[(?P<kp>[^\[\]<>]*)\]\s*</keypoint>)?"
    r"|\{(?P<brace>[^{}]*)\}"
    r"|<gps>\s*\[(?P<gps>[^\[\]<>]*)\]\s*</gps>"
)
_MARKER_RE = re.compile(r"<ref>|<rbox>|<box>|<keypoint>|<gps>|\{\s*\(")
_ANGLE_PAIR_RE = re.compile(rf"<\s*({NUM})\s*,\s*({NUM})\s*>")


class GeoRSMLLMDialect(Dialect):
    """Prompt builder, parser and formatter of the canonical GeoRSMLLM protocol (see module doc)."""

    name = "georsmllm"

    # -- prompts ----------------------------------------------------------------------------
    def build_prompt(
        self,
        task: Task,
        instruction: str,
        image_size: ImageSize,
        regions: Sequence[GeoObject] = (),
    ) -> str:
        """``"[tag] instruction"`` plus the regions in set-of-points, ``;``-separated. For object tasks the
        instruction is its object phrase, as in the training data ("[detection] planes" for "detect all
        planes"; a chain step "select the ones on the east bank" -> "[detection] the ones on the east bank")."""
        text = strip_own_tag(task, instruction)
        if task in (Task.DETECTION, Task.SEGMENTATION, Task.CHANGE):
            text = bare_phrase(text)
        instr = instruction_or_default(task, text)
        text = f"{task.tag} {instr}"
        if regions:
            text += " " + "; ".join(self._format_one(r, image_size) for r in regions)
        return text

    # -- parsing ----------------------------------------------------------------------------
    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Answer -> objects in pixels of the image as sent; never raises on bad model output."""
        text = text if isinstance(text, str) else ""
        col = Collector(text, task, image_size)
        if text.strip() in ("", "None"):
            return col.result()
        labels = LabelTracker(text)
        covered: list[tuple[int, int]] = []
        for m in _ITEM_RE.finditer(text):
            kind = m.lastgroup if m.lastgroup != "kp" else "box"
            if kind == "ref":
                labels.set(m.group("ref"), m.start(), m.end())
                covered.append(m.span())
            elif kind == "gps":
                col.add_gps(m.group("gps"), m.span())
                covered.append(m.span())
            elif kind == "brace":
                if "(" not in m.group("brace"):
                    continue  # braces in free text, not geometry
                covered.append(m.span())
                label, start = labels.take(m.start(), m.end())
                self._brace(col, m.group("brace"), label, (start, m.end()))
            elif kind == "rbox":
                covered.append(m.span())
                label, start = labels.take(m.start(), m.end())
                self._rbox(col, m.group("rbox"), label, (start, m.end()))
            elif kind == "box":
                covered.append(m.span())
                label, start = labels.take(m.start(), m.end())
                self._seg(col, m.group("box"), m.group("kp"), label, (start, m.end()))
        col.warn_leftovers(_MARKER_RE, covered)
        return col.result()

    def _brace(self, col: Collector, inner: str, label: str | None, span: tuple[int, int]) -> None:
        pairs, leftover = scan_pairs(inner)
        if leftover:
            col.warn(span[0], "malformed point text inside {...} ignored")
        closed = len(pairs) >= 2 and pairs[0] == pairs[-1]
        if len(pairs) == 4 and not closed:
            col.add_quad(col.frame_to_px(pairs, FRAME, span[0]), label, span, as_task=False)
        elif len(pairs) >= 3:
            col.add_polygon(col.frame_to_px(pairs, FRAME, span[0]), label, span)
        else:
            col.warn(span[0], f"{{...}} with {len(pairs)} point(s) ignored (a box needs 4, a polygon 3)")

    def _rbox(self, col: Collector, inner: str, label: str | None, span: tuple[int, int]) -> None:
        pairs = [(to_float(a), to_float(b)) for a, b in _ANGLE_PAIR_RE.findall(inner)]
        if _ANGLE_PAIR_RE.sub("", inner).strip(" \t\r\n,;"):
            col.warn(span[0], "malformed point text inside <rbox> ignored")
        if len(pairs) < 3:
            col.warn(span[0], f"<rbox> with {len(pairs)} point(s) ignored (a polygon needs 3)")
            return
        col.add_polygon(col.frame_to_px(pairs, FRAME, span[0]), label, span)

    def _seg(
        self, col: Collector, box: str, kp: str | None, label: str | None, span: tuple[int, int]
    ) -> None:
        vals = numbers(box)
        if len(vals) != 4:
            col.warn(span[0], f"<box> needs [x1,y1,x2,y2], got {len(vals)} number(s): ignored")
            return
        keypoints_px: list[tuple[float, float]] = []
        if kp is not None:
            pairs, leftover = scan_pairs(kp)
            if leftover:
                col.warn(span[0], "malformed <keypoint> text ignored")
            keypoints_px = col.frame_to_px(pairs, FRAME, span[0])
        (x1, y1), (x2, y2) = col.frame_to_px([(vals[0], vals[1]), (vals[2], vals[3])], FRAME, span[0])
        col.add_hbox((x1, y1, x2, y2), label, span, keypoints_px)

    # -- formatting -------------------------------------------------------------------------
    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """Objects -> answer lines (``None`` when there is none). Polygon holes are not written;
        labels lose the characters ``<>{}[]|;`` and line breaks."""
        lines = [self._format_one(o, image_size) for o in objects]
        return "\n".join(lines) if lines else "None"

    def _format_one(self, obj: GeoObject, image_size: ImageSize) -> str:
        if isinstance(obj, GeoPoint):
            return format_gps(obj)
        label = clean_label(obj.label)
        prefix = f"<ref>{label}</ref>" if label else ""
        q = lambda p: quantize_xy(p, image_size, FRAME)  # noqa: E731
        if isinstance(obj, RotatedBox):
            body = "{" + ",".join(f"({x},{y})" for x, y in map(q, obj.corners)) + "}"
        elif isinstance(obj, SegTarget):
            x1, y1 = q(obj.bbox[:2])
            x2, y2 = q(obj.bbox[2:])
            body = f"<box>[{x1},{y1},{x2},{y2}]</box>"
            if obj.keypoints:
                body += "<keypoint>[" + ",".join(f"({x},{y})" for x, y in map(q, obj.keypoints)) + "]</keypoint>"
        elif isinstance(obj, PolygonRegion):
            ring = dedupe_consecutive([q(p) for p in obj.exterior])
            ring = ring + ring[:1]
            body = "{" + ",".join(f"({x},{y})" for x, y in ring) + "}"
        else:
            raise TypeError(f"not a geometry object: {type(obj).__name__}")
        return prefix + body
