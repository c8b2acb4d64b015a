"""The evaluation runner: benchmark records -> engine -> dialect parser -> metrics table.

Benchmark records are the instruction records of ``model_backend.data`` (first turn: question and
reference answer, the reference written in the canonical ``georsmllm`` dialect over the image), with
optional fields: ``benchmark`` (row group name, e.g. ``"DIOR-RSVG"``; default the task), ``mask``
(reference mask file, root-relative, nonzero = target; used instead of the reference answer for
``[seg]`` and ``[change]``; without it the reference regions are rasterised, a seg target as its
box), ``answers`` (accepted VQA answers), ``phrase`` (change class).

Metric per task (see ``metrics``): ``[detection]`` grounding (first predicted region vs first reference
region), ``[seg]`` referring segmentation (union of predicted regions as a mask; a seg target is its
segmenter mask when a segmenter is given, else its box), ``[change]`` change-region IoU per class,
``[vqa]`` accuracy, ``[classify]`` top-1. ``[caption]``/``[identify]``/``[geolocation]`` records are
skipped (no metric here). An answer is *unparsable* when a region task gets text with no region in it
(other than ``None``), or a text task gets an empty answer; it scores as a miss.

The prompt is built by the chosen dialect from the record's task and instruction, and the answer
parsed by the same dialect into pixels of the image (a dialect whose coordinates refer to a resized
model input maps them back itself): the same path the plugin's pipeline takes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..dialects import Dialect, get_dialect
from ..engines.base import Engine, EngineRequest
from ..errors import GeoRSMLLMError
from ..geometry import SegTarget
from ..tasks import Task, split_tag
from ..data.records import CANONICAL_DIALECT, record_images, record_turns, strip_image_tokens
from .metrics import (
    ChangeScore,
    GroundingScore,
    SegmentationScore,
    exact_match,
    mask_inter_union,
    polygon_iou,
    rasterize_rings,
)

_REGION_TASKS = (Task.DETECTION, Task.SEGMENTATION, Task.CHANGE)
_TEXT_TASKS = (Task.VQA, Task.CLASSIFY)


@dataclass
class SampleResult:
    """One evaluated record: the answer, whether it parsed, and its score (IoU or 0/1)."""

    id: str
    group: str
    task: str
    answer: str
    unparsable: bool
    score: float
    error: str | None = None


@dataclass
class EvalResult:
    """Metric rows, per-sample results and the records skipped (with reasons)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: list[SampleResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.rows,
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "samples": len(self.samples),
        }

    def to_markdown(self) -> str:
        lines = [
            "| benchmark | task | metric | value | samples | unparsable | unparsable rate |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r['benchmark']} | {r['task']} | {r['metric']} | {r['value']:.4f} | {r['count']} | "
                f"{r['unparsable']} | {r['unparsable_rate']:.4f} |"
            )
        if self.skipped:
            lines.append("")
            lines.append(f"{len(self.skipped)} record(s) skipped (see the JSON output for reasons).")
        return "\n".join(lines)


class _Group:
    def __init__(self, name: str, task: Task):
        self.name, self.task = name, task
        self.count = self.unparsable = 0
        self.grounding = GroundingScore()
        self.seg = SegmentationScore()
        self.change = ChangeScore()
        self.correct = 0

    def rows(self) -> list[dict[str, Any]]:
        if self.task is Task.DETECTION:
            metrics = [("acc@0.5", self.grounding.accuracy), ("mean_iou", self.grounding.mean_iou)]
        elif self.task is Task.SEGMENTATION:
            metrics = [("miou", self.seg.miou), ("oiou", self.seg.oiou), ("precision@0.5", self.seg.precision)]
        elif self.task is Task.CHANGE:
            metrics = [("miou", self.change.miou)] + [
                (f"iou[{name}]", v) for name, v in self.change.class_iou().items()
            ]
        else:
            metrics = [("accuracy" if self.task is Task.VQA else "top1", self.correct / self.count if self.count else 0.0)]
        rate = self.unparsable / self.count if self.count else 0.0
        return [
            dict(benchmark=self.name, task=self.task.value, metric=m, value=float(v), count=self.count,
                 unparsable=self.unparsable, unparsable_rate=rate)
            for m, v in metrics
        ]


def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _load_mask(path: Path, size_px: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im)
    mask = arr.any(axis=2) if arr.ndim == 3 else arr.astype(bool)
    if (mask.shape[1], mask.shape[0]) != tuple(size_px):
        raise GeoRSMLLMError(f"reference mask {path} is {mask.shape[1]}x{mask.shape[0]}, the image {size_px[0]}x{size_px[1]}")
    return mask


