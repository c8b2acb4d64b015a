"""The dialect registry: exact keys, clear error for unknown names, registration of new dialects."""

import pytest

import model_backend.dialects as dialects
from model_backend.dialects import Dialect, available_dialects, get_dialect, register_dialect
from model_backend.dialects.georsmllm import GeoRSMLLMDialect
from model_backend.errors import ConfigError
from model_backend.tasks import Task

KEYS = ["georsmllm", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "florence-2", "internvl", "geochat", "geo-r1"]


def test_registry_has_exactly_the_agreed_keys():
    assert available_dialects() == sorted(KEYS)
    for key in KEYS:
        d = get_dialect(key)
        assert isinstance(d, Dialect) and d.name == key


def test_unknown_name_raises_config_error_listing_the_names():
    with pytest.raises(ConfigError) as err:
        get_dialect("qwen-7b")
    msg = str(err.value)
    assert "qwen-7b" in msg and all(k in msg for k in KEYS)


def test_register_dialect_adds_a_new_key_and_rejects_nameless(monkeypatch):
    monkeypatch.setattr(dialects, "_REGISTRY", dict(dialects._REGISTRY))  # keep the global one clean

    class Custom(GeoRSMLLMDialect):
        name = "test-custom-dialect"

    register_dialect(Custom())
    assert "test-custom-dialect" in available_dialects()
    assert isinstance(get_dialect("test-custom-dialect"), Custom)

    class Nameless(GeoRSMLLMDialect):
        name = ""

    with pytest.raises(ValueError):
        register_dialect(Nameless())


def test_supports_matches_what_build_prompt_accepts():
    for key in KEYS:
        d = get_dialect(key)
        for task in Task:
            if d.supports(task):
                d.build_prompt(task, "planes", (100, 100), [] if task is not Task.IDENTIFY else _one_region())
            else:
                with pytest.raises(ConfigError):
                    d.build_prompt(task, "planes", (100, 100))


def _one_region():
    from model_backend.geometry import SegTarget

    return [SegTarget((10, 10, 50, 40), label="plane")]
