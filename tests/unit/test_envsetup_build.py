"""The backend environment builder against a REAL venv in a temporary folder. The packages are tiny
real wheels the test writes itself, installed with ``--no-index --find-links``: pip runs for real but
never touches the network."""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from model_backend.envsetup import (
    CancelToken,
    EnvBuilder,
    EnvSetupError,
    SetupCancelled,
    SetupOptions,
    TorchPlan,
)
from model_backend.envsetup.cli import add_setup_env_parser, cmd_setup_env
from model_backend.envsetup.process import run_streaming
from model_backend.envsetup.state import STATE_FILE, SetupState

pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self, cancel_on: str | None = None, token: CancelToken | None = None):
        self.events: list[tuple[str, float, str]] = []
        self.cancel_on, self.token = cancel_on, token

    def __call__(self, step, fraction, line):
        self.events.append((step, fraction, line))
        if self.cancel_on and self.token and line.startswith(self.cancel_on):
            self.token.cancel()

    def lines(self, step=None):
        return [line for s, _, line in self.events if step is None or s == step]


def _write_wheel(folder: Path, name: str, version: str, code: str = "") -> Path:
    """A minimal valid pure-Python wheel: one module with ``__version__`` (and ``code``)."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n{code}",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: georsmllm-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": module + "\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    for name, version in (("gsm-alpha", "1.0"), ("gsm-alpha", "2.0"), ("gsm-beta", "1.0"), ("gsm-gamma", "1.0")):
        _write_wheel(folder, name, version)
    return folder


def _opts(env: Path, reqs: list[Path], wheels: Path, **kwargs) -> SetupOptions:
    return SetupOptions(env, reqs, pip_args=["--no-index", "--find-links", str(wheels)], **kwargs)


def _reqs(folder: Path, text: str = "gsm-alpha==1.0\ngsm-beta\n") -> Path:
    path = folder / "requirements.txt"
    path.write_text("# test set\n" + text)
    return path


def _venv_python(env: Path) -> str:
    return str(env / "bin" / "python")


@pytest.fixture(scope="module")
def built_env(tmp_path_factory, wheels):
    folder = tmp_path_factory.mktemp("envbuild")
    env = folder / "env"
    rec = Recorder()
    builder = EnvBuilder(_opts(env, [_reqs(folder)], wheels), progress=rec)
    report = builder.run()
    return folder, env, rec, report, wheels


def test_run_creates_isolated_venv_with_pinned_requirements(built_env):
    folder, env, rec, report, wheels = built_env
    assert report.ok, report.lines()
    assert {p.name: p.status for p in report.packages} == {"gsm-alpha": "ok", "gsm-beta": "ok"}
    assert {p.name: p.version for p in report.packages}["gsm-alpha"] == "1.0"
    assert "include-system-site-packages = false" in (env / "pyvenv.cfg").read_text()
    # the system Python has numpy; the isolated venv must not see it
    probe = subprocess.run([_venv_python(env), "-c", "import numpy"], capture_output=True)
    assert probe.returncode != 0
    state = SetupState(env)
    assert {k: v["status"] for k, v in state.steps.items()} == {
        "create-venv": "done", "install-requirements": "done", "verify": "done"
    }
    assert (env / "georsmllm-setup.log").read_text().count("Successfully installed") == 1


def test_progress_is_monotonic_named_by_step_and_reaches_one(built_env):
    _, _, rec, _, _ = built_env
    fractions = [f for _, f, _ in rec.events]
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)
    assert [s for s, _, _ in rec.events][0] == "create-venv"
    assert {s for s, _, _ in rec.events} == {"create-venv", "install-requirements", "verify"}
    assert any("gsm_alpha-1.0" in line for line in rec.lines("install-requirements"))
    assert "no PyTorch in the requirements" in rec.lines()[0]


def test_rerun_skips_done_steps_without_running_pip(built_env):
    folder, env, _, _, wheels = built_env
    rec = Recorder()
    start = time.monotonic()
    report = EnvBuilder(_opts(env, [_reqs(folder)], wheels), progress=rec).run()
    assert report.ok
    assert "create-venv: done before, skipped" in rec.lines()
    assert "install-requirements: done before, skipped" in rec.lines()
    assert not any(line.startswith("$") for line in rec.lines())
    assert time.monotonic() - start < 10


def test_changed_requirements_rerun_the_install_step(built_env, tmp_path):
    folder, env, _, _, wheels = built_env
    changed = tmp_path / "more.txt"
    changed.write_text(f"-r {_reqs(folder)}\ngsm-gamma\n")
    rec = Recorder()
    EnvBuilder(_opts(env, [changed], wheels), progress=rec).run()
    assert "create-venv: done before, skipped" in rec.lines()
    assert any(line.startswith("$") and "pip install" in line for line in rec.lines("install-requirements"))


def test_check_then_repair_reinstalls_only_the_broken_package(built_env):
    folder, env, _, _, wheels = built_env
    options = _opts(env, [_reqs(folder)], wheels)
    subprocess.run([_venv_python(env), "-m", "pip", "uninstall", "-y", "gsm-beta"], check=True, capture_output=True)
    subprocess.run([_venv_python(env), "-m", "pip", "install", "--no-index", "--find-links", str(wheels),
                    "gsm-alpha==2.0"], check=True, capture_output=True)
    report = EnvBuilder(options).check()
    assert not report.ok
    assert {p.name: p.status for p in report.packages} == {"gsm-alpha": "wrong-version", "gsm-beta": "missing"}
    assert any("gsm-beta: not installed" in line for line in report.lines())
    assert any("gsm-alpha==1.0: version 2.0 does not match" in line for line in report.lines())

    rec = Recorder()
    repaired = EnvBuilder(options, progress=rec).repair()
    assert repaired.ok, repaired.lines()
    pip_runs = [line for line in rec.lines() if line.startswith("$")]
    assert len(pip_runs) == 1 and pip_runs[0].endswith("pip install --no-index --find-links "
                                                       f"{wheels} gsm-alpha==1.0 gsm-beta")
    assert {p.name: p.version for p in repaired.packages} == {"gsm-alpha": "1.0", "gsm-beta": "1.0"}


def test_check_reports_a_package_that_fails_to_import_and_repair_replaces_it(built_env):
    folder, env, _, _, wheels = built_env
    options = _opts(env, [_reqs(folder)], wheels)
    site = subprocess.run(
        [_venv_python(env), "-c", "import gsm_beta; print(gsm_beta.__file__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(site).write_text("raise ImportError('DLL load failed while importing gsm_beta')\n")
    report = EnvBuilder(options).check()
    broken = {p.name: p for p in report.broken}
    assert list(broken) == ["gsm-beta"] and broken["gsm-beta"].status == "import-error"
    assert "DLL load failed" in broken["gsm-beta"].error
    rec = Recorder()
    assert EnvBuilder(options, progress=rec).repair().ok
    assert any("--force-reinstall" in line for line in rec.lines() if line.startswith("$"))


def test_check_reports_versions_that_miss_the_pin(built_env, tmp_path):
    folder, env, _, _, wheels = built_env
    report = EnvBuilder(_opts(env, [_reqs(tmp_path, "gsm-alpha>=99\ngsm-beta\n")], wheels)).check()
    assert {p.name: p.status for p in report.packages} == {"gsm-alpha": "wrong-version", "gsm-beta": "ok"}


def test_cli_check_and_plan(built_env, capsys):
    folder, env, _, _, wheels = built_env
    parser = argparse.ArgumentParser()
    add_setup_env_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["setup-env", str(env), "--requirements", str(_reqs(folder)), "--check",
                              "--pip-arg=--no-index", f"--pip-arg=--find-links={wheels}"])
    assert cmd_setup_env(args) == 0
    assert "2 of 2 requirements ok" in capsys.readouterr().out
    args = parser.parse_args(["setup-env", str(env), "--requirements", str(_reqs(folder)), "--plan",
                              "--pip-arg=--no-index", f"--pip-arg=--find-links={wheels}"])
    assert cmd_setup_env(args) == 0
    out = capsys.readouterr().out
    assert "isolated venv" in out and "create-venv: done before, skipped" in out
    assert "create-venv: done before, skipped\n" in out  # a done step downloads nothing again


def test_failed_install_is_recorded_and_a_rerun_resumes_after_the_done_steps(tmp_path, wheels):
    env = tmp_path / "env"
    bad = _reqs(tmp_path, "gsm-alpha==1.0\ngeorsmllm-no-such-package-xyz==0.0.1\n")
    with pytest.raises(EnvSetupError, match="step install-requirements failed: pip exited"):
        EnvBuilder(_opts(env, [bad], wheels)).run()
    steps = SetupState(env).steps
    assert steps["create-venv"]["status"] == "done"
    assert steps["install-requirements"]["status"] == "failed"
    assert "georsmllm-no-such-package-xyz" in steps["install-requirements"]["error"]

    good = _reqs(tmp_path, "gsm-alpha==1.0\n")
    rec = Recorder()
    assert EnvBuilder(_opts(env, [good], wheels), progress=rec).run().ok
    assert "create-venv: done before, skipped" in rec.lines()
    assert SetupState(env).steps["install-requirements"]["status"] == "done"


def test_cancel_while_pip_runs_kills_it_and_a_rerun_resumes(tmp_path, wheels):
    env = tmp_path / "env"
    token = CancelToken()
    # pip's first line: the cancel arrives while pip is running, not between steps
    rec = Recorder(cancel_on="Looking in", token=token)
    with pytest.raises(SetupCancelled):
        EnvBuilder(_opts(env, [_reqs(tmp_path)], wheels), progress=rec, cancel=token).run()
    steps = SetupState(env).steps
    assert steps["create-venv"]["status"] == "done"
    assert steps["install-requirements"]["status"] == "cancelled"
    assert "verify" not in steps
    assert not any(line.startswith("Successfully installed") for line in rec.lines())

    rec = Recorder()
    assert EnvBuilder(_opts(env, [_reqs(tmp_path)], wheels), progress=rec).run().ok
    assert rec.lines()[1] == "create-venv: done before, skipped"


def test_cancel_before_start_does_nothing(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(SetupCancelled, match="run it again to resume"):
        EnvBuilder(SetupOptions(tmp_path / "env", [_reqs(tmp_path)]), cancel=token).run()
    assert not (tmp_path / "env").exists()


def test_run_streaming_kills_the_whole_process_tree_on_cancel(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    token = CancelToken()
    lines = []

    def on_line(line):
        lines.append(line)
        token.cancel()

    start = time.monotonic()
    with pytest.raises(SetupCancelled):
        run_streaming([sys.executable, "-c", script], on_line, token)
    assert time.monotonic() - start < 10
    assert lines == ["started"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_non_empty_foreign_folder_is_refused(tmp_path):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(EnvSetupError, match="not empty and is not a Python environment"):
        EnvBuilder(SetupOptions(tmp_path / "env", [_reqs(tmp_path)])).run()


def test_plan_with_torch_names_the_build_and_the_torch_step(tmp_path):
    reqs = _reqs(tmp_path, "torch==2.14.1\ntorchvision==0.29.1\ngsm-alpha\n")
    plan = TorchPlan("cuda", "cu124", "https://mirror.example/whl/cu124", "RTX 4090, driver 550.54.15 supports CUDA 12.4")
    builder = EnvBuilder(SetupOptions(tmp_path / "env", [reqs]), torch_plan=plan)
    assert builder.steps() == ["create-venv", "install-torch", "install-requirements", "verify"]
    text = "\n".join(builder.describe_plan())
    assert "NVIDIA CUDA (cu124) from https://mirror.example/whl/cu124" in text
    # sizes before anything is installed, labelled approximate
    assert "install-torch: to do (about 3.0 GB to download)" in text
    assert "install-requirements: to do (about 1 MB to download)" in text  # one small unknown package
    assert "Download: about 3.0 GB in all (approximate" in text
    cpu = EnvBuilder(SetupOptions(tmp_path / "env", [reqs]), torch_plan=TorchPlan("cpu", "cpu", None, "asked"))
    assert "install-torch: to do (about 210 MB to download)" in "\n".join(cpu.describe_plan())
    assert [r.spec for r in builder.torch_reqs] == ["torch==2.14.1", "torchvision==0.29.1"]
    assert STATE_FILE not in [p.name for p in tmp_path.iterdir()]


FAKE_TORCH = """
class version:
    cuda = "12.4"


