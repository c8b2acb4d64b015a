"""Platform logic of the environment set-up with faked platforms and faked ``nvidia-smi`` outputs:
default folders, venv executables, base interpreter discovery, the PyTorch build decision, and
requirements reading. Nothing here installs anything."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_backend.envsetup import EnvSetupError, parse_nvidia_smi, plan_torch, read_requirements
from model_backend.envsetup.paths import default_env_dir, find_base_python, qgis_settings_root, venv_python
from model_backend.envsetup.requirements import default_requirement_files, requirements_hash, split_torch
from model_backend.envsetup.torchplan import CUDA_WHEEL_TAGS, GpuInfo, cuda_tag_for, driver_cuda_version
from model_backend.errors import ConfigError

SMI_550 = """\
Tue Mar 12 10:11:12 2024
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|=========================================+========================+======================|
|   0  NVIDIA GeForce RTX 4090        Off |   00000000:01:00.0  On |                  Off |
|  0%   38C    P8             21W /  450W |     512MiB /  24564MiB |      2%      Default |
+-----------------------------------------+------------------------+----------------------+
"""

SMI_WINDOWS_572 = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 572.16                 Driver Version: 572.16         CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                  Driver-Model | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|=========================================+========================+======================|
|   0  NVIDIA RTX A2000 Laptop GPU  WDDM  |   00000000:01:00.0 Off |                  N/A |
+-----------------------------------------+------------------------+----------------------+
"""

SMI_470 = "| NVIDIA-SMI 470.223.02   Driver Version: 470.223.02   CUDA Version: 11.4     |\n"
SMI_NO_CUDA_LINE = "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03 |\n"
SMI_ERROR = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."


# -- folders and executables -----------------------------------------------------------------

def test_default_env_dir_linux_uses_xdg_data_home_beside_qgis_profiles():
    got = default_env_dir("linux", {"XDG_DATA_HOME": "/data/me"}, "/home/me")
    assert got == PurePosixPath("/data/me/QGIS/QGIS3/georsmllm/backend-env")
    assert default_env_dir("linux", {}, "/home/me") == PurePosixPath(
        "/home/me/.local/share/QGIS/QGIS3/georsmllm/backend-env"
    )
    assert qgis_settings_root("linux", {}, "/home/me") / "profiles" == PurePosixPath(
        "/home/me/.local/share/QGIS/QGIS3/profiles"
    )


def test_default_env_dir_macos():
    assert default_env_dir("darwin", {}, "/Users/me") == PurePosixPath(
        "/Users/me/Library/Application Support/QGIS/QGIS3/georsmllm/backend-env"
    )


def test_default_env_dir_windows_is_local_not_roaming():
    env = {"APPDATA": r"C:\Users\me\AppData\Roaming", "LOCALAPPDATA": r"C:\Users\me\AppData\Local"}
    got = default_env_dir("win32", env, r"C:\Users\me")
    assert got == PureWindowsPath(r"C:\Users\me\AppData\Local\georsmllm\backend-env")
    assert default_env_dir("win32", {}, r"C:\Users\me") == PureWindowsPath(
        r"C:\Users\me\AppData\Local\georsmllm\backend-env"
    )
    assert qgis_settings_root("win32", env, r"C:\Users\me") == PureWindowsPath(r"C:\Users\me\AppData\Roaming\QGIS\QGIS3")


def test_default_env_dir_from_a_profile_folder():
    got = default_env_dir("linux", {}, "/home/me", profile_dir="/custom/QGIS3/profiles/work")
    assert got == PurePosixPath("/custom/QGIS3/georsmllm/backend-env")


def test_venv_python_per_platform():
    assert venv_python(r"C:\envs\gr", "win32") == PureWindowsPath(r"C:\envs\gr\Scripts\python.exe")
    assert venv_python("/envs/gr", "linux") == PurePosixPath("/envs/gr/bin/python")
    assert venv_python("/envs/gr", "darwin") == PurePosixPath("/envs/gr/bin/python")


