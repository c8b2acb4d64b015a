"""A minimal OpenAI-compatible HTTP server on loopback for engine tests.

It answers ``GET /v1/models`` and ``POST /v1/chat/completions``, records every request (headers and
JSON body), counts how many requests are being handled at once, and plays queued ``Reply`` objects
(status, body, headers, delay) for chat completions before falling back to a default answer.
``slots`` limits the chat completions handled at once (others wait, as on a server whose batch is
full); ``kill()`` stops it the way a crashed server stops: open connections are cut mid-request.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .loopback import LoopbackServer, QuietHandler


@dataclass
class Reply:
    """One scripted HTTP answer. ``body`` is sent as JSON unless it is ``bytes``/``str`` (sent raw);
    ``drop`` closes the connection without answering (a crashed or restarting server)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def completion(text: str, logprobs: list[tuple[str, float]] | None = None, with_bytes: bool = False) -> dict:
    """A chat completion body answering ``text``, with ``choices[0].logprobs`` if given."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
    }
    if logprobs is not None:
        entries = []
        for token, logprob in logprobs:
            entry: dict[str, Any] = {"token": token, "logprob": logprob, "top_logprobs": []}
            if with_bytes:
                entry["bytes"] = list(token.encode("utf-8"))
            entries.append(entry)
        choice["logprobs"] = {"content": entries}
    return {
        "id": "cmpl-test",
        "object": "chat.completion",
        "model": "tiny",
        "choices": [choice],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(logprobs or []), "total_tokens": 10},
    }


class FakeOpenAIServer(LoopbackServer):
    """Threaded loopback server; use as a context manager. ``url`` is the ``/v1`` base URL."""

    def __init__(
        self,
        models: tuple[str, ...] = ("tiny",),
        default: Callable[[dict], Reply] | None = None,
        slots: int | None = None,
    ):
        self.models = list(models)
        self._gate = threading.BoundedSemaphore(slots) if slots else None
        self.default = default or (lambda body: Reply(body=completion("ok")))
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(QuietHandler):
            def _answer(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                if isinstance(reply.body, (bytes, str)):
                    payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                    ctype = "text/plain"
                else:
                    payload = json.dumps(reply.body if reply.body is not None else {}).encode()
                    ctype = "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def _handle(self, body: Any) -> None:
                if server.killed:
                    self.close_connection = True
                    return
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                        }
                    )
                    chat = self.command == "POST" and self.path == "/v1/chat/completions"
                    reply = server.replies.pop(0) if chat and server.replies else None
                try:
                    if reply is None:
                        if self.command == "GET" and self.path.rstrip("/") == "/v1/models":
                            reply = Reply(body={"object": "list", "data": [{"id": m} for m in server.models]})
                        elif chat:
                            reply = server.default(body)
                        else:
                            reply = Reply(status=404, body={"error": {"message": f"no route {self.path}"}})
                    if chat and server._gate is not None:
                        with server._gate:
                            self._answer(reply)
                    else:
                        self._answer(reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def do_GET(self):
                self._handle(None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                self._handle(body)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        """The recorded ``POST /v1/chat/completions`` requests."""
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST"]
