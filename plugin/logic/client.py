"""HTTP client of the GeoRSMLLM backend server (API ``/v1``), standard library only.

Every call blocks, with bounded timeouts: call it from worker threads (``QgsTask``, Processing), never from
the GUI thread. ``http.client`` is used directly rather than ``urllib`` so that proxy environment
variables never reroute calls to the local loopback server.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Sequence
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

from .sse import SseEvent, SseParser

#: Seconds to open a connection; loopback or LAN servers answer far sooner.
CONNECT_TIMEOUT_S = 5.0
#: Seconds a plain call may take (a plan with an LLM parser is the slowest).
CALL_TIMEOUT_S = 120.0
#: Seconds without a byte on an event stream before it counts as stalled (the server sends a
#: keep-alive comment every 10 s while a job is quiet).
STREAM_TIMEOUT_S = 45.0


class BackendError(Exception):
    """A backend call failed; the message is meant for the user."""


class BackendUnreachable(BackendError):
    """No connection to the server (refused, reset, timed out, or it closed mid-answer)."""


class BackendHTTPError(BackendError):
    """The server answered with an error status; ``detail`` is its reason."""

    def __init__(self, status: int, detail: str):
        self.status = status
        self.detail = detail
        super().__init__(f"backend error {status}: {detail}")


@dataclass(frozen=True)
class Connection:
    """Where a backend listens (``http://host:port``, no trailing ``/v1``) and its bearer token."""

    url: str
    token: str = ""

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(f"backend URL {self.url!r} is not an http(s)://host:port address")


def _detail(raw: bytes) -> str:
    try:
        body = json.loads(raw.decode("utf-8"))
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:500] or "no reason given"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # pydantic validation errors: a list of {loc, msg}
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in detail)
    return str(detail) if detail is not None else json.dumps(body)[:500]