def test_find_base_python_inside_qgis_on_windows_and_macos():
    win_exists = {r"C:\OSGeo4W\apps\Python312\python.exe"}.__contains__
    assert find_base_python(r"C:\OSGeo4W\bin\qgis-bin.exe", r"C:\OSGeo4W\apps\Python312", "win32", win_exists) == (
        r"C:\OSGeo4W\apps\Python312\python.exe"
    )
    mac_prefix = "/Applications/QGIS.app/Contents/Frameworks/Python.framework/Versions/3.12"
    mac_exists = {mac_prefix + "/bin/python3"}.__contains__
    assert find_base_python("/Applications/QGIS.app/Contents/MacOS/QGIS", mac_prefix, "darwin", mac_exists) == (
        mac_prefix + "/bin/python3"
    )
    assert find_base_python("/usr/bin/python3.11", "/usr", "linux", {"/usr/bin/python3.11"}.__contains__) == (
        "/usr/bin/python3.11"
    )
    assert find_base_python("/usr/bin/qgis", "/nowhere", "linux", lambda p: False) is None


# -- nvidia-smi and the PyTorch build --------------------------------------------------------

def test_parse_nvidia_smi_linux_and_windows_tables():
    info = parse_nvidia_smi(SMI_550)
    assert info == GpuInfo("550.54.15", (12, 4), ("NVIDIA GeForce RTX 4090",))
    info = parse_nvidia_smi(SMI_WINDOWS_572)
    assert info.driver_version == "572.16" and info.cuda_version == (12, 8)
    assert info.gpus == ("NVIDIA RTX A2000 Laptop GPU",)
    assert parse_nvidia_smi(SMI_ERROR) is None
    assert parse_nvidia_smi("") is None


def test_driver_without_cuda_line_uses_the_driver_table():
    info = parse_nvidia_smi(SMI_NO_CUDA_LINE)
    assert info.cuda_version is None
    assert driver_cuda_version(info) == (12, 1)
    assert driver_cuda_version(GpuInfo("515.65.01", None)) is None


@pytest.mark.parametrize(
    "smi, tag",
    [(SMI_550, "cu124"), (SMI_WINDOWS_572, "cu128"), (SMI_NO_CUDA_LINE, "cu121"),
     ("Driver Version: 560.35.03  CUDA Version: 12.6", "cu126"),
     ("Driver Version: 555.42.02  CUDA Version: 12.5", "cu124"),
     ("Driver Version: 525.147.05  CUDA Version: 12.0", "cu118"),
     ("Driver Version: 580.82.07  CUDA Version: 13.0", "cu130")],
)
def test_auto_picks_the_newest_cuda_build_the_driver_runs(smi, tag):
    plan = plan_torch("auto", nvidia_smi_text=smi, platform="linux", machine="x86_64", index_base="https://mirror/whl/")
    assert (plan.device, plan.variant, plan.index_url) == ("cuda", tag, f"https://mirror/whl/{tag}")
    assert not plan.fallback
    assert f"NVIDIA CUDA ({tag})" in plan.sentence()


def test_old_driver_falls_back_to_cpu_and_says_so_plainly():
    plan = plan_torch("auto", nvidia_smi_text=SMI_470, platform="linux", machine="x86_64")
    assert (plan.device, plan.fallback) == ("cpu", True)
    assert plan.index_url == "https://download.pytorch.org/whl/cpu"
    sentence = plan.sentence()
    assert sentence.startswith("CPU ONLY")
    assert "470.223.02" in sentence and "CUDA 11.4" in sentence and "update the NVIDIA driver" in sentence
    with pytest.raises(ConfigError, match="device 'cuda' cannot work"):
        plan_torch("cuda", nvidia_smi_text=SMI_470, platform="linux", machine="x86_64")


def test_no_driver_gives_the_cpu_build_and_cuda_request_fails_clearly():
    plan = plan_torch("auto", nvidia_smi_text="", platform="win32", machine="AMD64")
    assert (plan.device, plan.fallback, plan.index_url) == ("cpu", False, "https://download.pytorch.org/whl/cpu")
    assert "no NVIDIA GPU driver" in plan.sentence()
    with pytest.raises(ConfigError, match="no NVIDIA driver answers"):
        plan_torch("cuda", nvidia_smi_text=SMI_ERROR, platform="linux", machine="x86_64")


