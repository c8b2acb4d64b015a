"""The server's job table on disk: jobs and their results survive a restart, a job stopped by a shutdown is
interrupted and can be resumed, forgotten jobs leave neither a row nor a folder behind."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from model_backend.pipeline.events import RunEvent
from model_backend.server.app import ServerSettings, create_app
from model_backend.server.jobstore import JobStore

BASE = "http://127.0.0.1:8765"  # the Host the server's settings expect (no token: ServerSettings' default)


class StoppableBackend:
    """Jobs that write a result file; with ``hold`` they report two tiles, then wait until cancelled and
    return a partial result, as the pipeline does."""

    def __init__(self, hold: bool = False):
        self.hold = hold
        self.started = threading.Event()
        self.runs = 0

    def describe(self):
        return {"engine": {"engine": "fake"}}

    def plan(self, request):
        return {}

    def job(self, request, job_dir: Path):
        def run(emit, cancel):
            self.runs += 1
            (job_dir / "result.gpkg").write_bytes(b"partial" if self.hold else b"complete")
            emit(RunEvent("tile", 2, 10))
            if self.hold:
                self.started.set()
                while not cancel.cancelled:
                    time.sleep(0.01)
                return {"gpkg": str(job_dir / "result.gpkg"), "partial": True}
            return {"gpkg": str(job_dir / "result.gpkg"), "partial": False}

        return run


def app_for(work: Path, backend, data_dir: Path, keep_jobs: int = 200):
    return create_app(backend, ServerSettings(work_dir=str(work), keep_jobs=keep_jobs, allowed_dirs=[str(data_dir)]))


def serve(work: Path, backend, data_dir: Path, keep_jobs: int = 200) -> TestClient:
    return TestClient(app_for(work, backend, data_dir, keep_jobs), base_url=BASE)


def wait_state(client, job_id, states=("done", "error", "cancelled", "interrupted")) -> dict:
    deadline = time.monotonic() + 10
    while (job := client.get(f"/v1/jobs/{job_id}").json())["state"] not in states:
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    return job


def test_jobs_and_results_survive_a_restart_and_an_interrupted_job_resumes(tmp_path, data_dir):
    work = tmp_path / "work"
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    with serve(work, StoppableBackend(), data_dir) as c:
        done = c.post("/v1/jobs", json=body).json()["id"]
        wait_state(c, done)
    holding = StoppableBackend(hold=True)
    with serve(work, holding, data_dir) as c:
        assert c.get(f"/v1/jobs/{done}").json()["state"] == "done"
        running = c.post("/v1/jobs", json=body).json()["id"]
        assert holding.started.wait(10)
    # leaving the client shut the app down: the running job was stopped, wrote its partial result
    backend = StoppableBackend()
    with serve(work, backend, data_dir) as c:
        listed = {j["id"]: j for j in c.get("/v1/jobs").json()}
        assert listed[done]["state"] == "done" and listed[done]["result"]["gpkg"]
        assert c.get(f"/v1/jobs/{done}/result", params={"format": "gpkg"}).content == b"complete"
        interrupted = listed[running]
        assert interrupted["state"] == "interrupted"
        assert (interrupted["tiles_done"], interrupted["tiles_total"]) == (2, 10)
        assert c.get(f"/v1/jobs/{running}/result", params={"format": "gpkg"}).content == b"partial"
        with c.stream("GET", f"/v1/jobs/{running}/events") as stream:  # one event: how it ended
            lines = [line for line in stream.iter_lines() if line.startswith("event: ")]
        assert lines == ["event: interrupted"]
        # a finished job cannot be resumed; an interrupted one can, once
        assert c.post(f"/v1/jobs/{done}/resume").status_code == 409
        resumed = c.post(f"/v1/jobs/{running}/resume")
        assert resumed.status_code == 202 and resumed.json()["events"].endswith("?start=1")
        assert wait_state(c, running)["state"] == "done" and backend.runs == 1
        assert c.post(f"/v1/jobs/{running}/resume").status_code == 409
    with serve(work, StoppableBackend(), data_dir) as c:
        assert c.get(f"/v1/jobs/{running}").json()["state"] == "done"


def test_a_job_queued_or_running_when_the_server_died_is_interrupted(tmp_path, data_dir):
    work = tmp_path / "work"
    work.mkdir()
    JobStore(work / "jobs.sqlite").close()
    db = sqlite3.connect(work / "jobs.sqlite")  # rows as a server killed with -9 left them
    request = '{"raster": "%s", "instruction": "x"}' % (data_dir / "naip_2020.tif")
    db.execute("INSERT INTO jobs (id, request, state, created, tiles_done, tiles_total, spec) VALUES "
               "('aaaa1111', ?, 'running', 1.0, 3, 9, ?), ('bbbb2222', ?, 'queued', 2.0, 0, 0, ?)",
               (request, request, request, request))
    db.commit()
    db.close()
    (work / "jobs" / "aaaa1111").mkdir(parents=True)
    (work / "jobs" / "cccc3333").mkdir()  # no job owns it
    with serve(work, StoppableBackend(), data_dir) as c:
        states = {j["id"]: (j["state"], j["tiles_done"]) for j in c.get("/v1/jobs").json()}
        assert states == {"aaaa1111": ("interrupted", 3), "bbbb2222": ("interrupted", 0)}
        assert sorted(p.name for p in (work / "jobs").iterdir()) == ["aaaa1111"]
        assert c.post("/v1/jobs/bbbb2222/resume").status_code == 410  # its folder is gone: submit it again
        assert c.post("/v1/jobs/aaaa1111/resume").status_code == 202
        assert wait_state(c, "aaaa1111")["state"] == "done"


def test_forgotten_jobs_leave_no_row_and_no_folder(tmp_path, data_dir):
    work = tmp_path / "work"
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    with serve(work, StoppableBackend(), data_dir, keep_jobs=1) as c:
        ids = []
        for _ in range(3):
            ids.append(c.post("/v1/jobs", json=body).json()["id"])
            wait_state(c, ids[-1])
    with serve(work, StoppableBackend(), data_dir, keep_jobs=1) as c:
        assert [j["id"] for j in c.get("/v1/jobs").json()] == [ids[-1]]
    db = sqlite3.connect(work / "jobs.sqlite")
    assert [row[0] for row in db.execute("SELECT id FROM jobs")] == [ids[-1]]
    db.close()
    assert sorted(p.name for p in (work / "jobs").iterdir()) == [ids[-1]]


def test_a_second_server_on_a_work_folder_in_use_takes_a_sibling_and_leaves_the_first_ones_jobs_alone(
        tmp_path, data_dir):
    work = tmp_path / "work"
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    holding = StoppableBackend(hold=True)
    with serve(work, holding, data_dir) as first:
        running = first.post("/v1/jobs", json=body).json()["id"]
        assert holding.started.wait(10)
        with serve(work, StoppableBackend(), data_dir) as second:
            assert second.get("/v1/jobs").json() == []
            assert (tmp_path / "work-2" / "jobs.sqlite").is_file()
        assert first.get(f"/v1/jobs/{running}").json()["state"] == "running"
        first.post(f"/v1/jobs/{running}/cancel")
        assert wait_state(first, running)["state"] == "cancelled"
    with serve(work, StoppableBackend(), data_dir) as again:  # the folder is free again
        assert [j["id"] for j in again.get("/v1/jobs").json()] == [running]
