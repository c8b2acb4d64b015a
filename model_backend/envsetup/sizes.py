"""Approximate download sizes of what the set-up installs, shown in the plan before anything is installed.

Sizes are of the wheel files pip downloads (compressed; installed they take two to three times more),
in MB, for Linux x86-64 and CPython 3.11. How they were measured (2026-12-02): ``pip install --dry-run
--ignore-installed --report`` of ``requirements/ml.txt`` in an empty venv lists every package pip picks,
dependencies included, and the sizes of those wheel files were read; a few packages whose wheels were not
on that machine are estimates from neighbouring releases (marked ``~``). Other platforms differ: Windows
CUDA builds bundle the CUDA libraries in ``torch`` itself (similar total), macOS wheels are smaller. So the
plan always says "about" and rounds.

Each entry counts the package with the dependencies no other requirement names (``pydantic`` includes
``pydantic-core``, ``huggingface-hub`` includes ``hf-xet``), so a requirement list sums without counting a
dependency twice. Packages not listed count ``DEFAULT_MB``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .requirements import Requirement

#: PyTorch and torchvision per build, with their dependencies: the CUDA build pulls the NVIDIA libraries
#: (cuDNN 553, cuBLAS 423, NCCL 216, cuFFT 214, cuSOLVER 201, cuSPARSELt 170, cuSPARSE 146, NVRTC 90, cuRAND
#: 60, NVSHMEM 60, nvJitLink 42, ...) and triton (248) beside torch itself (555); the CPU build is one
#: 192 MB wheel; MPS (Apple silicon) is an estimate from the macOS arm64 wheels of recent releases (~70 MB).
TORCH_MB = {"cuda": 2950.0, "cpu": 210.0, "mps": 90.0}
#: The other requirements (the torch family excluded), each with the dependencies it alone pulls in.
PACKAGE_MB = {
    "numpy": 18.3,
    "rasterio": 22.0,  # ~
    "shapely": 3.0,  # ~
    "pyproj": 9.5,
    "pillow": 7.0,
    "jinja2": 0.2,
    "fastapi": 0.4,  # with starlette and anyio
    "uvicorn": 0.2,
    "httpx": 0.3,
    "pydantic": 2.6,  # with pydantic-core
    "pyogrio": 33.3,
    "transformers": 14.0,  # ~ with regex and pyyaml
    "tokenizers": 3.4,
    "safetensors": 0.5,
    "huggingface-hub": 4.0,  # with hf-xet
    "accelerate": 0.7,
    "opencv-python-headless": 50.0,  # ~
    "ml-dtypes": 5.0,
    "hydra-core": 0.4,
    "iopath": 0.1,
    "tqdm": 0.1,
    "onnx": 9.3,  # with protobuf
    "onnxscript": 1.0,
    "onnxruntime": 17.0,  # ~
    # CUDA build, installed instead of onnxruntime beside a CUDA PyTorch (requirements/cuda.txt): the 1.31.1
    # cp311 manylinux x86-64 wheel is 255.6 MB (PyPI's simple index, 2026-12-02); dependencies as onnxruntime's
    "onnxruntime-gpu": 256.0,
    "peft": 0.8,
    "sam2": 0.3,  # ~ source package, built locally
}
DEFAULT_MB = 1.0


def torch_download_mb(device: str) -> float:
    """PyTorch (and torchvision) for a ``TorchPlan.device`` (``cuda``, ``cpu`` or ``mps``)."""
    return TORCH_MB.get(device, TORCH_MB["cuda"])


def packages_download_mb(requirements: Iterable[Requirement]) -> float:
    """The other requirements together (each package counted once)."""
    names = {r.name for r in requirements}
    return sum(PACKAGE_MB.get(name, DEFAULT_MB) for name in names)


def about(mb: float) -> str:
    """``"about 3.0 GB"``, ``"about 210 MB"``: rounded, never more precise than the estimate."""
    if mb >= 1000:
        return f"about {mb / 1000:.1f} GB"
    if mb >= 100:
        return f"about {round(mb, -1):.0f} MB"
    return f"about {max(1, round(mb)):.0f} MB"
