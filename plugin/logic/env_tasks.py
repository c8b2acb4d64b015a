"""Background tasks (``QgsTask``) of the backend set-up and the model manager. No widgets: pip, HTTP
downloads, subprocesses and file scans run in ``run()`` (a worker thread); lines and fractions are
emitted as signals (queued to the GUI thread) and each task ends with a typed outcome emitted from
``finished()``. Only the standard-library parts of ``model_backend`` are imported here: nothing that
pulls in torch or numpy at QGIS start-up."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ...model_backend.envsetup import (
    CancelToken,
    EnvBuilder,
    EnvReport,
    SetupCancelled,
    SetupOptions,
    default_requirement_files,
    read_requirements,
)
from ...model_backend.envsetup import probe as probe_module
from ...model_backend.envsetup.process import run_streaming
from ...model_backend.errors import GeoRSMLLMError
from ...model_backend.models import CATALOGUE, DownloadCancelled, cached_snapshot, download_model
from ..toolbelt.i18n import tr
from .local_server import _ENV_DROP

PLUGIN_DIR = Path(__file__).resolve().parents[2]
OK, FAILED, CANCELLED = "ok", "failed", "cancelled"


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended: ``status`` ok, failed or cancelled; ``error`` the user-facing reason; ``value``
    what it produced (an ``EnvReport``, plan lines, a ``DownloadResult``, a message...)."""

    status: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


def backend_environ() -> dict[str, str]:
    """The environment for running the backend's own Python: QGIS's Python variables removed."""
    return {k: v for k, v in os.environ.items() if k not in _ENV_DROP}


class _ProgressTask(QgsTask):
    """Shared plumbing: a cancel token, ``line(step, fraction, text)`` and ``done(TaskOutcome)``."""

    line = pyqtSignal(str, float, str)
    done = pyqtSignal(object)

    def __init__(self, title: str):
        super().__init__(title, QgsTask.CanCancel)
        self.token = CancelToken()
        self.outcome: TaskOutcome | None = None  # set by run(); None when cancelled before it started

    def cancel(self) -> None:
        # The token stops pip / the download within one poll or chunk; the worker then ends the task.
        self.token.cancel()
        super().cancel()

    def _progress(self, step: str, fraction: float, text: str) -> None:
        self.setProgress(100.0 * fraction)
        self.line.emit(step, fraction, text)

    def finished(self, result: bool) -> None:
        if self.outcome is None:
            self.outcome = TaskOutcome(CANCELLED if self.token.cancelled else FAILED, error=tr("not run"))
        self.done.emit(self.outcome)


class EnvTask(_ProgressTask):
    """``EnvBuilder`` in the background. ``mode``: ``plan`` (``describe_plan`` lines: runs nvidia-smi),
    ``run`` (create or resume; value: ``EnvReport``), ``check`` or ``repair`` (value: ``EnvReport``)."""

    MODES = ("plan", "run", "check", "repair")

    def __init__(self, options: SetupOptions, mode: str):
        if mode not in self.MODES:
            raise ValueError(f"unknown mode {mode!r}")
        titles = {"plan": tr("GeoRSMLLM: planning the backend set-up"), "run": tr("GeoRSMLLM: setting up the backend"),
                  "check": tr("GeoRSMLLM: checking the backend"), "repair": tr("GeoRSMLLM: repairing the backend")}
        super().__init__(titles[mode])
        self.options = options
        self.mode = mode
        self.torch_expected = False  # whether the requirements name PyTorch (known once run() read them)

    def run(self) -> bool:
        try:
            builder = EnvBuilder(self.options, progress=self._progress, cancel=self.token)
            self.torch_expected = bool(builder.torch_reqs)
            if self.mode == "plan":
                value: Any = builder.describe_plan()
            elif self.mode == "run":
                value = builder.run()
            elif self.mode == "check":
                value = builder.check()
                for text in value.lines():
                    self._progress("check", 1.0, text)
            else:
                value = builder.repair()
                for text in value.lines():
                    self._progress("check", 1.0, text)
            self.outcome = TaskOutcome(OK, value)
        except SetupCancelled as exc:
            self.outcome = TaskOutcome(CANCELLED, error=str(exc))
        except GeoRSMLLMError as exc:  # EnvSetupError, ConfigError (a forced device this machine lacks)
            self.outcome = TaskOutcome(FAILED, error=str(exc))
        except OSError as exc:
            self.outcome = TaskOutcome(FAILED, error=tr("cannot write the environment: {error}").format(error=exc))
        return self.outcome.ok


