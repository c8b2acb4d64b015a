"""The Processing algorithms from the standalone `qgis_process` tool (as a batch script would call them),
against a real backend server process with the scripted engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Debian's /usr/bin/qgis_process wrapper passes --noversioncheck, which 3.22's qgis_process rejects.
QGIS_PROCESS = shutil.which("qgis_process.bin") or shutil.which("qgis_process")

pytestmark = pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process is not installed (Debian package qgis)")


@pytest.fixture
def backend(tmp_path, data_dir):
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"answers": ["<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"]}))
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, "-m", "model_backend", "serve", "--engine", "scripted", "--script",
                             str(script), "--port", "0", "--port-file", str(port_file), "--token", "tok",
                             "--allow-dir", str(data_dir), "--allow-dir", str(tmp_path), "--work-dir",
                             str(tmp_path / "work")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "backend did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port_file.read_text()}"
    proc.terminate()
    proc.wait(10)


def test_detect_runs_from_qgis_process(tmp_path, data_dir, backend):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "georsmllm").symlink_to(ROOT, target_is_directory=True)
    # a fresh QGIS profile for qgis_process (pytest-qgis points QGIS_CUSTOM_CONFIG_PATH at the test session's)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile"),
           "QT_QPA_PLATFORM": "offscreen",
           "QGIS_PLUGINPATH": str(plugins), "GEORSMLLM_PLUGIN_SERVER_URL": backend, "GEORSMLLM_PLUGIN_TOKEN": "tok"}
    enable = subprocess.run([QGIS_PROCESS, "plugins", "enable", "georsmllm"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert enable.returncode == 0, enable.stderr
    listing = subprocess.run([QGIS_PROCESS, "list"], env=env, capture_output=True, text=True, timeout=120)
    assert "georsmllm:detect" in listing.stdout and "georsmllm:change" in listing.stdout
    out = tmp_path / "ponds.gpkg"
    run = subprocess.run([QGIS_PROCESS, "run", "georsmllm:detect", "--", f"INPUT={data_dir / 'naip_2020.tif'}",
                          "INSTRUCTION=ponds", "TILE_SIZE=512", "OVERLAP=64", f"OUTPUT={out}"],
                         env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FEATURE_COUNT:\t4" in run.stdout
    meta, _fids, _wkb, fields = pyogrio.raw.read(out)
    assert set(dict(zip(meta["fields"], fields))["label"]) == {"pond"}
