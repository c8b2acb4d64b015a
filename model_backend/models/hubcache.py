"""The model hub's cache layout, so ``from_pretrained("org/name")`` finds a downloaded model offline:
``<cache>/models--org--name/refs/<revision>`` holds the commit, ``snapshots/<commit>/<file>`` the
files. Files are written straight into the snapshot (as huggingface_hub itself does where symlinks are
unavailable, e.g. Windows without developer mode), not as blob symlinks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from .errors import ModelDownloadError

DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_cache_dir(environ: Mapping[str, str] | None = None, home: str | None = None) -> Path:
    """``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub`` (the hub's own rule)."""
    environ = os.environ if environ is None else environ
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    home = home or os.path.expanduser("~")
    xdg = environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path(home) / ".cache") / "huggingface" / "hub"


def default_endpoint(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def check_repo_id(repo_id: str) -> str:
    if not _REPO_RE.match(repo_id or "") or ".." in repo_id:
        raise ModelDownloadError(f"{repo_id!r} is not a hub model id; use the form 'organisation/name'")
    return repo_id


def repo_folder(cache_dir: str | os.PathLike, repo_id: str) -> Path:
    """``<cache>/models--org--name``."""
    return Path(cache_dir) / ("models--" + check_repo_id(repo_id).replace("/", "--"))


def safe_relative(path: str) -> Path:
    """A repository file name as a relative path that cannot leave the snapshot folder."""
    parts = Path(path.replace("\\", "/")).parts
    if not parts or any(p in ("..", "") for p in parts) or Path(path).is_absolute() or ":" in parts[0]:
        raise ModelDownloadError(f"the server listed an unsafe file name {path!r}; download refused")
    return Path(*parts)


def cached_snapshot(cache_dir: str | os.PathLike, repo_id: str, revision: str = "main") -> Path | None:
    """The snapshot folder a finished download of ``repo_id`` at ``revision`` left, or ``None``."""
    folder = repo_folder(cache_dir, repo_id)
    ref = folder / "refs" / revision
    commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
    snapshot = folder / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None
