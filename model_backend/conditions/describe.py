"""A plan in words: numbered sentences saying which steps the model runs, which measures the GIS takes
and which assumptions were made ("near" without a distance). The CLI ``plan`` command, the server's
``/v1/plan`` and the recipe stored with every output layer show these, never a raw dict."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .image_parts import part_phrase
from .plan import (FAR_DEFAULT, NEAR_DEFAULT, And, Between, Direction, Distance, ImagePart, Measure, Not, Or, Plan,
                   Topology, walk)

#: kinds of sentence: a model step, a GIS measure, an assumption the plan made, what the answer is
SENTENCE_KINDS = ("model", "gis", "assumption", "answer")
_TASK_WORDS = {"detection": "detection", "seg": "segmentation", "change": "change detection"}
_OPS = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}
_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_RANK_WORDS = {
    ("area", True): "largest (by area)", ("area", False): "smallest (by area)",
    ("length", True): "longest", ("length", False): "shortest",
    ("width", True): "widest", ("width", False): "narrowest",
    ("perimeter", True): "largest by perimeter", ("perimeter", False): "smallest by perimeter",
    ("northing", True): "northernmost (by centroid)", ("northing", False): "southernmost (by centroid)",
    ("easting", True): "easternmost (by centroid)", ("easting", False): "westernmost (by centroid)",
}


@dataclass(frozen=True)
class Sentence:
    """One numbered sentence of a plan; ``kind`` is one of ``SENTENCE_KINDS``."""

    kind: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


def _ref(plan: Plan, ref_id: str) -> str:
    return plan.reference(ref_id).describe()


def _amount(op: str, value, upper) -> str:
    if op == "between":
        return f"between {value} and {upper}"
    return f"{_OPS[op]} {value}"


def condition_phrase(plan: Plan, c) -> str:
    """A condition as a verb phrase completing "keep the objects that ..."."""
    if isinstance(c, Distance):
        return f"lie {_amount(c.op, c.value, c.upper)} from {_ref(plan, c.ref)} (edge to edge)"
    if isinstance(c, Topology):
        if c.relation == "inside":
            return f"lie inside {_ref(plan, c.ref)} (covered by one of its features)"
        return f"intersect {_ref(plan, c.ref)} (share at least a point with it)"
    if isinstance(c, Direction):
        return f"lie {c.direction} of {_ref(plan, c.ref)}"
    if isinstance(c, Between):
        return (f"lie between {_ref(plan, c.ref_a)} and {_ref(plan, c.ref_b)} (seen from the object, the two lie on "
                "opposite sides; it touches neither)")
    if isinstance(c, ImagePart):
        return f"have their centroid in {part_phrase(c.part)}"
    if isinstance(c, Measure):
        article = "an" if c.measure == "area" else "a"
        of = "" if c.op == "between" else " of"
        return f"have {article} {c.measure}{of} {_amount(c.op, c.value, c.upper)}"
    if isinstance(c, Not):
        inner = c.item
        if isinstance(inner, Topology) and inner.relation == "intersects":
            return f"lie outside {_ref(plan, inner.ref)} (no part inside it)"
        if isinstance(inner, Between):
            return (f"do not lie between {_ref(plan, inner.ref_a)} and {_ref(plan, inner.ref_b)} (seen from the "
                    "object, the two do not lie on opposite sides, or it touches one of them)")
        if isinstance(inner, (Distance, Measure)) and inner.op in _FLIP:  # "not within 50 m" reads "more than 50 m"
            return condition_phrase(plan, dataclasses.replace(inner, op=_FLIP[inner.op]))
        return "do not " + _bracket(plan, inner)
    if isinstance(c, And):
        return " and ".join(_bracket(plan, i) for i in c.items)
    if isinstance(c, Or):
        parts = [_bracket(plan, i) for i in c.items]
        return "either " + " or ".join(parts) if len(parts) == 2 else ", ".join(parts[:-1]) + " or " + parts[-1]
    raise TypeError(f"not a condition: {c!r}")


def _keep_clause(plan: Plan, c) -> str:
    """What follows "keep the objects" for one top-level condition."""
    if isinstance(c, ImagePart):
        return f"whose centroid lies in {part_phrase(c.part)}"
    if isinstance(c, Not) and isinstance(c.item, ImagePart):
        return f"whose centroid does not lie in {part_phrase(c.item.part)}"
    return f"that {condition_phrase(plan, c)}"


def _bracket(plan: Plan, c) -> str:
    text = condition_phrase(plan, c)
    return f"({text})" if isinstance(c, (And, Or)) else text


def _rank_sentence(plan: Plan) -> str:
    rank = plan.rank
    how_many = f"{rank.k} " if rank.k > 1 else ""
    noun = "objects" if rank.k > 1 else "object"
    if rank.by == "distance":
        word = "farthest from" if rank.descending else "closest to"
        what = f"the {how_many}{noun} {word} {_ref(plan, rank.ref)} (edge to edge)"
    else:
        what = f"the {how_many}{_RANK_WORDS[(rank.by, rank.descending)]} {noun}"
    return f"GIS ranking: keep {what}; objects tied with the last one kept are kept too."


def plan_sentences(plan: Plan) -> list[Sentence]:
    """The plan as sentences, in the order things happen."""
    if plan.is_text_task:
        question = plan.question or ""
        return [Sentence("model", f"Model ({plan.task}): answer \u201c{question}\u201d for the image; "
                                  "this task takes no conditions.")]
    out: list[Sentence] = []
    for r in plan.model_references:
        out.append(Sentence("model", f"Model ({_TASK_WORDS[r.task]}): find the {r.phrase} first, the reference "
                                     f"{r.id} of the conditions below (one more model call per tile); what it "
                                     "finds is written as its own layer."))
    for step in plan.model_steps:
        if step.role == "find":
            task = _TASK_WORDS.get(plan.targets[0].task, plan.targets[0].task)
            out.append(Sentence("model", f"Model ({task}): find {step.text} in every tile."))
        else:
            clause = step.text.removeprefix("select the ones ")
            out.append(Sentence("model", f"Model: keep the ones {clause} (the model judges this on the image, "
                                         "shown the objects of the step before)."))
    if plan.where is not None:
        items = plan.where.items if isinstance(plan.where, And) else (plan.where,)
        for item in items:
            out.append(Sentence("gis", f"GIS measure: keep the objects {_keep_clause(plan, item)}."))
    if plan.rank is not None:
        out.append(Sentence("gis", _rank_sentence(plan)))
    if plan.count:
        out.append(Sentence("answer", "Answer: the number of objects kept."))
    defaults = {(n.op, n.value) for n in walk(plan.where) if isinstance(n, Distance) and n.default}
    if ("<=", NEAR_DEFAULT) in defaults:
        out.append(Sentence("assumption", f"Assumption: \u201cnear\u201d means within {NEAR_DEFAULT} (edge to edge), "
                                          "as no distance was given."))
    if (">", FAR_DEFAULT) in defaults:
        out.append(Sentence("assumption", f"Assumption: \u201cfar from\u201d means more than {FAR_DEFAULT} away, "
                                          "as no distance was given."))
    return out


def describe_plan(plan: Plan) -> str:
    """Numbered sentences, one a line, after a line naming the parser; warnings last."""
    lines = [f"Plan ({plan.task}), read by {plan.parser}:"]
    lines += [f"{i}. {s.text}" for i, s in enumerate(plan_sentences(plan), 1)]
    lines += [f"Warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def plan_report(plan: Plan) -> dict[str, Any]:
    """The typed plan and its sentences, as the CLI, the server and the recipe carry them. ``steps`` is the
    sentences again under the name older clients read."""
    sentences = [s.to_dict() for s in plan_sentences(plan)]
    return {
        "plan": plan.to_dict(),
        "parser": plan.parser,
        "warnings": list(plan.warnings),
        "sentences": sentences,
        "steps": sentences,
        "text": describe_plan(plan),
    }
