"""Where the backend environment lives and which executables it has, per platform.

Pure functions of ``platform`` / ``environ`` / ``home`` so the Windows and macOS rules are testable on
Linux. ``platform`` is a ``sys.platform`` value (``linux``, ``win32``, ``darwin``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Mapping

ENV_FOLDER = ("georsmllm", "backend-env")


def _pure(platform: str) -> type[PurePath]:
    return PureWindowsPath if platform.startswith("win") else PurePosixPath


def qgis_settings_root(
    platform: str | None = None, environ: Mapping[str, str] | None = None, home: str | None = None
) -> PurePath:
    """The QGIS 3 settings folder that holds ``profiles/`` (QGIS's own default locations)."""
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    home = home or os.path.expanduser("~")
    pure = _pure(platform)
    if platform.startswith("win"):
        appdata = environ.get("APPDATA") or str(pure(home, "AppData", "Roaming"))
        return pure(appdata, "QGIS", "QGIS3")
    if platform == "darwin":
        return pure(home, "Library", "Application Support", "QGIS", "QGIS3")
    data_home = environ.get("XDG_DATA_HOME") or str(pure(home, ".local", "share"))
    return pure(data_home, "QGIS", "QGIS3")


def default_env_dir(
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: str | None = None,
    profile_dir: str | os.PathLike | None = None,
) -> PurePath:
    """Default folder of the backend venv: ``<QGIS3 settings>/georsmllm/backend-env`` beside ``profiles/``.

    ``profile_dir`` (e.g. QGIS's ``qgisSettingsDirPath()``, ``.../QGIS3/profiles/default``) wins
    when given. On Windows the venv goes under ``%LOCALAPPDATA%`` instead: ``%APPDATA%`` roams with the
    user's domain profile, and a multi-GB PyTorch install must not be synced at every log-on.
    """
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    home = home or os.path.expanduser("~")
    pure = _pure(platform)
    if platform.startswith("win"):
        local = environ.get("LOCALAPPDATA") or str(pure(home, "AppData", "Local"))
        return pure(local, *ENV_FOLDER)
    if profile_dir is not None:
        profile = pure(os.fspath(profile_dir))
        # profiles/<name> -> the QGIS3 folder that holds profiles/
        root = profile.parent.parent if profile.parent.name == "profiles" else profile.parent
        return root.joinpath(*ENV_FOLDER)
    return qgis_settings_root(platform, environ, home).joinpath(*ENV_FOLDER)


def venv_python(env_dir: str | os.PathLike, platform: str | None = None) -> PurePath:
    """The venv's interpreter: ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere."""
    platform = platform or sys.platform
    pure = _pure(platform)
    if platform.startswith("win"):
        return pure(os.fspath(env_dir), "Scripts", "python.exe")
    return pure(os.fspath(env_dir), "bin", "python")


def find_base_python(
    executable: str | None = None,
    exec_prefix: str | None = None,
    platform: str | None = None,
    exists=os.path.isfile,
) -> str | None:
    """An interpreter able to run ``-m venv``: ``executable`` when it is a Python, else (inside QGIS,
    where ``sys.executable`` is ``qgis-bin.exe`` or ``QGIS.app/.../QGIS``) the Python beside
    ``exec_prefix``. ``None`` when none is found."""
    platform = platform or sys.platform
    executable = sys.executable if executable is None else executable
    exec_prefix = getattr(sys, "base_exec_prefix", sys.exec_prefix) if exec_prefix is None else exec_prefix
    pure = _pure(platform)
    if executable and pure(executable).name.lower().startswith("python") and exists(executable):
        return executable
    if platform.startswith("win"):
        candidates = [pure(exec_prefix, "python.exe"), pure(exec_prefix, "python3.exe")]
    else:
        candidates = [pure(exec_prefix, "bin", "python3"), pure(exec_prefix, "bin", "python")]
    for candidate in candidates:
        if exists(str(candidate)):
            return str(candidate)
    return None


def as_path(path: PurePath | str | os.PathLike) -> Path:
    """A concrete ``Path`` of this machine."""
    return Path(os.fspath(path))