def device_summary(report: EnvReport, torch_expected: bool) -> str:
    """One sentence on the device the finished environment's PyTorch uses (CPU fallback said plainly)."""
    info = report.device or {}
    if not torch_expected:
        return tr("No PyTorch in this environment's requirements: no device to verify.")
    if info.get("torch") is None:
        return tr("PyTorch does not import in the environment: {error}").format(error=info.get("error", ""))
    device = str(info.get("device", "cpu"))
    if device == "cpu":
        return tr("PyTorch {version} runs on the CPU ONLY: no GPU is used and models will run slowly.").format(
            version=info["torch"])
    gpu = f" ({info['gpu']})" if info.get("gpu") else ""
    return tr("PyTorch {version} runs on {device}{gpu}.").format(version=info["torch"], device=device, gpu=gpu)


_MISSING_MODULE = re.compile(r"No module named '([^'.]+)")


def missing_packages(interpreter: str, timeout_s: float = 60.0, root: Path = PLUGIN_DIR) -> tuple[list[str], int]:
    """Which of the backend's requirements (``requirements/base.txt`` and ``ml.txt``) ``interpreter`` lacks
    or has at another version: ``(names, how many requirements)``. Runs the set-up's probe script with
    that Python (no imports, no torch); ``([], 0)`` when it cannot tell."""
    try:
        specs = [r.spec for r in read_requirements(default_requirement_files(root))]
        done = subprocess.run([interpreter, str(Path(probe_module.__file__)),
                               json.dumps({"specs": specs, "imports": False, "device": False})],
                              env=backend_environ(), capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError, GeoRSMLLMError):
        return [], 0
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(probe_module.MARK):
            packages = json.loads(line[len(probe_module.MARK):]).get("packages") or []
            return [p["name"] for p in packages if p.get("status") in ("missing", "wrong-version")], len(packages)
    return [], 0


def explain_probe_failure(interpreter: str, error_line: str, missing: list[str], total: int) -> str:
    """Why ``interpreter`` cannot run the backend, in words (no traceback)."""
    if missing:
        shown = ", ".join(missing[:6]) + (", …" if len(missing) > 6 else "")
        if len(missing) == total:
            return tr("the Python at {path} has none of the {total} packages the backend needs ({names})").format(
                path=interpreter, total=total, names=shown)
        return tr("the Python at {path} lacks {count} of the {total} packages the backend needs ({names})").format(
            path=interpreter, count=len(missing), total=total, names=shown)
    module = _MISSING_MODULE.search(error_line)
    if module:
        return tr("the Python at {path} lacks the package {name}, and probably others the backend needs").format(
            path=interpreter, name=module.group(1))
    return tr("the Python at {path} cannot run the backend: {error}").format(path=interpreter,
                                                                            error=error_line or tr("no output"))


class BackendProbeTask(QgsTask):
    """Can ``interpreter`` run ``-m model_backend``? (``--help`` imports the backend's core packages, no
    model). ``done`` carries ``(ok, message)``: when it cannot, the message says why in words (which
    packages are missing), for the first-run prompt."""

    done = pyqtSignal(bool, str)

    def __init__(self, interpreter: str, cwd: Path = PLUGIN_DIR, timeout_s: float = 60.0):
        super().__init__(tr("GeoRSMLLM: looking for the backend"), QgsTask.CanCancel)
        self.interpreter = interpreter
        self.cwd = cwd
        self.timeout_s = timeout_s
        self.result: tuple[bool, str] = (False, tr("not checked"))

    def run(self) -> bool:
        exe = self.interpreter if os.path.isfile(self.interpreter) else shutil.which(self.interpreter or "")
        if not exe:
            self.result = (False, tr("the Python interpreter {path} does not exist").format(path=self.interpreter))
            return True
        try:
            done = subprocess.run([exe, "-m", "model_backend", "--help"], cwd=str(self.cwd), env=backend_environ(),
                                  capture_output=True, text=True, timeout=self.timeout_s)
        except (OSError, subprocess.SubprocessError) as exc:
            self.result = (False, tr("the Python at {path} cannot run the backend: {error}").format(
                path=exe, error=exc))
            return True
        if done.returncode == 0:
            self.result = (True, "")
            return True
        last = (done.stderr.strip().splitlines() or [""])[-1]
        missing, total = missing_packages(exe, self.timeout_s, self.cwd) if "ModuleNotFoundError" in last \
            or "ImportError" in last else ([], 0)
        self.result = (False, explain_probe_failure(exe, last, missing, total))
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(*self.result)


