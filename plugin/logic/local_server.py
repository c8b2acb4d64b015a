"""Start, watch and stop a local backend process (``python -m model_backend serve``). No Qt, no widgets.

The process binds a free loopback port (``--port 0``) and writes it to a port file once it listens; its
token is random and handed over through the environment (not the command line, which other local users
can read). Its stdout and stderr go to a log file that error messages quote.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Sequence

from .client import BackendClient, BackendError, Connection

#: Environment variables that must not leak from QGIS's own Python into the backend's interpreter
#: (OSGeo4W and the macOS bundle set them; they break any other Python).
_ENV_DROP = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE")


class BackendStartError(BackendError):
    """The local backend did not come up; the message includes the end of its log."""


@dataclass(frozen=True)
class LaunchSpec:
    """What to run: ``interpreter -m model_backend serve <serve_args>`` in ``cwd`` (the plugin folder, so
    ``model_backend`` is importable), allowing ``allow_dirs`` and the URL prefixes ``allow_urls`` (the hosts
    of rasters added by URL). ``serve_args`` carry the model options."""

    interpreter: str
    cwd: str
    serve_args: tuple[str, ...] = ()
    allow_dirs: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    log_dir: str = field(default_factory=lambda: os.path.join(tempfile.gettempdir(), "georsmllm"))
    allow_urls: tuple[str, ...] = ()

    def covers(self, folder: str) -> bool:
        """True when ``folder`` lies in one of the allowed folders (both resolved)."""
        target = Path(folder).expanduser().resolve()
        for root in self.allow_dirs:
            root_path = Path(root).expanduser().resolve()
            if target == root_path or root_path in target.parents:
                return True
        return False

    def with_dirs(self, folders: Sequence[str]) -> LaunchSpec:
        """A copy that also allows ``folders`` (those already covered are not repeated)."""
        extra = tuple(str(Path(f).expanduser().resolve()) for f in folders if f and not self.covers(f))
        return replace(self, allow_dirs=self.allow_dirs + tuple(dict.fromkeys(extra)))

    def covers_url(self, prefix: str) -> bool:
        """True when the URL prefix ``prefix`` (``scheme://host[:port]/``) is allowed."""
        return prefix in self.allow_urls

    def with_urls(self, prefixes: Sequence[str]) -> LaunchSpec:
        """A copy that also allows the URL prefixes ``prefixes``."""
        extra = tuple(p for p in dict.fromkeys(prefixes) if p and not self.covers_url(p))
        return replace(self, allow_urls=self.allow_urls + extra)


def tail(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_NO_MODULE = re.compile(r"No module named '([^'.]+)")


def log_reason(text: str) -> str:
    """The reason a log's last lines give, in one line: a missing package said in words, else the last
    line that is not part of a traceback's frames."""
    missing = _NO_MODULE.findall(text)
    if missing:
        return (f"its Python lacks the package {missing[-1]} (Raster > GeoRSMLLM > Set up backend… installs "
                "what the backend needs)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith(("File ", "Traceback", "^", "~"))]
    return (meaningful or lines or ["no output"])[-1][:300]


class LocalServer:
    """One backend child process. ``start`` returns once it answers ``/v1/health`` (or raises
    ``BackendStartError`` with its log); ``stop`` ends it (terminate, then kill). Thread-safe."""

    def __init__(self, spec: LaunchSpec):
        self.spec = spec
        self.token = secrets.token_urlsafe(24)
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # guards _process/_connection swaps (short)
        self._start_lock = threading.Lock()  # one start at a time (long: waits for the model to load)
        self._connection: Connection | None = None
        Path(spec.log_dir).mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_path = str(Path(spec.log_dir) / f"backend-{stamp}-{os.getpid()}-{id(self):x}.log")
        self._port_file = str(Path(spec.log_dir) / f"port-{os.getpid()}-{id(self):x}")

    # -- state ---------------------------------------------------------------------------------
    @property
    def connection(self) -> Connection | None:
        """Where the running server listens, or ``None`` before ``start`` succeeded."""
        return self._connection

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def running(self) -> bool:
        process = self._process
        return process is not None and process.poll() is None

    @property
    def phase(self) -> str:
        """Where the process is in its life: ``starting`` (launched, not answering yet), ``listening``
        (answers ``/v1/health``; the model may still be loading), ``exited`` (ended by itself; see
        ``exit_message``) or ``stopped`` (never started, or stopped on purpose)."""
        process = self._process
        if process is None:
            return "stopped"
        if process.poll() is not None:
            return "exited"
        return "listening" if self._connection is not None else "starting"

    def exit_reason(self) -> str | None:
        """``None`` while running (or never started); else why it ended, in one line: the exit status and
        what its log says last (a missing package in words)."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        return f"the local backend exited with status {process.returncode}: {log_reason(tail(self.log_path))}"

    def exit_message(self) -> str | None:
        """``exit_reason`` and where the whole log is."""
        reason = self.exit_reason()
        return None if reason is None else f"{reason} (log: {self.log_path})"

    def command(self) -> list[str]:
        """The argument list of the child process."""
        # --parent-pid: the server stops by itself if QGIS crashes instead of unloading the plugin.
        args = [self.spec.interpreter, "-m", "model_backend", "serve", "--host", "127.0.0.1", "--port", "0",
                "--port-file", self._port_file, "--parent-pid", str(os.getpid())]
        for folder in self.spec.allow_dirs:
            args += ["--allow-dir", folder]
        for prefix in self.spec.allow_urls:
            args += ["--allow-url", prefix]
        return args + list(self.spec.serve_args)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout_s: float = 300.0) -> Connection:
        """Launch the process and wait until it is healthy. Blocks up to ``timeout_s`` (model loading
        happens before the server listens): call from a worker thread."""
        with self._start_lock:
            if self.running() and self._connection is not None:
                return self._connection
            return self._wait_ready(self._launch(), timeout_s)

    def _launch(self) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
        env.update(dict(self.spec.env))
        env["GEORSMLLM_TOKEN"] = self.token
        env["PYTHONUNBUFFERED"] = "1"
        if os.path.exists(self._port_file):
            os.remove(self._port_file)
        log = open(self.log_path, "ab")
        try:
            process = subprocess.Popen(
                self.command(), cwd=self.spec.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=sys.platform != "win32",
            )
        except OSError as exc:
            raise BackendStartError(
                f"cannot run the backend interpreter {self.spec.interpreter!r}: {exc.strerror or exc}; "
                "set the Python interpreter in Settings > Options > GeoRSMLLM"
            ) from None
        finally:
            log.close()
        with self._lock:
            self._process, self._connection = process, None
        return process

    def _wait_ready(self, process: subprocess.Popen, timeout_s: float) -> Connection:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not process:
                raise BackendStartError("the local backend was stopped while it was starting")
            message = self.exit_message()
            if message is not None:
                raise BackendStartError(message)
            port = self._read_port()
            if port is not None:
                connection = Connection(f"http://127.0.0.1:{port}", self.token)
                try:
                    BackendClient(connection).health(timeout=5.0)
                except BackendError:
                    pass
                else:
                    with self._lock:
                        if self._process is process:
                            self._connection = connection
                            return connection
                    raise BackendStartError("the local backend was stopped while it was starting")
            time.sleep(0.1)
        self.stop()
        raise BackendStartError(
            f"the local backend did not answer within {timeout_s:.0f} s (loading a large model can take longer: "
            f"raise the start-up timeout in the settings); its log says: {log_reason(tail(self.log_path))} "
            f"(log: {self.log_path})"
        )

    def _read_port(self) -> int | None:
        try:
            with open(self._port_file, encoding="ascii") as fh:
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the process: terminate, wait up to ``timeout_s``, then kill. Safe to call twice."""
        with self._lock:
            process, self._process, self._connection = self._process, None, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        if os.path.exists(self._port_file):
            os.remove(self._port_file)
