"""A loopback OpenAI-compatible server for benchmarks: serves ``--slots`` chat completions at once,
each taking ``--latency`` seconds; further requests queue (they wait for a free slot, as on a GPU
server whose batch is full). Standard library only; run it in its own process so that its work does
not share the client's interpreter lock.

    python bench/fake_server.py --slots 4 --latency 0.5

Prints ``listening <base url>`` once ready. Routes: ``GET /v1/models``, ``POST /v1/chat/completions``
(the request JSON is parsed, images are not decoded), ``GET /stats`` (requests served, most in service
at once, most waiting or in service at once). Answers are GeoRSMLLM-dialect detection boxes.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = ("<ref>building</ref>{(120,140),(180,140),(180,210),(120,210)}\n"
          "<ref>building</ref>{(600,610),(655,610),(655,700),(600,700)}")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served = 0
        self.in_service = 0
        self.max_in_service = 0
        self.present = 0
        self.max_present = 0

    def as_dict(self) -> dict:
        with self.lock:
            return {"served": self.served, "max_in_service": self.max_in_service, "max_present": self.max_present}


def make_server(slots: int, latency: float, port: int = 0) -> ThreadingHTTPServer:
    stats = Stats()
    gate = threading.BoundedSemaphore(slots)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": "bench-model"}]})
            elif self.path == "/stats":
                self._send(200, stats.as_dict())
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(raw)
            with stats.lock:
                stats.present += 1
                stats.max_present = max(stats.max_present, stats.present)
            try:
                with gate:  # a full batch: wait for a slot
                    with stats.lock:
                        stats.in_service += 1
                        stats.max_in_service = max(stats.max_in_service, stats.in_service)
                    time.sleep(latency)
                    with stats.lock:
                        stats.in_service -= 1
                        stats.served += 1
            finally:
                with stats.lock:
                    stats.present -= 1
            self._send(200, {
                "id": "cmpl-bench", "object": "chat.completion", "model": body.get("model", "bench-model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": ANSWER}}],
            })

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description="loopback OpenAI-compatible server with fixed latency")
    ap.add_argument("--slots", type=int, default=4, help="requests served at once")
    ap.add_argument("--latency", type=float, default=0.5, help="seconds per request")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    args = ap.parse_args()
    server = make_server(args.slots, args.latency, args.port)
    host, port = server.server_address[:2]
    print(f"listening http://{host}:{port}/v1", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
