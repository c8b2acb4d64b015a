"""Jobs of the local backend server: each runs in its own thread against the one loaded model; clients
follow them through an append-only event log (replayable, so a reconnecting client misses nothing).

With a ``JobStore`` the job table outlives the process: jobs are read back at start, those that were queued
or running then marked ``interrupted``. A job that was interrupted, cancelled or failed can be resumed: it runs
again under the same id, and its run goes on from the run journal (finished tiles are not redone).

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
from .jobstore import JobStore, StoredJob

#: A job body: runs the work, reporting through ``emit``; returns the result summary.
JobFn = Callable[[Callable[[RunEvent], None], CancelToken], dict[str, Any]]

TERMINAL = ("done", "cancelled", "error", "interrupted")
INTERRUPTED_MESSAGE = ("the server stopped while this job was queued or running: what was done is kept; "
                       "resume it with POST /v1/jobs/{id}/resume")  # .format(id=job id)
#: States a job can be resumed from (``interrupted``: the server stopped while it was queued or running).
RESUMABLE = ("interrupted", "cancelled", "error")

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    request: dict[str, Any]  # a summary of what was asked (no large inputs): shown in listings
    spec: dict[str, Any] = field(default_factory=dict)  # the whole checked request, to resume the job with
    state: str = "queued"  # queued | running | done | cancelled | error | interrupted
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    events: list[RunEvent] = field(default_factory=list)
    cancel_token: CancelToken = field(default_factory=CancelToken)
    tiles_done: int = 0
    tiles_total: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=set, repr=False)

    def emit(self, event: RunEvent) -> None:
        with self._cond:
            self.events.append(event)
            if event.tiles_total:
                self.tiles_done, self.tiles_total = event.tiles_done, event.tiles_total
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
        return {
            "id": self.id,
            "state": self.state,
            "created": self.created,
            "finished": self.finished,
            "tiles_done": self.tiles_done,
            "tiles_total": self.tiles_total,
            "error": self.error,
            "result": self.result,
            "request": self.request,
        }


class JobManager:
    """Runs jobs one at a time per model (``max_parallel``) in worker threads; keeps finished jobs for
    fetching results. A client that disconnects never stops a job: only ``cancel`` does."""

    def __init__(self, max_parallel: int = 1, keep: int = 200,
                 on_forget: Callable[[Job], None] | None = None, store: JobStore | None = None):
        """``keep``: finished jobs remembered (older ones are forgotten, and ``on_forget`` called for each,
        e.g. to delete its files). ``store``: the job table on disk; its jobs are read back now."""
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_parallel)
        self._keep = keep
        self._on_forget = on_forget
        self._store = store
        self._threads: dict[str, threading.Thread] = {}
        self._stopping = False
        if store is not None:
            self._restore(store)

    def _restore(self, store: JobStore) -> None:
        for stored in store.load():
            job = Job(id=stored.id, request=stored.request, spec=stored.spec, state=stored.state,
                      created=stored.created,
                      finished=stored.finished, result=stored.result, error=stored.error,
                      tiles_done=stored.tiles_done, tiles_total=stored.tiles_total)
            if job.state not in TERMINAL:  # the server stopped (or died) while it was queued or running
                job.state, job.finished = "interrupted", job.finished or time.time()
                self._save(job)
            if job.state == "interrupted":
                job.events.append(RunEvent("interrupted", job.tiles_done, job.tiles_total,
                                           message=INTERRUPTED_MESSAGE.format(id=job.id), data=job.result))
            elif job.state == "error":
                job.events.append(RunEvent("error", message=job.error or ""))
            else:
                job.events.append(RunEvent(job.state, job.tiles_done, job.tiles_total, data=job.result))
            self._jobs[job.id] = job

    def _save(self, job: Job) -> None:
        if self._store is not None:
            self._store.save(StoredJob(job.id, job.request, job.state, job.created, job.finished, job.result,
                                       job.error, job.tiles_done, job.tiles_total, job.spec))

    def submit(self, request: dict[str, Any], fn: JobFn, job_id: str | None = None,
               spec: dict[str, Any] | None = None) -> Job:
        """Queue ``fn`` as a job; ``request``: what listings show of it; ``spec``: what it needs to be resumed
        (kept with the job, never shown)."""
        job = Job(id=job_id or uuid.uuid4().hex[:16], request=request, spec=dict(spec or {}))
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
            self._forget_old()
            self._start(job, fn)
        return job

    def resume(self, job_id: str, fn: JobFn) -> int:
        """Run an interrupted, cancelled or failed job again (``fn`` goes on from its run journal); returns the
        index of its first new event. ``ValueError`` when the job is not in a resumable state."""
        with self._lock:
            job = self._jobs[job_id]
            if job.state not in RESUMABLE:
                raise ValueError(f"job {job_id} is {job.state}: only an interrupted, cancelled or failed job "
                                 "can be resumed")
            with job._cond:
                start = len(job.events)
                job.state, job.error, job.finished, job.result = "queued", None, None, {}
                job.cancel_token = CancelToken()
            self._save(job)
            self._start(job, fn)
        return start

    def _start(self, job: Job, fn: JobFn) -> None:
        thread = threading.Thread(target=self._run, args=(job, fn), name=f"job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()

    def shutdown(self, timeout: float = 15.0) -> None:
        """The server is stopping: stop every queued or running job, give them up to ``timeout`` seconds to
        write what they have done (marked partial), and mark them ``interrupted`` (resumable after a restart;
        their finished tiles are in their run journals whatever happens)."""
        with self._lock:
            self._stopping = True
            threads = [t for t in self._threads.values() if t.is_alive()]
            for job in self._jobs.values():
                if job.state not in TERMINAL:
                    job.cancel_token.cancel()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

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

    def _emit(self, job: Job, event: RunEvent) -> None:
        job.emit(event)
        if event.tiles_total and self._store is not None:
            self._store.progress(job.id, job.tiles_done, job.tiles_total)

    def _run(self, job: Job, fn: JobFn) -> None:
        with self._slots:
            if job.cancel_token.cancelled:
                state = "interrupted" if self._stopping else "cancelled"
                message = INTERRUPTED_MESSAGE.format(id=job.id) if self._stopping else "cancelled before it started"
                self._finish(job, state, RunEvent(state, message=message))
                return
            job.state = "running"
            self._save(job)
            try:
                job.result = fn(lambda event: self._emit(job, event), job.cancel_token) or {}
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
            message = job.result.get("message", "")
            if state == "cancelled" and self._stopping:
                state, message = "interrupted", INTERRUPTED_MESSAGE.format(id=job.id)
            self._finish(job, state, RunEvent(state, message=message, data=job.result))

    def _finish(self, job: Job, state: str, event: RunEvent, error: str | None = None) -> None:
        job.error = error
        job.finished = time.time()
        with job._cond:
            job.state = state
            job.events.append(event)
            job._notify()
        self._save(job)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.state in TERMINAL), key=lambda j: j.created)
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            self._jobs.pop(job.id, None)
            self._threads.pop(job.id, None)
            if self._store is not None:
                self._store.delete(job.id)
            if self._on_forget is not None:
                self._on_forget(job)
