"""A small resumable downloader for hub models (standard library only, so QGIS's Python can run it).

Lists a repository through the hub API (``GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true``),
then fetches each file from ``{endpoint}/{repo}/resolve/{commit}/{file}`` into the hub cache layout.
A partial file (``<file>.incomplete``) is continued with an HTTP ``Range`` request; the final size
(and SHA-256 where the hub lists one) is checked. Free disk is checked before anything is fetched.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import DownloadCancelled, ModelDownloadError
from .hubcache import check_repo_id, default_cache_dir, default_endpoint, repo_folder, safe_relative
from .system import free_disk_bytes, total_memory_bytes

ProgressCallback = Callable[[str, float, str], None]
CHUNK = 1 << 20
DISK_MARGIN_BYTES = 200 * 1024 * 1024  # room left for the OS and the hub's lock files


@dataclass
class RemoteFile:
    """A file of a hub repository: ``path`` inside it, ``size`` in bytes (``None`` if unlisted)."""

    path: str
    size: int | None = None
    sha256: str | None = None


@dataclass
class DownloadResult:
    """Where the model is (its snapshot folder) and what happened."""

    repo_id: str
    commit: str
    path: Path
    downloaded_bytes: int = 0
    reused_files: int = 0
    warnings: list[str] = field(default_factory=list)


def _offline_message(endpoint: str, reason: object) -> str:
    return (
        f"cannot reach the model hub at {endpoint} ({reason}): this computer seems offline or the hub is "
        "blocked; connect and retry (partial files are kept), set HF_ENDPOINT / --endpoint to a reachable "
        "mirror, or copy the model folder here and choose 'a local folder'"
    )


class HubClient:
    """HTTP access to one hub endpoint. ``token``: bearer token for gated models (default ``$HF_TOKEN``)."""

    def __init__(self, endpoint: str | None = None, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.endpoint = (endpoint or default_endpoint()).rstrip("/")
        self.token = token if token is not None else os.environ.get("HF_TOKEN") or None
        self.timeout_s = timeout_s

    def _open(self, url: str, headers: dict[str, str] | None = None):
        request = urllib.request.Request(url, headers={"User-Agent": "georsmllm-model-manager", **(headers or {})})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code == 416:
                raise
            if exc.code in (401, 403):
                raise ModelDownloadError(
                    f"the hub refused {url} (HTTP {exc.code}): the model is gated or private; accept its "
                    "licence on its page and set HF_TOKEN to an access token"
                ) from exc
            if exc.code == 404:
                raise ModelDownloadError(f"not found on the hub: {url} (HTTP 404); check the model id and revision") from exc
            raise ModelDownloadError(f"the hub answered HTTP {exc.code} for {url}; try again later") from exc
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            raise ModelDownloadError(_offline_message(self.endpoint, getattr(exc, "reason", exc))) from exc

    def list_files(self, repo_id: str, revision: str = "main") -> tuple[str, list[RemoteFile]]:
        """``(commit, files)`` of ``repo_id`` at ``revision``."""
        quoted = urllib.parse.quote(revision, safe="")
        url = f"{self.endpoint}/api/models/{check_repo_id(repo_id)}/revision/{quoted}?blobs=true"
        with self._open(url) as response:
            try:
                info = json.loads(response.read().decode("utf-8"))
            except ValueError as exc:
                raise ModelDownloadError(f"the hub at {self.endpoint} sent an unreadable file list for {repo_id}") from exc
        files = []
        for sibling in info.get("siblings") or []:
            lfs = sibling.get("lfs") or {}
            files.append(RemoteFile(sibling["rfilename"], sibling.get("size", lfs.get("size")), lfs.get("sha256")))
        return str(info.get("sha") or revision), files

    def file_url(self, repo_id: str, commit: str, path: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{commit}/{urllib.parse.quote(path)}"


def _matches(path: str, patterns) -> bool:
    from fnmatch import fnmatch

    return not patterns or any(fnmatch(path, p) for p in patterns)


def download_repo(
    repo_id: str,
    *,
    revision: str = "main",
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    allow_patterns=(),
    memory_gb: float | None = None,
    progress: ProgressCallback | None = None,
    cancel=None,
    timeout_s: float = 30.0,
) -> DownloadResult:
    """Download ``repo_id`` into the hub cache (default ``$HF_HUB_CACHE`` / ``~/.cache/huggingface/hub``).

    Finished files are kept, ``.incomplete`` ones continued. ``memory_gb``: what the model needs to run;
    more than this machine's RAM adds a warning (a GPU may still hold it). ``cancel``: an object with a
    ``cancelled`` attribute (e.g. ``envsetup.CancelToken``), checked between chunks.
    """
    progress = progress or (lambda step, fraction, line: None)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    client = HubClient(endpoint, token, timeout_s)
    commit, files = client.list_files(repo_id, revision)
    files = [f for f in files if _matches(f.path, allow_patterns)]
    if not files:
        raise ModelDownloadError(f"{repo_id} at {revision} lists no files to download")
    folder = repo_folder(cache, repo_id)
    snapshot = folder / "snapshots" / commit
    result = DownloadResult(repo_id, commit, snapshot)

    # checks first: what is left to fetch must fit on disk; memory is a warning only
    todo = []
    remaining = 0
    for f in files:
        target = snapshot / safe_relative(f.path)
        if target.is_file() and (f.size is None or target.stat().st_size == f.size):
            result.reused_files += 1
            continue
        todo.append((f, target))
        part = target.with_name(target.name + ".incomplete")
        have = part.stat().st_size if part.is_file() else 0
        remaining += max(0, (f.size or 0) - have)
    free = free_disk_bytes(cache)
    if free is not None and remaining + DISK_MARGIN_BYTES > free:
        raise ModelDownloadError(
            f"not enough free disk for {repo_id}: {remaining / 1e9:.2f} GB still to download, "
            f"{free / 1e9:.2f} GB free under {cache}; free some space or choose another cache folder"
        )
    ram = total_memory_bytes()
    if memory_gb and ram and memory_gb * 1e9 > ram:
        result.warnings.append(
            f"{repo_id} needs about {memory_gb:g} GB of memory to run and this computer has "
            f"{ram / 1e9:.1f} GB of RAM: it will only run on a GPU with enough memory, or not at all"
        )
    for w in result.warnings:
        progress("download", 0.0, "WARNING: " + w)

    total = sum((f.size or 0) for f, _ in todo) or 1
    done_bytes = [0]
    last = [0.0]

    def report(name: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - last[0] > 0.25:
            last[0] = now
            progress("download", min(1.0, done_bytes[0] / total), f"{name}: {done_bytes[0] / 1e6:.1f} of {total / 1e6:.1f} MB")

    for f, target in todo:
        if cancel is not None and cancel.cancelled:
            raise DownloadCancelled("download cancelled; partial files are kept and the next download continues")
        target.parent.mkdir(parents=True, exist_ok=True)
        fetched = _fetch_file(client, repo_id, commit, f, target, cancel, done_bytes, lambda path=f.path: report(path))
        result.downloaded_bytes += fetched
        report(f.path, force=True)
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / revision.replace("/", "--")).write_text(commit, encoding="utf-8")  # marks the download complete
    progress("download", 1.0, f"{repo_id}: complete in {snapshot}")
    return result


def _fetch_file(client: HubClient, repo_id, commit, remote: RemoteFile, target: Path, cancel, done_bytes, tick) -> int:
    """Fetch one file into ``target`` through ``target.incomplete``; returns the bytes fetched now."""
    part = target.with_name(target.name + ".incomplete")
    have = part.stat().st_size if part.is_file() else 0
    if remote.size is not None and have > remote.size:
        part.unlink()
        have = 0
    done_bytes[0] += have
    url = client.file_url(repo_id, commit, remote.path)
    fetched = 0
    if remote.size is None or have < remote.size:
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = client._open(url, headers)
        except urllib.error.HTTPError:  # 416: nothing past ``have``; start again cleanly
            part.unlink(missing_ok=True)
            done_bytes[0] -= have
            have = 0
            response = client._open(url)
        with response:
            status = getattr(response, "status", 200)
            if have and status != 206:  # the server ignored the range: start over
                done_bytes[0] -= have
                have = 0
            with open(part, "ab" if have else "wb") as out:
                while True:
                    if cancel is not None and cancel.cancelled:
                        raise DownloadCancelled(
                            "download cancelled; partial files are kept and the next download continues"
                        )
                    try:
                        chunk = response.read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, short bodies
                        raise ModelDownloadError(
                            _offline_message(client.endpoint, exc) + f" ({remote.path} stopped at {have + fetched} bytes)"
                        ) from exc
                    if not chunk:
                        break
                    out.write(chunk)
                    fetched += len(chunk)
                    done_bytes[0] += len(chunk)
                    tick()
    size = part.stat().st_size
    if remote.size is not None and size != remote.size:
        raise ModelDownloadError(
            f"{remote.path} of {repo_id} is {size} bytes, the hub lists {remote.size}; run the download again to continue"
        )
    if remote.sha256:
        digest = hashlib.sha256()
        with open(part, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        if digest.hexdigest() != remote.sha256:
            part.unlink()
            raise ModelDownloadError(
                f"{remote.path} of {repo_id} is damaged (SHA-256 mismatch) and was deleted; run the download again"
            )
    os.replace(part, target)
    return fetched


__all__ = ["DownloadResult", "HubClient", "RemoteFile", "download_repo"]
