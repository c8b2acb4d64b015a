"""Reading an instruction with a text LLM that writes the plan as JSON following ``plan_schema()``.

The request carries the schema in two ways: as ``response_format`` (``json_schema``), which
OpenAI-compatible servers (vLLM, SGLang, Ollama) use to constrain decoding, and -- for engines that do
not constrain their output (``Engine.constrains_output`` false: local transformers models) -- as text
in the prompt. Few-shot examples, built from ``Plan`` objects so that they always follow the schema,
go in every prompt. The answer may come wrapped in code fences or chatter: the first JSON object in it
is read with ``json.loads`` (never ``eval``) and validated against the plan types; anything unusable is
reported and the caller falls back to the grammar.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Sequence

from ..engines.base import Engine, EngineRequest
from ..errors import ConfigError, EngineError
from .layers import find_layer
from .plan import (
    METADATA_FIELDS,
    NEAR_DEFAULT,
    TEXT_TASKS,
    And,
    Direction,
    Distance,
    Measure,
    Not,
    Or,
    Plan,
    Rank,
    Reference,
    Target,
    Topology,
    plan_schema,
)
from .units import Quantity

PARSER_SYSTEM = (
    "You turn a remote-sensing analyst's instruction into a JSON query plan for a GIS. "
    "Answer with one JSON object that follows the plan's JSON Schema, and nothing else."
)

RULES = """Rules:
- targets: what the image model must find, the class phrase as written ("ships", "white cars"), with the task given.
- references: everything a condition is measured against, with ids r1, r2, ... When one of the available
  layers is meant, use source "layer" and that layer's exact name; otherwise source "model" with task "seg" for
  areas and lines (rivers, roads, fields, runways) or "detection" for objects (bridges, ships, tanks).
