"""Which PyTorch build to install: CUDA (by the NVIDIA driver's CUDA version), Apple MPS, or CPU.

The decision is a pure function of what the machine reports (``nvidia-smi`` text, ``sys.platform``,
``platform.machine()``), so it is testable with faked outputs. It is said before installing (a
``TorchPlan`` with one human sentence) and checked after (``verify`` in ``builder.py``).
"""

from __future__ import annotations

import os
import platform as _platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from ..errors import ConfigError

DEFAULT_TORCH_INDEX = "https://download.pytorch.org/whl"
DEVICE_CHOICES = ("auto", "cuda", "cpu", "mps")

# PyTorch CUDA wheel tags and the CUDA version each needs from the driver. The driver's own limit is
# the "CUDA Version" nvidia-smi prints (the newest CUDA runtime it supports). Driver minimums
# per CUDA release, from NVIDIA's CUDA Toolkit release notes, table "CUDA Toolkit and Corresponding
# Driver Versions" (Linux / Windows): 11.8 GA >= 520.61.05 / 520.06; 12.1 GA >= 530.30.02 / 531.14;
# 12.4 GA >= 550.54.14 / 551.61; 12.6 GA >= 560.28.03 / 560.76; 12.8 GA >= 570.26 / 570.65;
# 13.0 GA >= 580.65.06 / 580.88. Which tags a given torch release ships is listed on
# https://pytorch.org/get-started/previous-versions/ (e.g. 2.7: cu118 cu126 cu128; 2.9: cu126 cu128
# cu130); a tag missing for the pinned release makes pip fail with "no matching distribution", and
# ``--cuda-tag`` / ``cuda_tags=`` chooses another.
CUDA_WHEEL_TAGS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("cu130", (13, 0)),
    ("cu128", (12, 8)),
    ("cu126", (12, 6)),
    ("cu124", (12, 4)),
    ("cu121", (12, 1)),
    ("cu118", (11, 8)),
)

# Fallback when nvidia-smi prints no "CUDA Version" (very old tools): Linux driver minimums above.
_DRIVER_TO_CUDA: tuple[tuple[tuple[int, ...], tuple[int, int]], ...] = (
    ((580, 65), (13, 0)),
    ((570, 26), (12, 8)),
    ((560, 28), (12, 6)),
    ((550, 54), (12, 4)),
    ((530, 30), (12, 1)),
    ((520, 61), (11, 8)),
)

_DRIVER_RE = re.compile(r"Driver Version:\s*([0-9]+(?:\.[0-9]+)*)")
_CUDA_RE = re.compile(r"CUDA Version:\s*([0-9]+)\.([0-9]+)")
# GPU rows: "|   0  NVIDIA GeForce RTX 4090   Off |" (Linux: persistence mode; Windows: WDDM/TCC/MCDM)
_GPU_RE = re.compile(r"^\|\s+\d+\s+(.+?)\s+(?:On|Off|WDDM|TCC|MCDM)\s*\|", re.MULTILINE)


@dataclass(frozen=True)
class GpuInfo:
    """What ``nvidia-smi`` says: driver version, the newest CUDA it supports, GPU names."""

    driver_version: str
    cuda_version: tuple[int, int] | None
    gpus: tuple[str, ...] = ()


@dataclass
class TorchPlan:
    """The PyTorch build to install. ``index_url`` is ``None`` for the default package index."""

    device: str  # "cuda", "mps" or "cpu"
    variant: str  # "cu124", "mps", "cpu", ...
    index_url: str | None
    reason: str
    fallback: bool = False  # True when a GPU was wanted or present but the CPU build is chosen
    warnings: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        """One plain sentence saying what will be installed and why."""
        where = f" from {self.index_url}" if self.index_url else " from the default package index"
        if self.device == "cuda":
            text = f"Installing PyTorch for NVIDIA CUDA ({self.variant}){where}: {self.reason}."
        elif self.device == "mps":
            text = f"Installing PyTorch with Apple Metal (MPS) support{where}: {self.reason}."
        else:
            lead = "CPU ONLY -- models will run slowly. " if self.fallback else ""
            text = f"{lead}Installing the CPU build of PyTorch{where}: {self.reason}."
        return text


def parse_nvidia_smi(text: str) -> GpuInfo | None:
    """Parse ``nvidia-smi``'s table header ("Driver Version: 550.54.15   CUDA Version: 12.4");
    ``None`` when the text has no driver version (no NVIDIA driver, or an error message)."""
    driver = _DRIVER_RE.search(text or "")
    if not driver:
        return None
    cuda = _CUDA_RE.search(text)
    gpus = tuple(name.strip() for name in _GPU_RE.findall(text))
    return GpuInfo(driver.group(1), (int(cuda.group(1)), int(cuda.group(2))) if cuda else None, gpus)


