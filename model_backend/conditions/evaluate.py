"""Scoring parsers on a corpus of instructions with their expected plans (``tests/data/instructions.jsonl``).

Each line: ``{"id", "instruction", "layers": [available layer names], "constructs": [tags], "plan": {...}}``
with the plan in the JSON form of ``plan.Plan``. A parsed plan counts as right when it means exactly the
same as the expected one: ``canonical`` compares meanings, not spellings -- reference ids replaced by
what they name, quantities in SI units, ``and``/``or`` flattened and unordered, the two references of
``between`` unordered, ``not`` pushed into comparisons (``not within 50 m`` == ``farther than 50 m``),
articles and plural endings of model-found reference phrases and the leading "that are" of visual
conditions ignored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import ConfigError
from .lexicon import singular
from .plan import And, Between, Distance, Measure, Not, Or, Plan

_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_LEADING = ("the", "a", "an", "all", "any", "every", "each", "some")
_RELATIVE = ("that", "which", "who")
_COPULA = ("are", "is", "be")


@dataclass(frozen=True)
class CorpusEntry:
    id: str
    instruction: str
    layers: tuple[str, ...]
    constructs: tuple[str, ...]
    plan: dict[str, Any]


def load_corpus(path: str | Path) -> list[CorpusEntry]:
    """The corpus entries; ``ConfigError`` naming the line of a broken one."""
    entries = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                Plan.from_dict(d["plan"])  # the expectation itself must be a valid plan
                entries.append(CorpusEntry(str(d["id"]), str(d["instruction"]), tuple(d.get("layers", ())),
                                           tuple(d.get("constructs", ())), d["plan"]))
            except (ValueError, KeyError, TypeError, ConfigError) as exc:
                raise ConfigError(f"{path} line {n} is not a corpus entry: {exc}") from None
    return entries


def _phrase(text: str | None, singularise: bool = False) -> str | None:
    if text is None:
        return None
    words = text.lower().replace("-", " ").split()
    while words and words[0] in _LEADING:
        words = words[1:]
    return " ".join(singular(w) if singularise else w for w in words)


def _visual(text: str) -> str:
    words = text.lower().split()
    if words and words[0] in _RELATIVE:
        words = words[1:]
    if words and words[0] in _COPULA:
        words = words[1:]
    return " ".join(words)


def _quantity(q) -> float | None:
    return None if q is None else round(q.si, 6)


def _condition(c, refs: dict[str, tuple]) -> Any:
    if isinstance(c, Not):
        inner = c.item
        if isinstance(inner, Not):
            return _condition(inner.item, refs)
        if isinstance(inner, (Distance, Measure)) and inner.op in _FLIP:
            return _condition(type(inner)(**{**inner.__dict__, "op": _FLIP[inner.op]}), refs)
        return ("not", _condition(inner, refs))
    if isinstance(c, (And, Or)):
        items: list = []
        for item in c.items:
            canon = _condition(item, refs)
            if isinstance(canon, tuple) and canon[0] == c.kind:
                items.extend(canon[1])  # flatten nested and/and, or/or
            else:
                items.append(canon)
        return (c.kind, tuple(sorted(items, key=repr)))
    if isinstance(c, Between):  # "between A and B" is "between B and A"
        return (("kind", c.kind), ("refs", tuple(sorted((refs[c.ref_a], refs[c.ref_b])))))
    fields = dict(c.__dict__)
    if "ref" in fields:
        fields["ref"] = refs[fields["ref"]]
    for name in ("value", "upper"):
        if name in fields:
            fields[name] = _quantity(fields[name])
    return tuple(sorted(fields.items(), key=lambda kv: kv[0]))


def canonical(plan: Plan) -> dict[str, Any]:
    """What the plan means, in a form equal for every plan that means the same."""
    refs = {}
    for r in plan.references:
        refs[r.id] = ("layer", r.layer.lower()) if r.source == "layer" else ("model", _phrase(r.phrase, True), r.task)
    rank = None
    if plan.rank is not None:
        rank = (plan.rank.by, plan.rank.descending, plan.rank.k, refs.get(plan.rank.ref))
    return {
        "task": plan.task,
        "targets": sorted((_phrase(t.phrase), t.task) for t in plan.targets),
        "references": sorted(set(refs.values())),
        "where": _condition(plan.where, refs) if plan.where is not None else None,
        "visual": sorted(_visual(v) for v in plan.visual),
        "rank": rank,
        "count": plan.count,
        "question": " ".join(plan.question.split()).lower() if plan.question else None,
    }


@dataclass
class Outcome:
    entry: CorpusEntry
    ok: bool
    got: Plan | None
    error: str = ""


@dataclass
class Report:
    """Per-entry outcomes of one parser, and accuracy per construct."""

    parser: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(o.ok for o in self.outcomes) / max(1, len(self.outcomes))

    def by_construct(self) -> dict[str, tuple[int, int]]:
        """construct -> (right, total)."""
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.outcomes:
            for c in o.entry.constructs:
                table[c][0] += o.ok
                table[c][1] += 1
        return {c: (v[0], v[1]) for c, v in sorted(table.items())}


def evaluate(entries: Iterable[CorpusEntry], parse: Callable[[CorpusEntry], Plan], name: str) -> Report:
    """Parse every entry with ``parse`` and compare meanings."""
    report = Report(name)
    for entry in entries:
        try:
            got = parse(entry)
        except Exception as exc:  # a parser that raises has got that entry wrong; the others still count
            report.outcomes.append(Outcome(entry, False, None, f"{type(exc).__name__}: {exc}"))
            continue
        ok = canonical(got) == canonical(Plan.from_dict(entry.plan))
        report.outcomes.append(Outcome(entry, ok, got))
    return report


def format_reports(reports: list[Report]) -> str:
    """A table: one row per construct, one column per parser (right/total and percent)."""
    constructs = sorted({c for r in reports for o in r.outcomes for c in o.entry.constructs})
    tables = [r.by_construct() for r in reports]
    width = max([len(c) for c in constructs] + [8])
    head = f"{'construct':{width}}" + "".join(f"  {r.parser:>22}" for r in reports)
    lines = [head, "-" * len(head)]
    for c in constructs:
        cells = []
        for t in tables:
            right, total = t.get(c, (0, 0))
            cells.append(f"  {f'{right}/{total} ({100 * right / max(1, total):.0f} %)':>22}")
        lines.append(f"{c:{width}}" + "".join(cells))
    lines.append("-" * len(head))
    cells = "".join(f"  {f'{sum(o.ok for o in r.outcomes)}/{len(r.outcomes)} ({100 * r.accuracy:.1f} %)':>22}"
                    for r in reports)
    lines.append(f"{'all':{width}}" + cells)
    return "\n".join(lines)