class cuda:
    @staticmethod
    def is_available():
        return False


class backends:
    class mps:
        @staticmethod
        def is_available():
            return False
"""


def test_torch_step_installs_from_the_planned_index_and_says_plainly_it_runs_on_cpu(tmp_path, wheels, monkeypatch):
    """A stand-in 'torch' wheel served from a local PEP 503 index plays the CUDA build: it installs
    through the torch step, and the verify step reports that it cannot see a GPU."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no machine-wide index may be consulted
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    wheel = _write_wheel(tmp_path, "torch", "2.14.1", FAKE_TORCH)
    page = tmp_path / "whl" / "cu124" / "torch"
    page.mkdir(parents=True)
    page.joinpath("index.html").write_text(f'<html><body><a href="{wheel.as_uri()}">{wheel.name}</a></body></html>')
    plan = TorchPlan("cuda", "cu124", (tmp_path / "whl" / "cu124").as_uri(), "RTX 4090, driver 550.54.15")
    reqs = _reqs(tmp_path, "torch==2.14.1\ngsm-alpha==1.0\n")
    rec = Recorder()
    report = EnvBuilder(_opts(tmp_path / "env", [reqs], wheels), progress=rec, torch_plan=plan).run()
    torch_cmds = [line for line in rec.lines("install-torch") if line.startswith("$")]
    assert len(torch_cmds) == 1
    assert torch_cmds[0].endswith(f"pip install --index-url {plan.index_url} torch==2.14.1")
    assert any("Successfully installed torch-2.14.1" in line for line in rec.lines("install-torch"))
    assert report.ok and report.device["torch"] == "2.14.1" and report.device["device"] == "cpu"
    text = "\n".join(report.lines())
    assert "PyTorch 2.14.1 will run on cpu." in text
    assert "CPU ONLY: a cuda build was planned but PyTorch cannot use the GPU" in text
    assert SetupState(tmp_path / "env").steps["install-torch"]["status"] == "done"


