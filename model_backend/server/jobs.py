"""Jobs of the local backend server: each runs in its own thread against the one loaded model; clients
follow them through an append-only event log (replayable, so a reconnecting client misses nothing).

Event streams wait for new events on the event loop (``wait_events_async``), not in a thread each: idle
streams cost nothing, so however many clients watch, none delays another job's events."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import GeoRSMLLMError
from ..pipeline.events import CancelToken, RunEvent

#: A job body: runs the work, reporting through ``emit``; returns the result summary.
JobFn = Callable[[Callable[[RunEvent], None], CancelToken], dict[str, Any]]

TERMINAL = ("done", "cancelled", "error")

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    request: dict[str, Any]  # a summary of what was asked (no large inputs): shown in listings
    state: str = "queued"  # queued | running | done | cancelled | error
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    events: list[RunEvent] = field(default_factory=list)
    cancel_token: CancelToken = field(default_factory=CancelToken)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=set, repr=False)

    def emit(self, event: RunEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._notify()

    def _notify(self) -> None:
        """Wake threads and event-loop waiters (called with ``_cond`` held, from any thread)."""
        self._cond.notify_all()
        for loop, flag in self._waiters:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that loop has closed: its waiter is gone
                pass

    def wait_events(self, start: int, timeout: float) -> tuple[list[RunEvent], bool]:
        """Events from index ``start`` on, waiting up to ``timeout`` s for new ones; also whether the job ended."""
        with self._cond:
            if len(self.events) <= start and self.state not in TERMINAL:
                self._cond.wait(timeout)
            return list(self.events[start:]), self.state in TERMINAL

    async def wait_events_async(self, start: int, timeout: float) -> tuple[list[RunEvent], bool]:
        """``wait_events`` for the event loop: waits on an ``asyncio.Event`` set by ``emit``, holding no thread."""
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        waiter = (loop, flag)
        with self._cond:
            if len(self.events) > start or self.state in TERMINAL:
                return list(self.events[start:]), self.state in TERMINAL
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            with self._cond:
                self._waiters.discard(waiter)
        with self._cond:
            return list(self.events[start:]), self.state in TERMINAL

    def summary(self) -> dict[str, Any]:
        last_tile = next((e for e in reversed(self.events) if e.tiles_total), None)
        return {
            "id": self.id,
            "state": self.state,
            "created": self.created,
            "finished": self.finished,
            "tiles_done": last_tile.tiles_done if last_tile else 0,
            "tiles_total": last_tile.tiles_total if last_tile else 0,
            "error": self.error,
            "result": self.result,
            "request": self.request,
        }


class JobManager:
    """Runs jobs one at a time per model (``max_parallel``) in worker threads; keeps finished jobs for
    fetching results. A client that disconnects never stops a job: only ``cancel`` does."""

    def __init__(self, max_parallel: int = 1, keep: int = 200,
                 on_forget: Callable[[Job], None] | None = None):
        """``keep``: finished jobs remembered (older ones are forgotten, and ``on_forget`` called for each,
        e.g. to delete its files)."""
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_parallel)
        self._keep = keep
        self._on_forget = on_forget

    def submit(self, request: dict[str, Any], fn: JobFn, job_id: str | None = None) -> Job:
        job = Job(id=job_id or uuid.uuid4().hex[:16], request=request)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job, fn), name=f"job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None:
            job.cancel_token.cancel()
        return job

    def _run(self, job: Job, fn: JobFn) -> None:
        with self._slots:
            if job.cancel_token.cancelled:
                self._finish(job, "cancelled", RunEvent("cancelled", message="cancelled before it started"))
                return
            job.state = "running"
            try:
                job.result = fn(job.emit, job.cancel_token) or {}
            except GeoRSMLLMError as exc:
                self._finish(job, "error", RunEvent("error", message=str(exc)), error=str(exc))
                return
            except Exception as exc:  # a bug must not kill the server: report it on the job
                # The traceback goes to the server's log only: clients get the one-line reason.
                log.exception("job %s failed unexpectedly", job.id)
                message = f"internal error ({type(exc).__name__}: {exc}); the server log has the details"
                self._finish(job, "error", RunEvent("error", message=message), error=message)
                return
            state = "cancelled" if job.result.get("partial") and job.cancel_token.cancelled else "done"
            self._finish(job, state, RunEvent(state, message=job.result.get("message", ""), data=job.result))

    def _finish(self, job: Job, state: str, event: RunEvent, error: str | None = None) -> None:
        job.error = error
        job.finished = time.time()
        with job._cond:
            job.state = state
            job.events.append(event)
            job._notify()

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.state in TERMINAL), key=lambda j: j.created)
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            self._jobs.pop(job.id, None)
            if self._on_forget is not None:
                self._on_forget(job)
