"""Creating, checking and repairing the backend's isolated venv (outside QGIS's own Python).

Steps, each recorded in the venv's state file when done so a re-run after a failure or a cancel
skips it: ``create-venv`` -> ``install-torch`` (the build ``TorchPlan`` chose) -> ``install-requirements``
-> ``verify`` (the venv's Python imports the packages and reports the torch device). Progress goes to a
callback ``progress(step, fraction, line)`` with ``fraction`` the whole set-up's, in [0, 1].
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import GeoRSMLLMError
from .errors import EnvSetupError, SetupCancelled
from .paths import as_path, find_base_python, venv_python
from .probe import MARK
from .process import CancelToken, pip_environ, run_streaming
from .requirements import (
    Requirement,
    default_cuda_build_files,
    default_requirement_files,
    default_source_build_files,
    normalize_name,
    read_requirements,
    requirements_hash,
    split_torch,
    with_cuda_builds,
)
from .sizes import about, packages_download_mb, torch_download_mb
from .state import SetupState
from .torchplan import DEFAULT_TORCH_INDEX, TorchPlan, plan_torch

ProgressCallback = Callable[[str, float, str], None]

STEP_CREATE, STEP_TORCH, STEP_REQS, STEP_VERIFY = "create-venv", "install-torch", "install-requirements", "verify"
STEP_SOURCE = "build-from-source"
_WEIGHTS = {STEP_CREATE: 0.1, STEP_TORCH: 0.4, STEP_REQS: 0.4, STEP_SOURCE: 0.1, STEP_VERIFY: 0.1}
#: Environment for source builds: sam2's setup.py would otherwise try to compile a CUDA extension (optional:
#: it only speeds up mask post-processing) and fail on machines without the CUDA toolkit.
SOURCE_BUILD_ENV = {"SAM2_BUILD_CUDA": "0"}
LOG_FILE = "georsmllm-setup.log"
#: The requirements as installed when CUDA builds replace CPU packages (written into the environment).
RESOLVED_FILE = "georsmllm-requirements.txt"


@dataclass
class SetupOptions:
    """What to build. ``pip_args``: extra pip options for every install (e.g. a mirror's
    ``--index-url``); ``torch_index``: base of the PyTorch wheel indexes (``cpu/``, ``cu124/``...)."""

    env_dir: Path
    requirement_files: Sequence[Path]
    device: str = "auto"
    torch_index: str = DEFAULT_TORCH_INDEX
    cuda_tag: str | None = None
    base_python: str | None = None
    pip_args: Sequence[str] = ()
    backend_root: Path | None = None  # folder holding model_backend/, for the device health check
    # Requirement files built against the environment's own packages (``--no-build-isolation --no-deps``):
    # sam2's sdist would pull a second, CUDA, torch into an isolated build otherwise.
    source_build_files: Sequence[Path] = ()
    # CUDA builds of packages in the requirements (``X-gpu`` for ``X``), installed instead of them when the
    # PyTorch build is a CUDA one: onnxruntime-gpu, so the sam2-onnx segmenter runs on the GPU too.
    cuda_build_files: Sequence[Path] = ()


@dataclass
class PackageStatus:
    """One requirement in the venv: ``status`` ok, missing, wrong-version, import-error or not-needed."""

    name: str
    spec: str
    status: str
    version: str | None = None
    error: str | None = None


@dataclass
class EnvReport:
    """What ``check`` found: the venv's Python, each requirement's status and the torch device."""

    env_dir: Path
    python: str | None
    packages: list[PackageStatus] = field(default_factory=list)
    device: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def broken(self) -> list[PackageStatus]:
        return [p for p in self.packages if p.status in ("missing", "wrong-version", "import-error")]

    @property
    def ok(self) -> bool:
        return self.python is not None and not self.broken

    def lines(self) -> list[str]:
        """Human summary, one finding a line."""
        out = [f"environment {self.env_dir}: python {self.python or 'MISSING'}"]
        if self.python is None:
            return out + self.messages
        for p in self.packages:
            if p.status == "ok":
                continue
            detail = {"missing": "not installed", "wrong-version": f"version {p.version} does not match"}.get(
                p.status, p.error or p.status
            )
            out.append(f"  {p.spec}: {detail}")
        ok = sum(p.status == "ok" for p in self.packages)
        out.append(f"  {ok} of {len(self.packages)} requirements ok")
        out.extend(self.messages)
        return out


class EnvBuilder:
    """Builds, checks and repairs one backend venv. ``cancel`` may be set from another thread."""

    def __init__(
        self,
        options: SetupOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        torch_plan: TorchPlan | None = None,
    ) -> None:
        self.options = options
        self.env_dir = Path(options.env_dir).expanduser().absolute()
        self.progress_cb = progress or (lambda step, fraction, line: None)
        self.cancel = cancel or CancelToken()
        self._listed: list[Requirement] = read_requirements(options.requirement_files)
        self._cuda_builds = read_requirements(options.cuda_build_files) if options.cuda_build_files else []
        self.torch_reqs, self.other_reqs = split_torch(self._listed)
        self._torch_plan = torch_plan
        self._done = 0.0  # fraction of finished steps
        self._log = None

    # -- plan ---------------------------------------------------------------------------------
    @property
    def python(self) -> Path:
        return as_path(venv_python(self.env_dir))

    @property
    def torch_plan(self) -> TorchPlan | None:
        """The PyTorch build (``None`` when the requirements name no torch)."""
        if self._torch_plan is None and self.torch_reqs:
            self._torch_plan = plan_torch(
                self.options.device, index_base=self.options.torch_index, cuda_tag=self.options.cuda_tag
            )
        return self._torch_plan

    @property
    def cuda_swaps(self) -> list[tuple[Requirement, Requirement]]:
        """``(CPU package, its CUDA build)`` pairs installed in its place, when the PyTorch build is CUDA."""
        try:
            plan = self.torch_plan
        except GeoRSMLLMError:  # a forced device this machine cannot have: reported by the torch plan itself
            plan = None
        if plan is None or plan.device != "cuda":
            return []
        return with_cuda_builds(self._listed, self._cuda_builds)[1]

    @property
    def requirements(self) -> list[Requirement]:
        """What the environment holds: the requirement files' pins, CUDA builds in place where they apply."""
        if not self.cuda_swaps:
            return list(self._listed)
        return with_cuda_builds(self._listed, self._cuda_builds)[0]

    def steps(self) -> list[str]:
        return ([STEP_CREATE] + ([STEP_TORCH] if self.torch_reqs else []) + [STEP_REQS]
                + ([STEP_SOURCE] if self.options.source_build_files else []) + [STEP_VERIFY])

    def download_mb(self) -> dict[str, float]:
        """Approximate download per install step, in MB (see ``sizes``)."""
        plan = self.torch_plan
        sizes = {STEP_REQS: packages_download_mb(split_torch(self.requirements)[1])}  # CUDA builds in place
        if plan is not None:
            sizes[STEP_TORCH] = torch_download_mb(plan.device)
        if self.options.source_build_files:
            sizes[STEP_SOURCE] = packages_download_mb(read_requirements(self.options.source_build_files))
        return sizes

    def describe_plan(self) -> list[str]:
        """What ``run`` will do, in sentences, before anything is installed: the PyTorch build, each step
        with its approximate download, and the total still to download."""
        state = SetupState(self.env_dir)
        lines = [f"Backend environment: {self.env_dir} (isolated venv, not QGIS's own Python)."]
        plan = self.torch_plan
        lines.append(plan.sentence() if plan else "The requirements name no PyTorch: no torch build to choose.")
        for cpu, gpu in self.cuda_swaps:
            lines.append(f"CUDA build: {gpu.spec} instead of {cpu.spec} (the two cannot be installed together).")
        sizes = self.download_mb()
        to_download = 0.0
        for step in self.steps():
            done = step != STEP_VERIFY and state.is_done(step, self._step_hash(step)) and self.python.is_file()
            size = f" ({about(sizes[step])} to download)" if step in sizes and not done else ""
            to_download += sizes.get(step, 0.0) if not done else 0.0
            lines.append(f"  {step}: {'done before, skipped' if done else 'to do'}{size}")
        if to_download:
            lines.append(f"Download: {about(to_download)} in all (approximate: wheel sizes measured for Linux "
                         "x86-64; other systems differ). Models are downloaded separately (Models…).")
        return lines

    # -- run ----------------------------------------------------------------------------------
    def run(self) -> EnvReport:
        """Create/complete the environment; returns the final check. Raises ``SetupCancelled`` on a
        cancel and ``EnvSetupError`` on a failure (the state file keeps the finished steps)."""
        steps = self.steps()
        total = sum(_WEIGHTS[s] for s in steps)
        self._weights = {s: _WEIGHTS[s] / total for s in steps}
        self._done = 0.0
        plan = self.torch_plan
        self._emit(STEP_CREATE, 0.0, plan.sentence() if plan else "no PyTorch in the requirements")
        report = None
        try:
            for step in steps:
                self.cancel.raise_if_cancelled()
                digest = self._step_hash(step)
                state = SetupState(self.env_dir)
                if step != STEP_VERIFY and state.is_done(step, digest) and self.python.is_file():
                    self._finish_step(step, "done before, skipped")
                    continue
                try:
                    report = getattr(self, "_step_" + step.replace("-", "_"))()
                except SetupCancelled as exc:
                    SetupState(self.env_dir).mark(step, "cancelled", digest, str(exc))
                    raise
                except (EnvSetupError, OSError) as exc:
                    SetupState(self.env_dir).mark(step, "failed", digest, str(exc))
                    raise EnvSetupError(f"step {step} failed: {exc}") from exc
                SetupState(self.env_dir).mark(step, "done", digest)
                self._finish_step(step, "done")
        finally:
            if self._log:
                self._log.close()
                self._log = None
        assert report is not None
        return report

    def _step_hash(self, step: str) -> str:
        if step == STEP_CREATE:
            return "venv-1"
        if step == STEP_TORCH:
            plan = self.torch_plan
            return requirements_hash(self.torch_reqs) + f":{plan.variant}:{plan.index_url}" if plan else ""
        if step == STEP_REQS:
            return requirements_hash(self.requirements) + ":" + " ".join(self.options.pip_args)
        if step == STEP_SOURCE:
            return requirements_hash(read_requirements(self.options.source_build_files))
        return ""

    def _step_create_venv(self) -> None:
        env = self.env_dir
        if env.exists() and any(env.iterdir()) and not (env / "pyvenv.cfg").is_file():
            raise EnvSetupError(
                f"{env} is not empty and is not a Python environment; choose an empty or new folder"
            )
        base = self.options.base_python or find_base_python()
        if not base:
            raise EnvSetupError(
                "no Python interpreter found to create the environment from; give one with --python"
            )
        if not self.python.is_file():
            self._pip_like(STEP_CREATE, [base, "-m", "venv", str(env)], expected=1, env=pip_environ())
        self._open_log()
        code = self._run(STEP_CREATE, [str(self.python), "-m", "pip", "--version"], expected=1)
        if code != 0:
            raise EnvSetupError(
                f"the new environment has no pip ({base} -m venv made none); on Debian/Ubuntu install "
                "the python3-venv package, then run the set-up again"
            )

    def _step_install_torch(self) -> None:
        plan = self.torch_plan
        assert plan is not None
        args = ["install"]
        if plan.index_url:
            args += ["--index-url", plan.index_url]
        args += [r.spec for r in self.torch_reqs]
        self._pip(STEP_TORCH, args, expected=len(self.torch_reqs))

    def _step_install_requirements(self) -> None:
        swaps = self.cuda_swaps
        # A build of the other kind left by an earlier set-up (device changed) would clash with this one.
        clashing = ([cpu.name for cpu, _ in swaps] if swaps
                    else [r.name for r in self._cuda_builds if any(r.name == f"{x.name}-gpu" for x in self._listed)])
        if clashing:
            self._pip(STEP_REQS, ["uninstall", "-y", *clashing], expected=len(clashing))
        args = ["install", *self.options.pip_args]
        if swaps:
            resolved = self.env_dir / RESOLVED_FILE
            resolved.write_text("".join(r.spec + "\n" for r in self.requirements), encoding="utf-8")
            args += ["-r", str(resolved)]
        else:
            for path in self.options.requirement_files:
                args += ["-r", str(Path(path).absolute())]
        self._pip(STEP_REQS, args, expected=len(self.requirements))

    def _step_build_from_source(self) -> None:
        """Source packages built against what is installed. setuptools comes first where the venv has none
        (Python 3.12+ venvs ship without it)."""
        files = [Path(p).absolute() for p in self.options.source_build_files]
        has_setuptools = self._run(STEP_SOURCE, [str(self.python), "-c", "import setuptools"], expected=0) == 0
        if not has_setuptools:
            self._pip(STEP_SOURCE, ["install", *self.options.pip_args, "setuptools", "wheel"], expected=2)
        args = ["install", *self.options.pip_args, "--no-build-isolation", "--no-deps"]
        for path in files:
            args += ["-r", str(path)]
        self._pip(STEP_SOURCE, args, expected=len(read_requirements(files)), env=SOURCE_BUILD_ENV)

    def _step_verify(self) -> EnvReport:
        self._emit(STEP_VERIFY, 0.1, "checking imports, versions and the torch device in the new environment")
        report = self.check(imports=True)
        for line in report.lines():
            self._emit(STEP_VERIFY, 0.9, line)
        if report.broken:
            raise EnvSetupError(
                f"{len(report.broken)} package(s) are broken after installing: "
                + ", ".join(p.name for p in report.broken)
                + "; run the set-up with --repair"
            )
        return report

    # -- check / repair -----------------------------------------------------------------------
    def check(self, imports: bool = True, device: bool = True) -> EnvReport:
        """Inspect the venv: each requirement installed at its pin and importable, and the torch
        device. Does not change anything."""
        report = EnvReport(self.env_dir, None)
        if not self.python.is_file():
            report.messages.append(f"no Python environment at {self.env_dir}; run the set-up to create it")
            report.packages = [PackageStatus(r.name, r.spec, "missing") for r in self.requirements]
            return report
        probe = Path(__file__).with_name("probe.py")
        request = {"specs": [r.spec for r in self.requirements], "imports": imports, "device": device}
        env = pip_environ()
        root = self.options.backend_root or Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = str(root)  # the backend's own device choice, run by the venv's Python
        try:
            done = subprocess.run(
                [str(self.python), str(probe), json.dumps(request)],
                capture_output=True, text=True, env=env, timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EnvSetupError(f"cannot run the environment's Python {self.python}: {exc}") from exc
        payload = None
        for line in done.stdout.splitlines():
            if line.startswith(MARK):
                payload = json.loads(line[len(MARK):])
        if payload is None:
            raise EnvSetupError(
                f"the environment's Python {self.python} failed to run the check: "
                + (done.stderr.strip().splitlines() or ["no output"])[-1]
            )
        if payload.get("error"):
            raise EnvSetupError("the environment check crashed: " + payload["error"].strip().splitlines()[-1])
        report.python = payload["python"]
        report.packages = [
            PackageStatus(p["name"], p["spec"], p["status"], p.get("version"), p.get("error"))
            for p in payload["packages"]
        ]
        report.device = payload.get("device") or {}
        report.messages.extend(self._device_messages(report.device))
        return report

    def _device_messages(self, info: dict[str, Any]) -> list[str]:
        if not info or not self.torch_reqs:
            return []
        if info.get("torch") is None:
            return [f"PyTorch does not import: {info.get('error', 'not installed')}"]
        device = info.get("device", "cpu")
        text = f"PyTorch {info['torch']} will run on {device}"
        if info.get("gpu"):
            text += f" ({info['gpu']})"
        out = [text + "."]
        try:
            plan = self.torch_plan
        except GeoRSMLLMError:  # a forced device this machine cannot have: the check still reports
            plan = None
        if device == "cpu":
            wanted = plan is not None and plan.device != "cpu"
            out.append(
                "CPU ONLY: "
                + (f"a {plan.device} build was planned but PyTorch cannot use the GPU; check the driver and run --repair"
                   if wanted else "no GPU is used; models will run slowly")
                + "."
            )
        return out

    def repair(self) -> EnvReport:
        """Reinstall only what ``check`` finds broken (a missing venv is created in full); returns
        the check after repairing."""
        if not self.python.is_file():
            return self.run()
        self._weights = {STEP_REQS: 1.0}
        self._done = 0.0
        self._open_log()
        try:
            report = self.check(imports=True)
            broken = report.broken
            if not broken:
                self._emit(STEP_REQS, 1.0, "nothing to repair: every requirement is installed and imports")
                return report
            by_name = {r.name: r for r in self.requirements}
            reqs = [by_name[normalize_name(p.name)] for p in broken if normalize_name(p.name) in by_name]
            torch, other = split_torch(reqs)
            clashing = [cpu.name for cpu, gpu in self.cuda_swaps if gpu.name in {r.name for r in reqs}]
            if clashing:  # the CPU build left in place would shadow the CUDA build about to be installed
                self._pip(STEP_REQS, ["uninstall", "-y", *clashing], expected=len(clashing))
            damaged = {normalize_name(p.name) for p in broken if p.status == "import-error"}
            for group, index in ((torch, self.torch_plan.index_url if torch and self.torch_plan else None), (other, None)):
                if not group:
                    continue
                self.cancel.raise_if_cancelled()
                args = ["install"] + ([] if index else list(self.options.pip_args))
                if index:
                    args += ["--index-url", index]
                if damaged & {r.name for r in group}:
                    args += ["--force-reinstall", "--no-deps"]  # files broken in place: replace them, nothing else
                args += [r.spec for r in group]
                self._emit(STEP_REQS, 0.0, "repairing: " + ", ".join(r.spec for r in group))
                self._pip(STEP_REQS, args, expected=len(group))
            return self.check(imports=True)
        finally:
            if self._log:
                self._log.close()
                self._log = None

    # -- plumbing -----------------------------------------------------------------------------
    def _open_log(self) -> None:
        if self._log is None and self.env_dir.is_dir():
            self._log = open(self.env_dir / LOG_FILE, "a", encoding="utf-8")

    def _emit(self, step: str, step_fraction: float, line: str) -> None:
        weight = getattr(self, "_weights", {}).get(step, 0.0)
        fraction = min(1.0, self._done + weight * max(0.0, min(1.0, step_fraction)))
        if self._log:
            self._log.write(f"[{step}] {line}\n")
            self._log.flush()
        self.progress_cb(step, fraction, line)

    def _finish_step(self, step: str, line: str) -> None:
        self._done += getattr(self, "_weights", {}).get(step, 0.0)
        self._emit(step, 0.0, f"{step}: {line}")

    def _run(self, step: str, argv: list[str], expected: int, env: dict | None = None) -> int:
        seen = {"collected": 0, "fraction": 0.05}

        def on_line(line: str) -> None:
            # pip prints "Collecting X" per package, then one "Installing collected packages"
            if line.startswith(("Collecting ", "Processing ", "Requirement already satisfied")):
                seen["collected"] += 1
                seen["fraction"] = max(seen["fraction"], min(0.8, 0.8 * seen["collected"] / max(1, expected)))
            elif line.startswith("Installing collected packages"):
                seen["fraction"] = 0.9
            self._emit(step, seen["fraction"], line)

        self._emit(step, 0.0, "$ " + " ".join(argv))
        return run_streaming(argv, on_line, self.cancel, env=env if env is not None else pip_environ())

    def _pip_like(self, step: str, argv: list[str], expected: int, env: dict | None = None) -> None:
        code = self._run(step, argv, expected, env)
        if code != 0:
            raise EnvSetupError(f"{argv[0]} exited with status {code}")

    def _pip(self, step: str, args: list[str], expected: int, env: dict[str, str] | None = None) -> None:
        lines: list[str] = []
        original = self.progress_cb

        def capture(s: str, f: float, line: str) -> None:
            lines.append(line)
            original(s, f, line)

        self.progress_cb = capture
        try:
            code = self._run(step, [str(self.python), "-m", "pip", *args], expected,
                             {**pip_environ(), **env} if env else None)
        finally:
            self.progress_cb = original
        if code != 0:
            errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:] or ["no output"]
            raise EnvSetupError(f"pip exited with status {code}: {errors[-1].strip()}")


def default_options(env_dir: str | os.PathLike, **kwargs: Any) -> SetupOptions:
    """``SetupOptions`` with the backend's own requirement files unless given."""
    kwargs.setdefault("requirement_files", default_requirement_files())
    kwargs.setdefault("source_build_files", default_source_build_files())
    kwargs.setdefault("cuda_build_files", default_cuda_build_files())
    return SetupOptions(env_dir=Path(env_dir), **kwargs)