- where: the conditions a GIS measures, as a tree of "and"/"or"/"not" nodes:
  distance (edge to edge; "within 200 m of X" is op "<=", "more than 1 km from X" is ">", "between 100 and 300 m
  from X" is "between" with value and upper; "near X" with no number is op "<=", value {near}, default true),
  topology ("in/inside/on X": relation "inside"; "intersecting/crossing/touching X": "intersects";
  "outside X": not intersects), direction (north, north-east, ... of X), between (two references: "between the
  pier and the coastline" is ref_a and ref_b; "between 100 and 300 m from X" is a distance, not this),
  measure (area, length, width, perimeter),
  image_part (a part of the image itself, no reference: "in the northern half / top half / upper part of the image"
  is part "north", "bottom/lower" is "south", "left" is "west", "right" is "east", "in the top-left / north-west
  corner" is "north-west", "in the centre / middle of the image" is "centre").
  Keep the numbers and units as written.
- visual: conditions only the image model can judge (colour, state, "damaged"), as written ("that are damaged").
- rank: "the largest", "the 3 smallest", "the two closest to X" (by distance, ref), "the northernmost" (by northing).
- count: true for "how many ..." and for "is there / are there any ..." (the objects satisfying the conditions are
  counted; a yes-or-no question is answered from the count). "neither A nor B" is not A and not B; "except those
  on X" is not on X.
- question: only for questions that are not counts (then no targets)."""


def _q(value: float, unit: str) -> Quantity:
    return Quantity(value, unit)


@functools.lru_cache(maxsize=1)
def few_shot_examples() -> tuple[tuple[str, str, tuple[str, ...], Plan], ...]:
    """(instruction, task, layer names, plan) pairs shown to the model."""
    pier = Reference("r1", "pier", "layer", layer="pier")
    return (
        ("ships within 200 m of the pier that are not damaged", "detection", ("pier", "roads"),
         Plan("detection", (Target("ships"),), (pier,), where=Distance("r1", "<=", _q(200, "m")),
              visual=("that are not damaged",))),
        ("buildings under 50 m² or over 500 m² not within 50 m of any road", "detection", (),
         Plan("detection", (Target("buildings"),), (Reference("r1", "road", "model", task="seg"),),
              where=And((Or((Measure("area", "<", _q(50, "m²")), Measure("area", ">", _q(500, "m²")))),
                         Not(Distance("r1", "<=", _q(50, "m"))))))),
        ("the three largest lakes north of the river or near a bridge", "seg", ("river",),
         Plan("seg", (Target("lakes", "seg"),),
              (Reference("r1", "river", "layer", layer="river"), Reference("r2", "bridge", "model", task="detection")),
              where=Or((Direction("r1", "north"), Distance("r2", "<=", NEAR_DEFAULT, default=True))),
              rank=Rank("area", True, 3))),
        ("how many planes are on the apron?", "vqa", ("apron",),
         Plan("vqa", (Target("planes"),), (Reference("r1", "apron", "layer", layer="apron"),),
              where=Topology("r1", "inside"), count=True)),
        ("the two tanks closest to the jetty", "detection", (),
         Plan("detection", (Target("tanks"),), (Reference("r1", "jetty", "model", task="seg"),),
              rank=Rank("distance", False, 2, "r1"))),
    )


def _plan_json(plan: Plan) -> str:
    data = plan.to_dict()
    for name in METADATA_FIELDS:
        data.pop(name, None)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _layers_line(layer_names: Sequence[str] | None) -> str:
    return ", ".join(layer_names) if layer_names else "none"


#: the longest plan answer read (tokens); plans of long instructions take a few hundred
MAX_PLAN_TOKENS = 768


def build_parser_request(instruction: str, task: str, layer_names: Sequence[str] | None, *,
                         schema_in_prompt: bool = True, max_new_tokens: int | None = None) -> EngineRequest:
    """The text-only request sent to the parser model."""
    schema = plan_schema()
    parts = []
    if schema_in_prompt:
        parts.append("JSON Schema of the plan:\n" + json.dumps(schema, separators=(",", ":")))
    parts.append(RULES.format(near=json.dumps(NEAR_DEFAULT.to_dict())))
    for text, ex_task, names, plan in few_shot_examples():
        parts.append(f"Task: {ex_task}. Layers: {_layers_line(names)}.\nInstruction: {text}\nPlan: {_plan_json(plan)}")
    parts.append(f"Task: {task}. Layers: {_layers_line(layer_names)}.\nInstruction: {instruction.strip()}\nPlan:")
    return EngineRequest(
        prompt="\n\n".join(parts),
        images=(),
        system=PARSER_SYSTEM,
        max_new_tokens=max_new_tokens or MAX_PLAN_TOKENS,
        temperature=0.0,
        response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}},
    )


#: answers longer than this are not searched (bounded parsing time)
MAX_ANSWER_CHARS = 50_000
_FENCE_RE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def _json_objects(text: str):
    """Candidate JSON objects in ``text``: fenced blocks first, then each top-level ``{...}`` (objects
    nested in one already read are not candidates of their own)."""
    blocks = [m.group(1) for m in _FENCE_RE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for block in blocks:
        start, tries = block.find("{"), 0
        while start >= 0 and tries < 50:
            tries += 1
            try:
                value, end = decoder.raw_decode(block, start)
            except (ValueError, RecursionError):
                start = block.find("{", start + 1)
                continue
            if isinstance(value, dict):
                yield value
            start = block.find("{", end)


def _shorten(text: str, n: int = 80) -> str:
    shown = " ".join(text.split())
    return shown if len(shown) <= n else shown[: n - 3] + "..."


def plan_from_answer(answer: str, task: str, layer_names: Sequence[str] | None, parser: str) -> tuple[Plan | None, str]:
    """A model answer -> (validated plan, "") or (None, why it is unusable). The task is the run's own
    whatever the answer says; layer references are matched to the available names."""
    if not answer or not answer.strip():
        return None, "the parser model gave an empty answer"
    if len(answer) > MAX_ANSWER_CHARS:
        return None, f"the parser model's answer is too long ({len(answer)} characters)"
    problem = f"the parser model's answer holds no JSON object: {_shorten(answer)!r}"
    for data in _json_objects(answer):
        data = {k: v for k, v in data.items() if k not in METADATA_FIELDS}
        data["task"] = task
        if task in TEXT_TASKS and not data.get("count") and not data.get("question"):
            return None, "the parser model's plan has neither a count nor a question"
        try:
            plan = Plan.from_dict(data)
            plan = _settle_layers(plan, layer_names)
        except ConfigError as exc:
            problem = f"the parser model's plan is invalid: {exc}"
            continue
        return plan.replace(parser=parser, warnings=()), ""
    return None, problem


def _settle_layers(plan: Plan, layer_names: Sequence[str] | None) -> Plan:
    """Layer references renamed to the available layer's own name (matched tolerantly); one that
    matches no layer is kept as written (the run's layer check reports it)."""
    if not layer_names:
        return plan
    refs = []
    for ref in plan.references:
        if ref.source == "layer":
            hit = find_layer(ref.layer, layer_names)
            refs.append(Reference(ref.id, ref.phrase, "layer", layer=hit or ref.layer))
        else:
            refs.append(ref)
    return plan.replace(references=tuple(refs))


def parse_with_llm(instruction: str, task: str, engine: Engine,
                   layer_names: Sequence[str] | None = None) -> tuple[Plan | None, str]:
    """Ask ``engine`` for the plan of ``instruction`` (task tag already stripped).

    Returns ``(plan, "")`` or ``(None, problem)``; engine failures are reported as a problem, not
    raised, so that the caller can fall back to the grammar.
    """
    request = build_parser_request(instruction, task, layer_names,
                                   schema_in_prompt=not getattr(engine, "constrains_output", False))
    try:
        answer = engine.generate(request).text
    except EngineError as exc:
        return None, f"the parser model failed: {exc}"
    info = engine.describe()
    name = info.get("model") or info.get("engine") or engine.name
    return plan_from_answer(answer, task, layer_names, f"llm ({name})")