def test_apple_silicon_gets_mps_from_the_default_index_and_intel_mac_cpu():
    plan = plan_torch("auto", nvidia_smi_text="", platform="darwin", machine="arm64")
    assert (plan.device, plan.index_url) == ("mps", None)
    assert "Apple Metal (MPS)" in plan.sentence() and "default package index" in plan.sentence()
    intel = plan_torch("auto", nvidia_smi_text="", platform="darwin", machine="x86_64")
    assert (intel.device, intel.index_url) == ("cpu", None)
    with pytest.raises(ConfigError, match="Intel"):
        plan_torch("mps", platform="darwin", machine="x86_64")
    with pytest.raises(ConfigError, match="only on Macs"):
        plan_torch("mps", nvidia_smi_text=SMI_550, platform="linux", machine="x86_64")


def test_forced_cpu_and_forced_cuda_tag():
    cpu = plan_torch("cpu", nvidia_smi_text=SMI_550, platform="linux", machine="x86_64")
    assert (cpu.device, cpu.fallback) == ("cpu", False)
    assert not cpu.sentence().startswith("CPU ONLY")
    forced = plan_torch("auto", nvidia_smi_text=SMI_550, platform="linux", machine="x86_64", cuda_tag="cu126")
    assert (forced.variant, forced.index_url) == ("cu126", "https://download.pytorch.org/whl/cu126")
    with pytest.raises(ConfigError, match="CUDA tag"):
        plan_torch("auto", nvidia_smi_text=SMI_550, platform="linux", machine="x86_64", cuda_tag="12.6")
    with pytest.raises(ConfigError, match="not valid"):
        plan_torch("rocm", nvidia_smi_text="", platform="linux", machine="x86_64")


@given(st.integers(10, 14), st.integers(0, 9))
def test_cuda_tag_is_the_newest_the_driver_supports(major, minor):
    cuda = (major, minor)
    tag = cuda_tag_for(cuda)
    runnable = [needs for _, needs in CUDA_WHEEL_TAGS if needs <= cuda]
    if not runnable:
        assert tag is None
    else:
        assert dict(CUDA_WHEEL_TAGS)[tag] == max(runnable)


# -- requirements ------------------------------------------------------------------------------

def test_read_requirements_follows_includes_and_drops_duplicates(tmp_path):
    (tmp_path / "base.txt").write_text("numpy>=1.24,<2  # comment\nPillow>=10\n\n")
    (tmp_path / "ml.txt").write_text("-r base.txt\n-c constraints.txt\ntorch==2.14.1\nml_dtypes<0.6\npillow\n")
    reqs = read_requirements([tmp_path / "ml.txt", tmp_path / "base.txt"])
    assert [(r.name, r.spec) for r in reqs] == [
        ("numpy", "numpy>=1.24,<2"), ("pillow", "Pillow>=10"), ("torch", "torch==2.14.1"), ("ml-dtypes", "ml_dtypes<0.6")
    ]
    torch, rest = split_torch(reqs)
    assert [r.name for r in torch] == ["torch"] and torch[0].pinned_version == "2.14.1"
    assert reqs[0].pinned_version is None
    assert requirements_hash(reqs) == requirements_hash(list(reversed(reqs)))
    (tmp_path / "ml.txt").write_text("-r base.txt\ntorch==2.14.2\n")
    assert requirements_hash(read_requirements([tmp_path / "ml.txt"])) != requirements_hash(reqs)


def test_read_requirements_rejects_options_it_cannot_honour(tmp_path):
    (tmp_path / "r.txt").write_text("--index-url https://example.org/simple\nsix\n")
    with pytest.raises(EnvSetupError, match=r"r.txt:1: option '--index-url'"):
        read_requirements([tmp_path / "r.txt"])
    with pytest.raises(EnvSetupError, match="cannot read requirements file"):
        read_requirements([tmp_path / "missing.txt"])


def test_the_project_requirement_files_read_and_contain_torch():
    reqs = read_requirements(default_requirement_files())
    names = {r.name for r in reqs}
    assert {"torch", "torchvision", "transformers", "rasterio", "numpy"} <= names
    torch, _ = split_torch(reqs)
    assert all(r.pinned_version for r in torch)


def test_envsetup_and_models_import_only_the_standard_library():
    import subprocess
    import sys

    code = (
        "import sys, model_backend.envsetup, model_backend.envsetup.cli, model_backend.models, "
        "model_backend.models.cli\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'torch', 'transformers', 'huggingface_hub', 'qgis', 'PyQt5', 'rasterio', 'shapely'))\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
