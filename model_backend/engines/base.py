"""The engine protocol: images + prompt text in, answer text (and token probabilities) out.

Every engine has one shape -- ``load()``, ``generate()``, ``close()`` -- and is chosen from the
registry in ``engines/__init__.py`` by name, never by matching substrings of model names.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass
class EngineRequest:
    """One model call.

    ``images``: one array, or two for change detection (before, then after), each ``(H, W, 3)``
    uint8 RGB, exactly the pixels the dialect's coordinates refer to. ``prompt``: the user text built
    by a dialect. ``system``: optional system message. ``response_format``: an OpenAI-style
    ``response_format`` (e.g. ``{"type": "json_schema", "json_schema": {...}}``) for engines that
    constrain their output (``Engine.constrains_output``); others ignore it.
    """

    prompt: str
    images: Sequence[np.ndarray] = ()
    system: str | None = None
    max_new_tokens: int = 512
    temperature: float = 0.0
    response_format: dict[str, Any] | None = None


@dataclass
class TokenProb:
    """A generated token's character span ``[start, end)`` in the answer text and its probability."""

    start: int
    end: int
    prob: float


@dataclass
class EngineResponse:
    """The answer text; ``tokens`` is ``None`` where the engine exposes no log-probabilities."""

    text: str
    tokens: list[TokenProb] | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """A loaded model that answers requests. ``generate`` may be called from several threads."""

    name: str = ""
    #: whether ``generate`` honours ``EngineRequest.response_format`` (constrained decoding)
    constrains_output: bool = False

    @abc.abstractmethod
    def load(self) -> None:
        """Load the model (idempotent). Raises ``EngineError`` with one clear message on failure,
        leaving nothing half-loaded in memory."""

    @abc.abstractmethod
    def generate(self, request: EngineRequest) -> EngineResponse:
        """Answer one request."""

    def close(self) -> None:  # noqa: B027 - optional hook: engines without resources keep this no-op
        """Release the model and any connections."""

    def describe(self) -> dict[str, Any]:
        """What is loaded: ``{"engine", "model", "device", ...}`` for health checks and run summaries."""
        return {"engine": self.name}

    def __enter__(self):
        self.load()
        return self

    def __exit__(self, *exc):
        self.close()
