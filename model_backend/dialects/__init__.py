"""Model dialects (text <-> set-of-points geometry) and their registry.

Dialects are chosen by registry key, never by matching substrings of model names::

    from model_backend.dialects import get_dialect
    dialect = get_dialect("qwen2.5-vl")
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Dialect, ImageSize
from .florence2 import Florence2Dialect
from .geochat import GeoChatDialect
from .geor1 import GeoR1Dialect
from .georsmllm import GeoRSMLLMDialect
from .internvl import InternVLDialect
from .qwen import Qwen2VLDialect, Qwen3VLDialect, Qwen25VLDialect, smart_resize

_REGISTRY: dict[str, Dialect] = {}


def register_dialect(dialect: Dialect) -> None:
    """Register ``dialect`` under its ``name`` (replacing any dialect of that name)."""
    if not isinstance(dialect, Dialect):
        raise TypeError(f"expected a Dialect instance, got {type(dialect).__name__}")
    if not dialect.name:
        raise ValueError("a dialect needs a non-empty name to be registered")
    _REGISTRY[dialect.name] = dialect


def get_dialect(name: str) -> Dialect:
    """The registered dialect called ``name``; ``ConfigError`` naming the available ones if unknown."""
    key = (name or "").strip()
    found = _REGISTRY.get(key) or _REGISTRY.get(key.lower())
    if found is None:
        raise ConfigError(
            f"unknown model dialect {name!r}; set the dialect to one of: {', '.join(available_dialects())}"
        )
    return found


def available_dialects() -> list[str]:
    """Registry keys, sorted."""
    return sorted(_REGISTRY)


for _d in (
    GeoRSMLLMDialect(),
    Qwen2VLDialect(),
    Qwen25VLDialect(),
    Qwen3VLDialect(),
    Florence2Dialect(),
    InternVLDialect(),
    GeoChatDialect(),
    GeoR1Dialect(),
):
    register_dialect(_d)
del _d

__all__ = [
    "Dialect",
    "Florence2Dialect",
    "GeoChatDialect",
    "GeoR1Dialect",
    "GeoRSMLLMDialect",
    "ImageSize",
    "InternVLDialect",
    "Qwen25VLDialect",
    "Qwen2VLDialect",
    "Qwen3VLDialect",
    "available_dialects",
    "get_dialect",
    "register_dialect",
    "smart_resize",
]
