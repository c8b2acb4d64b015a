"""From an instruction to its plan: the task tag, then an LLM parser when one is configured, else (or
when its answer is unusable) the grammar.

``parse_plan("[seg] lakes larger than 2 ha north of the road", layer_names=["roads"])`` -> a ``Plan``
whose ``parser`` says who read it. Tasks that take no conditions (caption, identify, classify,
geolocation, and VQA questions other than "how many ...") get a plan carrying the text as it is.
"""

from __future__ import annotations

from typing import Iterable

from ..engines.base import Engine
from ..tasks import Task, split_tag
from .grammar import GrammarError, parse_with_grammar
from .lexicon import WORD_CLASS
from .llm_parser import parse_with_llm
from .plan import GRAMMAR_PARSER, NO_CONDITIONS_PARSER, Plan, Target

NOT_UNDERSTOOD = "the grammar did not understand the instruction ({reason}): all of it goes to the model as one step"


def _task_of(body: str, default_task: Task | None) -> tuple[Task, str]:
    """The task, and the request the plan is made of: as the pipeline chooses them for plans made outside a
    run (a question about which objects, "Which ships are damaged?", becomes the request "ships that are
    damaged")."""
    if default_task is not None:
        return default_task, body
    from ..pipeline.wording import infer_task

    choice = infer_task(body)
    return choice.task, choice.instruction


def _fallback(body: str, task: Task, reason: str, warnings: list[str]) -> Plan:
    object_task = task.value if task.value in ("detection", "seg", "change") else "detection"
    words = body.split()
    if len(words) > 1 and WORD_CLASS.get(words[0].lower()) == "VERB":  # the dialect says "detect ..." itself
        body = " ".join(words[1:])
    return Plan(task.value, targets=(Target(body, object_task),), parser=GRAMMAR_PARSER,
                warnings=tuple(warnings + [NOT_UNDERSTOOD.format(reason=reason)]))


def parse_plan(
    instruction: str,
    parser_engine: Engine | None = None,
    *,
    layer_names: Iterable[str] | None = None,
    default_task: Task | None = None,
) -> Plan:
    """The plan of ``instruction``.

    ``parser_engine``: a text LLM that writes the plan as JSON (any engine); without one, or when its
    answer is unusable (the reason becomes a warning), the grammar reads the instruction.
    ``layer_names``: the context layers available (references matching one are layer references;
    ``None``: not known, so only references called layers are). ``default_task``: the task when the
    instruction has no tag (else the task the pipeline would infer from the wording).
    """
    names = None if layer_names is None else list(layer_names)
    tagged, body = split_tag(instruction or "")
    warnings: list[str] = []
    if tagged is None and body.startswith("["):
        warnings.append(f"unknown task tag at the start of {body[:30]!r}; it was kept as part of the text")
    if tagged is not None:
        task = tagged
    else:
        task, body = _task_of(body, default_task)
    if not body:
        return Plan(task.value, parser=GRAMMAR_PARSER, warnings=tuple(warnings + ["the instruction is empty"]))
    if task in (Task.CAPTION, Task.IDENTIFY, Task.CLASSIFY, Task.GEOLOCATION):
        return Plan(task.value, question=body, parser=NO_CONDITIONS_PARSER, warnings=tuple(warnings))

    if parser_engine is not None:
        plan, problem = parse_with_llm(body, task.value, parser_engine, names)
        if plan is not None:
            return plan.replace(warnings=tuple(warnings) + plan.warnings)
        warnings.append(f"{problem}; read by the grammar instead")

    if task is Task.VQA:
        try:
            plan = parse_with_grammar(body, task.value, names, counting=True)
        except GrammarError:
            return Plan(task.value, question=body, parser=NO_CONDITIONS_PARSER, warnings=tuple(warnings))
        return plan.replace(warnings=tuple(warnings) + plan.warnings)
    try:
        plan = parse_with_grammar(body, task.value, names)
    except GrammarError as exc:
        return _fallback(body, task, str(exc), warnings)
    return plan.replace(warnings=tuple(warnings) + plan.warnings)
