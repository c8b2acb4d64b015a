"""The model manager: catalogue, resumable downloads into the hub cache, and a load check.

Standard library only at import time (``check_model`` imports the engines, and so torch, when called).
``python -m model_backend models list|download ID|check ID``.
"""

from .catalogue import CATALOGUE, ModelEntry, find_model
from .download import DownloadResult, HubClient, RemoteFile, download_repo
from .errors import DownloadCancelled, ModelDownloadError
from .hubcache import cached_snapshot, default_cache_dir, default_endpoint, repo_folder
from .manager import CheckResult, catalogue_lines, check_model, download_model, local_path, resolve_entry

__all__ = [
    "CATALOGUE",
    "CheckResult",
    "DownloadCancelled",
    "DownloadResult",
    "HubClient",
    "ModelDownloadError",
    "ModelEntry",
    "RemoteFile",
    "cached_snapshot",
    "catalogue_lines",
    "check_model",
    "default_cache_dir",
    "default_endpoint",
    "download_model",
    "download_repo",
    "find_model",
    "local_path",
    "repo_folder",
    "resolve_entry",
]
