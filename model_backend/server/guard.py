"""The checks every HTTP request passes before any endpoint runs (an ASGI middleware).

In order: ``Host`` names this server, ``Origin`` is absent or the server's own (``security.HostPolicy``), the
bearer token matches, a POST with a body says ``Content-Type: application/json`` (a web page cannot send that
cross-origin without a CORS preflight, which this server never answers), and the body is no larger than the
endpoint's limit (``Content-Length`` first, then the bytes actually received). Refusals are JSON
``{"detail": …}`` with 400, 403, 401, 415 or 413.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import HTTPException

from .security import HostPolicy, token_matches


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body outgrows its limit: an ``HTTPException`` so that FastAPI's own
    body parsing passes it through as a 413 instead of turning it into a 400."""

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body larger than {_mb(limit)}")


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB"


async def _reply(send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware; ``body_limit(path)`` gives the most bytes a request to ``path`` may carry."""

    def __init__(self, app, *, hosts: HostPolicy, token: str | None, body_limit: Callable[[str], int]):
        self.app = app
        self.hosts = hosts
        self.token = token
        self.body_limit = body_limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, list[str]] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))

        def one(name: str) -> str | None:
            values = headers.get(name)
            return values[0] if values and len(values) == 1 else None

        host = one("host")
        if not self.hosts.host_ok(host):
            await _reply(send, 400, f"Host header {host or '(none)'!r} does not name this server "
                                    "(use 127.0.0.1 or localhost with the server's port)")
            return
        if "origin" in headers and not self.hosts.origin_ok(one("origin"), host):
            await _reply(send, 403, "requests from web pages of other origins are refused")
            return
        if not token_matches(one("authorization"), self.token):
            await _reply(send, 401, "missing or wrong bearer token", [(b"www-authenticate", b"Bearer")])
            return
        length_text = one("content-length")
        chunked = "transfer-encoding" in headers
        if length_text is not None and not length_text.isdigit():
            await _reply(send, 400, "malformed Content-Length")
            return
        length = int(length_text) if length_text is not None else 0
        if scope["method"] == "POST" and (length > 0 or chunked):
            ctype = (one("content-type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                await _reply(send, 415, "request bodies must be JSON sent with Content-Type: application/json")
                return
        limit = self.body_limit(scope.get("path", ""))
        if length > limit:
            await _reply(send, 413, f"request body larger than {_mb(limit)}")
            return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if not started:
                await _reply(send, 413, str(exc.detail))
