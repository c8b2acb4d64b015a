"""Splitting an instruction with an independent language model (text only, any engine).

The model is asked for a JSON list of step strings. Its answer is read with ``json.loads`` and, for
Python-style lists (single quotes), ``ast.literal_eval`` -- never ``eval`` -- and may be wrapped in
code fences or chatter. An unusable answer yields ``None`` plus the reason, and the caller falls back
to the rules.
"""

from __future__ import annotations

import ast
import json
import re

from ..engines.base import Engine, EngineRequest
from ..errors import EngineError

PARSER_SYSTEM = (
    "You split remote-sensing instructions into single-condition steps for an image model. "
    "Answer with a JSON list of strings and nothing else."
)

PARSER_PROMPT = """Split the instruction into a chain of steps, one condition per step.
The first step finds the objects: keep its verb and object words. Each later step keeps some of the
previous step's objects by exactly one condition and starts with "select the ones".
Copy numbers, units and layer names exactly. An instruction without conditions is one step.

Instruction: detect all planes on the east bank of the river
Answer: ["detect all planes", "select the ones on the east bank of the river"]

Instruction: find ships that are north of the harbour layer and longer than 100 m
Answer: ["find ships", "select the ones north of the harbour layer", "select the ones longer than 100 m"]

Instruction: {instruction}
Answer:"""

#: answers longer than this are not searched for a list (bounded parsing time)
MAX_ANSWER_CHARS = 20_000
MAX_STEPS = 16
_FENCE_RE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TAG_RE = re.compile(r"^\s*\[[A-Za-z_]+\]\s*")


def build_parser_request(instruction: str, max_new_tokens: int = 256) -> EngineRequest:
    """The text-only request sent to the parser model."""
    return EngineRequest(
        prompt=PARSER_PROMPT.format(instruction=instruction.strip()),
        images=(),
        system=PARSER_SYSTEM,
        max_new_tokens=max_new_tokens,
        temperature=0.0,
    )


def _as_steps(value) -> list[str] | None:
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    steps = [" ".join(_TAG_RE.sub("", v).split()) for v in value]
    steps = [s for s in steps if s]
    return steps if 0 < len(steps) <= MAX_STEPS else None


def _literal(candidate: str):
    try:
        return json.loads(candidate)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _lists_in(text: str):
    """Candidate list literals in ``text``: the whole text, then every ``[ ... ]`` span, widest first
    for each opening bracket."""
    yield text.strip()
    opens = [i for i, ch in enumerate(text) if ch == "["][:20]
    closes = [i for i, ch in enumerate(text) if ch == "]"][-20:]
    for i in opens:
        for j in reversed(closes):
            if j > i:
                yield text[i : j + 1]


def parse_step_list(answer: str) -> tuple[list[str] | None, str]:
    """A model answer -> (step strings, "") or (None, reason why it is unusable)."""
    if not answer or not answer.strip():
        return None, "the parser model gave an empty answer"
    if len(answer) > MAX_ANSWER_CHARS:
        return None, f"the parser model's answer is too long ({len(answer)} characters)"
    blocks = [m.group(1) for m in _FENCE_RE.finditer(answer)] + [answer]
    for block in blocks:
        for candidate in _lists_in(block):
            steps = _as_steps(_literal(candidate))
            if steps is not None:
                return steps, ""
    shown = " ".join(answer.split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return None, f"the parser model's answer is not a list of step strings: {shown!r}"


def split_with_llm(instruction: str, engine: Engine) -> tuple[list[str] | None, str, str]:
    """Ask ``engine`` to split ``instruction`` (task tag already stripped).

    Returns ``(steps or None, problem, raw answer)``; engine failures are reported as a problem, not
    raised, so that the caller can fall back to the rules.
    """
    try:
        answer = engine.generate(build_parser_request(instruction)).text
    except EngineError as exc:
        return None, f"the parser model failed: {exc}", ""
    steps, problem = parse_step_list(answer)
    return steps, problem, answer
