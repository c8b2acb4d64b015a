"""Finished tiles are never lost, and interrupted runs resume to the uninterrupted result.

The model is a fake OpenAI-compatible server on loopback whose answers depend on the pixels it is sent (the
boxes of the bright objects in each tile), so every tile's answer is its own whatever order tiles run in. The
command line runs in a subprocess that is killed (SIGKILL, SIGTERM) or loses its model server after some
tiles; the features after ``--resume`` must be those of a run that was never interrupted.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from PIL import Image

from model_backend.engines import get_engine
from model_backend.engines.base import EngineRequest
from model_backend.errors import ConfigError, EngineError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.events import CancelToken
from model_backend.pipeline.journal import iter_journal_runs, journal_path
from model_backend.pipeline.runner import Pipeline
from tests.e2e.test_tile_seams import SCENES, write_scene
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion
from tests.helpers.pipeline_fakes import BrightObjectEngine, RotatedObjectEngine

ROOT = Path(__file__).resolve().parents[2]
RUN_NAME = "planes"
TILE, OVERLAP = 128, 32  # 640 px scene -> 7 x 7 = 49 tiles


def chat_image(body: dict) -> np.ndarray:
    """The (first) image of an OpenAI chat request, as an (H, W, 3) uint8 array."""
    for message in body["messages"]:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if part.get("type") == "image_url":
                png = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    raise AssertionError("no image in the request")


def seeing_server(delay: float = 0.0) -> FakeOpenAIServer:
    """A fake model server answering the rotated boxes of the bright objects in each tile."""
    finder = RotatedObjectEngine(label="plane")

    def answer(body: dict) -> Reply:
        text = finder.generate(EngineRequest(prompt="", images=(chat_image(body),))).text
        return Reply(body=completion(text), delay=delay)

    return FakeOpenAIServer(default=answer)


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "scene.tif"
    transform, crs, _px = SCENES["utm"]
    write_scene(path, transform, crs)
    return path


def features(gpkg: Path, layer: str = f"{RUN_NAME}_boxes") -> list[tuple]:
    """The layer's features as comparable rows: geometry (WKT), label, score, tiles."""
    meta, _fids, wkb, fields = pyogrio.raw.read(gpkg, layer=layer)
    values = dict(zip(meta["fields"], fields))
    scores = [None if np.isnan(v) else float(v) for v in values["score"]]  # NaN != NaN
    return sorted((shapely.from_wkb(w).wkt, values["label"][i], scores[i], values["tile"][i])
                  for i, w in enumerate(wkb))


def partial_flags(gpkg: Path, layer: str = f"{RUN_NAME}_boxes") -> set[str]:
    meta, _fids, _wkb, fields = pyogrio.raw.read(gpkg, layer=layer, read_geometry=False)
    return set(dict(zip(meta["fields"], fields))["partial"])


def journal_tiles(gpkg: Path) -> dict[int, int]:
    """``{tile index: number of candidates}`` in the output's journal (read-only, as another program would)."""
    path = journal_path(gpkg)
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT tile, payload FROM tiles").fetchall()
    except sqlite3.OperationalError:  # created but no table yet
        return {}
    finally:
        db.close()
    return {tile: len(json.loads(payload)["candidates"]) for tile, payload in rows}


@pytest.fixture(scope="module")
def clean(scene, tmp_path_factory) -> tuple[list[tuple], dict[int, int], int]:
    """An uninterrupted run through the same engine: its features, objects per tile and tile count."""
    out = tmp_path_factory.mktemp("clean") / "clean.gpkg"
    per_tile: dict[int, int] = {}

    def on_event(event):
        if event.kind == "tile":
            per_tile[event.data["tile"]] = event.data["objects"]

    with seeing_server() as server:
        engine = get_engine("openai", base_url=server.url, model="tiny", dialect="georsmllm")
        engine.load()
        result = Pipeline(_config(scene, out), engine).run(on_event=on_event)
        engine.close()
    assert result.tiles_done == result.tiles_total == 49 and not result.partial
    assert not os.path.exists(journal_path(out))  # a completed run leaves no journal
    return features(out), per_tile, result.tiles_total


