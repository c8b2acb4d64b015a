"""Qwen-VL family dialects: horizontal boxes in three coordinate conventions.

Requests follow each version's own grounding prompts (see the README's prompt table and ``chat``):

- Qwen2-VL: ``Find <|object_ref_start|>planes<|object_ref_end|>`` (the referring phrase between the
  object-reference tokens, as ms-swift's Qwen2-VL template and grounding prompts write it; Qwen2-VL paper,
  arXiv:2409.12191, "visual grounding");
- Qwen2.5-VL: ``Locate all planes in the image, report the bbox coordinates in JSON format.`` (the
  spatial-understanding cookbook);
- Qwen3-VL: ``Locate every object that matches the description "planes" in the image. Report bbox
  coordinates in JSON format.`` (the 2D-grounding cookbook and the technical report's grounding prompt).

Answers:

- Qwen2-VL: ``<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``,
  integers 0..1000 over the image as sent.
- Qwen2.5-VL: a JSON list (often in a ```json fence) of ``{"bbox_2d": [x1, y1, x2, y2],
  "label": ...}`` (optionally ``"point_2d": [x, y]``) in ABSOLUTE pixels of the model input after
  the processor's ``smart_resize``; scaled back to the image as sent here.
- Qwen3-VL: the same JSON with coordinates 0..1000 relative to the image.

Boxes become the task's geometry (see ``Collector.add_hbox``); a box with ``point_2d`` becomes a
SegTarget with those keypoints. A ``point_2d`` without a box is reported and dropped: a lone point
is not one of the set-of-points geometries. Rotated boxes and polygons are written as their
horizontal envelope (lossy); geolocation answers use ``<gps>[lat, lon]</gps>``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Sequence

from ..geometry import GeoObject, GeoPoint, ParseResult, SegTarget
from ..tasks import Task
from ._common import (
    Collector,
    LabelTracker,
    clean_label,
    envelope_px,
    format_gps,
    numbers,
    quantize_xy,
    scan_pairs,
)
from .base import Dialect, ImageSize
from .chat import chat_prompt
from .phrases import strip_quantifier

NORM_FRAME = (1000, 1000)


def smart_resize(
    width: int,
    height: int,
    factor: int = 28,
    min_pixels: int = 56 * 56,
    max_pixels: int = 28 * 28 * 1280,
) -> tuple[int, int]:
    """Qwen2-VL/2.5-VL processor resize rule, returned as ``(width, height)`` in pixels.

    Each side is rounded to a multiple of ``factor`` (at least ``factor``), then both are scaled by a
    common factor (floor when over ``max_pixels``, ceil when under ``min_pixels``) keeping the aspect.
    """
    w, h = max(int(width), 1), max(int(height), 1)
    h_bar = max(factor, round(h / factor) * factor)
    w_bar = max(factor, round(w / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        h_bar = max(factor, math.floor(h / beta / factor) * factor)
        w_bar = max(factor, math.floor(w / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        h_bar = math.ceil(h * beta / factor) * factor
        w_bar = math.ceil(w * beta / factor) * factor
    return w_bar, h_bar


# ------------------------------------------------------------------------------------------------
class Qwen2VLDialect(Dialect):
    """Qwen2-VL special-token boxes, 0..1000."""

    name = "qwen2-vl"

    _ITEM_RE = re.compile(
        r"<\|object_ref_start\|>(?P<ref>[^<]*)<\|object_ref_end\|>"
        r"|<\|box_start\|>(?P<box>[^<]*)<\|box_end\|>"
        r"|<gps>\s*\[(?P<gps>[^\[\]<>]*)\]\s*</gps>"
    )
    _MARKER_RE = re.compile(r"<\|object_ref_start\|>|<\|box_start\|>|<gps>")

    def _box_text(self, obj: GeoObject, image_size: ImageSize) -> str:
        env = envelope_px(obj)
        x1, y1 = quantize_xy(env[:2], image_size, NORM_FRAME)
        x2, y2 = quantize_xy(env[2:], image_size, NORM_FRAME)
        return f"<|box_start|>({x1},{y1}),({x2},{y2})<|box_end|>"

    def _format_one(self, obj: GeoObject, image_size: ImageSize) -> str:
        if isinstance(obj, GeoPoint):
            return format_gps(obj)
        label = clean_label(obj.label)
        ref = f"<|object_ref_start|>{label}<|object_ref_end|>" if label else ""
        return ref + self._box_text(obj, image_size)

    # -- prompts (see ``chat``) ----------------------------------------------------------------
    def find_request(self, task: Task, phrase: str) -> str:
        return f"Find <|object_ref_start|>{strip_quantifier(phrase)}<|object_ref_end|>"

    def format_regions(self, regions: Sequence[GeoObject], image_size: ImageSize) -> str:
        return ", ".join(self._format_one(r, image_size) for r in regions)

    def format_region(self, region: GeoObject, image_size: ImageSize) -> str:
        return self._box_text(region, image_size)

    def build_prompt(
        self, task: Task, instruction: str, image_size: ImageSize, regions: Sequence[GeoObject] = ()
    ) -> str:
        return chat_prompt(self, task, instruction, image_size, regions)

    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Answer -> objects in pixels of the image as sent; never raises on bad model output."""
        text = text if isinstance(text, str) else ""
        col = Collector(text, task, image_size)
        labels = LabelTracker(text)
        covered: list[tuple[int, int]] = []
        for m in self._ITEM_RE.finditer(text):
            covered.append(m.span())
            if m.lastgroup == "ref":
                labels.set(m.group("ref"), m.start(), m.end())
            elif m.lastgroup == "gps":
                col.add_gps(m.group("gps"), m.span())
            else:
                label, start = labels.take(m.start(), m.end())
                span = (start, m.end())
                pairs, leftover = scan_pairs(m.group("box"))
                if leftover or len(pairs) != 2:
                    col.warn(span[0], f"box needs (x1,y1),(x2,y2), got {len(pairs)} point(s): ignored")
                    continue
                (x1, y1), (x2, y2) = col.frame_to_px(pairs, NORM_FRAME, span[0])
                col.add_hbox((x1, y1, x2, y2), label, span)
        col.warn_leftovers(self._MARKER_RE, covered)
        return col.result()

    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """One object per line; non-horizontal geometry written as its envelope; ``None`` if empty."""
        lines = [self._format_one(o, image_size) for o in objects]
        return "\n".join(lines) if lines else "None"


