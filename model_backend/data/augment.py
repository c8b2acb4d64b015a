"""Cyclic-referring self-augmentation: region -> phrase and phrase -> region samples.

From a referring record (``[detection]``, ``[seg]`` or ``[change]``: phrase in the question, regions
in the answer) it makes an ``[identify]`` record with the regions in the question (set-of-points,
canonical dialect) and the phrase as the answer. From an ``[identify]`` record it makes the reverse:
the phrase in the question and the regions as the answer, the task chosen from the geometry (four
corners: ``[detection]``, box+keypoints or polygon on one image: ``[seg]``, two images: ``[change]``).

Only single-turn records with objects are used; the phrase is the record's ``phrase`` field or else
its instruction after the tag. Object labels are dropped from the regions written into a question
(they would give the answer away). Whether a record is augmented is drawn with probability ``ratio``
from a generator seeded by ``seed`` and the record's content hash, so the result does not depend on
record order. Records whose normalised content hash was already seen are dropped, originals included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..dialects import get_dialect
from ..geometry import GeoObject, PolygonRegion, RotatedBox, SegTarget
from ..tasks import Task, split_tag
from .records import CANONICAL_DIALECT, content_hash, human_turn, record_images, record_turns, strip_image_tokens

# Coordinates in records are 0..1000 integers over the image: parsing and formatting them over a
# 1000 x 1000 frame is exact, whatever the image's pixel size.
_FRAME = (1000, 1000)
_REFERRING = (Task.DETECTION, Task.SEGMENTATION, Task.CHANGE)


@dataclass
class AugmentReport:
    """Counts of one augmentation run."""

    originals: int = 0
    duplicates_dropped: int = 0
    identify_added: int = 0
    refer_added: int = 0
    unusable: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"cyclic augmentation: {self.originals} records -> {len(self.records)} "
            f"(+{self.identify_added} identify, +{self.refer_added} referring, "
            f"{self.duplicates_dropped} duplicates dropped, {self.unusable} not usable as a source)"
        )


def _geometry(objects: Sequence[GeoObject]) -> list[GeoObject]:
    return [o.with_(label=None, score=None) for o in objects]


def identify_from_referring(record: dict[str, Any]) -> dict[str, Any] | None:
    """The ``[identify]`` record of a referring record, or ``None`` if it cannot be one."""
    task = Task(record.get("task")) if record.get("task") in {t.value for t in Task} else None
    turns = _single_turn(record)
    if task not in _REFERRING or turns is None:
        return None
    question, answer = turns
    qtask, instruction = split_tag(strip_image_tokens(question))
    if qtask is not task:
        return None
    dialect = get_dialect(CANONICAL_DIALECT)
    parsed = dialect.parse(answer, task, _FRAME)
    if record.get("phrase"):
        phrase = str(record["phrase"]).strip()
    elif _free_text(answer, parsed.objects):
        return None  # the answer says more than the regions (a caption): the instruction is no phrase
    else:
        phrase = instruction.strip()
    regions = _geometry(parsed.objects)
    if not phrase or not regions or parsed.warnings:
        return None
    images = record_images(record)
    prompt = dialect.build_prompt(Task.IDENTIFY, "", _FRAME, regions)
    return _derived(record, "identify", images, _question(prompt, len(images)), phrase, Task.IDENTIFY)


def referring_from_identify(record: dict[str, Any]) -> dict[str, Any] | None:
    """The referring record (phrase -> regions) of an ``[identify]`` record, or ``None``."""
    turns = _single_turn(record)
    if record.get("task") != Task.IDENTIFY.value or turns is None:
        return None
    question, phrase = turns
    qtask, rest = split_tag(strip_image_tokens(question))
    phrase = phrase.strip()
    if qtask is not Task.IDENTIFY or not phrase:
        return None
    dialect = get_dialect(CANONICAL_DIALECT)
    parsed = dialect.parse(rest, Task.IDENTIFY, _FRAME)
    regions = _geometry(parsed.objects)
    if not regions or parsed.warnings:
        return None
    images = record_images(record)
    kinds = {type(r) for r in regions}
    if len(images) == 2:
        task = Task.CHANGE
    elif kinds == {RotatedBox}:
        task = Task.DETECTION
    elif kinds <= {SegTarget, PolygonRegion}:
        task = Task.SEGMENTATION
    else:
        return None
    answer = dialect.format_objects(regions, task, _FRAME)
    return _derived(record, "refer", images, human_turn(task, phrase, len(images)), answer, task, phrase=phrase)


def cyclic_augment(records: Iterable[dict[str, Any]], *, ratio: float = 0.5, seed: int = 0) -> AugmentReport:
    """Originals (deduplicated) followed by the derived records (see module doc)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be within 0..1, got {ratio}")
    report = AugmentReport()
    seen: set[str] = set()
    originals: list[dict[str, Any]] = []
    for rec in records:
        report.originals += 1
        h = content_hash(rec)
        if h in seen:
            report.duplicates_dropped += 1
            continue
        seen.add(h)
        originals.append(rec)
    derived: list[dict[str, Any]] = []
    for rec in originals:
        if random.Random(f"{seed}:{content_hash(rec)}").random() >= ratio:
            continue
        if rec.get("task") == Task.IDENTIFY.value:
            new, counter = referring_from_identify(rec), "refer_added"
        else:
            new, counter = identify_from_referring(rec), "identify_added"
        if new is None:
            report.unusable += 1
            continue
        h = content_hash(new)
        if h in seen:
            report.duplicates_dropped += 1
            continue
        seen.add(h)
        derived.append(new)
        setattr(report, counter, getattr(report, counter) + 1)
    report.records = originals + derived
    return report


def _single_turn(record: dict[str, Any]) -> tuple[str, str] | None:
    try:
        turns = record_turns(record)
    except Exception:
        return None
    return turns[0] if len(turns) == 1 else None


def _free_text(answer: str, objects: Sequence[GeoObject]) -> bool:
    """Whether ``answer`` has text besides its objects' markup (and separators)."""
    rest = list(answer)
    for obj in objects:
        if obj.span:
            rest[obj.span[0] : obj.span[1]] = [" "] * (obj.span[1] - obj.span[0])
    return bool("".join(rest).strip(" \t\r\n;"))


def _question(prompt: str, n_images: int) -> str:
    return "\n".join(["<image>"] * n_images + [prompt])


def _derived(
    source: dict[str, Any], kind: str, images: list[str], question: str, answer: str, task: Task, **extra: Any
) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": f"{source.get('id', '')}:{kind}"}
    if len(images) == 1:
        rec["image"] = images[0]
    else:
        rec["images"] = images
    rec["conversations"] = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    rec["task"] = task.value
    if "size" in source:
        rec["size"] = source["size"]
    rec["augmented"] = kind
    rec["source_id"] = source.get("id")
    rec.update(extra)
    return rec