def test_source_packages_are_built_against_the_environment_with_the_sam2_flags(tmp_path, wheels):
    """Like sam2: a source package built with --no-build-isolation --no-deps and SAM2_BUILD_CUDA=0 (its
    setup.py here fails the build unless the variable is set)."""
    source = tmp_path / "fakesam-src"
    (source / "fakesam").mkdir(parents=True)
    (source / "fakesam" / "__init__.py").write_text("__version__ = '1.0'\n")
    (source / "setup.py").write_text(
        "import os\nfrom setuptools import setup\n"
        "assert os.environ.get('SAM2_BUILD_CUDA') == '0', 'SAM2_BUILD_CUDA must be 0'\n"
        "setup(name='fake-sam', version='1.0', packages=['fakesam'])\n"
    )
    source_reqs = tmp_path / "sam2.txt"
    source_reqs.write_text(f"fake-sam @ {source.as_uri()}\n")
    progress = Recorder()
    builder = EnvBuilder(_opts(tmp_path / "env", [_reqs(tmp_path)], wheels, source_build_files=[source_reqs]),
                         progress=progress)
    assert builder.steps() == ["create-venv", "install-requirements", "build-from-source", "verify"]
    builder.run()
    python = str(builder.python)
    done = subprocess.run([python, "-c", "import fakesam; print(fakesam.__version__)"], capture_output=True,
                          text=True)
    assert done.stdout.strip() == "1.0"
    assert any("--no-build-isolation" in line and "--no-deps" in line for line in progress.lines("build-from-source"))
    # a second run skips it
    again = Recorder()
    EnvBuilder(_opts(tmp_path / "env", [_reqs(tmp_path)], wheels, source_build_files=[source_reqs]),
               progress=again).run()
    assert "done before, skipped" in " ".join(again.lines("build-from-source"))


