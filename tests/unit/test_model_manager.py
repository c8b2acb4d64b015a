"""The model manager: catalogue, and downloads against a LOCAL hub-like HTTP server on 127.0.0.1
(started by the test) with Range support, partial files, drop-outs, damage and an unreachable
endpoint. Nothing here touches the network."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from model_backend.models import (
    CATALOGUE,
    DownloadCancelled,
    ModelDownloadError,
    cached_snapshot,
    catalogue_lines,
    download_model,
    download_repo,
    find_model,
    local_path,
    repo_folder,
    resolve_entry,
)
from model_backend.models import download as download_mod
from model_backend.models.cli import add_models_parser, cmd_models
from model_backend.models.hubcache import default_cache_dir, safe_relative

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "tiny-org/tiny-model"


class FakeHub:
    """A hub-like server: ``/api/models/<repo>/revision/<rev>`` and ``/<repo>/resolve/<commit>/<file>``."""

    def __init__(self, files: dict[str, bytes], repo: str = REPO):
        self.files, self.repo = files, repo
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.drop_after: dict[str, int] = {}  # file -> bytes sent before the connection is cut
        self.ignore_range = False
        self.bad_sha: set[str] = set()
        self.extra_listing: list[dict] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append((self.path, self.headers.get("Range")))
                api = re.fullmatch(rf"/api/models/{re.escape(hub.repo)}/revision/([^?]+)\?blobs=true", self.path)
                if api:
                    siblings = []
                    for name, data in hub.files.items():
                        sha = hashlib.sha256(data + (b"x" if name in hub.bad_sha else b"")).hexdigest()
                        siblings.append({"rfilename": name, "size": len(data), "lfs": {"sha256": sha, "size": len(data)}})
                    body = json.dumps({"id": hub.repo, "sha": COMMIT, "siblings": siblings + hub.extra_listing}).encode()
                    return self._send(200, body, {"Content-Type": "application/json"})
                prefix = f"/{hub.repo}/resolve/{COMMIT}/"
                if not self.path.startswith(prefix) or self.path[len(prefix):] not in hub.files:
                    return self._send(404, b"not found")
                name = self.path[len(prefix):]
                data = hub.files[name]
                start = 0
                ranged = self.headers.get("Range")
                if ranged and not hub.ignore_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", ranged).group(1))
                    if start >= len(data):
                        return self._send(416, b"")
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = hub.drop_after.pop(name, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def _send(self, code, body, headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def file_requests(self):
        return [(p.rsplit("/", 1)[-1], r) for p, r in self.requests if "/resolve/" in p]


BIG = bytes(range(256)) * 4096 * 3  # 3 MiB: several read chunks
FILES = {"config.json": b'{"model_type": "tiny"}', "weights/model.safetensors": BIG}


@pytest.fixture()
def hub():
    server = FakeHub(dict(FILES))
    yield server
    server.close()


def _download(hub, cache, **kwargs):
    return download_repo(REPO, cache_dir=cache, endpoint=hub.endpoint, **kwargs)


def test_download_writes_the_hub_cache_layout_with_progress(hub, tmp_path):
    events = []
    result = _download(hub, tmp_path, progress=lambda s, f, line: events.append((f, line)))
    snapshot = repo_folder(tmp_path, REPO) / "snapshots" / COMMIT
    assert result.path == snapshot and result.commit == COMMIT
    assert (snapshot / "weights" / "model.safetensors").read_bytes() == BIG
    assert (snapshot / "config.json").read_bytes() == FILES["config.json"]
    assert (repo_folder(tmp_path, REPO) / "refs" / "main").read_text() == COMMIT
    assert cached_snapshot(tmp_path, REPO) == snapshot
    assert result.downloaded_bytes == len(BIG) + len(FILES["config.json"])
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert not list(snapshot.rglob("*.incomplete"))


def test_second_download_reuses_finished_files(hub, tmp_path):
    _download(hub, tmp_path)
    hub.requests.clear()
    result = _download(hub, tmp_path)
    assert result.reused_files == 2 and result.downloaded_bytes == 0
    assert hub.file_requests() == []


def test_a_dropped_connection_leaves_a_partial_file_that_the_next_run_continues(hub, tmp_path):
    hub.drop_after["weights/model.safetensors"] = 1_000_000
    with pytest.raises(ModelDownloadError, match="stopped at|run the download again"):
        _download(hub, tmp_path)
    part = repo_folder(tmp_path, REPO) / "snapshots" / COMMIT / "weights" / "model.safetensors.incomplete"
    kept = part.stat().st_size
    assert 0 < kept < len(BIG)
    hub.requests.clear()
    result = _download(hub, tmp_path)
    assert hub.file_requests() == [("model.safetensors", f"bytes={kept}-")]
    assert result.downloaded_bytes == len(BIG) - kept
    assert (result.path / "weights" / "model.safetensors").read_bytes() == BIG
    assert not part.exists()


def test_a_server_that_ignores_range_restarts_the_file_cleanly(hub, tmp_path):
    part = repo_folder(tmp_path, REPO) / "snapshots" / COMMIT / "weights" / "model.safetensors.incomplete"
    part.parent.mkdir(parents=True)
    part.write_bytes(BIG[:12345])
    hub.ignore_range = True
    result = _download(hub, tmp_path)
    assert ("model.safetensors", "bytes=12345-") in hub.file_requests()
    assert (result.path / "weights" / "model.safetensors").read_bytes() == BIG


class CancelAfter:
    """A cancel token that turns on after ``n`` checks (the downloader checks once per chunk)."""

    def __init__(self, n: int):
        self.n = n

    @property
    def cancelled(self) -> bool:
        self.n -= 1
        return self.n < 0


def test_cancel_keeps_the_partial_file_for_the_next_run(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(download_mod, "CHUNK", 256 * 1024)
    with pytest.raises(DownloadCancelled, match="partial files are kept"):
        _download(hub, tmp_path, cancel=CancelAfter(5))
    assert cached_snapshot(tmp_path, REPO) is None  # no refs/main: not marked complete
    parts = list(tmp_path.rglob("*.incomplete"))
    kept = parts[0].stat().st_size
    assert 0 < kept < len(BIG)
    hub.requests.clear()
    result = _download(hub, tmp_path)
    assert hub.file_requests() == [("model.safetensors", f"bytes={kept}-")]
    assert (result.path / "weights" / "model.safetensors").read_bytes() == BIG


def test_a_damaged_file_is_deleted_and_reported(hub, tmp_path):
    hub.bad_sha.add("weights/model.safetensors")
    with pytest.raises(ModelDownloadError, match="damaged .SHA-256 mismatch."):
        _download(hub, tmp_path)
    assert not list(tmp_path.rglob("model.safetensors*"))


def test_unreachable_endpoint_says_offline_and_what_to_do(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ModelDownloadError) as err:
        download_repo(REPO, cache_dir=tmp_path, endpoint=f"http://127.0.0.1:{port}", timeout_s=5)
    message = str(err.value)
    assert "cannot reach the model hub" in message and "offline" in message
    assert "HF_ENDPOINT" in message and "a local folder" in message


def test_unknown_repo_and_unsafe_names_are_refused(hub, tmp_path):
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        download_repo("tiny-org/other", cache_dir=tmp_path, endpoint=hub.endpoint)
    hub.extra_listing.append({"rfilename": "../../escape.txt", "size": 1})
    with pytest.raises(ModelDownloadError, match="unsafe file name"):
        _download(hub, tmp_path)
    assert not (tmp_path / "escape.txt").exists()
    with pytest.raises(ModelDownloadError, match="not a hub model id"):
        download_repo("no-slash", cache_dir=tmp_path, endpoint=hub.endpoint)
    assert safe_relative("a/b.json") == Path("a/b.json")


def test_free_disk_is_checked_before_anything_is_fetched(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(download_mod, "free_disk_bytes", lambda path: 1000)
    with pytest.raises(ModelDownloadError, match=r"not enough free disk.*GB still to download.*GB free under"):
        _download(hub, tmp_path)
    assert hub.file_requests() == []


def test_too_little_memory_is_a_warning(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(download_mod, "total_memory_bytes", lambda: 8 * 10**9)
    events = []
    result = _download(hub, tmp_path, memory_gb=16, progress=lambda s, f, line: events.append(line))
    assert len(result.warnings) == 1 and "about 16 GB of memory" in result.warnings[0] and "8.0 GB of RAM" in result.warnings[0]
    assert events[0].startswith("WARNING:")


def test_allow_patterns_limit_the_files(hub, tmp_path):
    result = _download(hub, tmp_path, allow_patterns=("*.json",))
    assert sorted(p.name for p in result.path.rglob("*") if p.is_file()) == ["config.json"]


# -- catalogue, paths, CLI ------------------------------------------------------------------

def test_catalogue_entries_are_complete_and_consistent_with_the_dialects():
    from model_backend.dialects import get_dialect

    ids = [e.id for e in CATALOGUE]
    assert len(ids) == len(set(ids))
    for wanted in ("georsmllm", "qwen2.5-vl-3b", "qwen2.5-vl-7b", "qwen3-vl-2b", "qwen3-vl-4b", "florence-2-base",
                   "florence-2-large", "internvl3-2b", "sam2.1-tiny", "sam2.1-large", "qwen2.5-1.5b-instruct",
                   "local", "server"):
        assert wanted in ids
    for e in CATALOGUE:
        assert e.licence and e.kind in ("vlm", "segmenter", "parser", "local", "server")
        if e.downloadable:
            assert e.size_gb and e.memory_gb and e.memory_gb >= e.size_gb * 0.9
        if e.dialect:
            assert set(e.tasks) <= {t.value for t in get_dialect(e.dialect).tasks}
    assert find_model("Qwen/Qwen2.5-VL-7B-Instruct").id == "qwen2.5-vl-7b"
    assert "approximate" in catalogue_lines()[0]
    adhoc = resolve_entry("someone/some-model")
    assert adhoc.repo_id == "someone/some-model" and "model card" in adhoc.licence


def test_download_model_refuses_entries_that_are_not_downloadable(tmp_path):
    with pytest.raises(ModelDownloadError, match="not downloaded by the manager"):
        download_model("server", cache_dir=tmp_path)
    from model_backend.errors import ConfigError

    with pytest.raises(ConfigError, match="not downloaded yet"):
        local_path("qwen3-vl-2b", cache_dir=tmp_path)


def test_default_cache_dir_follows_the_hub_variables(tmp_path):
    assert default_cache_dir({"HF_HUB_CACHE": "/c/hub"}) == Path("/c/hub")
    assert default_cache_dir({"HF_HOME": "/h"}) == Path("/h/hub")
    assert default_cache_dir({}, home="/home/me") == Path("/home/me/.cache/huggingface/hub")


def _models_args(*argv):
    parser = argparse.ArgumentParser()
    add_models_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["models", *argv])


def test_cli_list_and_download(hub, tmp_path, capsys):
    assert cmd_models(_models_args("list")) == 0
    assert "qwen2.5-vl-7b" in capsys.readouterr().out
    code = cmd_models(_models_args("download", REPO, "--endpoint", hub.endpoint, "--cache-dir", str(tmp_path), "-q"))
    assert code == 0
    assert f"downloaded {REPO}@{COMMIT[:12]}" in capsys.readouterr().out
    code = cmd_models(_models_args("download", "tiny-org/missing", "--endpoint", hub.endpoint, "--cache-dir", str(tmp_path)))
    assert code == 1
    assert "HTTP 404" in capsys.readouterr().err


# -- a real tiny checkpoint: downloaded from the local hub, then loaded once ------------------------

@pytest.mark.slow
def test_download_then_check_loads_a_tiny_checkpoint(tmp_path, capsys):
    from tests.helpers.tiny_models import build_llava_onevision

    from model_backend.models import check_model

    entry = find_model("llava-onevision-0.5b")
    source = build_llava_onevision(tmp_path / "src")
    files = {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
    server = FakeHub(files, repo=entry.repo_id)  # the catalogue's hub id, served locally
    try:
        result = download_model(entry.id, cache_dir=tmp_path / "cache", endpoint=server.endpoint)
    finally:
        server.close()
    assert local_path(entry.id, cache_dir=tmp_path / "cache") == result.path
    code = cmd_models(_models_args("check", entry.id, "--cache-dir", str(tmp_path / "cache")))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"loaded {result.path}" in out.out and "device=cpu" in out.out
    (result.path / "config.json").write_text("{}")
    broken = check_model(str(result.path), device="cpu")
    assert not broken.ok and "model type" in broken.message
