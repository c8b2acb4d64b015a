"""The local backend server's HTTP API (FastAPI). One loaded model serves many jobs.

Endpoints (all under ``/v1``, bearer token required when one is set):
``GET /health`` · ``POST /plan`` · ``POST /uploads`` · ``POST /jobs`` · ``GET /jobs`` · ``GET /jobs/{id}`` ·
``GET /jobs/{id}/events`` (server-sent events, replayable with ``?start=N``) · ``POST /jobs/{id}/cancel`` ·
``GET /jobs/{id}/result?format=geojson|gpkg``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import os
import resource
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from .. import __version__
from ..errors import ConfigError, GeoRSMLLMError, RasterError
from ..pipeline.context import split_context_spec
from .jobs import JobFn, JobManager
from .schemas import JobCreated, JobRequest, PlanRequest, UploadRequest
from .security import PathPolicy, token_matches


@dataclass
class ServerSettings:
    """Where the server listens and what it may touch. ``work_dir`` holds uploads and job outputs."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    allowed_dirs: list[str] = field(default_factory=list)
    work_dir: str = ""
    max_upload_mb: float = 256.0
    max_parallel_jobs: int = 1
    keep_jobs: int = 200  # finished jobs remembered; older ones are forgotten with their folders


class ServerBackend(Protocol):
    """What the app needs from the model side (the pipeline provides it; tests may fake it)."""

    def describe(self) -> dict[str, Any]: ...

    def plan(self, request: PlanRequest) -> dict[str, Any]: ...

    def job(self, request: JobRequest, job_dir: Path) -> JobFn: ...


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def create_app(backend: ServerBackend, settings: ServerSettings) -> FastAPI:
    work = Path(settings.work_dir or Path.home() / ".cache" / "georsmllm" / "server").resolve()
    (work / "uploads").mkdir(parents=True, exist_ok=True)
    (work / "jobs").mkdir(parents=True, exist_ok=True)
    policy = PathPolicy([*settings.allowed_dirs, work])
    def forget(job) -> None:
        # a forgotten job's own folder (default outputs) goes too; outputs the client placed elsewhere stay
        shutil.rmtree(work / "jobs" / job.id, ignore_errors=True)

    jobs = JobManager(max_parallel=settings.max_parallel_jobs, keep=settings.keep_jobs, on_forget=forget)
    started = time.time()

    app = FastAPI(title="GeoRSMLLM backend", version=__version__)
    app.state.jobs = jobs
    app.state.policy = policy

    def auth(request: Request) -> None:
        if not token_matches(request.headers.get("authorization"), settings.token):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    def checked_path(value: str, what: str) -> str:
        if value.startswith("upload:"):
            upload_id = value[len("upload:"):]
            path = work / "uploads" / f"{upload_id}.tif"
            if not upload_id.isalnum() or not path.is_file():
                raise HTTPException(status_code=404, detail=f"{what}: no upload {upload_id!r}")
            return str(path)
        try:
            return str(policy.check(value))
        except PermissionError as exc:
            raise HTTPException(status_code=403, detail=f"{what}: {exc}") from None

    @app.exception_handler(GeoRSMLLMError)
    async def _user_error(_request: Request, exc: GeoRSMLLMError):
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.get("/v1/health", dependencies=[Depends(auth)])
    def health() -> dict[str, Any]:
        info = backend.describe()
        return {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(time.time() - started, 1),
            "memory": {"rss_peak_mb": round(_rss_mb(), 1), **info.pop("memory", {})},
            "jobs": {"running": sum(j.state == "running" for j in jobs.list()), "total": len(jobs.list())},
            **info,
        }

    @app.get("/v1/capabilities", dependencies=[Depends(auth)])
    def capabilities() -> dict[str, Any]:
        """The names clients may send (tasks, dialects, engines...): ``model_backend.vocabulary``."""
        from ..vocabulary import capabilities as vocabulary

        return vocabulary()

    @app.post("/v1/plan", dependencies=[Depends(auth)])
    def plan(body: PlanRequest) -> dict[str, Any]:
        return backend.plan(body)

    @app.post("/v1/uploads", dependencies=[Depends(auth)], status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        limit = int(settings.max_upload_mb * 1024 * 1024)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise HTTPException(status_code=413, detail=f"upload larger than {settings.max_upload_mb:g} MB")
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > limit:
                raise HTTPException(status_code=413, detail=f"upload larger than {settings.max_upload_mb:g} MB")
        try:
            body = UploadRequest.model_validate_json(bytes(raw))
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"malformed upload: {exc}") from None
        upload_id = uuid.uuid4().hex[:16]
        path = work / "uploads" / f"{upload_id}.tif"
        try:
            png = base64.b64decode(body.png_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(status_code=422, detail="png_base64 is not valid base64") from None
        await asyncio.to_thread(_write_upload, png, body.geotransform, body.crs, path)
        return {"raster": f"upload:{upload_id}", "bytes": len(png)}

    @app.post("/v1/jobs", dependencies=[Depends(auth)], status_code=202, response_model=JobCreated)
    def submit(body: JobRequest) -> JobCreated:
        body = body.model_copy(update={
            "raster": checked_path(body.raster, "raster"),
            "raster_b": checked_path(body.raster_b, "raster_b") if body.raster_b else None,
            "context_layers": [_named(name, checked_path(path, "context layer"))
                               for name, path in map(split_context_spec, body.context_layers)],
            "output": checked_path(body.output, "output") if body.output else None,
        })
        job_id = uuid.uuid4().hex[:16]
        job_dir = work / "jobs" / job_id
        job_dir.mkdir(parents=True)
        try:
            fn = backend.job(body, job_dir)  # validates the request before it is queued (400 on bad settings)
        except Exception:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        job = jobs.submit(body.model_dump(), fn, job_id=job_id)
        return JobCreated(id=job.id, state=job.state, events=f"/v1/jobs/{job.id}/events",
                          result=f"/v1/jobs/{job.id}/result")

    def get_job(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no job {job_id!r}")
        return job

    @app.get("/v1/jobs", dependencies=[Depends(auth)])
    def list_jobs() -> list[dict[str, Any]]:
        return [j.summary() for j in jobs.list()]

    @app.get("/v1/jobs/{job_id}", dependencies=[Depends(auth)])
    def job_status(job_id: str) -> dict[str, Any]:
        return get_job(job_id).summary()

    @app.post("/v1/jobs/{job_id}/cancel", dependencies=[Depends(auth)])
    def cancel(job_id: str) -> dict[str, Any]:
        job = get_job(job_id)
        jobs.cancel(job_id)
        return {"id": job.id, "state": job.state, "cancel_requested": True}

    @app.get("/v1/jobs/{job_id}/events", dependencies=[Depends(auth)])
    async def events(job_id: str, request: Request, start: int = 0) -> StreamingResponse:
        job = get_job(job_id)

        async def stream():
            index = max(0, start)
            while True:
                new, ended = await asyncio.to_thread(job.wait_events, index, 10.0)
                for event in new:
                    payload = json.dumps(event.to_dict())
                    yield f"id: {index}\nevent: {event.kind}\ndata: {payload}\n\n"
                    index += 1
                if ended and index >= len(job.events):
                    return
                if not new:
                    if await request.is_disconnected():
                        return  # the job goes on; the client can reconnect with ?start=N
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/jobs/{job_id}/result", dependencies=[Depends(auth)])
    def result(job_id: str, format: str = "geojson"):
        job = get_job(job_id)
        if job.state not in ("done", "cancelled"):
            raise HTTPException(status_code=409, detail=f"job {job_id} is {job.state}: no result yet")
        key = {"geojson": "geojson", "gpkg": "gpkg"}.get(format)
        if key is None:
            raise HTTPException(status_code=400, detail="format must be geojson or gpkg")
        path = job.result.get(key)
        if not path or not os.path.isfile(path):
            raise HTTPException(status_code=404, detail=f"job {job_id} wrote no {format} output")
        media = "application/geo+json" if key == "geojson" else "application/geopackage+sqlite3"
        return FileResponse(path, media_type=media, filename=os.path.basename(path))

    return app


def _named(name: str | None, path: str) -> str:
    return f"{name}={path}" if name else path


def _write_upload(png: bytes, geotransform: list[float], crs: str, path: Path) -> None:
    """Decode a PNG chunk and store it as a georeferenced GeoTIFF (written to a temp name, then renamed)."""
    import numpy as np
    import rasterio
    from affine import Affine
    from PIL import Image, UnidentifiedImageError
    from rasterio.crs import CRS

    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise RasterError(f"upload is not a readable PNG image: {exc}") from None
    try:
        crs_obj = CRS.from_user_input(crs)
    except Exception:
        raise ConfigError(f"upload CRS {crs!r} is not recognised") from None
    mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
    array = np.asarray(image.convert(mode))
    x0, dx, rx, y0, ry, dy = geotransform
    profile = {
        "driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": array.shape[2],
        "dtype": "uint8", "crs": crs_obj, "transform": Affine(dx, rx, x0, ry, dy, y0),
    }
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(np.moveaxis(array, 2, 0))
        if mode == "RGBA":
            from rasterio.enums import ColorInterp
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    os.replace(tmp, path)
