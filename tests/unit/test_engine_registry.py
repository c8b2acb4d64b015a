"""Engine registry, model families, device/dtype choice and request image checks."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model_backend.engines import (
    Engine,
    EngineResponse,
    available_engines,
    default_dialect_for,
    engine_factory,
    get_engine,
    register_engine,
    supported_model_types,
)
from model_backend.engines.checkpoint import resolve_source
from model_backend.engines.families import family_for
from model_backend.engines.images import check_images, png_data_url
from model_backend.errors import ConfigError, EngineError

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_engines():
    assert {"transformers", "openai", "scripted"} <= set(available_engines())
    assert engine_factory("Scripted").__name__ == "ScriptedEngine"


def test_unknown_engine_lists_available():
    with pytest.raises(ConfigError, match="unknown engine 'llamacpp'.*openai.*scripted.*transformers"):
        get_engine("llamacpp")


def test_unknown_and_missing_settings_are_named():
    with pytest.raises(ConfigError, match="no setting 'url'.*base_url"):
        get_engine("openai", url="http://x")
    with pytest.raises(ConfigError, match="needs the setting 'model'"):
        get_engine("transformers")


def test_register_custom_engine():
    class Echo(Engine):
        name = "echo"

        def __init__(self, prefix: str = ">"):
            self.prefix = prefix

        def load(self):
            pass

        def generate(self, request):
            return EngineResponse(self.prefix + request.prompt)

    register_engine("echo-test", Echo)
    from model_backend.engines import EngineRequest

    assert get_engine("echo-test", prefix="#").generate(EngineRequest("hi")).text == "#hi"


def test_choosing_light_engines_never_imports_torch():
    code = (
        "import sys\n"
        "from model_backend.engines import get_engine\n"
        "get_engine('scripted', answers='x'); get_engine('openai', base_url='http://127.0.0.1:1')\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.parametrize(
    "model_type, dialect",
    [
        ("llava_onevision", "georsmllm"),
        ("qwen2_vl", "qwen2-vl"),
        ("qwen2_5_vl", "qwen2.5-vl"),
        ("qwen3_vl", "qwen3-vl"),
        ("internvl", "internvl"),
        ("florence2", "florence-2"),
    ],
)
def test_default_dialect_per_family(model_type, dialect):
    assert default_dialect_for(model_type) == dialect


def test_family_lookup_is_exact_not_by_substring():
    assert supported_model_types() == sorted(
        ["florence2", "internvl", "llava_onevision", "qwen2_5_vl", "qwen2_vl", "qwen3_vl"]
    )
    for near_miss in ("qwen2", "Qwen2_5_VL", "llava", "qwen2_5_vl_text", "internvl_vision"):
        with pytest.raises(EngineError, match="not supported"):
            family_for(near_miss)
    with pytest.raises(EngineError, match="-hf"):
        family_for("internvl_chat")


def test_resolve_source(tmp_path):
    assert resolve_source(str(tmp_path)).local_dir == tmp_path.resolve()
    assert resolve_source("OpenGVLab/InternVL3-1B-hf").hub_id == "OpenGVLab/InternVL3-1B-hf"
    for missing in (str(tmp_path / "x"), "./models/georsmllm", "~/nothing-here/model", "a/b/c"):
        with pytest.raises(EngineError, match="does not exist"):
            resolve_source(missing)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(EngineError, match="is a file"):
        resolve_source(str(tmp_path / "file.txt"))


def test_check_images():
    img = np.zeros((5, 7, 3), np.uint8)
    assert len(check_images([img, img])) == 2
    with pytest.raises(EngineError, match="0 to 2 image"):
        check_images([img] * 3)
    with pytest.raises(EngineError, match="takes 1 image"):
        check_images([], max_images=1, min_images=1)
    with pytest.raises(EngineError, match=r"\(H, W, 3\)"):
        check_images([np.zeros((5, 7, 4), np.uint8)])
    with pytest.raises(EngineError, match=r"\(H, W, 3\)"):
        check_images([np.zeros((0, 7, 3), np.uint8)])
    with pytest.raises(EngineError, match="uint8"):
        check_images([np.zeros((5, 7, 3), np.uint16)])


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3))))
def test_png_data_url_is_lossless(image):
    from PIL import Image

    url = png_data_url(image)
    assert url.startswith("data:image/png;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    assert np.array_equal(decoded, image)


def test_device_and_dtype_selection():
    torch = pytest.importorskip("torch")
    from model_backend.engines.device import select_device, select_dtype

    assert select_device("cpu") == "cpu"
    assert select_dtype("cpu") is torch.float32
    assert select_dtype("cpu", "bfloat16") is torch.bfloat16
    assert select_dtype("mps") is torch.float16
    if torch.cuda.is_available():
        assert select_device("auto") == "cuda"
        assert select_dtype("cuda") in (torch.bfloat16, torch.float16)
    else:
        assert select_device("auto") in ("cpu", "mps")
        with pytest.raises(EngineError, match="CUDA is not available"):
            select_device("cuda:0")
    with pytest.raises(ConfigError):
        select_device("gpu")


def test_hub_failures_are_told_apart(monkeypatch):
    errors = pytest.importorskip("huggingface_hub.errors")
    import huggingface_hub.constants

    from model_backend.engines.checkpoint import CheckpointSource, hub_error_message

    source = CheckpointSource("org/model", hub_id="org/model")

    def wrapped(cause: Exception) -> OSError:
        error = OSError("We couldn't connect to 'https://huggingface.co' to load the files")
        error.__cause__ = cause
        return error

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    no_network = hub_error_message(wrapped(errors.LocalEntryNotFoundError("not cached")), source)
    assert "cannot be reached (no network?)" in no_network and "local checkpoint folder" in no_network

    http = pytest.importorskip("httpx2")  # the HTTP client huggingface_hub 2.x builds its errors from
    response = http.Response(404, request=http.Request("GET", "https://huggingface.co/api/models/org/model"))
    missing = hub_error_message(wrapped(errors.RepositoryNotFoundError("404", response=response)), source)
    assert "not found or needs a login" in missing
    assert hub_error_message(ValueError("unrelated"), source) is None

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = hub_error_message(wrapped(errors.LocalEntryNotFoundError("not cached")), source)
    assert "HF_HUB_OFFLINE is set" in offline
