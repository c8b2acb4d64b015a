"""The backend server for real: a separate process on loopback, driven over HTTP (jobs, server-sent
events, results, cancel, uploads) and its refusals."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pyogrio
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-123"
POND = "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"


def start_server(tmp_path: Path, *extra: str, script: dict | None = None, wait: bool = True):
    script_path = tmp_path / "answers.json"
    script_path.write_text(json.dumps(script or {"answers": [POND], "latency": 0.2}))
    port_file = tmp_path / "port"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "model_backend", "serve", "--engine", "scripted", "--script", str(script_path),
         "--port", "0", "--port-file", str(port_file), "--work-dir", str(tmp_path / "work"), *extra],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if not wait:
        return proc, None
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError((tmp_path / "server.log").read_text())
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("server")
    proc, url = start_server(tmp, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp),
                             "--max-upload-mb", "1")
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    yield client, tmp, proc
    client.close()
    proc.terminate()
    proc.wait(10)


def events(client: httpx.Client, job_id: str, start: int = 0) -> list[dict]:
    out = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events", params={"start": start}, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[len("data: "):]))
    return out


def submit(client, **body) -> str:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_health_names_model_device_and_memory(server):
    client, _tmp, _proc = server
    health = client.get("/v1/health").json()
    assert health["status"] == "ok"
    assert health["engine"]["engine"] == "scripted"
    assert "device" in health and "rss_peak_mb" in health["memory"]


def test_wrong_or_missing_token_is_refused(server):
    client, _tmp, _proc = server
    assert httpx.get(f"{str(client.base_url).rstrip('/')}/v1/health").status_code == 401
    assert httpx.get(f"{str(client.base_url).rstrip('/')}/v1/health", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_job_streams_progress_with_partial_features_then_results(server, data_dir):
    client, _tmp, _proc = server
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=512,
                 overlap=64, run_name="ponds")
    evs = events(client, job)
    kinds = [e["kind"] for e in evs]
    assert kinds[0] == "plan" and kinds[-1] == "done"
    tiles = [e for e in evs if e["kind"] == "tile"]
    assert [e["tiles_done"] for e in tiles] == [1, 2, 3, 4] and tiles[0]["tiles_total"] == 4
    assert tiles[0]["features"][0]["geometry"]["type"] == "Polygon"
    done = evs[-1]["data"]
    assert done["counts"] == {"pond": 4} and done["partial"] is False
    geojson = client.get(f"/v1/jobs/{job}/result", params={"format": "geojson"})
    assert geojson.status_code == 200 and len(geojson.json()["features"]) == 4
    gpkg = client.get(f"/v1/jobs/{job}/result", params={"format": "gpkg"})
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    # replay from an index: a reconnecting client misses nothing
    assert [e["kind"] for e in events(client, job, start=len(evs) - 1)] == ["done"]


def test_cancel_mid_run_keeps_partial_output(server, data_dir):
    client, _tmp, _proc = server
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=128,
                 overlap=0, concurrency=1)
    with client.stream("GET", f"/v1/jobs/{job}/events", timeout=60) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["kind"] == "tile":
                break  # disconnecting here must not stop the job or the server
    assert client.post(f"/v1/jobs/{job}/cancel").status_code == 200
    deadline = time.monotonic() + 30
    while (status := client.get(f"/v1/jobs/{job}").json())["state"] not in ("cancelled", "done", "error"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["state"] == "cancelled", status
    result = status["result"]
    assert result["partial"] is True and 0 < result["tiles_done"] < result["tiles_total"]
    layer = result["outputs"]["layers"]["boxes"]
    meta, _f, _w, fields = pyogrio.raw.read(result["gpkg"], layer=layer)
    assert set(dict(zip(meta["fields"], fields))["partial"]) == {"true"}
    assert client.get("/v1/health").status_code == 200


def test_paths_outside_allowed_folders_are_refused(server):
    client, _tmp, _proc = server
    response = client.post("/v1/jobs", json={"raster": "/etc/hostname", "instruction": "[detection] x"})
    assert response.status_code == 403 and "allowed folders" in response.json()["detail"]
    response = client.post("/v1/jobs", json={"raster": "/etc/../etc/hostname", "instruction": "[detection] x"})
    assert response.status_code == 403


def test_malformed_json_and_unknown_fields_are_refused(server, data_dir):
    client, _tmp, _proc = server
    bad = client.post("/v1/jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422
    extra = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x",
                                         "rm_rf": True})
    assert extra.status_code == 422
    invalid = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x",
                                           "tile_size": 5})
    assert invalid.status_code == 422


def test_bad_raster_fails_the_job_with_the_reason(server, data_dir):
    client, _tmp, _proc = server
    job = submit(client, raster=str(data_dir / "corrupt.tif"), instruction="[detection] ponds")
    last = events(client, job)[-1]
    assert last["kind"] == "error" and "corrupt.tif" in last["message"]


def _png(width=300, height=200) -> str:
    image = np.zeros((height, width, 3), np.uint8)
    image[50:100, 60:120] = 255
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_uploaded_chunk_with_geotransform_is_georeferenced(server):
    client, _tmp, _proc = server
    response = client.post("/v1/uploads", json={"png_base64": _png(), "crs": "EPSG:32633",
                                                "geotransform": [500000, 2, 0, 4000000, 0, -2]})
    assert response.status_code == 201, response.text
    raster = response.json()["raster"]
    job = submit(client, raster=raster, instruction="[detection] ponds", tile_size=512, overlap=0)
    done = events(client, job)[-1]
    assert done["kind"] == "done", done
    features = client.get(f"/v1/jobs/{job}/result").json()["features"]
    assert len(features) == 1  # the whole 300 x 200 chunk is one tile


def test_oversized_upload_is_refused(server):
    client, _tmp, _proc = server
    big = base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()
    response = client.post("/v1/uploads", json={"png_base64": big, "crs": "EPSG:4326",
                                                "geotransform": [0, 1, 0, 0, 0, -1]})
    assert response.status_code == 413


def test_refuses_to_bind_off_loopback_without_a_token(tmp_path):
    proc, _ = start_server(tmp_path, "--host", "0.0.0.0", "--no-token", wait=False)
    try:
        assert proc.wait(60) != 0
    finally:
        proc.kill()
    assert "token" in (tmp_path / "server.log").read_text()


def test_model_load_failure_is_reported_by_health_and_jobs(tmp_path, data_dir):
    proc, url = start_server(tmp_path, "--engine", "transformers", "--model", str(tmp_path / "no-model"),
                             "--allow-dir", str(data_dir), "--token", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            health = httpx.get(f"{url}/v1/health", headers=auth).json()
            if health["load_error"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert health["model_loaded"] is False and "no-model" in health["load_error"]
        job = httpx.post(f"{url}/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"),
                                                 "instruction": "[detection] ponds"}, headers=auth).json()["id"]
        deadline = time.monotonic() + 60
        while (status := httpx.get(f"{url}/v1/jobs/{job}", headers=auth).json())["state"] not in ("error", "done"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert status["state"] == "error" and "no-model" in status["error"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_server_stops_when_its_parent_process_is_gone(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    proc, url = start_server(tmp_path, "--parent-pid", str(parent.pid), "--token", TOKEN)
    assert httpx.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    parent.wait(10)
    assert proc.wait(30) == 0
    assert "parent process" in (tmp_path / "server.log").read_text()


def test_job_with_an_area_polygon(server, data_dir):
    import rasterio

    client, _tmp, _proc = server
    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, _bottom, _right, top = src.bounds
    triangle = {"type": "Polygon", "coordinates": [[[left, top], [left + 2000, top], [left, top - 2000],
                                                    [left, top]]]}
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=512,
                 overlap=0, area={"type": "FeatureCollection", "features": [{"type": "Feature",
                                                                             "geometry": triangle}]})
    done = events(client, job)[-1]
    assert done["kind"] == "done" and done["data"]["tiles_total"] == 1
    bad = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x",
                                        "area": {"type": "Polygon", "coordinates": "nonsense"}})
    assert bad.status_code == 422 and "area" in bad.text  # checked up front, before any geometry library


def test_context_layer_sent_inline_filters_by_distance(server, data_dir):
    import rasterio

    client, _tmp, _proc = server
    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, _bottom, right, top = src.bounds
    roads = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "r1"},
             "geometry": {"type": "LineString", "coordinates": [[left, top - 1000], [right, top - 1000]]}}]}
    body = dict(raster=str(data_dir / "naip_2020.tif"), tile_size=256, overlap=32)
    everything = events(client, submit(client, instruction="[detection] ponds", **body))[-1]["data"]
    near = events(client, submit(client, instruction="[detection] ponds within 300 m of the roads layer",
                                 context_geojson={"roads": roads}, **body))[-1]["data"]
    assert [s["kind"] for s in near["plan"]["steps"]] == ["model", "gis"]
    assert 0 < near["counts"]["pond"] < everything["counts"]["pond"]


def test_plan_with_layer_names_and_a_named_context_layer_file(server, data_dir, tmp_path):
    import numpy as np
    import pyogrio
    import rasterio
    import shapely

    client, tmp, _proc = server
    plan = client.post("/v1/plan", json={"instruction": "ponds within 300 m of Roads",
                                         "layer_names": ["Roads"]}).json()
    assert [s["kind"] for s in plan["steps"]] == ["model", "gis"]
    # a file whose own name says nothing: the job names it as the instruction does
    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, _b, right, top = src.bounds
        crs = src.crs.to_wkt()
    path = tmp / "osm_export.gpkg"
    pyogrio.raw.write(str(path), shapely.to_wkb([shapely.LineString([(left, top - 1000), (right, top - 1000)])]),
                      [np.array(["r1"], dtype=object)], fields=["name"], geometry_type="LineString", crs=crs,
                      driver="GPKG", layer="lines")
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), tile_size=256, overlap=32,
                 instruction="[detection] ponds within 300 m of the Roads layer",
                 context_layers=[f"Roads={path}|lines"])
    done = events(client, job)[-1]
    assert done["kind"] == "done", done
    assert 0 < done["data"]["counts"]["pond"] < 20


@pytest.mark.slow
def test_job_sent_while_the_model_loads_runs_in_the_loaded_models_dialect(tmp_path, data_dir):
    """A tiny Qwen2-VL checkpoint: a job submitted before the model has loaded must still be prompted and
    parsed as qwen2-vl (not the default georsmllm), and its result must say so."""
    from tests.helpers.tiny_models import build_qwen2_vl

    folder = build_qwen2_vl(tmp_path / "qwen2vl")
    port_file = tmp_path / "port"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "model_backend", "serve", "--model", str(folder), "--device", "cpu", "--token", TOKEN,
         "--port", "0", "--port-file", str(port_file), "--work-dir", str(tmp_path / "work"),
         "--allow-dir", str(data_dir), "--allow-dir", str(tmp_path)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.05)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port_file.read_text()}",
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        assert client.get("/v1/health").json()["model_loaded"] is False  # the case under test: still loading
        job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=512,
                     overlap=0)
        deadline = time.monotonic() + 240
        while (status := client.get(f"/v1/jobs/{job}").json())["state"] not in ("done", "error", "cancelled"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert status["state"] == "done", status
        engine_dialect = client.get("/v1/health").json()["engine"]["dialect"]
        assert engine_dialect == status["result"]["dialect"] == "qwen2-vl"
        assert status["result"]["plan"]  # and the plan was made in that run
    finally:
        proc.terminate()
        proc.wait(10)
