"""The local backend server's HTTP API (FastAPI). One loaded model serves many jobs.

Endpoints (all under ``/v1``): ``GET /health`` · ``POST /plan`` · ``POST /uploads`` · ``POST /jobs`` ·
``GET /jobs`` · ``GET /jobs/{id}`` · ``GET /jobs/{id}/events`` (server-sent events, replayable with
``?start=N``) · ``POST /jobs/{id}/cancel`` · ``POST /jobs/{id}/resume`` ·
``GET /jobs/{id}/result?format=geojson|gpkg`` · ``POST /refine`` (one feature of a finished run re-segmented by
SAM2 from clicks).

Every request first passes ``guard.RequestGuard`` (Host, Origin, token, JSON content type, body size); every
file a job will open passes ``sources.SourcePolicy``; uploads go through ``uploads.UploadStore``. No
documentation pages are served. Errors reach clients as ``{"detail": …}`` one-liners: tracebacks stay in
the server's log.

Jobs are kept on disk (``jobstore``, one server per work folder): they survive a restart, the ones then queued or
running marked ``interrupted``, and an interrupted, cancelled or failed job can be resumed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import resource
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from .. import __version__
from ..errors import GeoRSMLLMError
from ..pipeline.context import split_context_spec
from ..raster.remote import source_guard
from .backend import FRAME_FILE
from .guard import RequestGuard
from .jobs import RESUMABLE, JobFn, JobManager
from .jobstore import JobStore, claim_work_dir
from .results import own_layers_gpkg
from ..pipeline.reprompt import RunFrame
from .schemas import JobCreated, JobRequest, PlanRequest, RefineRequest, UploadRequest
from .security import HostPolicy
from .sources import SourcePolicy, SourceRefused
from .uploads import UploadRefused, UploadStore, folder_bytes, parse_crs

log = logging.getLogger(__name__)

UPLOAD_PREFIX = "upload:"


@dataclass
class ServerSettings:
    """Where the server listens and what it may touch. ``work_dir`` holds uploads and job outputs.

    ``token``: bearer token every request must carry (``None``: none, only with ``--no-token`` on loopback).
    ``allowed_dirs``: folders whose files jobs may read (and write outputs in); ``allowed_urls``: http(s)
    prefixes jobs may read from (none by default); ``allowed_hosts``: extra ``Host`` names (``NAME`` or
    ``NAME:PORT``) for clients that reach the server through a tunnel or proxy under another name."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    allowed_dirs: list[str] = field(default_factory=list)
    allowed_urls: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    work_dir: str = ""
    max_upload_mb: float = 256.0
    max_body_mb: float = 16.0  # JSON requests other than uploads
    max_upload_pixels: int = 64 * 2**20
    max_work_mb: float = 8192.0  # uploads and job outputs in the work folder together
    upload_ttl_s: float = 6 * 3600.0
    max_parallel_jobs: int = 1
    keep_jobs: int = 200  # finished jobs remembered; older ones are forgotten with their folders


class ServerBackend(Protocol):
    """What the app needs from the model side (the pipeline provides it; tests may fake it)."""

    def describe(self) -> dict[str, Any]: ...

    def plan(self, request: PlanRequest) -> dict[str, Any]: ...

    def job(self, request: JobRequest, job_dir: Path) -> JobFn: ...

    def refine(self, request: RefineRequest, frame: RunFrame) -> dict[str, Any]: ...


