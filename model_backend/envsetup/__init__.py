"""Setting up the backend's own Python environment (an isolated venv, never QGIS's Python).

Standard library only at import time, so QGIS's Python can drive the set-up without numpy or torch.
``python -m model_backend setup-env PATH [--device auto|cuda|cpu|mps] [--check] [--repair]``.
"""

from .builder import EnvBuilder, EnvReport, PackageStatus, SetupOptions, default_options
from .errors import EnvSetupError, SetupCancelled
from .paths import default_env_dir, find_base_python, qgis_settings_root, venv_python
from .process import CancelToken
from .requirements import Requirement, default_requirement_files, read_requirements
from .torchplan import GpuInfo, TorchPlan, parse_nvidia_smi, plan_torch

__all__ = [
    "CancelToken",
    "EnvBuilder",
    "EnvReport",
    "EnvSetupError",
    "GpuInfo",
    "PackageStatus",
    "Requirement",
    "SetupCancelled",
    "SetupOptions",
    "TorchPlan",
    "default_env_dir",
    "default_options",
    "default_requirement_files",
    "find_base_python",
    "parse_nvidia_smi",
    "plan_torch",
    "qgis_settings_root",
    "read_requirements",
    "venv_python",
]
