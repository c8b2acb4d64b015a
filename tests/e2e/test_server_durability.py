"""The backend server as a real process, stopped (SIGTERM) and killed (SIGKILL) while a job runs: after a
restart the jobs are listed with their state, finished results are still downloadable, and the interrupted job
resumes from its run journal to the result an uninterrupted job gives, without redoing finished tiles."""

from __future__ import annotations

import signal
import time

import httpx
import pyogrio
import pytest
import shapely

from tests.e2e.test_server import POND, TOKEN, events, start_server, submit

SCRIPT = {"answers": [POND], "cycle": True, "latency": 0.08}  # one pond per tile, the same whatever the order


def serve(tmp_path, data_dir):
    (tmp_path / "port").unlink(missing_ok=True)  # written afresh by each start
    proc, url = start_server(tmp_path, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp_path),
                             script=SCRIPT)
    return proc, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)


def wait_for(client, job_id, predicate, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while not predicate(job := client.get(f"/v1/jobs/{job_id}").json()):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def layer_features(gpkg_bytes: bytes, tmp_path, name: str) -> tuple[list[str], set[str]]:
    """The result layer's geometries (WKT, sorted) and its ``partial`` values."""
    path = tmp_path / f"{name}.gpkg"
    path.write_bytes(gpkg_bytes)
    [(layer, _kind)] = pyogrio.list_layers(path)
    meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=layer)
    partial = set(dict(zip(meta["fields"], fields))["partial"])
    return sorted(shapely.from_wkb(w).wkt for w in wkb), partial


@pytest.mark.slow
def test_jobs_survive_restarts_and_interrupted_jobs_resume_to_the_uninterrupted_result(tmp_path, data_dir):
    long_job = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "[detection] ponds", "tile_size": 160,
                "overlap": 16, "concurrency": 1}  # 7 x 5 = 35 tiles
    proc, c = serve(tmp_path, data_dir)
    try:
        short = submit(c, raster=str(data_dir / "naip_2020.tif"), instruction="[detection] ponds")
        wait_for(c, short, lambda j: j["state"] == "done")
        short_gpkg = c.get(f"/v1/jobs/{short}/result", params={"format": "gpkg"}).content
        stopped = submit(c, **long_job)
        wait_for(c, stopped, lambda j: j["tiles_done"] >= 5)
        proc.send_signal(signal.SIGTERM)  # stops within seconds, the running job writing what it has done
        assert proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    finally:
        proc.kill()

    proc, c = serve(tmp_path, data_dir)
    try:
        listed = {j["id"]: j for j in c.get("/v1/jobs").json()}
        assert listed[short]["state"] == "done"
        assert c.get(f"/v1/jobs/{short}/result", params={"format": "gpkg"}).content == short_gpkg
        assert [e["kind"] for e in events(c, short)] == ["done"]
        job = listed[stopped]
        assert job["state"] == "interrupted" and 5 <= job["tiles_done"] < job["tiles_total"] == 35
        partial, flags = layer_features(c.get(f"/v1/jobs/{stopped}/result", params={"format": "gpkg"}).content,
                                        tmp_path, "partial")
        assert flags == {"true"} and len(partial) == job["tiles_done"]  # every finished tile's pond
        resumed = c.post(f"/v1/jobs/{stopped}/resume")
        assert resumed.status_code == 202, resumed.text
        start = int(resumed.json()["events"].rpartition("start=")[2])
        new = events(c, stopped, start=start)
        assert new[-1]["kind"] == "done"
        assert len([e for e in new if e["kind"] == "tile"]) == 35 - job["tiles_done"]  # none redone
        final, flags = layer_features(c.get(f"/v1/jobs/{stopped}/result", params={"format": "gpkg"}).content,
                                      tmp_path, "resumed")
        clean_id = submit(c, **long_job)
        wait_for(c, clean_id, lambda j: j["state"] == "done")
        clean, _ = layer_features(c.get(f"/v1/jobs/{clean_id}/result", params={"format": "gpkg"}).content,
                                  tmp_path, "clean")
        assert flags == {"false"} and final == clean and len(clean) == 35

        killed = submit(c, **long_job)
        wait_for(c, killed, lambda j: j["tiles_done"] >= 3)
        proc.kill()  # SIGKILL: nothing flushed but the journal and the job table
        proc.wait(10)
    finally:
        proc.kill()

    proc, c = serve(tmp_path, data_dir)
    try:
        job = c.get(f"/v1/jobs/{killed}").json()
        assert job["state"] == "interrupted" and job["tiles_done"] >= 3
        assert c.post(f"/v1/jobs/{killed}/resume").status_code == 202
        wait_for(c, killed, lambda j: j["state"] == "done")
        final, flags = layer_features(c.get(f"/v1/jobs/{killed}/result", params={"format": "gpkg"}).content,
                                      tmp_path, "killed")
        assert flags == {"false"} and final == clean
        assert {j["id"]: j["state"] for j in c.get("/v1/jobs").json()} == {
            short: "done", stopped: "done", clean_id: "done", killed: "done"}
    finally:
        proc.terminate()
        proc.wait(10)
