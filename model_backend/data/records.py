"""Instruction records (LLaVA-style JSON lines), the conversion report and small file helpers.

A record is a dict::

    {"id": "...", "image": "a.png" | "images": ["A/x.png", "B/x.png"],
     "conversations": [{"from": "human", "value": "<image>\\n[detection] plane"},
                       {"from": "gpt", "value": "{(12,30),(40,30),(40,52),(12,52)}"}],
     "task": "detection", "size": [width, height]}

Answers are written by the canonical ``georsmllm`` dialect (0..1000 over the image, see
``dialects.georsmllm``) so that training text and parsing agree. ``size`` is the image size in pixels
(width, height) that the normalised coordinates refer to; image paths are relative to the data root
the records were made from (or absolute).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..dialects import get_dialect
from ..errors import ConfigError
from ..geometry import GeoObject
from ..tasks import Task

IMAGE_TOKEN = "<image>"
CANONICAL_DIALECT = "georsmllm"


def image_size_px(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` in pixels of an image file, read from its header (pixels are not decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except FileNotFoundError:
        raise ConfigError(f"image {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read image {str(path)!r}: {exc}") from None


def human_turn(task: Task, instruction: str, n_images: int) -> str:
    """The question text: one ``<image>`` line per image, then ``"[tag] instruction"``."""
    return "\n".join([IMAGE_TOKEN] * n_images + [f"{task.tag} {instruction.strip()}".strip()])


def format_answer(objects: Sequence[GeoObject], task: Task, size_px: tuple[int, int]) -> str:
    """Objects in pixels of an image of ``size_px`` -> the canonical dialect's answer text."""
    return get_dialect(CANONICAL_DIALECT).format_objects(objects, task, size_px)


def make_record(
    record_id: str,
    images: Sequence[str],
    task: Task,
    question: str,
    answer: str,
    size_px: tuple[int, int],
    **extra: Any,
) -> dict[str, Any]:
    """One record; ``question`` is the instruction without tag or image tokens (both are added)."""
    if not images:
        raise ValueError("a record needs at least one image")
    record: dict[str, Any] = {"id": record_id}
    if len(images) == 1:
        record["image"] = str(images[0])
    else:
        record["images"] = [str(p) for p in images]
    record["conversations"] = [
        {"from": "human", "value": human_turn(task, question, len(images))},
        {"from": "gpt", "value": answer},
    ]
    record["task"] = task.value
    record["size"] = [int(size_px[0]), int(size_px[1])]
    record.update(extra)
    return record


def class_records(
    stem: str, image: str, by_class: dict[str, Sequence[GeoObject]], task: Task, size_px: tuple[int, int]
) -> list[dict[str, Any]]:
    """One record per class of an image (sorted by class name): the class name is the question and the
    phrase, its objects the answer; ids are ``<stem>:<class>``."""
    return [
        make_record(f"{stem}:{name}", [image], task, name, format_answer(by_class[name], task, size_px), size_px,
                    phrase=name)
        for name in sorted(by_class)
    ]


def record_images(record: dict[str, Any]) -> list[str]:
    """The record's image paths in order (``image`` or ``images``)."""
    if "images" in record:
        return [str(p) for p in record["images"]]
    if "image" in record:
        return [str(record["image"])]
    return []


def record_turns(record: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(question, answer), ...]`` of the record's conversation; ``ConfigError`` if malformed."""
    conv = record.get("conversations")
    if not isinstance(conv, list) or len(conv) < 2 or len(conv) % 2:
        raise ConfigError(f"record {record.get('id')!r}: 'conversations' must alternate human/gpt turns")
    turns = []
    for q, a in zip(conv[0::2], conv[1::2]):
        if q.get("from") != "human" or a.get("from") != "gpt":
            raise ConfigError(f"record {record.get('id')!r}: turns must go human, gpt, human, gpt ...")
        turns.append((str(q.get("value", "")), str(a.get("value", ""))))
    return turns


def strip_image_tokens(text: str) -> str:
    """Question text without ``<image>`` placeholders (and the line breaks after them)."""
    return re.sub(r"<image>\s*", "", text).strip()


def content_hash(record: dict[str, Any]) -> str:
    """SHA-1 of a record's normalised content: images, and conversation text lower-cased with runs of
    whitespace collapsed (ids, sizes and other metadata do not count)."""
    norm = lambda s: " ".join(str(s).lower().split())  # noqa: E731
    key = {
        "images": record_images(record),
        "turns": [[norm(t.get("from")), norm(t.get("value"))] for t in record.get("conversations", [])],
    }
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file (a plain JSON list is accepted too); ``ConfigError`` on bad lines."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"data file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None
        yield from data
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} line {n}: not valid JSON: {exc.msg}") from None


def write_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write records as JSON lines (UTF-8, atomically via a temporary file); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


@dataclass
class Skipped:
    """One input record left out, and why."""

    source: str
    reason: str


@dataclass
class ConversionReport:
    """What a converter read, wrote and skipped (with reasons)."""

    name: str
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    inputs: int = 0

    def skip(self, source: str | Path, reason: str) -> None:
        self.skipped.append(Skipped(str(source), reason))

    def summary(self) -> str:
        """One line: ``"dota: 12 inputs -> 30 records, 2 skipped (1 unreadable image, ...)"``."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            key = s.reason.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        why = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        line = f"{self.name}: {self.inputs} inputs -> {len(self.records)} records, {len(self.skipped)} skipped"
        return line + (f" ({why})" if why else "")