# -- CUDA builds: onnxruntime-gpu instead of onnxruntime beside a CUDA PyTorch ----------------------


def test_cuda_builds_take_the_place_of_their_cpu_packages():
    from model_backend.envsetup.requirements import Requirement, with_cuda_builds

    listed = [Requirement("torch", "torch==2.14.1", "ml.txt"), Requirement("onnxruntime", "onnxruntime==1.32.0", "ml.txt"),
              Requirement("onnx", "onnx==1.23.2", "ml.txt")]
    gpu = [Requirement("onnxruntime-gpu", "onnxruntime-gpu==1.31.1", "cuda.txt")]
    out, swapped = with_cuda_builds(listed, gpu)
    assert [r.spec for r in out] == ["torch==2.14.1", "onnxruntime-gpu==1.31.1", "onnx==1.23.2"]
    assert [(a.spec, b.spec) for a, b in swapped] == [("onnxruntime==1.32.0", "onnxruntime-gpu==1.31.1")]


def test_the_backend_plans_onnxruntime_gpu_with_a_cuda_torch_only(tmp_path):
    from model_backend.envsetup import default_options

    cuda = TorchPlan("cuda", "cu128", "https://download.pytorch.org/whl/cu128", "H200, driver 570.86 supports CUDA 12.8")
    cpu = TorchPlan("cpu", "cpu", "https://download.pytorch.org/whl/cpu", "no NVIDIA GPU driver was found")
    on_gpu = EnvBuilder(default_options(tmp_path / "env"), torch_plan=cuda)
    specs = {r.name: r.spec for r in on_gpu.requirements}
    assert specs["onnxruntime-gpu"] == "onnxruntime-gpu==1.31.1" and "onnxruntime" not in specs
    assert "CUDA build: onnxruntime-gpu==1.31.1 instead of onnxruntime==1.32.0" in "\n".join(on_gpu.describe_plan())
    on_cpu = EnvBuilder(default_options(tmp_path / "env"), torch_plan=cpu)
    specs = {r.name: r.spec for r in on_cpu.requirements}
    assert specs["onnxruntime"] == "onnxruntime==1.32.0" and "onnxruntime-gpu" not in specs
    assert on_gpu._step_hash("install-requirements") != on_cpu._step_hash("install-requirements")


