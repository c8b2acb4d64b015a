"""A plan as the panel and the layers' metadata show it: the backend's numbered sentences (``sentences`` of
``/v1/plan`` and of a run's ``plan``, each ``{kind, text}``), each marked as a model step, a GIS measure, an
assumption or the answer; never the raw plan. No widgets."""

from __future__ import annotations

import html
from typing import Any, Mapping

from ..toolbelt.i18n import tr

#: The mark and colour of each kind of sentence the backend writes (``conditions.describe.SENTENCE_KINDS``).
MARKS = {"model": ("\u25c6", "#1f5fbf"), "gis": ("\u25a0", "#2e7d32"), "assumption": ("\u25b2", "#b26a00"),
         "answer": ("\u25cf", "#6a3d9a")}
_OTHER = ("\u2022", "#555555")


def kind_names() -> dict[str, str]:
    """What each mark means, in the user's language."""
    return {"model": tr("model step"), "gis": tr("GIS measure"), "assumption": tr("assumption"),
            "answer": tr("answer")}


def plan_sentences(plan: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(kind, text)`` of each sentence, in order (``steps`` when an older backend sends no ``sentences``);
    entries without text are left out."""
    out = []
    for item in plan.get("sentences") or plan.get("steps") or []:
        if isinstance(item, Mapping):
            kind, text = str(item.get("kind") or ""), str(item.get("text") or "").strip()
        else:
            kind, text = "", str(item).strip()
        if text:
            out.append((kind, text))
    return out


def plan_lines(plan: Mapping[str, Any]) -> list[str]:
    """The sentences as plain numbered lines, each after its kind's mark: ``"3. ■ GIS measure: keep …"``."""
    return [f"{n}. {MARKS.get(kind, _OTHER)[0]} {text}" for n, (kind, text) in enumerate(plan_sentences(plan), 1)]


def plan_html(plan: Mapping[str, Any]) -> str:
    """The plan for the panel: the task and the parser, the numbered sentences with coloured marks, the
    warnings, and a legend of the marks used."""
    head = [tr("Task: {task} ({reason})").format(task=plan.get("task", ""), reason=plan.get("task_reason", "")),
            tr("Dialect: {dialect}; parser: {parser}").format(dialect=plan.get("dialect", ""),
                                                             parser=plan.get("parser", ""))]
    rows = [f"<div>{html.escape(line)}</div>" for line in head]
    sentences = plan_sentences(plan)
    for n, (kind, text) in enumerate(sentences, 1):
        mark, colour = MARKS.get(kind, _OTHER)
        rows.append(f'<div>{n}. <span style="color:{colour}">{mark}</span> {html.escape(text)}</div>')
    for warning in plan.get("warnings") or []:
        rows.append(f'<div style="color:#b26a00">{html.escape(tr("Warning: {text}").format(text=warning))}</div>')
    names = kind_names()
    used = [kind for kind in MARKS if any(k == kind for k, _ in sentences)]
    if used:
        legend = " &nbsp; ".join(f'<span style="color:{MARKS[k][1]}">{MARKS[k][0]}</span> {html.escape(names[k])}'
                                 for k in used)
        rows.append(f'<div style="color:#555555">{legend}</div>')
    return "".join(rows)
