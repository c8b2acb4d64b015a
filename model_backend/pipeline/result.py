"""What a run reports when it ends: ``RunResult`` with typed text ``Answer``s (JSON-ready via ``to_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: What an answer is: a scene caption, a question's answer, a count of objects, a region's caption, a scene
#: class of one tile, or a geolocation.
ANSWER_KINDS = ("caption", "answer", "count", "region_caption", "class", "location")


@dataclass(frozen=True)
class Answer:
    """One text answer of a run. ``text`` is what the user reads; ``question`` the instruction it answers;
    ``region`` the id of the described feature (region captions) or tile (classes); ``how`` says how the
    answer was made when it was not the model's own words (e.g. "counted the merged detections of ...")."""

    kind: str
    text: str
    question: str = ""
    region: str | None = None
    how: str = ""

    def __post_init__(self):
        if self.kind not in ANSWER_KINDS:
            raise ValueError(f"answer kind must be one of {ANSWER_KINDS}, got {self.kind!r}")


@dataclass
class RunResult:
    """What a run did. ``outputs``: ``{"gpkg": path, "layers": {kind: name}, "geojson": path}``;
    ``answers``: text answers (caption, VQA, counts, classes, region captions, geolocation); ``dialect``:
    the answer format the run really used (the loaded model's unless the user chose one); ``references``: for
    each reference the model found first, by id, ``{id, phrase, task, prompt, found, layers}``; ``followup``: for
    a follow-up on a previous result, which one, what was kept and the chain of steps (``tasks.followup``)."""

    run_id: str
    task: str
    task_source: str
    task_reason: str
    instruction: str
    plan: dict[str, Any]
    tiles_total: int = 0
    tiles_done: int = 0
    partial: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    engine: dict[str, Any] = field(default_factory=dict)
    dialect: str = ""
    followup: dict[str, Any] | None = None  # a follow-up on a previous result: of what, kept how many, the chain

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