# ------------------------------------------------------------------------------------------------
_BBOX_RE = re.compile(r"""["']bbox_2d["']\s*:\s*\[([^\[\]]*)\]""")
_POINT_RE = re.compile(r"""["']point_2d["']\s*:\s*\[((?:[^\[\]]|\[[^\[\]]*\])*)\]""")
#: ``"keypoint1": [x, y], "keypoint2": [x, y]`` (Geo-R1's segmentation answers), read in order
_KEYPOINT_RE = re.compile(r"""["']keypoint\d*["']\s*:\s*\[([^\[\]]*)\]""")
#: the final answer of models that think first (``<think>...</think><answer>...</answer>``)
_ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL)
_LABEL_RE = re.compile(r""""label"\s*:\s*"((?:[^"\\]|\\.)*)"|'label'\s*:\s*'((?:[^'\\]|\\.)*)'""")
_JSON_MARKER_RE = re.compile(r"""["'](?:bbox_2d|point_2d|keypoint\d*)["']|<gps>""")


def _point_text(block: str) -> str | None:
    """The numbers of a block's ``point_2d`` (one point or a list of points), else of its ``keypoint1``,
    ``keypoint2``... in order; ``None`` when it has neither."""
    point_m = _POINT_RE.search(block)
    if point_m is not None:
        return point_m.group(1)
    keypoints = _KEYPOINT_RE.findall(block)
    return ", ".join(keypoints) if keypoints else None


def answer_section(text: str) -> str:
    """``text`` with everything outside its ``<answer>...</answer>`` section blanked (same length, so spans
    stay those of ``text``); ``text`` itself when it has no such section. Boxes a model mentions while it
    thinks are not its answer."""
    m = _ANSWER_RE.search(text)
    if m is None:
        return text
    start, end = m.span(1)
    return " " * start + text[start:end] + " " * (len(text) - end)


