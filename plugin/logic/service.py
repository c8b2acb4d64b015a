"""The one place tasks and Processing algorithms get a backend connection from: the server URL the user
gave, or a local backend process this service starts (and restarts when its settings or the folders it
must read change). Pure Python, thread-safe; ``ensure`` blocks, so call it from worker threads."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Sequence

from .client import BackendClient, Connection
from .local_server import LaunchSpec, LocalServer

if TYPE_CHECKING:  # the settings module reads QgsSettings; this one stays plain Python
    from ..toolbelt.settings import PluginSettings


@dataclass(frozen=True)
class BackendConfig:
    """``url`` empty: start ``launch`` locally; otherwise connect to ``url`` with ``token``."""

    url: str = ""
    token: str = ""
    launch: LaunchSpec | None = None
    startup_timeout_s: float = 300.0


@dataclass(frozen=True)
class ServiceState:
    """A snapshot of the backend this service uses. ``remote``: a server URL from the settings (``phase``
    is then empty: only a health check can tell). Local: ``phase`` of the process (``LocalServer.phase``),
    its ``url`` once it listens, and why it ended (``exit_message``) with its ``log_path``."""

    remote: bool
    phase: str = ""
    url: str = ""
    token: str = ""
    exit_message: str = ""
    log_path: str = ""


def backend_config(settings: PluginSettings, allow_dirs: Sequence[str] = ()) -> BackendConfig:
    """How to reach a backend with ``settings``: their server URL, or a local process to start (running
    ``model_backend serve`` from the plugin folder, allowing the home and temp folders plus ``allow_dirs``)."""
    if settings.server_url:
        return BackendConfig(url=settings.server_url, token=settings.token,
                             startup_timeout_s=settings.startup_timeout_s)
    plugin_dir = Path(__file__).resolve().parents[2]
    launch = LaunchSpec(interpreter=settings.resolved_interpreter(), cwd=str(plugin_dir),
                        serve_args=settings.serve_args(), allow_dirs=(str(Path.home()), tempfile.gettempdir()))
    return BackendConfig(launch=launch.with_dirs(allow_dirs), startup_timeout_s=settings.startup_timeout_s)


def _same_launch(a: LaunchSpec, b: LaunchSpec) -> bool:
    """Equal apart from the allowed folders and URLs (a server allowing more still serves)."""
    return replace(a, allow_dirs=(), allow_urls=()) == replace(b, allow_dirs=(), allow_urls=())


class BackendService:
    """Hands out ``Connection``s. ``config_factory`` is read on every ``ensure`` so changed settings apply
    to the next job (a local server with other model settings is restarted)."""

    def __init__(self, config_factory: Callable[[], BackendConfig]):
        self._config_factory = config_factory
        self._server: LocalServer | None = None
        self._lock = threading.Lock()

    @property
    def local_server(self) -> LocalServer | None:
        return self._server

    def config(self) -> BackendConfig:
        return self._config_factory()

    def ensure(self, needed_dirs: Sequence[str] = (), needed_urls: Sequence[str] = (), *,
               timeout_s: float | None = None) -> Connection:
        """A connection to a healthy backend, starting the local one if needed (blocks up to the start-up
        timeout). ``needed_dirs`` / ``needed_urls``: folders and URL prefixes the next job reads, which a local
        server must allow."""
        config = self._config_factory()
        if config.url:
            self.stop()
            connection = Connection(config.url.rstrip("/"), config.token)
            BackendClient(connection).health(timeout=10.0)
            return connection
        if config.launch is None:
            raise ValueError("BackendConfig needs a url or a launch spec")
        with self._lock:
            server = self._server
            reusable = (server is not None and server.running() and _same_launch(server.spec, config.launch)
                        and all(server.spec.covers(d) for d in needed_dirs)
                        and all(server.spec.covers_url(u) for u in needed_urls))
            if not reusable:
                spec = config.launch
                if server is not None and _same_launch(server.spec, config.launch):
                    # keep what the old one allowed
                    spec = spec.with_dirs(server.spec.allow_dirs).with_urls(server.spec.allow_urls)
                spec = spec.with_dirs(needed_dirs).with_urls(needed_urls)
                if server is not None:
                    server.stop()
                server = self._server = LocalServer(spec)
        return server.start(timeout_s if timeout_s is not None else config.startup_timeout_s)

    def restart(self, *, timeout_s: float | None = None) -> Connection:
        """Stop the local backend (if any) and ensure a fresh one (or re-check the remote server)."""
        self.stop()
        return self.ensure(timeout_s=timeout_s)

    def snapshot(self) -> ServiceState:
        """What the service knows without asking the network (cheap; any thread)."""
        config = self._config_factory()
        if config.url:
            return ServiceState(remote=True, url=config.url.rstrip("/"), token=config.token)
        server = self._server
        if server is None:
            return ServiceState(remote=False, phase="stopped")
        connection = server.connection
        return ServiceState(remote=False, phase=server.phase, url=connection.url if connection else "",
                            token=connection.token if connection else "", exit_message=server.exit_reason() or "",
                            log_path=server.log_path)

    def liveness(self) -> str | None:
        """Why the local backend this service started has died, or ``None`` (running, remote, or none)."""
        server = self._server
        return server.exit_message() if server is not None else None

    def stop(self) -> None:
        """Stop the local backend this service started, if any. Quick; safe from the GUI thread."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