def evaluate(
    records: Iterable[dict[str, Any]],
    engine: Engine,
    *,
    dialect: str | Dialect | None = None,
    root: str | Path = ".",
    segmenter=None,
    max_new_tokens: int = 512,
    progress: Callable[[int], None] | None = None,
) -> EvalResult:
    """Run every record through ``engine`` and score it (see the module doc). ``dialect``: name or
    instance; default the engine's own (``engine.dialect``) or ``georsmllm``. ``root``: folder the
    record paths are relative to. The engine is loaded here if it is not."""
    if dialect is None:
        dialect = getattr(engine, "dialect", None) or CANONICAL_DIALECT
    dia = dialect if isinstance(dialect, Dialect) else get_dialect(dialect)
    canonical = get_dialect(CANONICAL_DIALECT)
    root = Path(root)
    engine.load()
    result = EvalResult()
    groups: dict[str, _Group] = {}
    for n, record in enumerate(records):
        rid = str(record.get("id", n))
        try:
            question, reference = record_turns(record)[0]
        except GeoRSMLLMError as exc:
            result.skipped.append((rid, str(exc)))
            continue
        qtask, instruction = split_tag(strip_image_tokens(question))
        task = Task(record["task"]) if record.get("task") in {t.value for t in Task} else qtask
        if task not in _REGION_TASKS + _TEXT_TASKS:
            result.skipped.append((rid, f"no metric for task {task.value if task else 'unknown'}"))
            continue
        try:
            images = [_load_rgb(root / p) for p in record_images(record)]
        except (OSError, ValueError) as exc:
            result.skipped.append((rid, f"unreadable image: {exc}"))
            continue
        if len(images) != task.images:
            result.skipped.append((rid, f"{task.tag} needs {task.images} image(s), the record has {len(images)}"))
            continue
        size = (int(images[0].shape[1]), int(images[0].shape[0]))
        name = str(record.get("benchmark") or task.value)
        group = groups.setdefault(name, _Group(name, task))
        if group.task is not task:
            result.skipped.append((rid, f"benchmark {name!r} mixes tasks {group.task.value} and {task.value}"))
            continue
        ref_objects = canonical.parse(reference, task, size).objects
        ref_mask = None
        if task in _REGION_TASKS:
            try:
                if record.get("mask"):
                    ref_mask = _load_mask(root / str(record["mask"]), size)
            except (OSError, GeoRSMLLMError) as exc:
                result.skipped.append((rid, f"unreadable reference mask: {exc}"))
                continue
            if task is Task.DETECTION and not ref_objects:
                result.skipped.append((rid, "the reference answer has no region"))
                continue
        prompt = dia.build_prompt(task, instruction, size)
        error = None
        try:
            text = engine.generate(EngineRequest(prompt=prompt, images=images, max_new_tokens=max_new_tokens)).text
        except GeoRSMLLMError as exc:
            text, error = "", str(exc)
        group.count += 1
        if task in _TEXT_TASKS:
            unparsable = not text.strip()
            refs = [str(a) for a in record.get("answers") or [reference]]
            score = float(exact_match(text, refs))
            group.correct += int(score)
        else:
            objects = dia.parse(text, task, size).objects  # the dialect maps its own frame to image pixels
            unparsable = not objects and text.strip() not in ("None", "")
            unparsable = unparsable or error is not None
            score = _score_regions(group, task, objects, ref_objects, ref_mask, size, images[0], segmenter,
                                   str(record.get("phrase") or instruction))
        group.unparsable += int(unparsable)
        result.samples.append(SampleResult(rid, name, task.value, text, unparsable, score, error))
        if progress is not None:
            progress(n + 1)
    for g in groups.values():
        if g.count:
            result.rows.extend(g.rows())
    return result


def _pred_mask(objects, size, image, segmenter) -> np.ndarray:
    rings = [o.ring for o in objects if not isinstance(o, SegTarget) or segmenter is None]
    mask = rasterize_rings(rings, size)
    targets = [o for o in objects if isinstance(o, SegTarget)]
    if segmenter is not None and targets:
        for seg in segmenter.segment_masks(image, targets):
            mask |= np.asarray(seg.mask, bool)
    return mask


def _score_regions(group, task, objects, ref_objects, ref_mask, size, image, segmenter, cls) -> float:
    if task is Task.DETECTION:
        iou = polygon_iou(objects[0].ring, ref_objects[0].ring) if objects else 0.0
        group.grounding.add(iou)
        return iou
    if ref_mask is None:
        ref_mask = rasterize_rings([o.ring for o in ref_objects], size)
    pred = _pred_mask(objects, size, image, segmenter if task is Task.SEGMENTATION else None)
    if task is Task.SEGMENTATION:
        inter, union = mask_inter_union(pred, ref_mask)
        group.seg.add(inter, union)
        return inter / union if union else 1.0
    group.change.add(cls, pred, ref_mask)
    inter, union = mask_inter_union(pred, ref_mask)
    return inter / union if union else 1.0


def write_outputs(result: EvalResult, markdown: str | Path | None, json_path: str | Path | None,
                  details: str | Path | None = None) -> None:
    """Write the Markdown table, the JSON summary and the per-sample JSON lines where paths are given."""
    if markdown:
        Path(markdown).write_text(result.to_markdown() + "\n", encoding="utf-8")
    if json_path:
        Path(json_path).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    if details:
        with Path(details).open("w", encoding="utf-8") as f:
            for s in result.samples:
                f.write(json.dumps(asdict(s), ensure_ascii=False) + "\n")
