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
from .raster_source import FileRaster, RasterSourceError, RenderedRaster
from .service import BackendService


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``gpkg``: the local copy of the result GeoPackage (``None`` when nothing was
    written); ``result``: the backend's run summary (counts, answers, outputs, warnings, ...)."""

    job: PreparedJob
    outcome: JobOutcome
    gpkg: str | None = None
    engine: dict[str, Any] | None = None

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


def _raster_ref(client: BackendClient, source: FileRaster | RenderedRaster, feedback=None) -> str:
    if isinstance(source, FileRaster):
        return source.path
    png = source.render_png(feedback)
    return client.upload(png, source.geotransform, source.crs, source.name)


def execute_job(
    service: BackendService,
    job: PreparedJob,
    *,
    on_event: Callable[[JobEvent], None] = lambda e: None,
    on_status: Callable[[str], None] = lambda s: None,
    is_cancelled: Callable[[], bool] = lambda: False,
    feedback=None,
    limits: FollowLimits = DEFAULT_LIMITS,
) -> RunOutcome:
    """Run ``job`` to its end (blocking; worker thread only). Never raises for backend problems: they come
    back as a ``JobFailed`` outcome with a message for the user."""
    try:
        on_status("starting")
        connection = service.ensure(job.needed_dirs)
        client = BackendClient(connection)
        if is_cancelled():
            return RunOutcome(job, JobCancelled("", {}))
        on_status("uploading" if not isinstance(job.raster, FileRaster) else "submitting")
        body = dict(job.body)
        body["raster"] = _raster_ref(client, job.raster, feedback)
        if job.raster_b is not None:
            body["raster_b"] = _raster_ref(client, job.raster_b, feedback)
        created = client.submit(body)
    except BackendHTTPError as exc:
        return RunOutcome(job, JobFailed(exc.detail))
    except (BackendError, RasterSourceError) as exc:
        return RunOutcome(job, JobFailed(str(exc)))
    job_id = created["id"]
    on_status("running")
    outcome = follow_job(client, job_id, on_event=on_event, is_cancelled=is_cancelled,
                         liveness=service.liveness, limits=limits)
    if isinstance(outcome, JobFailed):
        return RunOutcome(job, outcome)
    result = outcome.result
    gpkg = None
    if (result.get("outputs") or {}).get("gpkg"):
        os.makedirs(os.path.dirname(job.output_path) or ".", exist_ok=True)
        try:
            gpkg = client.download_result(job_id, job.output_path, "gpkg")
        except BackendError as exc:
            return RunOutcome(job, JobFailed(f"the run finished but its result could not be fetched: {exc}", job_id))
        if job.followup_gpkg and result.get("followup"):
            gpkg = _join_previous(gpkg, job.followup_gpkg, result)
    return RunOutcome(job, outcome, gpkg, result.get("engine"))


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
