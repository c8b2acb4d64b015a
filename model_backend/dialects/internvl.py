"""InternVL dialect: ``<ref>label</ref><box>[[x1,y1,x2,y2], ...]</box>``, integers 0..1000.

Requests use the model card's grounding prompt, ``Please provide the bounding box coordinates of the region
this sentence describes: <ref>planes</ref>``, and write regions as ``<box>[[x1, y1, x2, y2]]</box>`` (the
format of InternVL's own ``<ref>``/``<box>`` tokens; see ``chat`` for the layout of every task).

Coordinates are normalised over the image as sent ((0,0) top-left, (1000,1000) bottom-right). One
``<box>`` may hold several boxes for one label. Boxes become the task's geometry (see
``Collector.add_hbox``); other geometry is written as its horizontal envelope (lossy). A ``<box>``
cut off before ``</box>`` still yields its complete inner boxes, with a warning.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..geometry import GeoObject, GeoPoint, ParseResult
from ..tasks import Task
from ._common import (
    NUM,
    Collector,
    LabelTracker,
    clean_label,
    envelope_px,
    format_gps,
    quantize_xy,
    to_float,
)
from .base import Dialect, ImageSize
from .chat import chat_prompt
from .phrases import strip_quantifier

FRAME = (1000, 1000)

_ITEM_RE = re.compile(
    r"<ref>(?P<ref>[^<]*)</ref>"
    r"|<box>(?P<box>[^<]*)(?P<close></box>)?"
    r"|<gps>\s*\[(?P<gps>[^\[\]<>]*)\]\s*</gps>"
)
_QUAD_RE = re.compile(rf"\[\s*({NUM})\s*,\s*({NUM})\s*,\s*({NUM})\s*,\s*({NUM})\s*\]")
_MARKER_RE = re.compile(r"<ref>|<gps>")


class InternVLDialect(Dialect):
    """InternVL grounding boxes, 0..1000."""

    name = "internvl"
    GROUNDING = "Please provide the bounding box coordinates of the region this sentence describes: <ref>{}</ref>"

    def _quad_text(self, obj: GeoObject, image_size: ImageSize) -> str:
        env = envelope_px(obj)
        x1, y1 = quantize_xy(env[:2], image_size, FRAME)
        x2, y2 = quantize_xy(env[2:], image_size, FRAME)
        return f"[{x1}, {y1}, {x2}, {y2}]"

    # -- prompts (see ``chat``) ----------------------------------------------------------------
    def find_request(self, task: Task, phrase: str) -> str:
        return self.GROUNDING.format(strip_quantifier(phrase))

    def format_regions(self, regions: Sequence[GeoObject], image_size: ImageSize) -> str:
        return " ".join(self.format_objects(regions, Task.DETECTION, image_size).splitlines())

    def format_region(self, region: GeoObject, image_size: ImageSize) -> str:
        return f"<box>[{self._quad_text(region, image_size)}]</box>"

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
        for m in _ITEM_RE.finditer(text):
            covered.append(m.span())
            if m.group("ref") is not None:
                labels.set(m.group("ref"), m.start(), m.end())
            elif m.group("gps") is not None:
                col.add_gps(m.group("gps"), m.span())
            else:
                self._box(col, labels, m)
        col.warn_leftovers(_MARKER_RE, covered)
        return col.result()

    def _box(self, col: Collector, labels: LabelTracker, m: re.Match) -> None:
        inner, inner_start = m.group("box"), m.start("box")
        quads = list(_QUAD_RE.finditer(inner))
        if m.group("close") is None:
            col.warn(m.start(), f"<box> without </box> (answer cut off?): {len(quads)} complete box(es) kept")
        elif not quads:
            col.warn(m.start(), "<box> without any [x1, y1, x2, y2] ignored")
        elif _QUAD_RE.sub("", inner).strip(" \t\r\n,[]"):
            col.warn(m.start(), "malformed text inside <box> ignored")
        if not quads:
            return
        for i, q in enumerate(quads):
            start = m.start() if i == 0 else inner_start + q.start()
            end = m.end() if i == len(quads) - 1 else inner_start + q.end()
            label, start = labels.take(start, end)
            vals = [to_float(v) for v in q.groups()]
            (x1, y1), (x2, y2) = col.frame_to_px([(vals[0], vals[1]), (vals[2], vals[3])], FRAME, start)
            col.add_hbox((x1, y1, x2, y2), label, (start, end))

    def _format_group(self, group: Sequence[GeoObject], image_size: ImageSize) -> str:
        label = clean_label(group[0].label)
        ref = f"<ref>{label}</ref>" if label else ""
        return ref + "<box>[" + ", ".join(self._quad_text(o, image_size) for o in group) + "]</box>"

    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """One line per run of same-label objects (boxes of one label share a ``<box>``); envelope
        boxes for non-horizontal geometry; ``None`` if empty."""
        lines: list[str] = []
        group: list[GeoObject] = []
        for obj in objects:
            if isinstance(obj, GeoPoint):
                continue
            if group and (obj.label is None or clean_label(obj.label) != clean_label(group[0].label)):
                lines.append(self._format_group(group, image_size))
                group = []
            group.append(obj)
        if group:
            lines.append(self._format_group(group, image_size))
        lines.extend(format_gps(o) for o in objects if isinstance(o, GeoPoint))
        return "\n".join(lines) if lines else "None"
