"""A scripted engine: answers known dialect text instead of running a model (tests, demos, benchmarks).

The script is one of:

- a string: the answer to every request;
- a list of answers: given in turn (from the start again when ``cycle``);
- a dict ``{key: answer}``, a key being a prompt substring or a predicate ``fn(request) -> bool``:
  the first key that matches wins;
- a list of ``Rule`` (or rule dicts): the first matching rule wins;
- a callable ``fn(request) -> answer``.

An answer is the text, or ``{"text": ..., "tokens": [[start, end, prob], ...], "info": {...}}`` to
script token probabilities too (without ``tokens`` the response has ``tokens=None``: no score is made
up). A JSON or JSON-lines file holds the same (see ``load_script``), so a server process can be
started with a scripted engine from the command line.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

from ..errors import ConfigError, EngineError
from .base import Engine, EngineRequest, EngineResponse, TokenProb

Answer = Union[str, Mapping[str, Any]]

_RULE_KEYS = {"answer", "prompt_contains", "prompt_regex", "images", "image_size"}
_FILE_KEYS = {"rules", "answers", "default", "latency", "cycle", "dialect"}


@dataclass(frozen=True)
class Rule:
    """An answer given when every condition set holds: ``prompt_contains`` (substring of the prompt),
    ``prompt_regex`` (``re.search`` on the prompt), ``images`` (number of images), ``image_size``
    (``(width, height)`` in pixels of the first image), ``when`` (a predicate on the request)."""

    answer: Answer
    prompt_contains: str | None = None
    prompt_regex: str | None = None
    images: int | None = None
    image_size: tuple[int, int] | None = None
    when: Callable[[EngineRequest], bool] | None = None

    def __post_init__(self):
        _check_answer(self.answer)
        if self.prompt_regex is not None:
            try:
                re.compile(self.prompt_regex)
            except re.error as exc:
                raise ConfigError(
                    f"scripted rule: invalid prompt_regex {self.prompt_regex!r}: {exc}"
                ) from None
        if self.image_size is not None:
            object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rule":
        unknown = set(data) - _RULE_KEYS
        if unknown or "answer" not in data:
            raise ConfigError(
                f"scripted rule {dict(data)!r}: needs 'answer' and may have "
                f"{', '.join(sorted(_RULE_KEYS - {'answer'}))}"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            )
        return cls(**dict(data))

    def matches(self, request: EngineRequest) -> bool:
        if self.prompt_contains is not None and self.prompt_contains not in request.prompt:
            return False
        if self.prompt_regex is not None and not re.search(self.prompt_regex, request.prompt):
            return False
        if self.images is not None and len(request.images) != self.images:
            return False
        if self.image_size is not None:
            if not request.images:
                return False
            h, w = request.images[0].shape[:2]
            if (w, h) != self.image_size:
                return False
        if self.when is not None and not self.when(request):
            return False
        return True


def _is_answer_dict(answer: Any) -> bool:
    return (
        isinstance(answer, Mapping)
        and isinstance(answer.get("text"), str)
        and set(answer) <= {"text", "tokens", "info"}
    )


def _check_answer(answer: Any) -> None:
    if isinstance(answer, str) or _is_answer_dict(answer):
        return
    raise ConfigError(f"a scripted answer is a string or {{'text', 'tokens', 'info'}}, got {answer!r}")


def _is_rule_dict(item: Any) -> bool:
    return isinstance(item, Mapping) and "answer" in item


def load_script(path: str | Path) -> dict[str, Any]:
    """Read a script file into ``ScriptedEngine`` keyword arguments.

    ``.jsonl``: one rule object per line (``{"answer": ..., "prompt_contains": ...}``), first match
    wins, a rule without conditions matches everything. ``.json``: a string, a list of answers (given
    in turn), one rule object or a list of them, or an object with ``rules`` or ``answers`` and optional
    ``default``, ``latency`` (seconds), ``cycle``, ``dialect``.
    """
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scripted answers {str(file)!r}: {exc.strerror or exc}") from None
    if file.suffix.lower() in {".jsonl", ".ndjson"}:
        rules = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{str(file)!r} line {number} is not JSON: {exc}") from None
            if not _is_rule_dict(item):
                raise ConfigError(f"{str(file)!r} line {number}: each line is an object with an 'answer'")
            rules.append(Rule.from_dict(item))
        if not rules:
            raise ConfigError(f"{str(file)!r} holds no rules")
        return {"answers": rules}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{str(file)!r} is not JSON: {exc}") from None
    if isinstance(data, Mapping) and not _is_rule_dict(data):
        unknown = set(data) - _FILE_KEYS
        if unknown or not ({"rules", "answers"} & set(data)):
            raise ConfigError(
                f"{str(file)!r}: an object needs 'rules' or 'answers' and may have "
                f"{', '.join(sorted(_FILE_KEYS - {'rules', 'answers'}))}"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            )
        settings = {k: data[k] for k in ("default", "latency", "cycle", "dialect") if k in data}
        if "rules" in data:
            settings["answers"] = [Rule.from_dict(r) for r in data["rules"]]
        else:
            settings["answers"] = data["answers"]
        return settings
    if _is_rule_dict(data):
        return {"answers": [Rule.from_dict(data)]}
    return {"answers": data}


class ScriptedEngine(Engine):
    """Answers from a script (see the module doc) after an optional fixed ``latency`` in seconds.

    Concurrent requests wait their latency in parallel, like a batching server; ``serial=True``
    makes them queue like a single in-process model. ``requests`` keeps the requests received
    (the last ``history`` of them) for tests to inspect.
    """

    name = "scripted"

    def __init__(
        self,
        answers: Any = None,
        *,
        path: str | Path | None = None,
        default: Answer | None = None,
        latency: float = 0.0,
        cycle: bool = True,
        serial: bool = False,
        dialect: str = "georsmllm",
        history: int = 10000,
    ) -> None:
        if (answers is None) == (path is None):
            raise ConfigError(
                "the scripted engine needs exactly one of 'answers' or 'path' (a .json/.jsonl file)"
            )
        self.path = str(path) if path is not None else None
        if path is not None:
            settings = load_script(path)
            answers = settings.pop("answers")
            default = settings.get("default", default)
            latency = settings.get("latency", latency)
            cycle = settings.get("cycle", cycle)
            dialect = settings.get("dialect", dialect)
        try:
            self.latency = float(latency)
        except (TypeError, ValueError):
            raise ConfigError(f"latency must be a number of seconds, got {latency!r}") from None
        if not (self.latency >= 0 and self.latency < float("inf")):
            raise ConfigError(f"latency must be a non-negative number of seconds, got {latency!r}")
        self.cycle = bool(cycle)
        self.serial = bool(serial)
        self.dialect = dialect
        if default is not None:
            _check_answer(default)
        self.default = default
        self._rules: list[Rule] | None = None
        self._sequence: list[Answer] | None = None
        self._constant: Answer | None = None
        self._callable: Callable[[EngineRequest], Any] | None = None
        self._setup(answers)
        self._lock = threading.Lock()
        self._serial_lock = threading.Lock()
        self._next = 0
        self.calls = 0
        self.requests: collections.deque[EngineRequest] = collections.deque(maxlen=max(int(history), 0))

    def _setup(self, answers: Any) -> None:
        if callable(answers):
            self._callable = answers
        elif isinstance(answers, str) or _is_answer_dict(answers):
            self._constant = answers
        elif isinstance(answers, Mapping):
            self._rules = [
                Rule(answer=a, when=k) if callable(k) else Rule(answer=a, prompt_contains=str(k))
                for k, a in answers.items()
            ]
        elif isinstance(answers, Sequence) and answers:
            items = list(answers)
            if all(isinstance(a, Rule) or _is_rule_dict(a) for a in items):
                self._rules = [a if isinstance(a, Rule) else Rule.from_dict(a) for a in items]
            else:
                for a in items:
                    _check_answer(a)
                self._sequence = items
        else:
            raise ConfigError(f"scripted answers must be a string, list, dict or callable, got {answers!r}")

    def load(self) -> None:
        """Nothing to load."""

    def _pick(self, request: EngineRequest) -> Answer:
        if self._constant is not None:
            return self._constant
        if self._callable is not None:
            answer = self._callable(request)
            _check_answer(answer)
            return answer
        if self._rules is not None:
            for rule in self._rules:
                if rule.matches(request):
                    return rule.answer
            if self.default is not None:
                return self.default
            raise EngineError(
                f"no scripted answer matches the prompt {request.prompt[:80]!r} and no default is set"
            )
        with self._lock:
            index = self._next
            self._next += 1
        if index >= len(self._sequence) and not self.cycle:
            if self.default is not None:
                return self.default
            raise EngineError(f"the scripted answers ran out after {len(self._sequence)} requests")
        return self._sequence[index % len(self._sequence)]

    def generate(self, request: EngineRequest) -> EngineResponse:
        with self._lock:
            self.calls += 1
            self.requests.append(request)
        answer = self._pick(request)
        if self.latency > 0:
            if self.serial:
                with self._serial_lock:
                    time.sleep(self.latency)
            else:
                time.sleep(self.latency)
        if isinstance(answer, str):
            return EngineResponse(text=answer, tokens=None, info={"scripted": True})
        tokens = answer.get("tokens")
        token_probs = None if tokens is None else [TokenProb(int(s), int(e), float(p)) for s, e, p in tokens]
        return EngineResponse(
            text=answer["text"], tokens=token_probs, info={"scripted": True, **dict(answer.get("info", {}))}
        )

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.path or "<inline script>",
            "device": "none",
            "dtype": None,
            "family": None,
            "dialect": self.dialect,
            "latency": self.latency,
            "requests": self.calls,  # answered so far: tests of a server process read it from /v1/health
        }
