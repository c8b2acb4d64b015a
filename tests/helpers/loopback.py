"""The part every fake server of the tests shares: a threaded HTTP server on 127.0.0.1 (a port the system
picks) that knows its open connections, so that ``kill()`` stops it the way a crashed server or a dropped
network does: new connections are refused and open ones are cut, requests in service included."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log on stderr, connections registered with the ``LoopbackServer``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def setup(self):
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self):
        self.server.owner._track(self.connection, False)
        try:
            super().finish()
        except OSError:  # the connection was cut by kill()
            pass


class LoopbackServer:
    """Serves ``handler`` (a ``QuietHandler`` subclass) in a thread; use as a context manager. Handlers
    reach this object as ``self.server.owner``; ``killed`` tells them to answer nothing more."""

    def __init__(self, handler: type[QuietHandler]):
        self.killed = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def __enter__(self):
        self._thread.start()
        return self

    def kill(self) -> None:
        """Stop like a crashed server: refuse new connections and cut the open ones."""
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