def json_leaf_blocks(text: str) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of the innermost ``{...}`` blocks of ``text``, skipping braces inside
    quoted strings (double or single quotes, only tracked inside a block so that apostrophes in free
    text do not matter). Unterminated blocks are left out."""
    out: list[tuple[int, int]] = []
    stack: list[list] = []  # [start, has_child]
    quote = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if c == quote or c == "\n":  # a string never spans lines: recover from a stray quote
                quote = None
        elif c in "\"'" and stack:
            quote = c
        elif c == "{":
            if stack:
                stack[-1][1] = True
            stack.append([i, False])
        elif c == "}" and stack:
            start, has_child = stack.pop()
            if not has_child:
                out.append((start, i + 1))
        i += 1
    return out


def _decode_label(raw: str | None, quoted_by: str) -> str | None:
    if raw is None:
        return None
    if quoted_by == '"':
        try:
            return json.loads(f'"{raw}"')
        except ValueError:
            return raw
    return raw.replace("\\'", "'")


#: the answer layout asked for segmentation: a box and a point inside each object (SAM2 prompts), given by
#: example as the Qwen cookbooks do for extra keys
SEG_EXAMPLE = '[{"bbox_2d": [x1, y1, x2, y2], "point_2d": [x, y], "label": "name"}]'


class _QwenJsonDialect(Dialect):
    """Shared JSON grounding format of Qwen2.5-VL and Qwen3-VL; subclasses pick the frame and the wording."""

    def frame(self, image_size: ImageSize) -> tuple[int, int]:
        """Size of the coordinate frame of ``bbox_2d`` for an image of ``image_size``."""
        raise NotImplementedError

    def _json_obj(self, obj: GeoObject, image_size: ImageSize, *, keypoints: bool = True, label: bool = True) -> str:
        """``{"bbox_2d": [...], "point_2d": ..., "label": ...}`` in this dialect's frame (the envelope of
        non-horizontal geometry; ``point_2d`` for a segmentation target's keypoints)."""
        frame = self.frame(image_size)
        env = envelope_px(obj)
        x1, y1 = quantize_xy(env[:2], image_size, frame)
        x2, y2 = quantize_xy(env[2:], image_size, frame)
        parts = [f'"bbox_2d": [{x1}, {y1}, {x2}, {y2}]']
        if keypoints and isinstance(obj, SegTarget) and obj.keypoints:
            pts = [quantize_xy(p, image_size, frame) for p in obj.keypoints]
            if len(pts) == 1:
                parts.append(f'"point_2d": [{pts[0][0]}, {pts[0][1]}]')
            else:
                parts.append('"point_2d": [' + ", ".join(f"[{x}, {y}]" for x, y in pts) + "]")
        if label and obj.label:
            parts.append('"label": ' + json.dumps(str(obj.label), ensure_ascii=False))
        return "{" + ", ".join(parts) + "}"

    # -- prompts (see ``chat``) ----------------------------------------------------------------
    def find_request(self, task: Task, phrase: str) -> str:
        raise NotImplementedError

    def format_regions(self, regions: Sequence[GeoObject], image_size: ImageSize) -> str:
        return "[" + ", ".join(self._json_obj(r, image_size, keypoints=False) for r in regions) + "]"

    def format_region(self, region: GeoObject, image_size: ImageSize) -> str:
        return self._json_obj(region, image_size, keypoints=False, label=False)

    def build_prompt(
        self, task: Task, instruction: str, image_size: ImageSize, regions: Sequence[GeoObject] = ()
    ) -> str:
        return chat_prompt(self, task, instruction, image_size, regions)

    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Answer -> objects in pixels of the image as sent; never raises on bad model output. Only the
        ``<answer>`` section is read when there is one."""
        text = text if isinstance(text, str) else ""
        col = Collector(answer_section(text), task, image_size)
        frame = self.frame(image_size)
        covered: list[tuple[int, int]] = []
        col.scan_gps(covered)
        for block_span in json_leaf_blocks(col.text):
            block = col.text[block_span[0] : block_span[1]]
            bbox_m = _BBOX_RE.search(block)
            point_text = _point_text(block)
            if bbox_m is None and point_text is None:
                continue  # some other JSON object
            covered.append(block_span)
            span = block_span
            label_m = _LABEL_RE.search(block)
            label = None
            if label_m is not None:
                raw, quote = (label_m.group(1), '"') if label_m.group(1) is not None else (label_m.group(2), "'")
                label = (_decode_label(raw, quote) or "").strip() or None
            keypoints_px: list[tuple[float, float]] = []
            if point_text is not None:
                vals = numbers(point_text)
                if len(vals) % 2:
                    col.warn(span[0], "point_2d with an odd count of numbers: last one ignored")
                pairs = list(zip(vals[0::2], vals[1::2]))
                keypoints_px = col.frame_to_px(pairs, frame, span[0])
            if bbox_m is None:
                col.warn(span[0], "point_2d without bbox_2d ignored: a lone point is not a supported geometry")
                continue
            vals = numbers(bbox_m.group(1))
            if len(vals) != 4:
                col.warn(span[0], f"bbox_2d needs [x1, y1, x2, y2], got {len(vals)} number(s): ignored")
                continue
            (x1, y1), (x2, y2) = col.frame_to_px([(vals[0], vals[1]), (vals[2], vals[3])], frame, span[0])
            col.add_hbox((x1, y1, x2, y2), label, span, keypoints_px)
        col.warn_leftovers(_JSON_MARKER_RE, covered)
        result = col.result()
        result.text = text
        return result

    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """A fenced JSON list (non-horizontal geometry as its envelope), then any ``<gps>`` lines."""
        boxes = [self._json_obj(o, image_size) for o in objects if not isinstance(o, GeoPoint)]
        gps = [format_gps(o) for o in objects if isinstance(o, GeoPoint)]
        out = []
        if boxes or not gps:
            out.append("```json\n[\n" + ",\n".join(f"\t{b}" for b in boxes) + ("\n" if boxes else "") + "]\n```")
        out.extend(gps)
        return "\n".join(out)


class Qwen25VLDialect(_QwenJsonDialect):
    """Qwen2.5-VL: JSON boxes in absolute pixels of the resized model input.

    ``factor``, ``min_pixels`` and ``max_pixels`` must match the processor the engine runs with.
    """

    name = "qwen2.5-vl"

    def __init__(self, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 28 * 28 * 1280):
        self.factor = int(factor)
        self.min_pixels = int(min_pixels)
        self.max_pixels = int(max_pixels)

    def model_input_size(self, image_size: ImageSize) -> ImageSize:
        """``(width, height)`` after Qwen's smart_resize with this dialect's settings."""
        return smart_resize(image_size[0], image_size[1], self.factor, self.min_pixels, self.max_pixels)

    def frame(self, image_size: ImageSize) -> tuple[int, int]:
        return self.model_input_size(image_size)

    def find_request(self, task: Task, phrase: str) -> str:
        """The spatial-understanding cookbook's "Locate ..., report the bbox coordinates in JSON format.";
        the answer is in absolute pixels of the resized input, which the model does by default."""
        if task is Task.SEGMENTATION:
            return (f"Locate {phrase} in the image, report the bbox coordinates and a point inside each object "
                    f"in JSON format: {SEG_EXAMPLE}.")
        return f"Locate {phrase} in the image, report the bbox coordinates in JSON format."


class Qwen3VLDialect(_QwenJsonDialect):
    """Qwen3-VL: JSON boxes with coordinates 0..1000 relative to the image."""

    name = "qwen3-vl"

    def frame(self, image_size: ImageSize) -> tuple[int, int]:
        return NORM_FRAME

    def find_request(self, task: Task, phrase: str) -> str:
        """The 2D-grounding cookbook's referring prompt; 0-1000 coordinates are the model's default."""
        head = f'Locate every object that matches the description "{strip_quantifier(phrase)}" in the image.'
        if task is Task.SEGMENTATION:
            return f"{head} Report bbox coordinates and a point inside each object in JSON format: {SEG_EXAMPLE}."
        return f"{head} Report bbox coordinates in JSON format."
