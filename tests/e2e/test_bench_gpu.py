"""bench/gpu.py as a process: it refuses to measure without CUDA, and its --smoke mode runs the whole
script on tiny shapes on the CPU (the ONNX export is left out here: the SAM2 tests export it already)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("torch")


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_refuses_clearly_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the script would measure it")
    done = _run("--models", "3b", timeout=120)
    assert done.returncode == 2
    assert "measures a CUDA GPU and none is available here" in done.stderr and "--smoke" in done.stderr
    assert "qwen2.5-vl" not in done.stdout  # nothing was built or measured


@pytest.mark.slow
def test_smoke_mode_runs_every_part_on_the_cpu(tmp_path):
    out = tmp_path / "figures.json"
    done = _run("--smoke", "--no-onnx", "--json", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SMOKE" in done.stdout
    figures = json.loads(out.read_text())
    assert figures["smoke"] is True
    engine = figures["engine"]
    assert [(r["tile_px"], r["batch"]) for r in engine] == [(56, 1), (56, 2), (112, 1), (112, 2)]
    assert all(r["tiles_per_s"] > 0 and not r["split_by_oom"] for r in engine)
    (sam,) = figures["sam2"]
    assert sam["segmenter"] == "sam2 (torch)" and sam["encodings_per_s"] > 0 and sam["decoder_calls_per_s"] > 0