def test_cuda_plan_installs_the_gpu_build_and_removes_a_cpu_build_left_before(tmp_path, wheels):
    """Real pip, local wheels: a CPU environment is built, then the device becomes CUDA: the CPU package is
    uninstalled and its -gpu build installed; the check then expects the -gpu build."""
    _write_wheel(wheels, "gsm-beta-gpu", "1.0")
    cuda_file = tmp_path / "cuda.txt"
    cuda_file.write_text("gsm-beta-gpu==1.0\n")
    reqs = _reqs(tmp_path)  # gsm-alpha==1.0, gsm-beta
    env = tmp_path / "env"
    cpu = TorchPlan("cpu", "cpu", None, "test")
    EnvBuilder(_opts(env, [reqs], wheels, cuda_build_files=[cuda_file]), torch_plan=cpu).run()
    cuda = TorchPlan("cuda", "cu128", None, "test")
    rec = Recorder()
    report = EnvBuilder(_opts(env, [reqs], wheels, cuda_build_files=[cuda_file]), progress=rec, torch_plan=cuda).run()
    assert report.ok, report.lines()
    assert {p.name for p in report.packages} == {"gsm-alpha", "gsm-beta-gpu"}
    lines = rec.lines("install-requirements")
    assert any(line.startswith("$") and "uninstall -y gsm-beta" in line for line in lines)
    assert any("Successfully uninstalled gsm-beta-1.0" in line for line in lines)
    assert (env / "georsmllm-requirements.txt").read_text().split() == ["gsm-alpha==1.0", "gsm-beta-gpu==1.0"]
    python = str(env / "bin" / "python")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    assert "gsm-beta-gpu==1.0" in listed and "gsm-beta==" not in listed