def guarded(fn: JobFn, sources: SourcePolicy) -> JobFn:
    """``fn`` with the source rules applied to every location its rasters' opening touches while it runs (a
    STAC item's assets, redirects): checked at submission, and again when read."""

    def run(emit, cancel):
        with source_guard(sources.guard):
            return fn(emit, cancel)

    return run


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def create_app(backend: ServerBackend, settings: ServerSettings) -> FastAPI:
    wanted = Path(settings.work_dir or Path.home() / ".cache" / "georsmllm" / "server").resolve()
    work, work_lock = claim_work_dir(wanted)  # one server per folder: its job table is this server's own
    if work != wanted:
        print(f"{wanted} is used by another server: this one works in {work}", file=sys.stderr, flush=True)
    (work / "jobs").mkdir(parents=True, exist_ok=True)
    sources = SourcePolicy([*settings.allowed_dirs, work], settings.allowed_urls)
    uploads = UploadStore(work / "uploads", work, max_pixels=settings.max_upload_pixels,
                          max_work_bytes=int(settings.max_work_mb * 2**20), ttl_s=settings.upload_ttl_s)
    uploads_of: dict[str, set[str]] = {}  # job id -> ids of the uploads it reads
    uploads_lock = threading.Lock()  # endpoints run in worker threads

    def forget(job) -> None:
        # a forgotten job's own folder (default outputs) goes too, and the uploads no remembered job uses;
        # outputs the client placed elsewhere stay
        shutil.rmtree(work / "jobs" / job.id, ignore_errors=True)
        with uploads_lock:
            mine = uploads_of.pop(job.id, set())
            still_used = set().union(*uploads_of.values())
        uploads.delete(mine - still_used)

    jobs = JobManager(max_parallel=settings.max_parallel_jobs, keep=settings.keep_jobs, on_forget=forget,
                      store=JobStore(work / "jobs.sqlite"))
    _remove_orphan_job_folders(work / "jobs", {job.id for job in jobs.list()})
    for restored in jobs.list():
        uploads_of[restored.id] = _uploads_read(restored.spec, work / "uploads")
    started = time.time()

    def active_uploads() -> set[str]:
        # a job that may still be resumed keeps its uploads until it is forgotten
        active = {j.id for j in jobs.list() if j.state in ("queued", "running", *RESUMABLE)}
        with uploads_lock:
            return set().union(*(ids for job_id, ids in uploads_of.items() if job_id in active))

    app = FastAPI(title="GeoRSMLLM backend", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.jobs = jobs
    app.state.sources = sources
    app.state.uploads = uploads
    json_limit = int(settings.max_body_mb * 2**20)
    # base64 makes the PNG a third larger; the JSON around it is small
    upload_limit = int(settings.max_upload_mb * 2**20)
    app.add_middleware(RequestGuard, hosts=HostPolicy(settings.host, settings.port, settings.allowed_hosts),
                       token=settings.token,
                       body_limit=lambda path: upload_limit if path == "/v1/uploads" else json_limit)

    @app.exception_handler(GeoRSMLLMError)
    async def _user_error(_request: Request, exc: GeoRSMLLMError):
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(SourceRefused)
    async def _refused(_request: Request, exc: SourceRefused):
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(UploadRefused)
    async def _upload_refused(_request: Request, exc: UploadRefused):
        return JSONResponse(status_code=exc.status, content={"detail": exc.detail})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        # FastAPI's default answer echoes the offending input, which may be large: send where and why only
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:500], "type": e.get("type")}
                  for e in exc.errors()[:20]]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception):
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": f"internal error ({type(exc).__name__}); "
                                                                "the server log has the details"})

    def raster_path(value: str, what: str, used: set[str], assets: list[str] | None = None) -> str:
        if value.startswith(UPLOAD_PREFIX):
            upload_id = value[len(UPLOAD_PREFIX):]
            path = uploads.path(upload_id)
            if path is None:
                raise HTTPException(status_code=404, detail=f"{what}: no upload {upload_id[:40]!r} (expired?)")
            used.add(upload_id)
            return str(path)
        return sources.raster(value, what, assets)

    def context_layer(spec: str) -> str:
        name, location = split_context_spec(spec)
        checked = sources.vector(location, "context layer")
        return f"{name}={checked}" if name else checked

    def previous_result(previous):
        """A follow-up's previous result with its layer path checked like any file a job reads."""
        if previous is None or previous.layer is None:
            return previous
        return previous.model_copy(update={"layer": sources.vector(previous.layer, "previous result")})

    @app.get("/v1/health")
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

    @app.get("/v1/capabilities")
    def capabilities() -> dict[str, Any]:
        """The names clients may send (tasks, dialects, engines...): ``model_backend.vocabulary``."""
        from ..vocabulary import capabilities as vocabulary

        return vocabulary()

    @app.post("/v1/plan")
    def plan(body: PlanRequest) -> dict[str, Any]:
        return backend.plan(body.model_copy(update={"previous": previous_result(body.previous)}))

    @app.post("/v1/uploads", status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        raw = await request.body()  # its size is bounded by the guard
        try:
            body = UploadRequest.model_validate_json(raw)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"malformed upload: {str(exc)[:500]}") from None
        try:
            png = base64.b64decode(body.png_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(status_code=422, detail="png_base64 is not valid base64") from None
        upload_id = await anyio.to_thread.run_sync(
            lambda: uploads.store(png, body.geotransform, body.crs, in_use=active_uploads()))
        return {"raster": f"{UPLOAD_PREFIX}{upload_id}", "bytes": len(png)}

    @app.on_event("shutdown")
    def _stop_jobs() -> None:
        jobs.shutdown()  # running jobs write what they have done and are marked interrupted
        work_lock.release()

    def checked_request(body: JobRequest, used: set[str]) -> JobRequest:
        return body.model_copy(update={
            "raster": raster_path(body.raster, "raster", used, body.stac_assets),
            "raster_b": raster_path(body.raster_b, "raster_b", used, body.stac_assets) if body.raster_b else None,
            "context_layers": [context_layer(spec) for spec in body.context_layers],
            "output": sources.output(body.output) if body.output else None,
            "previous": previous_result(body.previous),
        })

    @app.post("/v1/jobs", status_code=202, response_model=JobCreated)
    def submit(body: JobRequest) -> JobCreated:
        used: set[str] = set()
        body = checked_request(body, used)
        used_bytes = folder_bytes(work)
        if used_bytes >= settings.max_work_mb * 2**20:
            raise HTTPException(status_code=507, detail=f"the server's work folder is full ({used_bytes / 2**20:.0f} "
                                                        f"MB of {settings.max_work_mb:.0f} MB): wait for old jobs "
                                                        "to be forgotten, or raise --max-work-mb")
        job_id = uuid.uuid4().hex[:16]
        job_dir = work / "jobs" / job_id
        job_dir.mkdir(parents=True)
        try:
            fn = backend.job(body, job_dir)  # validates the request before it is queued (400 on bad settings)
        except Exception:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        with uploads_lock:
            uploads_of[job_id] = used
        job = jobs.submit(body.summary(), guarded(fn, sources), job_id=job_id, spec=body.model_dump())
        return JobCreated(id=job.id, state=job.state, events=f"/v1/jobs/{job.id}/events",
                          result=f"/v1/jobs/{job.id}/result")

    def get_job(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no job {job_id[:40]!r}")
        return job

    @app.get("/v1/jobs")
    def list_jobs() -> list[dict[str, Any]]:
        return [j.summary() for j in jobs.list()]

    @app.get("/v1/jobs/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        return get_job(job_id).summary()

    @app.post("/v1/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, Any]:
        job = get_job(job_id)
        jobs.cancel(job_id)
        return {"id": job.id, "state": job.state, "cancel_requested": True}

    @app.post("/v1/jobs/{job_id}/resume", status_code=202, response_model=JobCreated)
    def resume(job_id: str) -> JobCreated:
        """Run an interrupted, cancelled or failed job again under its id; its run goes on from the run journal
        (finished tiles are not redone). ``events`` points past the events the job already had."""
        job = get_job(job_id)
        if job.state not in RESUMABLE:
            raise HTTPException(status_code=409, detail=f"job {job_id} is {job.state}: only an interrupted, "
                                "cancelled or failed job can be resumed")
        job_dir = work / "jobs" / job_id
        if not job_dir.is_dir() or not job.spec:
            raise HTTPException(status_code=410, detail=f"job {job_id} cannot be resumed here (its folder or "
                                "request is gone): submit it again")
        body = checked_request(JobRequest.model_validate(job.spec), set())  # the folder rules of now apply
        fn = backend.job(body, job_dir)  # the run id is the job id: the run is found in its journal
        try:
            start = jobs.resume(job_id, guarded(fn, sources))
        except ValueError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return JobCreated(id=job_id, state=job.state, events=f"/v1/jobs/{job_id}/events?start={start}",
                          result=f"/v1/jobs/{job_id}/result")

    @app.get("/v1/jobs/{job_id}/events")
    async def events(job_id: str, request: Request, start: int = 0) -> StreamingResponse:
        job = get_job(job_id)

        async def stream():
            index = max(0, start)
            while True:
                new, ended = await job.wait_events_async(index, 10.0)
                for event in new:
                    yield f"id: {index}\nevent: {event.kind}\ndata: {json.dumps(event.to_dict())}\n\n"
                    index += 1
                if ended and index >= len(job.events):
                    return
                if not new:
                    if await request.is_disconnected():
                        return  # the job goes on; the client can reconnect with ?start=N
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/jobs/{job_id}/result")
    def result(job_id: str, format: str = "geojson"):
        job = get_job(job_id)
        if job.state not in ("done", "cancelled", "interrupted"):
            raise HTTPException(status_code=409, detail=f"job {job_id} is {job.state}: no result yet")
        if format == "gpkg":
            path = own_layers_gpkg(job.result, work / "jobs" / job.id)
            if path is None:
                raise HTTPException(status_code=404, detail=f"job {job_id} wrote no gpkg output")
            return FileResponse(path, media_type="application/geopackage+sqlite3", filename=path.name)
        if format != "geojson":
            raise HTTPException(status_code=400, detail="format must be geojson or gpkg")
        path = job.result.get("geojson")
        if not path or not os.path.isfile(path) or Path(path).resolve().parent != (work / "jobs" / job.id).resolve():
            raise HTTPException(status_code=404, detail=f"job {job_id} wrote no geojson output")
        return FileResponse(path, media_type="application/geo+json", filename=os.path.basename(path))

    @app.post("/v1/refine")
    def refine(body: RefineRequest) -> dict[str, Any]:
        """One feature of a finished run, re-segmented by SAM2 from clicks (``pipeline.reprompt``). The run's
        frame is the server's own record when it knows the job, else the one the request carries; its
        rasters must still pass the folder and format rules, as for a new job."""
        frame_data = None
        if body.job_id:
            job = jobs.get(body.job_id)
            if job is not None and job.state not in ("done", "cancelled"):
                raise HTTPException(status_code=409, detail=f"job {body.job_id} is {job.state}: refine its "
                                                            "results once it has finished")
            frame_file = work / "jobs" / body.job_id / FRAME_FILE  # job ids are hex (schema): a plain name
            if frame_file.is_file():
                frame_data = json.loads(frame_file.read_text(encoding="utf-8"))
        if frame_data is None and body.run is not None:
            frame_data = body.run.model_dump()
        if frame_data is None:
            raise HTTPException(status_code=404, detail=f"this server does not know job {str(body.job_id)[:40]!r} "
                                                        "(restarted since the run?) and the request has no run frame")
        if body.crs and parse_crs(body.crs) is None:
            raise HTTPException(status_code=400, detail=f"the CRS {body.crs[:80]!r} is not recognised: give an "
                                                        "authority code (EPSG:32633) or WKT")
        frame = RunFrame.from_dict(frame_data)
        used: set[str] = set()
        assets = list(frame.stac_assets) if frame.stac_assets else None
        frame = dataclasses.replace(
            frame, raster=raster_path(frame.raster, "raster", used, assets),
            raster_b=raster_path(frame.raster_b, "raster_b", used, assets) if frame.raster_b else None)
        with source_guard(sources.guard):  # what opening the rasters touches passes the rules too, as in a job
            return backend.refine(body, frame)

    return app


def _remove_orphan_job_folders(jobs_dir: Path, known: set[str]) -> None:
    """Job folders no job owns (left by a server that died between making a folder and recording its job, or
    by a version that kept jobs in memory only)."""
    for folder in jobs_dir.iterdir():
        if folder.is_dir() and folder.name not in known and folder.name.isalnum():
            shutil.rmtree(folder, ignore_errors=True)


def _uploads_read(spec: dict[str, Any], uploads_dir: Path) -> set[str]:
    """The ids of the uploads a (checked) job request reads: its rasters that are files of the upload folder."""
    found = set()
    for key in ("raster", "raster_b"):
        value = spec.get(key)
        if value and Path(value).parent == uploads_dir.resolve():
            found.add(Path(value).stem)
    return found
