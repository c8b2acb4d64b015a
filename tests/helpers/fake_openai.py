"""A minimal OpenAI-compatible HTTP server on loopback for engine tests.

It answers ``GET /v1/models`` and ``POST /v1/chat/completions``, records every request (headers and
JSON body), counts how many requests are being handled at once, and plays queued ``Reply`` objects
(status, body, headers, delay) for chat completions before falling back to a default answer.
``slots`` limits the chat completions handled at once (others wait, as on a server whose batch is
full); ``kill()`` stops it the way a crashed server stops: open connections are cut mid-request.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


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


class FakeOpenAIServer:
    """Threaded loopback server; use as a context manager. ``url`` is the ``/v1`` base URL."""

    def __init__(
        self,
        models: tuple[str, ...] = ("tiny",),
        default: Callable[[dict], Reply] | None = None,
        slots: int | None = None,
    ):
        self.models = list(models)
        self.killed = False
        self._gate = threading.BoundedSemaphore(slots) if slots else None
        self._connections: set[socket.socket] = set()
        self.default = default or (lambda body: Reply(body=completion("ok")))
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def setup(self):
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self):
                with server._lock:
                    server._connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:  # the connection was cut by kill()
                    pass

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

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        """The recorded ``POST /v1/chat/completions`` requests."""
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST"]

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def kill(self) -> None:
        """Stop like a crashed server: refuse new connections and cut the open ones, requests in
        service included (their clients see the connection reset or closed without an answer)."""
        self.killed = True
        self.__exit__(None, None, None)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __exit__(self, *exc) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