class CacheScanTask(QgsTask):
    """Which catalogue entries have a finished download in ``cache_dir``; ``done`` carries
    ``{catalogue id: what the settings point at}``: the snapshot folder, or for a segmenter its
    checkpoint file (``*.pt``) in that folder."""

    done = pyqtSignal(object)

    def __init__(self, cache_dir: Path):
        super().__init__(tr("GeoRSMLLM: looking for downloaded models"), QgsTask.CanCancel)
        self.cache_dir = cache_dir
        self.found: dict[str, Path] = {}

    def run(self) -> bool:
        for entry in CATALOGUE:
            if entry.downloadable:
                snapshot = cached_snapshot(self.cache_dir, entry.repo_id)
                if snapshot is None:
                    continue
                if entry.kind == "segmenter":
                    checkpoint = next(iter(sorted(snapshot.glob("*.pt"))), None)
                    if checkpoint is None:
                        continue  # a SAM2 download without its checkpoint is not usable
                    self.found[entry.id] = checkpoint
                else:
                    self.found[entry.id] = snapshot
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(dict(self.found))


class ModelDownloadTask(_ProgressTask):
    """``download_model`` in the background (resumes partial files); value: ``DownloadResult``."""

    def __init__(self, model_id: str, cache_dir: Path, endpoint: str | None = None):
        super().__init__(tr("GeoRSMLLM: downloading {model}").format(model=model_id))
        self.model_id = model_id
        self.cache_dir = cache_dir
        self.endpoint = endpoint

    def run(self) -> bool:
        try:
            value = download_model(self.model_id, cache_dir=self.cache_dir, endpoint=self.endpoint,
                                   progress=self._progress, cancel=self.token)
            self.outcome = TaskOutcome(OK, value)
        except DownloadCancelled as exc:
            self.outcome = TaskOutcome(CANCELLED, error=str(exc))
        except GeoRSMLLMError as exc:  # offline, gated, disk full... one message saying what to do
            self.outcome = TaskOutcome(FAILED, error=str(exc))
        except OSError as exc:
            self.outcome = TaskOutcome(FAILED, error=tr("cannot write the model cache: {error}").format(error=exc))
        return self.outcome.ok


@dataclass(frozen=True)
class CheckCommand:
    """``interpreter -m model_backend models check ID --cache-dir DIR`` run from the plugin folder."""

    interpreter: str
    model_id: str
    cache_dir: Path
    device: str = "cpu"
    extra_env: dict[str, str] = field(default_factory=dict)

    def argv(self) -> list[str]:
        return [self.interpreter, "-m", "model_backend", "models", "check", self.model_id,
                "--cache-dir", str(self.cache_dir), "--device", self.device]


class ModelCheckTask(_ProgressTask):
    """Load a model once in the BACKEND's interpreter (a subprocess: torch never enters QGIS's Python).
    Value: the check's last line; ``error`` its failure line."""

    def __init__(self, command: CheckCommand, cwd: Path = PLUGIN_DIR):
        super().__init__(tr("GeoRSMLLM: checking {model}").format(model=command.model_id))
        self.command = command
        self.cwd = cwd

    def run(self) -> bool:
        lines: list[str] = []

        def on_line(text: str) -> None:
            lines.append(text)
            self._progress("check", 0.5, text)

        try:
            code = run_streaming(self.command.argv(), on_line, self.token, env={**backend_environ(),
                                 **self.command.extra_env}, cwd=str(self.cwd))
        except SetupCancelled:
            self.outcome = TaskOutcome(CANCELLED, error=tr("check cancelled"))
            return False
        except GeoRSMLLMError as exc:  # the interpreter cannot be started
            self.outcome = TaskOutcome(FAILED, error=str(exc))
            return False
        last = next((t for t in reversed(lines) if t.strip()), tr("no output"))
        self.outcome = TaskOutcome(OK, last) if code == 0 else TaskOutcome(FAILED, error=last)
        return self.outcome.ok
