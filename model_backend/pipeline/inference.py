"""Which task an instruction asks for: its tag, else the user's choice, else its wording."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..tasks import Task, split_tag

# Ordered: the first rule that matches wins. Patterns are matched on the lower-cased instruction.
_WORDING_RULES: list[tuple[Task, re.Pattern[str]]] = [
    (Task.CHANGE, re.compile(r"\bchang(e|es|ed)\b|\bnew (\w+ )?(buildings?|roads?|structures?)\b|"
                             r"\b(appeared|disappeared|demolished|between (the|these) two)\b|\bbefore and after\b")),
    (Task.GEOLOCATION, re.compile(r"\bgeolocat|"
                                  r"\bwhere (was|is|were) (this|these|the|it)( image| photo| picture| scene| tile)? ?"
                                  r"(taken|located|captured)|"
                                  r"\b(latitude|longitude|coordinates of this (image|scene))\b")),
    (Task.IDENTIFY, re.compile(r"\b(describe|caption) (these|the selected|this|each) (features?|regions?|objects?|boxes?)\b")),
    (Task.CLASSIFY, re.compile(r"\bclassify\b|\bscene (class|type|category)\b|\bwhich (class|category)\b|"
                               r"\bwhat kind of scene\b|\bone of\b.*[,/]")),
    (Task.SEGMENTATION, re.compile(r"\bsegment|\bmask(s)?\b|\boutline|\bdelineat|\bfootprints?\b|\bextent of\b")),
    (Task.CAPTION, re.compile(r"\b(describe|caption|summari[sz]e)\b( (this|the))? (image|scene|picture|area|tile)\b|"
                              r"^describe\b|\bwhat does (this|the) (image|scene) show\b")),
    (Task.VQA, re.compile(r"\bhow many\b|\bcount\b|\?\s*$|^(is|are|does|do|what|which|why|how)\b")),
    (Task.DETECTION, re.compile(r"\b(detect|find|locate|where are|box(es)?|mark|show me|identify all)\b")),
]


@dataclass(frozen=True)
class TaskChoice:
    """The task chosen and why: ``source`` is "tag", "user" or "inferred"; ``instruction`` has the tag removed."""

    task: Task
    source: str
    instruction: str
    reason: str = ""


def infer_task(instruction: str, user_task: Task | str | None = None, n_rasters: int = 1) -> TaskChoice:
    """Pick the task for an instruction.

    Precedence: a leading tag (``[seg] ...``) wins, then ``user_task``, then the wording. With two rasters and no
    tag or choice the task is change detection. The returned ``reason`` says what decided, for the run summary.
    """
    tag_task, text = split_tag(instruction)
    if tag_task is not None:
        return TaskChoice(tag_task, "tag", text, f"tag {tag_task.tag}")
    if user_task:
        task = user_task if isinstance(user_task, Task) else parse_task_name(user_task)
        return TaskChoice(task, "user", text, "chosen by the user")
    if n_rasters >= 2:
        return TaskChoice(Task.CHANGE, "inferred", text, "two rasters given")
    lowered = text.lower().strip()
    for task, pattern in _WORDING_RULES:
        match = pattern.search(lowered)
        if match:
            return TaskChoice(task, "inferred", text, f"wording {match.group(0)!r}")
    return TaskChoice(Task.DETECTION, "inferred", text, "no cue in the wording: detection by default")


_ALIASES = {
    "detect": Task.DETECTION, "detection": Task.DETECTION, "rec": Task.DETECTION,
    "seg": Task.SEGMENTATION, "segment": Task.SEGMENTATION, "segmentation": Task.SEGMENTATION, "res": Task.SEGMENTATION,
    "change": Task.CHANGE, "rcd": Task.CHANGE, "change-detection": Task.CHANGE,
    "caption": Task.CAPTION, "describe": Task.CAPTION,
    "identify": Task.IDENTIFY, "region-caption": Task.IDENTIFY, "reg": Task.IDENTIFY,
    "vqa": Task.VQA, "question": Task.VQA, "count": Task.VQA,
    "classify": Task.CLASSIFY, "classification": Task.CLASSIFY,
    "geolocation": Task.GEOLOCATION, "geolocate": Task.GEOLOCATION,
}


def parse_task_name(name: str) -> Task:
    """A task from a user-facing name (``"segment"``, ``"seg"``, ``"region-caption"``...)."""
    from ..errors import ConfigError

    key = name.strip().lower().strip("[]")
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(sorted(set(_ALIASES)))}")
