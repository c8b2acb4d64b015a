"""One vocabulary: the backend derives its names from its registries, serves them (command line and
``GET /v1/capabilities``), and the copy the plugin ships is exactly the backend's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model_backend.cli import main
from model_backend.dialects import available_dialects
from model_backend.engines.families import FAMILIES
from model_backend.server.app import ServerSettings, create_app
from model_backend.tasks import Task
from model_backend.vocabulary import capabilities, capabilities_json
from plugin.toolbelt import vocabulary as plugin_vocabulary

ROOT = Path(__file__).resolve().parents[2]


def test_the_plugins_copy_is_the_backends_vocabulary():
    # A fresh process, as `make capabilities` runs: tests here may register extra engines in this one.
    done = subprocess.run([sys.executable, "-m", "model_backend", "capabilities", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    shipped = plugin_vocabulary.CACHE_PATH.read_text(encoding="utf-8")
    assert shipped == done.stdout, "resources/capabilities.json is stale: run `make capabilities`"
    assert shipped == capabilities_json(json.loads(shipped))


def test_names_come_from_the_registries():
    data = capabilities()
    assert [t["name"] for t in data["tasks"]] == [t.value for t in Task]
    assert data["dialects"] == available_dialects()
    assert {f["dialect"] for f in data["model_families"]} <= set(data["dialects"])
    assert [f["model_type"] for f in data["model_families"]] == list(FAMILIES)
    assert "none" in data["segmenters"] and data["default_engine"] in data["engines"]
    assert data["defaults"]["tile_size"] == 768 and data["defaults"]["engine"] == data["default_engine"]
    fields = {f["name"]: f["type"] for f in data["output_fields"]}
    assert fields["score"] == "real" and fields["label"] == "string" and "partial" in fields
    assert {t["name"] for t in data["tasks"] if not t["needs_instruction"]} == {"caption", "identify", "classify",
                                                                                "geolocation"}


def test_command_line_prints_the_vocabulary(capsys):
    assert main(["capabilities", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == capabilities()
    assert main(["capabilities"]) == 0
    text = capsys.readouterr().out
    assert "qwen2.5-vl" in text and "florence-2" in text and "instruction optional" in text


class _NoModel:
    def describe(self):
        return {}


def test_the_server_serves_the_vocabulary_behind_its_token(tmp_path):
    app = create_app(_NoModel(), ServerSettings(token="t0k", work_dir=str(tmp_path / "work")))
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:  # the Host the server is bound to
        assert client.get("/v1/capabilities").status_code == 401
        answer = client.get("/v1/capabilities", headers={"Authorization": "Bearer t0k"})
    assert answer.status_code == 200 and answer.json() == capabilities()


def test_the_plugin_reads_the_vocabulary():
    names = plugin_vocabulary.Vocabulary.from_dict(capabilities(), "test")
    assert names.task_names == tuple(t.value for t in Task)
    assert names.instruction_for("caption", "  ") == capabilities()["tasks"][3]["default_instruction"]
    assert names.instruction_for("detection", "") == ""  # the user must say what to find
    assert names.instruction_for("detection", " planes ") == "planes"
    assert names.instruction_for(None, "") == ""
    assert names.problem("dialect", "qwen2-vl") is None and names.problem("dialect", "") is None
    assert "qwen3-vl" in names.problem("dialect", "qwen")
    assert names.problem("device", "cuda:1") is None and names.problem("device", "tpu")
    with pytest.raises(KeyError, match="unknown task 'ocr'"):
        names.task("ocr")


def test_an_incomplete_vocabulary_is_refused_with_what_is_missing():
    data = capabilities()
    del data["dialects"]
    with pytest.raises(plugin_vocabulary.VocabularyError, match="dialects"):
        plugin_vocabulary.Vocabulary.from_dict(data, "http://old-server")


def test_a_backend_vocabulary_replaces_the_shipped_one_until_forgotten():
    data = capabilities()
    data["dialects"] = [*data["dialects"], "newdialect"]
    try:
        plugin_vocabulary.adopt(data, "http://gpu:8765")
        assert "newdialect" in plugin_vocabulary.current().dialects
        assert plugin_vocabulary.current().source == "http://gpu:8765"
    finally:
        plugin_vocabulary.forget_backend()
    assert "newdialect" not in plugin_vocabulary.current().dialects
