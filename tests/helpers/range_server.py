"""A static file server on loopback with HTTP range requests, for tests of rasters read by URL.

It serves ``files`` (URL path -> bytes) to ``GET`` and ``HEAD``, answers ``Range: bytes=…`` with 206 (one
range, or several as ``multipart/byteranges``), counts the body bytes it sent and records every request and
the ranges asked. ``redirects`` (URL path -> Location) answer 302. ``kill()`` stops it the way a server
that drops off the network stops: new connections are refused and open ones are cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loopback import LoopbackServer, QuietHandler

_CHUNK = 64 * 1024
_RANGE_RE = re.compile(r"^\s*(\d*)-(\d*)\s*$")


@dataclass(frozen=True)
class Served:
    """One request: method, path (query string included), the ``Range`` header (or ``None``), the status
    answered and the body bytes sent."""

    method: str
    path: str
    range: str | None
    status: int
    body_bytes: int


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """``bytes=a-b,c-,-n`` -> inclusive ``(first, last)`` byte pairs inside ``size``; ``None`` when the
    header is not a byte range or nothing in it can be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    out = []
    for part in spec.split(","):
        match = _RANGE_RE.match(part)
        if not match:
            return None
        first, last = match.groups()
        if first == "" and last == "":
            return None
        if first == "":  # the last n bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), size - 1 if last == "" else min(int(last), size - 1)
        if start <= end and start < size:
            out.append((start, end))
    return out or None


class RangeServer(LoopbackServer):
    """Threaded loopback file server; use as a context manager. ``url(name)`` is a served file's URL."""

    def __init__(self, files: dict[str, bytes] | None = None, redirects: dict[str, str] | None = None):
        self.files: dict[str, bytes] = dict(files or {})
        self.redirects: dict[str, str] = dict(redirects or {})
        self.log: list[Served] = []
        server = self

        class Handler(QuietHandler):
            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                if server.killed:
                    self.close_connection = True
                    return
                path = self.path.split("?", 1)[0]
                range_header = self.headers.get("Range")
                if path in server.redirects:
                    self._send(302, b"", {"Location": server.redirects[path]}, head, range_header)
                    return
                data = server.files.get(path)
                if data is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"}, head, range_header)
                    return
                size = len(data)
                ctype = "application/json" if path.endswith(".json") else "image/tiff"
                if range_header is None:
                    self._send(200, data, {"Content-Type": ctype, "Accept-Ranges": "bytes"}, head, None)
                    return
                ranges = parse_ranges(range_header, size)
                if ranges is None:
                    self._send(416, b"", {"Content-Range": f"bytes */{size}"}, head, range_header)
                    return
                if len(ranges) == 1:
                    start, end = ranges[0]
                    self._send(206, data[start:end + 1], {"Content-Type": ctype, "Accept-Ranges": "bytes",
                                                          "Content-Range": f"bytes {start}-{end}/{size}"},
                               head, range_header)
                    return
                boundary = "RANGESERVERBOUNDARY"
                parts = []
                for start, end in ranges:
                    parts.append(f"--{boundary}\r\nContent-Type: {ctype}\r\n"
                                 f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n".encode())
                    parts.append(data[start:end + 1] + b"\r\n")
                parts.append(f"--{boundary}--\r\n".encode())
                self._send(206, b"".join(parts), {"Content-Type": f"multipart/byteranges; boundary={boundary}"},
                           head, range_header)

            def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool,
                      range_header: str | None) -> None:
                sent = 0
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    # in chunks, counting what the client took: GDAL aborts unranged GETs once it has the size
                    for start in range(0, 0 if head else len(body), _CHUNK):
                        self.wfile.write(body[start:start + _CHUNK])
                        sent += len(body[start:start + _CHUNK])
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    with server._lock:
                        server.log.append(Served(self.command, self.path, range_header, status, sent))

        super().__init__(Handler)

    def url(self, name: str) -> str:
        """The URL of the file served at ``/name``."""
        return f"{self.base}/{name.lstrip('/')}"

    def bytes_served(self, name: str | None = None) -> int:
        """Body bytes sent in all (or for the file ``/name``)."""
        with self._lock:
            return sum(s.body_bytes for s in self.log
                       if name is None or s.path.split("?", 1)[0] == "/" + name.lstrip("/"))

    def requests(self, name: str | None = None) -> list[Served]:
        with self._lock:
            return [s for s in self.log if name is None or s.path.split("?", 1)[0] == "/" + name.lstrip("/")]

    def reset_counts(self) -> None:
        with self._lock:
            self.log.clear()
