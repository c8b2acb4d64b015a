"""Execute a ``PreparedJob`` against the backend, in a worker thread: make sure a backend runs, upload
rendered rasters, submit, follow events, download the GeoPackage. Shared by the dock's ``QgsTask`` and the
Processing algorithms, so both behave the same."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from .client import BackendClient, BackendError, BackendHTTPError
from .follow import (
    DEFAULT_LIMITS,
    FollowLimits,
    JobCancelled,
    JobEvent,
    JobFailed,
    JobOutcome,
    JobSucceeded,
    follow_job,
)
from .followup import merge_into
from .prepare import PreparedJob
from .raster_source import FileRaster, RasterSourceError, RenderedRaster, UrlRaster
from .service import BackendService


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``gpkg``: the local copy of the result GeoPackage (``None`` when nothing was
    written); ``result``: the backend's run summary (counts, answers, outputs, warnings, ...)."""

    job: PreparedJob
    outcome: JobOutcome
    gpkg: str | None = None
    engine: dict[str, Any] | None = None
    job_id: str | None = None  # the backend's job, once submitted (resuming it, refining its results name it)

    @property
    def result(self) -> dict[str, Any]:
        return getattr(self.outcome, "result", {}) or {}

    @property
    def succeeded(self) -> bool:
        return isinstance(self.outcome, JobSucceeded)

    @property
    def cancelled(self) -> bool:
        return isinstance(self.outcome, JobCancelled)

    @property
    def error(self) -> str | None:
        return self.outcome.message if isinstance(self.outcome, JobFailed) else None

    @property
    def resumable(self) -> bool:
        """Whether the job can go on from its finished tiles (``execute_job(..., resume_job_id=...)``): it was
        submitted and did not complete (cancelled, failed, or its backend stopped)."""
        return self.job_id is not None and not self.succeeded


def _raster_ref(client: BackendClient, source: FileRaster | UrlRaster | RenderedRaster, feedback=None) -> str:
    if isinstance(source, FileRaster):
        return source.path
    if isinstance(source, UrlRaster):
        return source.url
    png = source.render_png(feedback)
    return client.upload(png, source.geotransform, source.crs, source.name)


def _submit(client: BackendClient, job: PreparedJob, feedback=None) -> dict[str, Any]:
    """Send the rasters (paths, URLs or uploads) and the job. A server that refuses a URL (403: not under its
    ``--allow-url``) gets the layer rendered and uploaded instead, when the job has that fallback."""
    body = dict(job.body)
    body["raster"] = _raster_ref(client, job.raster, feedback)
    if job.raster_b is not None:
        body["raster_b"] = _raster_ref(client, job.raster_b, feedback)
    try:
        return client.submit(body)
    except BackendHTTPError as exc:
        sources = [s for s in (job.raster, job.raster_b) if isinstance(s, UrlRaster)]
        if exc.status != 403 or not sources or not all(s.fallback is not None for s in sources):
            raise
    for key, source in (("raster", job.raster), ("raster_b", job.raster_b)):
        if isinstance(source, UrlRaster):
            body[key] = _raster_ref(client, source.fallback, feedback)
    for key in ("bands", "window"):  # the upload is the rendered picture of the area already
        body.pop(key, None)
    return client.submit(body)


def execute_job(
    service: BackendService,
    job: PreparedJob,
    *,
    on_event: Callable[[JobEvent], None] = lambda e: None,
    on_status: Callable[[str], None] = lambda s: None,
    is_cancelled: Callable[[], bool] = lambda: False,
    feedback=None,
    limits: FollowLimits = DEFAULT_LIMITS,
    resume_job_id: str | None = None,
) -> RunOutcome:
    """Run ``job`` to its end (blocking; worker thread only); with ``resume_job_id``, go on with that backend
    job instead (interrupted, cancelled or failed: its finished tiles are not redone). Never raises for
    backend problems: they come back as a ``JobFailed`` outcome with a message for the user."""
    try:
        on_status("starting")
        connection = service.ensure(job.needed_dirs, job.needed_urls)
        client = BackendClient(connection)
        if is_cancelled():
            return RunOutcome(job, JobCancelled("", {}))
        if resume_job_id:
            on_status("resuming")
            created = client.resume(resume_job_id)
        else:
            on_status("uploading" if isinstance(job.raster, RenderedRaster) else "submitting")
            created = _submit(client, job, feedback)
    except BackendHTTPError as exc:
        return RunOutcome(job, JobFailed(exc.detail, resume_job_id), job_id=resume_job_id)
    except (BackendError, RasterSourceError) as exc:
        return RunOutcome(job, JobFailed(str(exc), resume_job_id), job_id=resume_job_id)
    job_id = created["id"]
    on_status("running")
    start = str(created.get("events", "")).rpartition("start=")[2]
    outcome = follow_job(client, job_id, on_event=on_event, is_cancelled=is_cancelled,
                         liveness=service.liveness, limits=limits, start=int(start) if start.isdigit() else 0)
    if isinstance(outcome, JobFailed):
        return RunOutcome(job, outcome, job_id=job_id)
    result = outcome.result
    gpkg = None
    if (result.get("outputs") or {}).get("gpkg"):
        os.makedirs(os.path.dirname(job.output_path) or ".", exist_ok=True)
        try:
            gpkg = client.download_result(job_id, job.output_path, "gpkg")
        except BackendError as exc:
            return RunOutcome(job, JobFailed(f"the run finished but its result could not be fetched: {exc}", job_id),
                              job_id=job_id)
        if job.followup_gpkg and result.get("followup"):
            gpkg = _join_previous(gpkg, job.followup_gpkg, result)
    return RunOutcome(job, outcome, gpkg, result.get("engine"), job_id)


def _join_previous(downloaded: str, previous_gpkg: str, result: dict[str, Any]) -> str:
    """Put a follow-up's layers into the previous run's GeoPackage, beside the layer it filtered (the
    result's layer names updated); when that file cannot be written, the download stays where it is, with a
    warning."""
    outputs = result.setdefault("outputs", {})
    try:
        outputs["layers"] = merge_into(downloaded, previous_gpkg, outputs.get("layers") or {})
    except OSError as exc:
        result.setdefault("warnings", []).append(
            f"the follow-up's layers could not be added to {previous_gpkg} ({exc}); they are in {downloaded}")
        return downloaded
    return previous_gpkg
