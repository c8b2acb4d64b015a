"""The server's job bookkeeping: forgotten jobs take their folders with them; a refused job leaves none."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model_backend.errors import ConfigError
from model_backend.server.app import ServerSettings, create_app


class FakeBackend:
    def describe(self):
        return {"engine": {"engine": "fake"}}

    def plan(self, request):
        return {}

    def job(self, request, job_dir: Path):
        if request.instruction == "refuse":
            raise ConfigError("refused on purpose")

        def run(emit, cancel):
            (job_dir / "result.gpkg").write_bytes(b"x")
            return {"gpkg": str(job_dir / "result.gpkg")}

        return run


@pytest.fixture
def client(tmp_path, data_dir):
    app = create_app(FakeBackend(), ServerSettings(work_dir=str(tmp_path / "work"), keep_jobs=1,
                                                   allowed_dirs=[str(data_dir)]))
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        yield c, tmp_path / "work" / "jobs"


def wait_done(client, job_id):
    deadline = time.monotonic() + 10
    while client.get(f"/v1/jobs/{job_id}").json()["state"] not in ("done", "error"):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_forgotten_jobs_take_their_folders(client, data_dir):
    c, jobs_dir = client
    ids = []
    for _ in range(3):
        job_id = c.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}).json()["id"]
        wait_done(c, job_id)
        ids.append(job_id)
    # at the third submission the two finished ones exceed keep_jobs=1: both are forgotten with their folders
    assert c.get(f"/v1/jobs/{ids[0]}").status_code == 404
    assert sorted(p.name for p in jobs_dir.iterdir()) == [ids[2]]
    assert (jobs_dir / ids[2] / "result.gpkg").is_file()


def test_a_refused_job_leaves_no_folder(client, data_dir):
    c, jobs_dir = client
    response = c.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "refuse"})
    assert response.status_code == 400 and "refused on purpose" in response.json()["detail"]
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())
