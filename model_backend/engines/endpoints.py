"""Several model servers behind one engine: which endpoint takes the next request, and which rest.

An ``EndpointPool`` hands each request to the endpoint with the fewest requests outstanding (ties go to
the one picked least recently, so equal servers take turns), never past an endpoint's own concurrency
limit. An endpoint whose request failed (refused or dropped connection, HTTP 429/5xx, timeout) *rests*:
it takes no new request until its rest ends, then is tried again. Rests double with each failure in a
row (``backoff * 2**(n-1)`` seconds, at most ``max_backoff``; a server's ``Retry-After`` replaces that),
and a success ends the series. Requests that were already in flight when an endpoint began to rest
and fail too do not lengthen the rest: they report the same outage.

Thread-safe; times are ``time.monotonic()`` seconds. No HTTP here (see ``openai_engine``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Sequence


@dataclass
class Endpoint:
    """One model server: its base URL, concurrency ``limit`` and what happened to it so far."""

    url: str
    limit: int
    client: Any = None  # the HTTP client the engine opened for it
    outstanding: int = 0
    served: int = 0  # requests answered (any status the caller keeps)
    failed: int = 0  # requests that failed here (each made it rest)
    failures_in_row: int = 0
    rest_until: float = 0.0
    rest_began: float = float("-inf")
    last_error: str | None = None
    _picked: int = field(default=0, repr=False)

    def resting(self, now: float) -> bool:
        return now < self.rest_until

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "limit": self.limit,
            "in_flight": self.outstanding,
            "served": self.served,
            "failed": self.failed,
            "resting_s": round(max(0.0, self.rest_until - now), 2),
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Lease:
    """An endpoint taken for one request, and when (to tell old failures from new ones)."""

    endpoint: Endpoint
    taken_at: float


class EndpointPool:
    """Endpoints sharing the requests of one engine; see the module docstring."""

    def __init__(
        self,
        urls: Sequence[str],
        limit: int,
        *,
        backoff: float,
        max_backoff: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("an endpoint pool needs at least one URL")
        self.endpoints = [Endpoint(url, int(limit)) for url in urls]
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._clock = clock
        self._cond = threading.Condition()
        self._picks = 0

    def __len__(self) -> int:
        return len(self.endpoints)

    def acquire(self, exclude: Collection[str] = (), wait: bool = True) -> Lease | None:
        """Take the best endpoint not in ``exclude`` (URLs) for one request, waiting while every such
        endpoint is busy or resting. ``None`` when ``exclude`` leaves no endpoint (or, with
        ``wait=False``, none is free now)."""
        with self._cond:
            while True:
                now = self._clock()
                allowed = [e for e in self.endpoints if e.url not in exclude]
                if not allowed:
                    return None
                free = [e for e in allowed if e.outstanding < e.limit and not e.resting(now)]
                if free:
                    best = min(free, key=lambda e: (e.outstanding / e.limit, e.outstanding, e._picked))
                    self._picks += 1
                    best._picked = self._picks
                    best.outstanding += 1
                    return Lease(best, now)
                if not wait:
                    return None
                wakes = [e.rest_until for e in allowed if e.resting(now)]
                # Woken by a release; a rest ending wakes nobody, so sleep no longer than the next end.
                self._cond.wait(timeout=min(wakes) - now if wakes else None)

    def take(self, endpoint: Endpoint) -> Lease:
        """Take ``endpoint`` itself for one request, busy or resting (a check that must ask each one)."""
        with self._cond:
            endpoint.outstanding += 1
            return Lease(endpoint, self._clock())

    def succeeded(self, lease: Lease) -> None:
        """The request on ``lease`` got an answer (not a failure): the endpoint is well."""
        with self._cond:
            e = lease.endpoint
            e.outstanding -= 1
            e.served += 1
            e.failures_in_row = 0
            self._cond.notify_all()

    def failed(self, lease: Lease, reason: str, retry_after: float | None = None) -> float:
        """The request on ``lease`` failed for ``reason``: the endpoint rests. Returns the rest in seconds
        (0 when an earlier failure already started the rest this request belongs to)."""
        with self._cond:
            e = lease.endpoint
            now = self._clock()
            e.outstanding -= 1
            e.failed += 1
            e.last_error = reason
            rest = 0.0
            if lease.taken_at >= e.rest_began:  # a new failure, not one more report of the same outage
                e.failures_in_row += 1
                rest = self.backoff * 2 ** (e.failures_in_row - 1)
                if retry_after is not None:
                    rest = retry_after
                rest = min(rest, self.max_backoff)
                e.rest_began = now
                e.rest_until = max(e.rest_until, now + rest)
            self._cond.notify_all()
            return rest

    def describe(self) -> list[dict[str, Any]]:
        with self._cond:
            now = self._clock()
            return [e.describe(now) for e in self.endpoints]
