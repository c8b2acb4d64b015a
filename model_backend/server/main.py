"""Start the backend server: load the model once, bind (loopback by default), serve with uvicorn."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..liveness import pid_alive
from ..pipeline.config import RunConfig
from ..pipeline.factory import build_engine
from .app import ServerSettings, create_app
from .backend import PipelineBackend
from .security import check_bind


def serve(args, overrides: dict[str, Any]) -> int:
    import uvicorn

    config = RunConfig.load(overrides, config_file=getattr(args, "config", None))
    env = os.environ
    settings = ServerSettings(
        host=args.host or env.get("GEORSMLLM_HOST", "127.0.0.1"),
        port=args.port if args.port is not None else int(env.get("GEORSMLLM_PORT", "8765")),
        token=args.token or env.get("GEORSMLLM_TOKEN") or None,
        allowed_dirs=args.allow_dirs or [str(Path.home()), tempfile.gettempdir()],
        work_dir=args.work_dir or "",
        max_upload_mb=args.max_upload_mb or 256.0,
    )
    check_bind(settings.host, settings.token)
    engine = build_engine(config)
    # The model loads in the background once the server listens: clients see "model_loaded": false (and
    # any load_error) in /v1/health instead of a silent port; jobs wait for the load.
    backend = PipelineBackend(config, engine, lazy=True)
    app = create_app(backend, settings)

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]

    @app.on_event("startup")
    async def _announce() -> None:
        print(f"GeoRSMLLM backend listening on http://{settings.host}:{port} "
              f"(model {config.model if config.engine != 'scripted' else config.script}, engine {config.engine})",
              flush=True)
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as fh:
                fh.write(str(port))
            os.replace(tmp, args.port_file)
        if not args.lazy:
            backend.load_in_background()

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    if args.parent_pid:
        _watch_parent(args.parent_pid, server)
    server.run(sockets=[sock])
    engine.close()
    return 0


def _watch_parent(pid: int, server, interval_s: float = 2.0) -> None:
    """Stop the server when the process that started it (QGIS) is gone, even after a crash."""

    def watch() -> None:
        while pid_alive(pid):
            time.sleep(interval_s)
        print(f"parent process {pid} is gone: stopping", flush=True)
        server.should_exit = True

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
