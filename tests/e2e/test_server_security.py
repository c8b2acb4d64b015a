"""The backend server attacked over loopback, as a real process: DNS rebinding and foreign pages, the token
required by default, GDAL indirection, hostile uploads, outputs that are not GeoPackages, huge bodies,
long model answers, a full disk, many idle event streams, absurd tile counts, and a closed stdout."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from PIL import Image

from tests.e2e.test_server import ROOT, events, start_server, submit

TOKEN = "security-token-1"
POND = "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"


def _star(n: int) -> str:
    k = n // 2 - 1
    pts = [(round(500 + 499 * math.cos(2 * math.pi * i * k / n)), round(500 + 499 * math.sin(2 * math.pi * i * k / n)))
           for i in range(n)]
    return "<ref>lake</ref>{" + ",".join(f"({x},{y})" for x, y in pts) + "}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("secure")
    (tmp / "allowed").mkdir()
    (tmp / "outside").mkdir()
    script = {"rules": [{"prompt_contains": "lake", "answer": _star(800)}], "default": POND, "latency": 0.05}
    proc, url = start_server(tmp, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp / "allowed"),
                             "--max-upload-mpx", "4", "--max-body-mb", "1", "--max-work-mb", "64", script=script)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    yield client, tmp, proc
    client.close()
    proc.terminate()
    proc.wait(10)


def wait_end(client, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (status := client.get(f"/v1/jobs/{job_id}").json())["state"] not in ("done", "cancelled", "error"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return status


def test_rebinding_host_and_foreign_origin_are_refused(server, data_dir):
    client, _tmp, _proc = server
    port = client.base_url.port
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "[detection] ponds"}
    assert client.get("/v1/jobs", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/v1/jobs", headers={"Host": f"evil.example:{port}"}).status_code == 400
    assert client.post("/v1/jobs", json=body, headers={"Host": f"rebind.evil.example:{port}"}).status_code == 400
    assert client.post("/v1/jobs", json=body, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.get("/v1/health", headers={"Host": f"localhost:{port}"}).status_code == 200
    assert client.get("/v1/health", headers={"Origin": f"http://127.0.0.1:{port}"}).status_code == 200
    # what a page can send without a preflight: no token, text/plain
    page = httpx.post(f"{str(client.base_url).rstrip('/')}/v1/jobs", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert page.status_code == 401
    plain = client.post("/v1/jobs", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


def test_token_is_required_by_default_and_handed_over(tmp_path):
    proc, url = start_server(tmp_path)
    try:
        log = (tmp_path / "server.log").read_text()
        deadline = time.monotonic() + 20
        while "token: " not in log and time.monotonic() < deadline:
            time.sleep(0.1)
            log = (tmp_path / "server.log").read_text()
        token = log.split("token: ", 1)[1].split()[0]
        assert httpx.get(f"{url}/v1/health").status_code == 401
        assert httpx.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    token_file = tmp_path / "t" / "token"
    token_file.parent.mkdir()
    proc, url = start_server(tmp_path / "t", "--token-file", str(token_file))
    try:
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token not in (tmp_path / "t" / "server.log").read_text()
        assert httpx.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    # a restart keeps the token in the file: clients holding it go on working
    (tmp_path / "t" / "port").unlink()
    proc, url = start_server(tmp_path / "t", "--token-file", str(token_file))
    try:
        assert token_file.read_text().strip() == token
        assert httpx.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_token_file_others_can_read_is_refused_and_kept(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("my-own-token\n")
    token_file.chmod(0o644)
    proc, _ = start_server(tmp_path, "--token-file", str(token_file), wait=False)
    try:
        assert proc.wait(60) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "chmod 600" in (tmp_path / "server.log").read_text()
    assert token_file.read_text() == "my-own-token\n"  # never overwritten


@pytest.mark.parametrize("args", [("--token", " "), ("--token", "t", "--no-token")])  # more forms: unit tests
def test_unusable_tokens_are_refused_at_start(tmp_path, args):
    proc, _ = start_server(tmp_path, *args, wait=False)
    try:
        assert proc.wait(60) == 2
    finally:
        proc.kill()
    assert "token" in (tmp_path / "server.log").read_text()


def _vrt(source: str) -> str:
    return ('<VRTDataset rasterXSize="791" rasterYSize="718"><VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{source}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
            "</VRTRasterBand></VRTDataset>")


def test_gdal_indirection_cannot_leave_the_allowed_folders(server, data_dir):
    client, tmp, _proc = server
    allowed, outside = tmp / "allowed", tmp / "outside"
    shutil.copy(data_dir / "RGB.byte.tif", outside / "secret.tif")
    (allowed / "outside.vrt").write_text(_vrt(str(outside / "secret.tif")))
    (allowed / "inner.vrt").write_text(_vrt(str(outside / "secret.tif")))
    (allowed / "nested.vrt").write_text(_vrt(str(allowed / "inner.vrt")))
    (allowed / "curl.vrt").write_text(_vrt("/vsicurl/http://127.0.0.1:9/latest/meta-data"))
    for raster in ("outside.vrt", "nested.vrt", "curl.vrt"):
        response = client.post("/v1/jobs", json={"raster": str(allowed / raster), "instruction": "[detection] x"})
        assert response.status_code == 403, (raster, response.text)
    for raster in ("/vsicurl/http://127.0.0.1:9/x.tif", "http://127.0.0.1:9/x.tif", "<VRTDataset/>",
                   f"GTI:{allowed}/i.gpkg", f"vrt://{outside}/secret.tif", f"/vsizip/{outside}/a.zip/x.tif"):
        assert client.post("/v1/jobs", json={"raster": raster, "instruction": "x"}).status_code == 403, raster
    # an OGR VRT context layer: refused alike whether the outside file exists or not
    geoms = shapely.to_wkb([shapely.Point(0, 0)])
    pyogrio.raw.write(str(outside / "private.gpkg"), geoms, [np.array(["a"], dtype=object)], fields=["n"],
                      geometry_type="Point", driver="GPKG", layer="pts", crs="EPSG:4326")
    details = []
    for target in ("private.gpkg", "absent.gpkg"):
        (allowed / "ctx.vrt").write_text(f'<OGRVRTDataSource><OGRVRTLayer name="pts"><SrcDataSource>{outside / target}'
                                         "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
        response = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x",
                                                 "context_layers": [f"roads={allowed / 'ctx.vrt'}"]})
        assert response.status_code == 403
        details.append(response.json()["detail"].replace(target, "NAME"))
    assert details[0] == details[1]


def _png(width=64, height=48) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(client, data: bytes):
    return client.post("/v1/uploads", json={"png_base64": base64.b64encode(data).decode(), "crs": "EPSG:32633",
                                            "geotransform": [500000, 2, 0, 4000000, 0, -2]})


def test_hostile_uploads_are_refused_and_leave_nothing(server):
    from tests.unit.test_server_uploads import _other_formats, bomb_png

    client, tmp, proc = server
    uploads = tmp / "work" / "uploads"
    before = sorted(os.listdir(uploads)) if uploads.exists() else []
    for kind in ("EPS", "JPEG", "TIFF"):
        response = _upload(client, _other_formats()[kind])
        assert response.status_code == 422 and "PNG" in response.json()["detail"], kind
    bomb = _upload(client, bomb_png(22_000, 22_000))
    assert bomb.status_code == 413 and "pixels" in bomb.json()["detail"]
    assert (sorted(os.listdir(uploads)) if uploads.exists() else []) == before
    children = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "comm="], capture_output=True, text=True).stdout
    assert "gs" not in children.split()  # no Ghostscript was started for the EPS


def test_outputs_must_be_new_files_or_geopackages_and_results_hold_only_the_jobs_layers(server, data_dir):
    client, tmp, _proc = server
    allowed = tmp / "allowed"
    db = allowed / "browser.gpkg"
    with sqlite3.connect(db) as conn:
        conn.execute("create table history (url text)")
        conn.execute("insert into history values ('https://bank.example')")
    before = db.read_bytes()
    refused = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "[detection] x",
                                            "output": str(db)})
    assert refused.status_code == 403 and "GeoPackage" in refused.json()["detail"]
    assert db.read_bytes() == before
    shared = allowed / "shared.gpkg"
    pyogrio.raw.write(str(shared), shapely.to_wkb([shapely.Point(0, 0)]), [np.array(["private"], dtype=object)],
                      fields=["note"], geometry_type="Point", driver="GPKG", layer="someone_elses", crs="EPSG:26914")
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=512,
                 overlap=0, run_name="mine", output=str(shared))
    assert wait_end(client, job)["state"] == "done"
    assert "someone_elses" in [name for name, _kind in pyogrio.list_layers(shared)]
    served = tmp / "served.gpkg"
    served.write_bytes(client.get(f"/v1/jobs/{job}/result", params={"format": "gpkg"}).content)
    layers = [name for name, _kind in pyogrio.list_layers(served)]
    assert layers == ["mine_boxes"], layers


def test_oversized_bodies_are_refused(server, data_dir):
    client, _tmp, _proc = server
    huge_area = {"type": "Polygon", "coordinates": [[[0.0, 0.0]] * 200_000]}
    response = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x",
                                             "area": huge_area})
    assert response.status_code == 413
    assert client.get("/v1/health").status_code == 200


def test_no_500_and_no_traceback_for_malformed_inputs(server, data_dir):
    client, _tmp, _proc = server
    base = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    bodies = [
        {**base, "raster": str(data_dir / "naip_2020.tif") + "\u0000.png"},
        {**base, "area": {"type": "Blob"}},
        {**base, "context_layers": [str(data_dir) + "/\u0000"]},
        {**base, "output": "\u0000"},
    ]
    for body in bodies:
        response = client.post("/v1/jobs", json=body)
        assert 400 <= response.status_code < 500 and "Traceback" not in response.text, (body, response.text)
    nan = client.post("/v1/jobs", content=json.dumps(base)[:-1] + ', "window": [NaN, 0, 1, 1]}',
                      headers={"Content-Type": "application/json"})
    assert nan.status_code == 422
    upload = ('{"png_base64": "%s", "crs": "EPSG:4326", "geotransform": [0, 1, 0, 0, 0, NaN]}'
              % base64.b64encode(_png()).decode())
    assert client.post("/v1/uploads", content=upload, headers={"Content-Type": "application/json"}).status_code == 422


def test_long_self_intersecting_answer_is_parsed_in_time(server, data_dir):
    client, _tmp, _proc = server
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[change] the lake", tile_size=1024,
                 overlap=0, raster_b=str(data_dir / "naip_2009.tif"))
    status = wait_end(client, job, timeout=60)
    assert status["state"] == "done", status
    # the whole run (reading both rasters included) on a busy machine; the old repair took minutes here
    assert status["result"]["counts"] == {"lake": 1} and status["result"]["elapsed_s"] < 30.0
    assert any("thinned" in w for w in status["result"]["warnings"])


@pytest.mark.parametrize("instruction", [
    ("ships that are north of the pier and " * 100)[:4000],  # 800 words: parsing it once took 5 GB
    "buildings that are north of the river and that are within 500 m of the roads and that are larger than "
    "100 m² and that are not in the airport and that are south of the pier and that are smaller than 2000 m²",
])
def test_long_instructions_are_planned_without_exhausting_the_server(server, instruction):
    client, _tmp, proc = server
    answer = client.post("/v1/plan", json={"instruction": instruction}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert proc.poll() is None and client.get("/v1/health").status_code == 200


def test_absurd_tile_counts_are_refused_with_a_clear_error(server, data_dir):
    client, _tmp, _proc = server
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", gsd=1e-6)
    status = wait_end(client, job, timeout=30)
    assert status["state"] == "error" and "tiles" in status["error"] and "max_tiles" in status["error"]


def test_idle_event_streams_do_not_delay_others(server, data_dir):
    client, _tmp, _proc = server
    finished = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] x", tile_size=1024,
                      overlap=0)
    assert wait_end(client, finished)["state"] == "done"
    # ~690 tiles at 0.05 s each keep the one job slot busy; the job queued behind it emits nothing meanwhile:
    # 30 clients wait on its events
    busy = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=32,
                  overlap=0, concurrency=1)
    queued = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] x", tile_size=1024,
                    overlap=0)
    stop = threading.Event()
    opened = []

    def hold():
        with httpx.stream("GET", f"{str(client.base_url).rstrip('/')}/v1/jobs/{queued}/events",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as response:
            opened.append(response.status_code)
            while not stop.is_set():
                time.sleep(0.05)

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(30)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while len(opened) < 30:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        replay = events(client, finished)  # another client replaying a finished job's log
        assert replay[-1]["kind"] == "done" and time.monotonic() - started < 3.0
        started = time.monotonic()
        assert client.get("/v1/health").status_code == 200 and time.monotonic() - started < 2.0
    finally:
        stop.set()
        for job in (queued, busy):
            client.post(f"/v1/jobs/{job}/cancel")
        for t in threads:
            t.join(10)
    wait_end(client, busy)
    wait_end(client, queued)


def test_full_disk_upload_is_refused_and_leaves_no_temporary_file(tmp_path):
    limit = 2 * 2**20

    def cap_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"answers": [POND]}))
    port_file = tmp_path / "port"
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "model_backend", "serve", "--engine", "scripted", "--script",
                                 str(script), "--port", "0", "--port-file", str(port_file), "--token", TOKEN,
                                 "--work-dir", str(tmp_path / "work"), "--allow-dir", str(tmp_path)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=cap_file_size)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port_file.read_text()}",
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        noisy = io.BytesIO()
        Image.fromarray(np.random.default_rng(1).integers(0, 255, (1200, 1200, 3), np.uint8)).save(noisy, "PNG")
        response = _upload(client, noisy.getvalue())  # ~4 MB of GeoTIFF: over the 2 MB file-size limit
        assert response.status_code == 507 and "could not store" in response.json()["detail"]
        assert os.listdir(tmp_path / "work" / "uploads") == []
        assert _upload(client, _png()).status_code == 201  # the server carries on
    finally:
        proc.terminate()
        proc.wait(10)


def test_run_piped_into_head_prints_no_traceback(tmp_path, data_dir):
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"answers": [POND]}))
    proc = subprocess.Popen([sys.executable, "-m", "model_backend", "run", "--engine", "scripted", "--script",
                             str(script), "--raster", str(data_dir / "naip_2020.tif"), "-i", "[detection] ponds",
                             "--tile-size", "1024", "-o", str(tmp_path / "out.gpkg"), "-q"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the summary is printed (as `| head -3` after 3 lines)
    stderr = proc.stderr.read().decode()
    assert proc.wait(120) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_concurrent_jobs_all_complete(server, data_dir):
    client, _tmp, _proc = server
    ids: list[str] = []

    def one():
        ids.append(submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds",
                          tile_size=1024, overlap=0))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 12
    assert [wait_end(client, job)["state"] for job in ids] == ["done"] * 12


def test_kill_9_mid_job_never_corrupts_the_geopackage(tmp_path, data_dir):
    out = tmp_path / "kept.gpkg"
    pyogrio.raw.write(str(out), shapely.to_wkb([shapely.Point(600000, 5200000)]), [np.array(["earlier"], dtype=object)],
                      fields=["note"], geometry_type="Point", driver="GPKG", layer="earlier_run", crs="EPSG:26914")
    proc, url = start_server(tmp_path, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp_path),
                             script={"answers": [POND], "latency": 0.1})
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    try:
        job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds", tile_size=128,
                     overlap=0, concurrency=1, output=str(out))
        deadline = time.monotonic() + 30
        while client.get(f"/v1/jobs/{job}").json()["tiles_done"] < 5:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no clean-up runs
        proc.wait(10)
        client.close()
    with sqlite3.connect(out) as conn:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    _meta, _fids, _geoms, fields = pyogrio.raw.read(str(out), layer="earlier_run")
    assert list(fields[0]) == ["earlier"]