class EventStream:
    """An open ``/events`` response: iterate it for ``SseEvent``s; ``close()`` may be called from another
    thread to unblock a pending read."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._conn = conn
        self._response = response
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[SseEvent]:
        parser = SseParser()
        try:
            while not self._closed.is_set():
                raw = self._response.readline()
                if not raw:
                    return
                event = parser.feed_line(raw.decode("utf-8", "replace"))
                if event is not None:
                    yield event
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as exc:
            # AttributeError: http.client drops its file object when close() runs in another thread.
            if self._closed.is_set():
                return
            raise BackendUnreachable(f"the event stream broke off: {exc or type(exc).__name__}") from None

    def close(self) -> None:
        self._closed.set()
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()


class BackendClient:
    """Typed calls of the backend API. Errors: ``BackendUnreachable`` (no server), ``BackendHTTPError``
    (the server refused: 400/403/404/422 with its reason)."""

    def __init__(self, connection: Connection, *, call_timeout_s: float = CALL_TIMEOUT_S):
        self.connection = connection
        self.call_timeout_s = call_timeout_s
        parts = urlsplit(connection.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")

    # -- plumbing -------------------------------------------------------------------------------
    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=CONNECT_TIMEOUT_S)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise BackendUnreachable(
                f"cannot reach the backend at {self.connection.url}: {exc.strerror or exc}"
            ) from None
        conn.sock.settimeout(timeout)
        return conn

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.connection.token:
            headers["Authorization"] = f"Bearer {self.connection.token}"
        headers.update(extra or {})
        return headers

    def _open(self, method: str, path: str, body: Any = None, *, timeout: float | None = None,
              accept: str | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self._connect(self.call_timeout_s if timeout is None else timeout)
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = self._headers({"Content-Type": "application/json"} if payload is not None else None)
        if accept:
            headers["Accept"] = accept
        try:
            conn.request(method, self._prefix + path, body=payload, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise BackendUnreachable(
                f"the backend at {self.connection.url} did not answer {method} {path}: {exc or type(exc).__name__}"
            ) from None
        if response.status >= 400:
            try:
                raw = response.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            conn.close()
            if response.status == 401:
                raise BackendHTTPError(401, "the backend refused the token: check the token in the GeoRSMLLM settings")
            raise BackendHTTPError(response.status, _detail(raw))
        return conn, response

    def _json(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        conn, response = self._open(method, path, body, timeout=timeout)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise BackendUnreachable(f"the backend broke off its answer to {path}: {exc}") from None
        finally:
            conn.close()
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise BackendError(f"the backend's answer to {path} is not JSON") from None

    # -- API ------------------------------------------------------------------------------------
    def health(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """``GET /v1/health``: status, version, model, device, memory, engine, jobs."""
        return self._json("GET", "/v1/health", timeout=timeout)

    def capabilities(self) -> dict[str, Any]:
        """``GET /v1/capabilities``: the names the backend accepts (tasks, dialects, engines, defaults, ...)."""
        return self._json("GET", "/v1/capabilities", timeout=10.0)

    def plan(self, instruction: str, task: str | None = None, n_rasters: int = 1,
             layer_names: Sequence[str] = (), *, previous: dict[str, Any] | None = None,
             follow_up: str | None = None) -> dict[str, Any]:
        """``POST /v1/plan``: the task chosen and the steps (model steps and GIS filters); ``layer_names``:
        the context layers the instruction may name, so conditions on them show as GIS filters; ``previous``
        and ``follow_up``: the result it may follow up on, as a job sends them."""
        body = {"instruction": instruction, "task": task, "n_rasters": n_rasters, "layer_names": list(layer_names)}
        if previous is not None:
            body |= {"previous": previous, "follow_up": follow_up}
        return self._json("POST", "/v1/plan", {k: v for k, v in body.items() if v is not None})

    def upload(self, png: bytes, geotransform: tuple[float, ...], crs: str, name: str | None = None) -> str:
        """``POST /v1/uploads`` of a rendered PNG; ``geotransform`` is GDAL's six numbers from the image's
        top-left corner in ``crs`` units. Returns the raster reference ``upload:<id>`` for a job."""
        body = {"png_base64": base64.b64encode(png).decode("ascii"), "geotransform": list(map(float, geotransform)),
                "crs": crs}
        if name:
            body["name"] = name[:80]
        return str(self._json("POST", "/v1/uploads", body)["raster"])

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/jobs``: ``{id, state, events, result}``. ``None`` values are left out of the body."""
        return self._json("POST", "/v1/jobs", {k: v for k, v in request.items() if v is not None})

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /v1/jobs/{id}``: state, counters, error, result."""
        return self._json("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        """``POST /v1/jobs/{id}/cancel``; the job stops within a tile and ends with a ``cancelled`` event."""
        return self._json("POST", f"/v1/jobs/{job_id}/cancel", timeout=10.0)

    def resume(self, job_id: str) -> dict[str, Any]:
        """``POST /v1/jobs/{id}/resume`` of an interrupted, cancelled or failed job: it goes on from its finished
        tiles. ``{id, state, events, result}``; ``events`` ends with ``?start=N``, the job's first new event."""
        return self._json("POST", f"/v1/jobs/{job_id}/resume")

    def events(self, job_id: str, start: int = 0, *, timeout: float = STREAM_TIMEOUT_S) -> EventStream:
        """Open the job's event stream from event index ``start`` (the log is replayable)."""
        query = urlencode({"start": max(0, int(start))})
        conn, response = self._open("GET", f"/v1/jobs/{job_id}/events?{query}", timeout=timeout,
                                    accept="text/event-stream")
        return EventStream(conn, response)

    def refine(self, body: dict[str, Any], *, timeout: float = 120.0) -> dict[str, Any]:
        """``POST /v1/refine``: one feature of a finished run re-segmented by SAM2 from clicks (body and answer:
        ``logic.refine``). Usually well under a second; encoding a tile the backend no longer keeps takes
        longer on a CPU."""
        return self._json("POST", "/v1/refine", body, timeout=timeout)

    def download_result(self, job_id: str, dest: str, fmt: str = "gpkg") -> str:
        """Save the job's result file (``gpkg`` or ``geojson``) to ``dest`` (written beside, then renamed)."""
        conn, response = self._open("GET", f"/v1/jobs/{job_id}/result?{urlencode({'format': fmt})}")
        tmp = dest + ".part"
        try:
            with open(tmp, "wb") as fh:
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    fh.write(chunk)
            os.replace(tmp, dest)
        except (OSError, http.client.HTTPException) as exc:
            if os.path.exists(tmp):
                os.remove(tmp)
            if isinstance(exc, OSError) and exc.filename:
                raise BackendError(f"cannot write the result to {exc.filename}: {exc.strerror}") from None
            raise BackendUnreachable(f"the result download broke off: {exc}") from None
        finally:
            conn.close()
        return dest
