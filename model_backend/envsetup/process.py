"""Running pip and friends: output streamed line by line, cancellable by killing the process tree."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from typing import Callable, Mapping, Sequence

from ..cancel import CancelToken as _BaseCancelToken
from .errors import EnvSetupError, SetupCancelled


class CancelToken(_BaseCancelToken):
    """Set from any thread (e.g. a Cancel button); checked between steps and while a command runs.
    Raises ``SetupCancelled``."""

    def __init__(self) -> None:
        super().__init__(lambda: SetupCancelled("set-up cancelled; run it again to resume where it stopped"))


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and what it started (pip runs build back-ends in child processes)."""
    if proc.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    proc.wait()


def run_streaming(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    poll_s: float = 0.1,
) -> int:
    """Run ``argv``, passing each output line (stdout and stderr merged) to ``on_line``; returns the
    exit status. A cancel kills the process tree and raises ``SetupCancelled``."""
    kwargs: dict = {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True  # its own process group, killed as a whole on cancel
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            **kwargs,
        )
    except OSError as exc:
        raise EnvSetupError(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\r\n"))
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        finished = False
        while not finished:
            if cancel is not None and cancel.cancelled:
                _kill_tree(proc)
                cancel.raise_if_cancelled()
            try:
                line = lines.get(timeout=poll_s)
            except queue.Empty:
                continue
            if line is None:
                finished = True
            else:
                on_line(line)
        # output closed: the process is ending; keep honouring a cancel while it does
        while proc.poll() is None:
            if cancel is not None and cancel.cancelled:
                _kill_tree(proc)
                cancel.raise_if_cancelled()
            time.sleep(poll_s)
    except BaseException:
        _kill_tree(proc)
        raise
    finally:
        reader.join(timeout=1.0)
    return proc.returncode


def pip_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the venv's pip: no user site, no QGIS Python paths leaking in."""
    env = dict(os.environ if base is None else base)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(key, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    return env


__all__ = ["CancelToken", "pip_environ", "run_streaming"]