def _config(scene: Path, out: Path, **changes) -> RunConfig:
    values = dict(raster=str(scene), instruction="[detection] planes", output=str(out), engine="openai",
                  model="tiny", dialect="georsmllm", tile_size=TILE, overlap=OVERLAP, run_name=RUN_NAME,
                  concurrency=2)
    return RunConfig(**{**values, **changes})


def cli(*args: str | os.PathLike) -> list[str]:
    return [sys.executable, "-m", "model_backend", "run", *map(str, args)]


def cli_run_args(scene: Path, out: Path, url: str) -> list[str]:
    return cli("--raster", scene, "-i", "[detection] planes", "-o", out, "--engine", "openai", "--base-url", url,
               "--model", "tiny", "--dialect", "georsmllm", "--tile-size", TILE, "--overlap", OVERLAP,
               "--run-name", RUN_NAME, "--concurrency", 2, "-q")


def run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GEORSMLLM_CONFIG"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def wait_for_tiles(out: Path, proc: subprocess.Popen, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(journal_tiles(out)) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run journaled no tiles in time"
        time.sleep(0.02)


def check_journal_matches_clean(out: Path, per_tile: dict[int, int]) -> dict[int, int]:
    journaled = journal_tiles(out)
    assert journaled and all(per_tile[tile] == n for tile, n in journaled.items()), journaled
    return journaled


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_run_keeps_every_finished_tile_and_resumes_to_the_uninterrupted_features(
        tmp_path, scene, clean, sig):
    clean_features, per_tile, total = clean
    out = tmp_path / "out.gpkg"
    with seeing_server(delay=0.08) as server:
        proc = subprocess.Popen(cli_run_args(scene, out, server.url), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wait_for_tiles(out, proc, at_least=6)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    journaled = check_journal_matches_clean(out, per_tile)
    assert 6 <= len(journaled) < total
    if sig == signal.SIGTERM:  # flushed: the layers hold the finished tiles, marked partial; exit "interrupted"
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr and f"--resume {next(iter_journal_runs(out)).run_id}" in stdout
        assert partial_flags(out) == {"true"}
        # the partial layer is what the journal holds: a resume cancelled at once writes the same
        written = features(out)
        assert written
        with seeing_server() as again:
            engine = get_engine("openai", base_url=again.url, model="tiny", dialect="georsmllm")
            stopped = CancelToken()
            stopped.cancel()
            result = Pipeline(_config(scene, out), engine).run(cancel=stopped, resume=True)
            assert result.partial and result.tiles_done == len(journaled) and again.chat_requests() == []
        assert features(out) == written
    else:
        assert proc.returncode == -signal.SIGKILL
        if out.exists():  # a checkpoint may have been written: it is a valid GeoPackage either way
            pyogrio.list_layers(out)
    with seeing_server() as back:
        done = run_cli(cli("--resume", "-o", out, "--base-url", back.url, "-q"))
        assert done.returncode == 0, done.stderr
        assert len(back.chat_requests()) == total - len(journaled)  # finished tiles are not redone
    assert features(out) == clean_features
    assert partial_flags(out) == {"false"}
    assert not os.path.exists(journal_path(out))


@pytest.mark.slow
def test_model_server_gone_mid_run_keeps_finished_tiles_and_the_run_resumes_once_it_is_back(tmp_path, scene, clean):
    clean_features, per_tile, total = clean
    out = tmp_path / "out.gpkg"
    server = seeing_server(delay=0.05).__enter__()
    proc = subprocess.Popen(cli_run_args(scene, out, server.url), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_tiles(out, proc, at_least=8)
    finally:
        server.kill()  # the model server goes away mid-run
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in stderr
    journaled = check_journal_matches_clean(out, per_tile)
    [run] = iter_journal_runs(out)
    assert run.state == "failed" and run.tiles_done == len(journaled)
    assert f"{len(journaled)} finished tiles are kept" in stderr and f"--resume {run.run_id}" in stderr
    assert partial_flags(out) == {"true"}  # what was done is in the GeoPackage too
    with seeing_server() as back:  # back, at another address
        done = run_cli(cli("--resume", run.run_id, "-o", out, "--base-url", back.url, "-q"))
        assert done.returncode == 0, done.stderr
        assert len(back.chat_requests()) == total - len(journaled)
    assert features(out) == clean_features


def test_resume_with_another_recipe_is_refused_naming_what_differs(tmp_path, scene, capsys):
    from model_backend.cli import main

    out = tmp_path / "out.gpkg"
    stop = CancelToken()
    calls = {"n": 0}

    def on_event(event):
        calls["n"] += event.kind == "tile"
        if calls["n"] == 3:
            stop.cancel()

    with seeing_server() as server:
        engine = get_engine("openai", base_url=server.url, model="tiny", dialect="georsmllm")
        result = Pipeline(_config(scene, out, concurrency=1), engine).run(on_event=on_event, cancel=stop)
        assert result.partial
        for changed, needle in ((["--tile-size", "256"], "tile_size: 128 in the journal, 256 now"),
                                (["-i", "[detection] ships"], 'instruction: "[detection] planes" in the journal'),
                                (["--model", "other"], 'model: "tiny" in the journal, "other" now')):
            rc = main(["run", "--resume", "-o", str(out), "--base-url", server.url, "-q", *changed])
            err = capsys.readouterr().err
            assert rc == 2 and needle in err and "cannot resume run" in err, err
        assert len(server.chat_requests()) == 3  # nothing was run by the refused resumes
    [run] = iter_journal_runs(out)
    assert run.tiles_done == 3 and run.state == "stopped"
    # the raster file changed since: another raster, refused too
    os.utime(scene, ns=(time.time_ns(), time.time_ns()))
    with pytest.raises(ConfigError, match="raster: "):
        Pipeline(_config(scene, out), BrightObjectEngine()).run(resume=True)


def test_resume_of_a_completed_run_says_there_is_nothing_to_resume(tmp_path, scene):
    out = tmp_path / "out.gpkg"
    config = _config(scene, out, engine="scripted", tile_size=320, overlap=0)
    Pipeline(config, BrightObjectEngine()).run()
    with pytest.raises(ConfigError, match="nothing to resume.*completed leaves none"):
        Pipeline(config, BrightObjectEngine()).run(resume=True)


class FailingAfter(BrightObjectEngine):
    """Sees bright objects for ``n`` calls, then fails as a model server that went away does."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def generate(self, request):
        if self.calls >= self.n:
            raise EngineError("cannot reach the model server")
        return super().generate(request)


def test_cancelled_run_with_tiles_finishing_out_of_order_resumes_to_the_same_features(tmp_path, scene):
    def run(out, engine, **kwargs):
        config = _config(scene, out, engine="scripted", concurrency=4)
        return Pipeline(config, engine).run(**kwargs)

    run(tmp_path / "clean.gpkg", RotatedObjectEngine(label="plane"))
    stop = CancelToken()
    seen = []

    def on_event(event):
        if event.kind == "tile":
            seen.append(event.data["tile"])
            if len(seen) == 11:
                stop.cancel()

    first = run(tmp_path / "out.gpkg", RotatedObjectEngine(label="plane"), on_event=on_event, cancel=stop)
    assert first.partial and partial_flags(tmp_path / "out.gpkg") == {"true"}
    assert set(journal_tiles(tmp_path / "out.gpkg")) == set(seen)
    engine = RotatedObjectEngine(label="plane")
    second = run(tmp_path / "out.gpkg", engine, resume=True)
    assert second.run_id == first.run_id and not second.partial
    assert engine.calls == 49 - len(seen) and second.tiles_done == 49
    assert features(tmp_path / "out.gpkg") == features(tmp_path / "clean.gpkg")


def test_classification_tiles_are_journaled_and_resumed(tmp_path, scene):
    from model_backend.engines.scripted import ScriptedEngine

    answers = {"n": 0}

    def by_brightness(request):  # the class depends on the tile's pixels only
        answers["n"] += 1
        return "airport" if (request.images[0] >= 250).any() else "farmland"

    def config(out, concurrency=3):
        return _config(scene, out, engine="scripted", tile_size=200, overlap=20, concurrency=concurrency,
                       instruction="[classify] what is this", classes=["airport", "farmland"])

    clean = Pipeline(config(tmp_path / "clean.gpkg"), ScriptedEngine(by_brightness)).run()

    class Failing(ScriptedEngine):
        def generate(self, request):
            if answers["n"] >= 5:
                raise EngineError("cannot reach the model server")
            return super().generate(request)

    answers["n"] = 0
    with pytest.raises(EngineError):
        Pipeline(config(tmp_path / "out.gpkg", concurrency=1), Failing(by_brightness)).run()
    assert len(journal_tiles_any(tmp_path / "out.gpkg")) == 5
    assert partial_flags(tmp_path / "out.gpkg", "planes_polygons") == {"true"}
    answers["n"] = 0
    resumed = Pipeline(config(tmp_path / "out.gpkg"), ScriptedEngine(by_brightness)).run(resume=True)
    assert answers["n"] == clean.tiles_total - 5
    assert resumed.counts == clean.counts
    assert features(tmp_path / "out.gpkg", "planes_polygons") == features(tmp_path / "clean.gpkg", "planes_polygons")


def journal_tiles_any(gpkg: Path) -> list[int]:
    db = sqlite3.connect(journal_path(gpkg))
    try:
        return [row[0] for row in db.execute("SELECT tile FROM tiles")]
    finally:
        db.close()


def test_refined_outlines_are_journaled_with_their_tiles_and_resumed(tmp_path, scene):
    from tests.helpers.pipeline_fakes import DiamondSegmenter

    def run(out, **kwargs):
        config = _config(scene, out, engine="scripted", refine="sam2", segmenter="sam2", concurrency=3)
        return Pipeline(config, RotatedObjectEngine(label="plane"), segmenter=DiamondSegmenter()).run(**kwargs)

    run(tmp_path / "clean.gpkg")
    stop = CancelToken()
    run(tmp_path / "out.gpkg", cancel=stop,
        on_event=lambda e: stop.cancel() if e.kind == "tile" and e.tiles_done == 9 else None)
    db = sqlite3.connect(journal_path(tmp_path / "out.gpkg"))
    payloads = [json.loads(p) for (p,) in db.execute("SELECT payload FROM tiles")]
    db.close()
    assert any(p.get("outlines") for p in payloads)  # the outlines are kept, not recomputed
    resumed = run(tmp_path / "out.gpkg", resume=True)
    assert not resumed.partial
    for layer in (f"{RUN_NAME}_boxes", f"{RUN_NAME}_polygons"):
        assert features(tmp_path / "out.gpkg", layer) == features(tmp_path / "clean.gpkg", layer)


def test_model_found_references_are_journaled_with_their_tiles_and_resumed(tmp_path, scene):
    def run(out, **kwargs):
        config = _config(scene, out, engine="scripted", concurrency=3,
                         instruction="[detection] planes within 100 m of a hangar")
        return Pipeline(config, RotatedObjectEngine(label="plane")).run(**kwargs)

    clean = run(tmp_path / "clean.gpkg")
    assert set(clean.outputs["layers"]) == {"boxes", "ref_hangar_boxes"}
    stop = CancelToken()
    run(tmp_path / "out.gpkg", cancel=stop,
        on_event=lambda e: stop.cancel() if e.kind == "tile" and e.tiles_done == 10 else None)
    resumed = run(tmp_path / "out.gpkg", resume=True)
    assert resumed.references == clean.references and not resumed.partial
    for layer in clean.outputs["layers"].values():
        assert features(tmp_path / "out.gpkg", layer) == features(tmp_path / "clean.gpkg", layer)
