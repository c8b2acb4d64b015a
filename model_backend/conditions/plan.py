"""The plan: an instruction split into single-condition steps, shown to the user before running.

Each step is either a *model* step (sent to the MLLM: the first one finds objects, later ones keep a
subset, as the GeoRSMLLM condition chain does) or a *GIS* step (an exact measure: area, length,
distance, intersection, direction; see ``gis_filters``) applied to the merged, georeferenced results.
A task tag at the start (``"[seg] ..."``) applies to the whole chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..engines.base import Engine
from ..errors import GeoRSMLLMError
from ..tasks import Task, split_tag
from .clauses import find_gis_conditions, has_content, remainder
from .gis_filters import GisFilter, find_layer, layer_of
from .llm_parser import split_with_llm
from .rules import split_instruction

STEP_KINDS = ("model", "gis")
RULES_PARSER = "rules (fallback)"
#: tasks whose instruction is a question or request for text: never split into conditions
TEXT_TASKS = frozenset({Task.CAPTION, Task.VQA, Task.CLASSIFY, Task.GEOLOCATION, Task.IDENTIFY})


@dataclass
class Step:
    """One step: ``text`` as the user reads it; ``kind`` "model" or "gis"; GIS steps carry ``filter``."""

    text: str
    kind: str = "model"
    filter: GisFilter | None = None

    def __post_init__(self):
        if self.kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {STEP_KINDS}, got {self.kind!r}")
        if (self.kind == "gis") != (self.filter is not None):
            raise ValueError("a GIS step needs a filter and a model step must not have one")

    def describe(self) -> str:
        if self.filter is not None:
            return f"GIS: {self.filter.describe()}  [{self.text}]"
        return f"model: {self.text}"

    def to_dict(self) -> dict:
        flt = self.filter.to_dict() if self.filter is not None else None
        return {"text": self.text, "kind": self.kind, "filter": flt}

    @classmethod
    def from_dict(cls, d: dict) -> "Step":
        flt = d.get("filter")
        return cls(str(d["text"]), str(d.get("kind", "model")), GisFilter.from_dict(flt) if flt else None)


@dataclass
class Plan:
    """Steps in order, the task tag (``"[seg]"`` or None), which parser made it, and warnings."""

    steps: list[Step]
    task_tag: str | None = None
    parser: str = RULES_PARSER
    warnings: list[str] = field(default_factory=list)

    @property
    def task(self) -> Task | None:
        """The task named by ``task_tag``."""
        return split_tag(self.task_tag)[0] if self.task_tag else None

    @property
    def model_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "model"]

    @property
    def gis_filters(self) -> list[GisFilter]:
        return [s.filter for s in self.steps if s.filter is not None]

    def describe(self) -> str:
        """Numbered, one step a line, for the user to check before running."""
        head = f"task {self.task_tag or '(none)'}, split by {self.parser}"
        lines = [head] + [f"{i}. {s.describe()}" for i, s in enumerate(self.steps, 1)]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "task_tag": self.task_tag,
            "parser": self.parser,
            "warnings": list(self.warnings),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        return cls(
            steps=[Step.from_dict(s) for s in d.get("steps", [])],
            task_tag=d.get("task_tag"),
            parser=str(d.get("parser", RULES_PARSER)),
            warnings=list(d.get("warnings", [])),
        )


def classify_step(text: str, layer_names: Iterable[str] | None = None) -> list[Step]:
    """One step text -> a model step for whatever the GIS cannot measure, plus one GIS step per
    measurable condition in it ("segment buildings larger than 500 m²" -> model + area)."""
    matches = find_gis_conditions(text, layer_names)
    if not matches:
        return [Step(text, "model")]
    rest = remainder(text, matches)
    steps = [Step(rest, "model")] if has_content(rest) else []
    single = not steps and len(matches) == 1
    for g in matches:
        shown = text if single else " ".join(text[g.start : g.end].split())
        steps.append(Step(shown, "gis", g.filter))
    return steps


def _layer_warnings(steps: Sequence[Step], layer_names: Iterable[str] | None) -> list[str]:
    out = []
    names = None if layer_names is None else list(layer_names)
    for s in steps:
        layer = layer_of(s.filter) if s.filter is not None else None
        if layer is not None and names is not None:
            try:
                hit = find_layer(layer, names)
            except GeoRSMLLMError as exc:
                out.append(str(exc))
                continue
            if hit is None:
                out.append(
                    f"no context layer matches {layer!r} (available: {', '.join(names) or 'none'}): "
                    "add it before running"
                )
        if s.kind == "model" and re.search(r"\blayers?\b", s.text, re.IGNORECASE):
            out.append(
                f"step {s.text!r} names a layer but is no condition the GIS can measure; "
                "the model only sees the image"
            )
    return out


def build_steps(texts: Sequence[str], layer_names: Iterable[str] | None = None) -> list[Step]:
    """Step texts (from either parser) -> typed steps."""
    names = None if layer_names is None else list(layer_names)
    steps: list[Step] = []
    for t in texts:
        steps.extend(classify_step(t, names))
    return steps


def parse_plan(
    instruction: str,
    parser_engine: Engine | None = None,
    *,
    layer_names: Iterable[str] | None = None,
    default_task: Task | None = None,
) -> Plan:
    """Split ``instruction`` into a plan.

    ``parser_engine``: an independent text-only model that splits the instruction (any engine; its
    answer must be a JSON list of strings). Without one, or when its answer is unusable, rule-based
    splitting is used and ``plan.parser`` says ``"rules (fallback)"``. ``layer_names``: the context
    layers available, used to recognise directions/intersections relative to a layer named without
    the word "layer" and to warn about unknown layers. ``default_task``: the task when the instruction
    carries no tag. Text-answer tasks (caption, VQA, ...) are never split.
    """
    names = None if layer_names is None else list(layer_names)
    task, body = split_tag(instruction or "")
    warnings: list[str] = []
    if task is None and body.startswith("["):
        warnings.append(f"unknown task tag at the start of {body[:30]!r}; it was kept as part of the text")
    task = task or default_task
    task_tag = task.tag if task is not None else None

    if task in TEXT_TASKS:
        return Plan([Step(body, "model")], task_tag, "none (this task takes no conditions)", warnings)
    if not body:
        return Plan([], task_tag, RULES_PARSER, warnings + ["the instruction is empty"])

    texts = None
    parser = RULES_PARSER
    if parser_engine is not None:
        texts, problem, _ = split_with_llm(body, parser_engine)
        if texts is None:
            warnings.append(f"{problem}; split by rules instead")
        else:
            info = parser_engine.describe()
            parser = f"llm ({info.get('model') or info.get('engine') or parser_engine.name})"
    if texts is None:
        texts = split_instruction(body)

    steps = build_steps(texts, names)
    warnings += _layer_warnings(steps, names)
    if steps and not any(s.kind == "model" for s in steps):
        warnings.append("the instruction names no objects to find, only measurable conditions")
    return Plan(steps, task_tag, parser, warnings)
