"""How the chat-model families (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, InternVL) lay out a request.

Each family gives three pieces in its own convention (sources in the README's prompt table):

- ``find_request(task, phrase)``: its grounding request for an object phrase ("all planes"), e.g. Qwen3-VL's
  ``Locate every object that matches the description "planes" in the image. Report bbox coordinates in JSON
  format.``;
- ``format_regions(regions, image_size)``: boxes in its own markup and coordinate frame;
- ``region_question(region_text, instruction)`` (shared here): a region caption request.

From these, :func:`chat_prompt` writes every task: the find request from the instruction's object phrase
(never the user's verb plus another one); a later condition-chain step as "Of these objects: <regions>."
followed by the find request for its refinement ("the ones on the east bank of the river"); change detection
with a sentence saying which image is which; text tasks with the user's own words.
"""

from __future__ import annotations

from typing import Sequence

from ..geometry import GeoObject, GeoPoint
from ..tasks import Task
from ._common import DEFAULT_INSTRUCTION
from .base import ImageSize
from .phrases import as_sentence, object_phrase

CHANGE_PREAMBLE = "The first image was taken before, the second after."
GPS_HINT = "Answer with the location as <gps>[latitude, longitude]</gps> in degrees."
OBJECT_TASKS = frozenset({Task.DETECTION, Task.SEGMENTATION, Task.CHANGE})


def default_phrase(task: Task) -> str:
    return DEFAULT_INSTRUCTION[task]


def is_default_region_request(instruction: str) -> bool:
    """Whether a region caption instruction only asks for a description (no question of the user's own)."""
    text = " ".join((instruction or "").lower().split()).strip(" .?!")
    return text in ("", "describe this region", "describe this", "describe the region", "what is this")


def region_question(region_text: str, instruction: str) -> str:
    """A region caption request: "What is the object at <region>?" (ms-swift's caption prompt, with the region
    in the family's markup), or the user's own question followed by the region."""
    if is_default_region_request(instruction):
        return f"What is the object at {region_text}?"
    return f"{as_sentence(instruction)} Region: {region_text}"


def chat_prompt(dialect, task: Task, instruction: str, image_size: ImageSize,
                regions: Sequence[GeoObject] = ()) -> str:
    """The request text of a chat-model family for ``task`` (see module doc). ``dialect`` provides
    ``find_request``, ``format_regions`` and ``format_region``; ``regions`` are in pixels of the image as sent."""
    boxes = [r for r in regions if not isinstance(r, GeoPoint)]
    if task in OBJECT_TASKS:
        phrase = object_phrase(instruction) or default_phrase(task)
        text = dialect.find_request(task, phrase)
        if boxes:
            text = f"Of these objects: {dialect.format_regions(boxes, image_size)}. {text}"
        return f"{CHANGE_PREAMBLE} {text}" if task is Task.CHANGE else text
    if task is Task.IDENTIFY:
        region_text = ", ".join(dialect.format_region(r, image_size) for r in boxes)
        return region_question(region_text, instruction)
    text = " ".join((instruction or "").split()) or DEFAULT_INSTRUCTION[task]
    if task is Task.GEOLOCATION:
        return f"{as_sentence(text)} {GPS_HINT}"
    return text