def driver_cuda_version(info: GpuInfo) -> tuple[int, int] | None:
    """The newest CUDA the driver runs: as printed, else looked up from the driver version."""
    if info.cuda_version:
        return info.cuda_version
    parts = tuple(int(p) for p in info.driver_version.split(".")[:2] if p.isdigit())
    for minimum, cuda in _DRIVER_TO_CUDA:
        if parts >= minimum:
            return cuda
    return None


def cuda_tag_for(cuda: tuple[int, int], tags=CUDA_WHEEL_TAGS) -> str | None:
    """The newest wheel tag whose CUDA the driver runs, or ``None`` when the driver is too old."""
    for tag, needs in sorted(tags, key=lambda t: t[1], reverse=True):
        if needs <= cuda:
            return tag
    return None


def run_nvidia_smi(timeout_s: float = 15.0) -> str:
    """``nvidia-smi``'s output, or ``""`` when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None and sys.platform.startswith("win"):
        # The driver installs it here; it is not always on PATH.
        candidate = os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32", "nvidia-smi.exe")
        exe = candidate if os.path.isfile(candidate) else None
    if exe is None:
        return ""
    try:
        done = subprocess.run([exe], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def plan_torch(
    device: str = "auto",
    *,
    nvidia_smi_text: str | None = None,
    platform: str | None = None,
    machine: str | None = None,
    index_base: str = DEFAULT_TORCH_INDEX,
    cuda_tag: str | None = None,
    cuda_tags=CUDA_WHEEL_TAGS,
) -> TorchPlan:
    """Decide the PyTorch build. ``device``: auto, cuda, cpu or mps. ``nvidia_smi_text``: that
    command's output (run here when ``None``). ``index_base``: the folder holding ``cpu/``, ``cu124/``
    ... indexes (a mirror may replace download.pytorch.org). ``cuda_tag`` forces a CUDA tag.

    Raises ``ConfigError`` when a forced device cannot work on this machine.
    """
    device = str(device).strip().lower()
    if device not in DEVICE_CHOICES:
        raise ConfigError(f"device {device!r} is not valid; use one of {', '.join(DEVICE_CHOICES)}")
    platform = platform or sys.platform
    machine = (machine if machine is not None else _platform.machine()).lower()
    base = index_base.rstrip("/")
    is_mac = platform == "darwin"
    apple_silicon = is_mac and machine in ("arm64", "aarch64")

    def cpu(reason: str, fallback: bool) -> TorchPlan:
        # macOS wheels on the default index are the CPU/MPS build; elsewhere the default index
        # may carry a CUDA build (Linux x86-64), so the CPU-only index is named explicitly.
        return TorchPlan("cpu", "cpu", None if is_mac else f"{base}/cpu", reason, fallback)

    if device == "cpu":
        return cpu("the CPU build was asked for", fallback=False)
    if is_mac:
        if apple_silicon:
            return TorchPlan("mps", "mps", None, f"this Mac has Apple silicon ({machine})")
        if device == "mps":
            raise ConfigError("device 'mps' needs a Mac with Apple silicon; this Mac is Intel: use auto or cpu")
        return cpu("this is an Intel Mac: PyTorch has no GPU build for it", fallback=device == "cuda")
    if device == "mps":
        raise ConfigError("device 'mps' exists only on Macs with Apple silicon; use auto, cuda or cpu")

    text = run_nvidia_smi() if nvidia_smi_text is None else nvidia_smi_text
    info = parse_nvidia_smi(text)
    if info is None:
        if device == "cuda":
            raise ConfigError(
                "device 'cuda' was asked for but no NVIDIA driver answers (nvidia-smi missing or failing); "
                "install the NVIDIA driver, or use device auto or cpu"
            )
        return cpu("no NVIDIA GPU driver was found (nvidia-smi missing or failing)", fallback=False)
    gpu_names = ", ".join(info.gpus) or "NVIDIA GPU"
    if cuda_tag:
        tag = cuda_tag.strip().lower()
        if not re.fullmatch(r"cu\d{3}", tag):
            raise ConfigError(f"CUDA tag {cuda_tag!r} is not valid; use e.g. cu124 or cu128")
        return TorchPlan("cuda", tag, f"{base}/{tag}", f"{gpu_names}, driver {info.driver_version}, tag {tag} forced")
    cuda = driver_cuda_version(info)
    tag = cuda_tag_for(cuda, cuda_tags) if cuda else None
    if tag is None:
        oldest = min(needs for _, needs in cuda_tags)
        shown = f"CUDA {cuda[0]}.{cuda[1]}" if cuda else "an unknown CUDA version"
        reason = (
            f"the NVIDIA driver {info.driver_version} supports {shown} at most, older than the oldest "
            f"PyTorch CUDA build (CUDA {oldest[0]}.{oldest[1]}); update the NVIDIA driver to use the GPU"
        )
        if device == "cuda":
            raise ConfigError(f"device 'cuda' cannot work: {reason}")
        return cpu(reason, fallback=True)
    return TorchPlan(
        "cuda",
        tag,
        f"{base}/{tag}",
        f"{gpu_names}, driver {info.driver_version} supports CUDA {cuda[0]}.{cuda[1]}",
    )
