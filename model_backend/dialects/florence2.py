"""Florence-2 dialect: task-token prompts and ``<loc_N>`` answers.

Coordinates are 1000 bins per axis over the image as sent: a pixel coordinate ``x`` is written as
``floor(x / width * 1000)`` clipped to 0..999, and ``<loc_N>`` is read back at the bin centre,
``x = (N + 0.5) / 1000 * width`` (same for y with the height), as the Florence-2 processor does.

Answers are runs of ``<loc_N>`` tokens (optionally with ``<poly>``, ``</poly>``, ``<sep>``), each run
preceded by its label as plain text (``plane<loc_1><loc_2><loc_3><loc_4>``); ``<s>``, ``</s>`` and
``<pad>`` around it are ignored. A run is read as:

- polygons when it holds ``<poly>``/``<sep>`` markers, or in a seg answer unless it is exactly 4
  locs (``<REFERRING_EXPRESSION_SEGMENTATION>`` answers are x,y pairs);
- quad boxes of 8 locs (``<OCR_WITH_REGION>`` style, four corners) when the dialect is built with
  ``quad_boxes=True``, becoming rotated boxes;
- otherwise horizontal boxes of 4 locs ``x1 y1 x2 y2``, becoming the task's geometry.

A label applies to every object of its run. Florence-2 has no task for change detection, free VQA,
scene classification or geolocation: ``build_prompt`` raises ``ConfigError`` for those. Its task tokens
(the processor's ``task_prompts_with_input``) take one phrase or one region, never a list of regions with a
condition, so it cannot run the later steps of a condition chain on the previous step's boxes
(``chain_regions = False``): the chain asks it again with one referring phrase and warns.

Requests are the object phrase after the task token, without the user's verb: "detect all planes" ->
``<OPEN_VOCABULARY_DETECTION>planes`` (which the processor expands to "Locate planes in the image.").
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from ..errors import ConfigError
from ..geometry import GeoObject, GeoPoint, ParseResult, PolygonRegion, RotatedBox, SegTarget
from ..geometry.types import XY
from ..tasks import Task
from ._common import Collector, clean_label, envelope_px, to_float
from .base import Dialect, ImageSize
from .phrases import bare_phrase

BINS = 1000

_TOKEN_RE = re.compile(r"<loc_(\d+)>|<poly>|</poly>|<sep>")
_TAG_RE = re.compile(r"<[^<>]*>")
_MARKER_RE = re.compile(r"<loc_(?!\d+>)")


def quantize_bin(value_px: float, size_px: float) -> int:
    """Pixel coordinate -> Florence bin ``floor(value / size * 1000)`` clipped to 0..999."""
    if not math.isfinite(value_px):
        return 0 if value_px < 0 else BINS - 1
    return min(max(int(math.floor(value_px / size_px * BINS)), 0), BINS - 1)


def bin_to_px(n: float, size_px: float) -> float:
    """Florence bin -> pixel coordinate at the bin centre (``n`` already clipped to 0..999)."""
    return (n + 0.5) / BINS * size_px


def _loc_text(points: Sequence[XY], image_size: ImageSize) -> str:
    w, h = image_size
    return "".join(f"<loc_{quantize_bin(x, w)}><loc_{quantize_bin(y, h)}>" for x, y in points)


class Florence2Dialect(Dialect):
    """Florence-2 task tokens and ``<loc_N>`` bins (see module doc).

    ``quad_boxes``: read 8-loc groups as rotated quad boxes and write rotated boxes that way (for
    checkpoints fine-tuned on oriented boxes); otherwise rotated boxes are written as envelopes.
    """

    name = "florence-2"
    tasks = frozenset({Task.DETECTION, Task.SEGMENTATION, Task.CAPTION, Task.IDENTIFY})
    chain_regions = False

    def __init__(self, quad_boxes: bool = False):
        self.quad_boxes = bool(quad_boxes)

    # -- prompts ----------------------------------------------------------------------------
    def build_prompt(
        self, task: Task, instruction: str, image_size: ImageSize, regions: Sequence[GeoObject] = ()
    ) -> str:
        """A Florence-2 task token plus its text input (the caption task takes no text)."""
        boxes = [r for r in regions if not isinstance(r, GeoPoint)]
        self.check_request(task, boxes, "Florence-2")
        phrase = bare_phrase(instruction)
        if task is Task.DETECTION:
            return f"<OPEN_VOCABULARY_DETECTION>{phrase}" if phrase else "<OD>"
        if task is Task.SEGMENTATION:
            return f"<REFERRING_EXPRESSION_SEGMENTATION>{phrase or 'the main object'}"
        if task is Task.CAPTION:
            return "<MORE_DETAILED_CAPTION>"
        if len(boxes) != 1:
            raise ConfigError(
                f"Florence-2 describes exactly one region per request, got {len(boxes)}; send one region at a time"
            )
        env = envelope_px(boxes[0])
        return "<REGION_TO_DESCRIPTION>" + _loc_text([env[:2], env[2:]], image_size)

    # -- parsing ----------------------------------------------------------------------------
    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Answer -> objects in pixels of the image as sent; never raises on bad model output."""
        text = text if isinstance(text, str) else ""
        col = Collector(text, task, image_size)
        runs: list[list[re.Match]] = []
        for m in _TOKEN_RE.finditer(text):
            if runs and not text[runs[-1][-1].end() : m.start()].strip():
                runs[-1].append(m)
            else:
                runs.append([m])
        prev_end = 0
        for run in runs:
            label, label_start = self._label(text, prev_end, run[0].start())
            prev_end = run[-1].end()
            self._run(col, run, label, label_start)
        col.warn_leftovers(_MARKER_RE, [])
        return col.result()

    @staticmethod
    def _label(text: str, start: int, end: int) -> tuple[str | None, int]:
        """Plain text between two runs (tags removed) and where it starts; ``(None, end)`` if none."""
        gap = text[start:end]
        first = None
        pos = 0
        for m in _TAG_RE.finditer(gap):
            chunk = gap[pos : m.start()]
            if first is None and chunk.strip():
                first = start + pos + (len(chunk) - len(chunk.lstrip()))
            pos = m.end()
        chunk = gap[pos:]
        if first is None and chunk.strip():
            first = start + pos + (len(chunk) - len(chunk.lstrip()))
        label = " ".join(_TAG_RE.sub(" ", gap).split())
        return (label, first) if label and first is not None else (None, end)

    def _run(self, col: Collector, run: list[re.Match], label: str | None, label_start: int) -> None:
        locs = [m for m in run if m.group(1) is not None]
        if not locs:
            return
        groups: list[list[re.Match]]
        if len(locs) != len(run):  # <poly>/<sep> markers: every marked group is one polygon
            groups, cur = [], []
            for m in run:
                if m.group(1) is None:
                    if cur:
                        groups.append(cur)
                    cur = []
                else:
                    cur.append(m)
            if cur:
                groups.append(cur)
            kind = "poly"
        elif col.task is Task.SEGMENTATION and len(locs) != 4:
            groups, kind = [locs], "poly"
        else:
            size = 8 if self.quad_boxes else 4
            full = len(locs) - len(locs) % size
            if full < len(locs):
                col.warn(locs[full].start(), f"{len(locs) - full} <loc> token(s) left over after the boxes ignored")
            groups = [locs[i : i + size] for i in range(0, full, size)]
            kind = "quad" if size == 8 else "box"
        for i, group in enumerate(groups):
            start = label_start if (i == 0 and label is not None) else group[0].start()
            span = (start, group[-1].end())
            values = self._bins(col, group, span[0])
            w, h = col.width, col.height
            pts = [(bin_to_px(x, w), bin_to_px(y, h)) for x, y in zip(values[0::2], values[1::2])]
            if kind == "box":
                col.add_hbox((pts[0][0], pts[0][1], pts[1][0], pts[1][1]), label, span)
            elif kind == "quad":
                col.add_quad(pts, label, span)
            else:
                if len(values) % 2:
                    col.warn(span[0], "polygon with an odd number of <loc> tokens: last one ignored")
                col.add_polygon(pts, label, span)

    @staticmethod
    def _bins(col: Collector, group: list[re.Match], at: int) -> list[float]:
        values = [to_float(m.group(1)) for m in group]
        if any(v > BINS - 1 for v in values):
            col.warn(at, f"<loc> bins above {BINS - 1} clipped to the image")
        return [min(v, BINS - 1.0) for v in values]

    # -- formatting -------------------------------------------------------------------------
    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """Label then locs per object, no separators (Florence style); polygons in ``<poly>``;
        rotated boxes as 8 locs with ``quad_boxes`` else as their envelope; GeoPoints skipped.
        A label applies to its whole run when read back, so an unlabelled object after a labelled
        one takes that label."""
        out: list[str] = []
        for obj in objects:
            if isinstance(obj, GeoPoint):
                continue
            label = clean_label(obj.label, forbidden="<>\n\r") or ""
            if isinstance(obj, RotatedBox) and self.quad_boxes:
                body = _loc_text(obj.corners, image_size)
            elif isinstance(obj, PolygonRegion):
                body = "<poly>" + _loc_text(obj.exterior, image_size) + "</poly>"
            elif isinstance(obj, (RotatedBox, SegTarget)):
                env = envelope_px(obj)
                body = _loc_text([env[:2], env[2:]], image_size)
            else:
                raise TypeError(f"not a geometry object: {type(obj).__name__}")
            out.append(label + body)
        return "".join(out)
