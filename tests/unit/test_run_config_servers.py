"""Settings for several model servers and batched local generation: ``base_url`` is a list, and one URL as text still works from a TOML
file, the environment, older clients and the command line; the factory hands the list to the engine."""

from __future__ import annotations

import pytest

from model_backend.cli import _overrides, build_parser
from model_backend.errors import ConfigError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.factory import build_engine

A, B = "http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"


def test_one_url_as_text_becomes_a_list(tmp_path):
    assert RunConfig(base_url=A).base_url == [A]  # an older client
    toml = tmp_path / "run.toml"
    toml.write_text(f'[run]\nbase_url = "{A}"\n')
    assert RunConfig.load(config_file=toml, environ={}).base_url == [A]
    toml.write_text(f'base_url = ["{A}", "{B}"]\n')
    assert RunConfig.load(config_file=toml, environ={}).base_url == [A, B]
    assert RunConfig.load(environ={"GEORSMLLM_BASE_URL": f"{A},{B}"}).base_url == [A, B]
    assert RunConfig(base_url=[f"{A} {B}"]).base_url == [A, B]
    assert RunConfig(base_url="").base_url is None


def test_endpoint_concurrency_is_checked_and_read_from_the_environment():
    assert RunConfig.load(environ={"GEORSMLLM_ENDPOINT_CONCURRENCY": "3"}).endpoint_concurrency == 3
    with pytest.raises(ConfigError, match="endpoint_concurrency must be at least 1"):
        RunConfig(endpoint_concurrency=0)


@pytest.mark.parametrize("command", ["run", "serve"])
def test_base_url_is_repeatable_on_the_command_line(command):
    args = build_parser().parse_args([command, "--base-url", A, "--base-url", B, "--endpoint-concurrency", "2"])
    values = _overrides(args)
    assert values["base_url"] == [A, B] and values["endpoint_concurrency"] == 2
    assert RunConfig.load(values, environ={}).base_url == [A, B]


def test_factory_gives_the_engine_every_server_and_the_per_server_limit():
    engine = build_engine(RunConfig(engine="openai", base_url=[A, B], concurrency=8, endpoint_concurrency=3))
    assert engine.base_urls == [A, B] and engine.concurrency == 3
    engine = build_engine(RunConfig(engine="openai", base_url=A, concurrency=8))
    assert engine.base_urls == [A] and engine.concurrency == 8  # no own limit: any server may hold all 8


def test_max_batch_reaches_the_transformers_engine_from_the_command_line():
    for command in ("run", "serve"):
        values = _overrides(build_parser().parse_args([command, "--max-batch", "8"]))
        assert RunConfig.load(values, environ={}).max_batch == 8
    engine = build_engine(RunConfig(engine="transformers", model="/nonexistent/checkpoint", max_batch=8))
    assert engine.max_batch == 8  # not loaded: the folder is only read by load()
    with pytest.raises(ConfigError, match="max_batch must be at least 1"):
        RunConfig(max_batch=0)
