"""Run one backend job to its end: submit, follow its event stream, cancel on request, survive a dropped
stream (the server's event log is replayable), and notice a dead backend. Pure Python; blocks, so it runs
in a worker thread (``QgsTask.run`` or a Processing algorithm). Every wait is bounded."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Union
from collections.abc import Callable

from .client import BackendClient, BackendError, BackendHTTPError, BackendUnreachable, EventStream

TERMINAL = ("done", "cancelled", "error", "interrupted")


@dataclass(frozen=True)
class JobEvent:
    """One event of a running job (``kind``: plan, tile, warning, done, cancelled, error). ``features`` are
    GeoJSON features in EPSG:4326 (for live display only); ``data`` depends on the kind."""

    kind: str
    index: int
    tiles_done: int = 0
    tiles_total: int = 0
    message: str = ""
    features: tuple[dict[str, Any], ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, kind: str, index: int, payload: dict[str, Any]) -> JobEvent:
        return cls(kind=payload.get("kind") or kind, index=index, tiles_done=int(payload.get("tiles_done") or 0),
                   tiles_total=int(payload.get("tiles_total") or 0), message=str(payload.get("message") or ""),
                   features=tuple(payload.get("features") or ()), data=dict(payload.get("data") or {}))


@dataclass(frozen=True)
class JobSucceeded:
    job_id: str
    result: dict[str, Any]


@dataclass(frozen=True)
class JobCancelled:
    """Stopped on request; ``result`` holds what was done (``partial`` true) or is empty."""

    job_id: str
    result: dict[str, Any]


@dataclass(frozen=True)
class JobFailed:
    """``message`` is meant for the user (the server's reason, or why the backend is gone)."""

    message: str
    job_id: str | None = None


JobOutcome = Union[JobSucceeded, JobCancelled, JobFailed]


@dataclass(frozen=True)
class FollowLimits:
    """Seconds: ``poll`` between cancel/liveness checks; ``cancel_grace`` to wait for the ``cancelled``
    event after asking; ``reconnect_tries`` of a broken stream before giving up."""

    poll: float = 0.2
    cancel_grace: float = 20.0
    reconnect_tries: int = 3
    reconnect_pause: float = 0.5


DEFAULT_LIMITS = FollowLimits()


class _Reader(threading.Thread):
    """Reads one event stream into a queue: ``("event", JobEvent)``, then ``("end", None)`` or
    ``("broken", message)``."""

    def __init__(self, stream: EventStream, start_index: int, out: queue.Queue[tuple[str, Any]]):
        super().__init__(name="georsmllm-events", daemon=True)
        self.stream = stream
        self.index = start_index
        self.out = out

    def run(self) -> None:
        try:
            for sse in self.stream:
                try:
                    payload = json.loads(sse.data)
                except ValueError:
                    payload = {"kind": sse.event, "message": sse.data}
                index = int(sse.id) if sse.id and sse.id.isdigit() else self.index
                self.out.put(("event", JobEvent.from_payload(sse.event, index, payload)))
                self.index = index + 1
            self.out.put(("end", None))
        except BackendError as exc:
            self.out.put(("broken", str(exc)))


def follow_job(
    client: BackendClient,
    job_id: str,
    *,
    on_event: Callable[[JobEvent], None],
    is_cancelled: Callable[[], bool] = lambda: False,
    liveness: Callable[[], str | None] = lambda: None,
    limits: FollowLimits = DEFAULT_LIMITS,
    start: int = 0,
) -> JobOutcome:
    """Follow ``job_id`` until it ends, from its event ``start`` (a resumed job's first new event). ``on_event``
    gets every non-terminal event (in the calling thread); ``is_cancelled`` is polled, and when it turns true
    the job is cancelled on the server; ``liveness`` returns a message when the backend process is known dead.
    A job the server stopped while it ran (``interrupted``) is a failure that can be resumed."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    next_index = max(0, start)
    reconnects = 0
    cancel_deadline: float | None = None
    stream: EventStream | None = None

    def open_stream() -> EventStream:
        s = client.events(job_id, start=next_index)
        _Reader(s, next_index, events).start()
        return s

    try:
        try:
            stream = open_stream()
        except BackendError as exc:
            return JobFailed(str(exc), job_id)
        while True:
            if cancel_deadline is None and is_cancelled():
                cancel_deadline = time.monotonic() + limits.cancel_grace
                try:
                    client.cancel(job_id)
                except BackendUnreachable as exc:
                    return JobFailed(liveness() or f"cannot cancel job {job_id}: {exc}", job_id)
                except BackendHTTPError as exc:
                    return JobFailed(f"cannot cancel job {job_id}: {exc.detail}", job_id)
            if cancel_deadline is not None and time.monotonic() > cancel_deadline:
                return JobCancelled(job_id, {"message": "the backend did not confirm the cancel in time"})
            try:
                kind, item = events.get(timeout=limits.poll)
            except queue.Empty:
                dead = liveness()
                if dead:
                    return JobFailed(dead, job_id)
                continue
            if kind == "event":
                event: JobEvent = item
                if event.index < next_index:
                    continue  # replayed after a reconnect
                next_index = max(next_index, event.index + 1)
                if event.kind == "done":
                    return JobSucceeded(job_id, event.data)
                if event.kind == "cancelled":
                    return JobCancelled(job_id, event.data)
                if event.kind in ("error", "interrupted"):
                    return JobFailed(event.message or "the job failed without a reason", job_id)
                on_event(event)
                continue
            # The stream ended or broke before a terminal event: reconnect from where we are.
            dead = liveness()
            if dead:
                return JobFailed(dead, job_id)
            reconnects += 1
            if reconnects > limits.reconnect_tries:
                reason = item or "the event stream ended before the job did"
                return JobFailed(f"lost the connection to the backend while job {job_id} ran: {reason}", job_id)
            time.sleep(limits.reconnect_pause)
            if stream is not None:
                stream.close()
            try:
                stream = open_stream()
            except BackendUnreachable as exc:
                dead = liveness()
                return JobFailed(dead or f"the backend stopped answering while job {job_id} ran: {exc}", job_id)
            except BackendHTTPError as exc:
                return JobFailed(f"job {job_id} cannot be followed: {exc.detail}", job_id)
    finally:
        if stream is not None:
            stream.close()
