"""Start the backend server: load the model once, bind (loopback by default), serve with uvicorn."""

from __future__ import annotations

import os
import stat
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..liveness import pid_alive
from ..pipeline.config import RunConfig
from ..pipeline.factory import build_engine
from ..segmenters.encodings import DEFAULT_MAX_ENTRIES, DEFAULT_MAX_MB, EncodingCache
from .app import ServerSettings, create_app
from .backend import PipelineBackend
from ..errors import ConfigError
from .security import check_bind, check_token_text, new_token
from .sources import UrlPrefixes


def serve(args, overrides: dict[str, Any]) -> int:
    import uvicorn

    config = RunConfig.load(overrides, config_file=getattr(args, "config", None))
    env = os.environ
    token, generated = resolve_token(args.token, env.get("GEORSMLLM_TOKEN"), no_token=args.no_token)
    kept = read_token_file(args.token_file) if generated and args.token_file else None
    if kept:  # the token of an earlier start: remote clients keep working across restarts
        token, generated = kept, False
    try:
        UrlPrefixes(args.allow_urls or ())
    except ValueError as exc:
        raise ConfigError(f"--allow-url {exc}") from None
    settings = ServerSettings(
        host=args.host or env.get("GEORSMLLM_HOST", "127.0.0.1"),
        port=args.port if args.port is not None else int(env.get("GEORSMLLM_PORT", "8765")),
        token=token,
        allowed_dirs=args.allow_dirs or [str(Path.home()), tempfile.gettempdir()],
        allowed_urls=args.allow_urls or [],
        allowed_hosts=args.allow_hosts or [],
        work_dir=args.work_dir or "",
    )
    for name in ("max_upload_mb", "max_body_mb", "max_work_mb"):
        value = getattr(args, name)
        if value is not None:
            if value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {value}")
            setattr(settings, name, value)
    for name in ("sam2_cache_entries", "sam2_cache_mb"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")
    if args.max_upload_mpx is not None:
        if args.max_upload_mpx <= 0:
            raise ConfigError(f"--max-upload-mpx must be positive, got {args.max_upload_mpx}")
        settings.max_upload_pixels = int(args.max_upload_mpx * 1e6)
    check_bind(settings.host, settings.token)

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    settings.port = sock.getsockname()[1]  # the Host check needs the real port (--port 0 picks one)
    if kept:
        print(f"token read from {Path(args.token_file).expanduser()}", flush=True)
    elif settings.token and (generated or args.token_file):
        _hand_over_token(settings.token, args.token_file)

    engine = build_engine(config)
    # The model loads in the background once the server listens: clients see "model_loaded": false (and
    # any load_error) in /v1/health instead of a silent port; jobs wait for the load.
    cache = EncodingCache(
        max_entries=args.sam2_cache_entries if args.sam2_cache_entries is not None else DEFAULT_MAX_ENTRIES,
        max_mb=args.sam2_cache_mb if args.sam2_cache_mb is not None else DEFAULT_MAX_MB)
    backend = PipelineBackend(config, engine, lazy=True, encoding_cache=cache)
    app = create_app(backend, settings)

    @app.on_event("startup")
    async def _announce() -> None:
        print(f"GeoRSMLLM backend listening on http://{settings.host}:{settings.port} "
              f"(model {config.model if config.engine != 'scripted' else config.script}, engine {config.engine})",
              flush=True)
        if not settings.token:
            print("warning: --no-token: any program on this machine can use the server", flush=True)
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as fh:
                fh.write(str(settings.port))
            os.replace(tmp, args.port_file)
        if not args.lazy:
            backend.load_in_background()

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    if args.parent_pid:
        _watch_parent(args.parent_pid, server)
    server.run(sockets=[sock])
    engine.close()
    return 0


def resolve_token(given: str | None, from_env: str | None, *, no_token: bool) -> tuple[str | None, bool]:
    """The token to require and whether it was generated here. ``--token`` beats ``GEORSMLLM_TOKEN`` (an empty
    variable counts as unset); with neither, a random token is generated unless ``--no-token`` is given."""
    if no_token and given is not None:
        raise ConfigError("--token and --no-token exclude each other")
    if given is not None:
        check_token_text(given)
        return given, False
    if from_env:
        check_token_text(from_env)
        return (None, False) if no_token else (from_env, False)
    if no_token:
        return None, False
    return new_token(), True


def read_token_file(token_file: str) -> str | None:
    """The token an earlier start wrote to ``token_file`` (its first line), or ``None`` when the file is
    missing or empty (a new token is then written there). ``ConfigError`` when others may read the file or
    its token is unusable: it is never overwritten, so a token the user put there is not lost."""
    path = Path(token_file).expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return None
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(f"the token file {path} may be read by other users (mode {stat.S_IMODE(mode):o}): "
                          f"run 'chmod 600 {path}', or remove it to get a new token")
    token = lines[0].strip()
    check_token_text(token)
    return token


def _hand_over_token(token: str, token_file: str | None) -> None:
    """Print the token, or write it to ``token_file`` with owner-only permissions (0600) and say where."""
    if not token_file:
        print(f"token: {token}  (clients send it as the header 'Authorization: Bearer <token>'; "
              "--token-file FILE writes it to a file instead)", flush=True)
        return
    path = Path(token_file).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            if hasattr(os, "fchmod"):  # an existing file keeps its old mode through O_CREAT: set it
                os.fchmod(fh.fileno(), 0o600)
            fh.write(token + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the token file {path}: {exc.strerror or exc}") from None
    print(f"token written to {path} (readable by you only)", flush=True)


def _watch_parent(pid: int, server, interval_s: float = 2.0) -> None:
    """Stop the server when the process that started it (QGIS) is gone, even after a crash."""

    def watch() -> None:
        while pid_alive(pid):
            time.sleep(interval_s)
        print(f"parent process {pid} is gone: stopping", flush=True)
        server.should_exit = True

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
