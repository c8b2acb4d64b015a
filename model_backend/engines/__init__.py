"""Model engines, chosen by registry name: ``get_engine("transformers", model="/models/georsmllm")``.

Built in: ``transformers`` (in-process checkpoint, the default), ``openai`` (an OpenAI-compatible
server), ``text-llm`` (an in-process text-only causal LM: the instruction parser) and ``scripted``
(known answers for tests and demos). Engine modules are imported on first
use, so choosing ``openai`` or ``scripted`` never imports torch.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any, Callable

from ..errors import ConfigError
from .base import Engine, EngineRequest, EngineResponse, TokenProb
from .families import default_dialect_for, supported_model_types
from .scoring import attach_scores

DEFAULT_ENGINE = "transformers"

_BUILTIN = {
    "transformers": ".transformers_engine:TransformersEngine",
    "openai": ".openai_engine:OpenAIEngine",
    "text-llm": ".text_llm:TextLLMEngine",
    "scripted": ".scripted:ScriptedEngine",
}

_registry: dict[str, str | Callable[..., Engine]] = dict(_BUILTIN)
_registry_lock = threading.Lock()


def register_engine(name: str, factory: Callable[..., Engine] | str) -> None:
    """Register an engine class/factory, or a ``"module:attribute"`` path imported on first use
    (a module path starting with ``.`` is relative to this package)."""
    key = name.strip().lower()
    if not key:
        raise ConfigError("an engine needs a non-empty name")
    with _registry_lock:
        _registry[key] = factory


def available_engines() -> list[str]:
    """Registered engine names, sorted."""
    with _registry_lock:
        return sorted(_registry)


#: engines for text only (the instruction parser's), never a run's main model, which is sent images
TEXT_ONLY_ENGINES = frozenset({"text-llm"})


def image_engines() -> list[str]:
    """Registered engines that can be a run's main model (all but the text-only ones), sorted."""
    return [name for name in available_engines() if name not in TEXT_ONLY_ENGINES]


def engine_factory(name: str) -> Callable[..., Engine]:
    """The class or factory registered under ``name`` (imported on first use)."""
    key = str(name).strip().lower()
    with _registry_lock:
        factory = _registry.get(key)
    if factory is None:
        raise ConfigError(f"unknown engine {name!r}; available: {', '.join(available_engines())}")
    if isinstance(factory, str):
        module_name, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module_name, package=__name__), attribute)
        with _registry_lock:
            _registry[key] = factory
    return factory


def get_engine(name: str = DEFAULT_ENGINE, **settings: Any) -> Engine:
    """A new, not yet loaded engine ``name`` built with ``settings`` (call ``load()`` or use ``with``).

    Unknown or missing settings raise ``ConfigError`` naming them and the engine's settings.
    """
    factory = engine_factory(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins or C callables: let the factory check
        return factory(**settings)
    params = signature.parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(settings) - set(named))
    if unknown and not accepts_any:
        raise ConfigError(
            f"engine {name!r} has no setting {', '.join(map(repr, unknown))}; "
            f"its settings: {', '.join(named)}"
        )
    missing = [n for n in named if params[n].default is inspect.Parameter.empty and n not in settings]
    if missing:
        raise ConfigError(f"engine {name!r} needs the setting {', '.join(map(repr, missing))}")
    return factory(**settings)


__all__ = [
    "DEFAULT_ENGINE",
    "Engine",
    "EngineRequest",
    "EngineResponse",
    "TokenProb",
    "attach_scores",
    "available_engines",
    "default_dialect_for",
    "engine_factory",
    "get_engine",
    "image_engines",
    "register_engine",
    "supported_model_types",
]
