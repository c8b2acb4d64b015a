"""Uploads: PNG only (checked before Pillow sees a byte), bounded in pixels and disk, refused ones leave
nothing on disk, stored ones expire with their jobs or after their time to live."""

from __future__ import annotations

import base64
import io
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from PIL import Image

from model_backend.server import uploads as uploads_module
from model_backend.server.app import ServerSettings, create_app
from model_backend.server.uploads import UploadStore, read_png_header

GT = [500000.0, 2.0, 0.0, 4000000.0, 0.0, -2.0]


class FakeBackend:
    def describe(self):
        return {}

    def plan(self, request):
        return {}

    def job(self, request, job_dir: Path):
        return lambda emit, cancel: {}


def png_bytes(width=64, height=48, mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, len(mode)), np.uint8).squeeze(),
                    mode=mode).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A one-bit PNG declaring ``width`` x ``height`` pixels, all zero: a few KB that decode to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.fixture
def server(tmp_path):
    work = tmp_path / "work"
    app = create_app(FakeBackend(), ServerSettings(port=8765, token=None, work_dir=str(work),
                                                   allowed_dirs=[str(tmp_path)], max_upload_pixels=4_000_000,
                                                   max_work_mb=2.0))
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        yield client, work / "uploads"


def post(client, data: bytes, **extra):
    return client.post("/v1/uploads", json={"png_base64": base64.b64encode(data).decode(), "crs": "EPSG:32633",
                                            "geotransform": GT, **extra})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_png_is_stored_as_a_georeferenced_geotiff(server):
    client, folder = server
    response = post(client, png_bytes(mode="RGBA"))
    assert response.status_code == 201, response.text
    upload_id = response.json()["raster"].split(":", 1)[1]
    with rasterio.open(folder / f"{upload_id}.tif") as src:
        assert (src.width, src.height, src.count) == (64, 48, 4)
        assert src.transform.c == 500000 and src.crs.to_epsg() == 32633
    assert leftovers(folder) == [f"{upload_id}.tif"]


def _other_formats():
    def saved(fmt: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format=fmt)
        return buffer.getvalue()

    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(x) print quit\n"
    return {"EPS": eps, "JPEG": saved("JPEG"), "TIFF": saved("TIFF"), "GIF": saved("GIF"), "garbage": b"hello"}


@pytest.mark.parametrize("kind", sorted(_other_formats()))
def test_other_formats_are_refused_before_any_decoder_runs(server, kind, monkeypatch):
    client, folder = server
    opened = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or pytest.fail("Pillow was called"))
    response = post(client, _other_formats()[kind])
    assert response.status_code == 422 and "PNG" in response.json()["detail"]
    assert not opened and leftovers(folder) == []


def test_png_bomb_is_refused_from_its_header(server):
    client, folder = server
    bomb = bomb_png(22_000, 22_000)  # 484 million pixels in a few hundred KB
    assert len(bomb) < 200_000 and read_png_header(bomb).pixels == 484_000_000
    started = time.monotonic()
    response = post(client, bomb)
    assert response.status_code == 413 and "pixels" in response.json()["detail"]
    assert time.monotonic() - started < 2.0 and leftovers(folder) == []


def test_truncated_png_is_refused_and_leaves_nothing(server):
    client, folder = server
    data = png_bytes(200, 200)
    response = post(client, data[: len(data) // 2])
    assert response.status_code == 422 and leftovers(folder) == []


def test_work_folder_cap_and_full_disk_refuse_with_nothing_left(server, monkeypatch):
    client, folder = server
    noisy = png_bytes(900, 900)  # random pixels: ~2.4 MB compressed, over the 2 MB cap
    response = post(client, noisy)
    assert response.status_code == 413 and "work folder is full" in response.json()["detail"]
    assert leftovers(folder) == []
    usage = type("Usage", (), {"free": 10 * 2**20})
    monkeypatch.setattr(uploads_module.shutil, "disk_usage", lambda _p: usage)
    response = post(client, png_bytes(100, 100))
    assert response.status_code == 413 and "disk" in response.json()["detail"]
    assert leftovers(folder) == []


def test_a_write_that_fails_midway_leaves_no_temporary_file(server, monkeypatch):
    client, folder = server

    def failing_fsync(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads_module.os, "fsync", failing_fsync)
    response = post(client, png_bytes())
    assert response.status_code == 507 and "No space left" in response.json()["detail"]
    assert leftovers(folder) == []


def test_bad_crs_is_a_clear_400(server):
    client, folder = server
    response = post(client, png_bytes(), crs="EPSG:999999999")
    assert response.status_code == 400 and "CRS" in response.json()["detail"] and leftovers(folder) == []


def test_uploads_expire_after_their_time_unless_a_running_job_uses_them(tmp_path):
    store = UploadStore(tmp_path / "uploads", tmp_path, max_pixels=10**7, max_work_bytes=10**9, ttl_s=60)
    ids = [store.store(png_bytes(), GT, "EPSG:4326") for _ in range(3)]
    (tmp_path / "uploads" / "stale.tmp.tif").write_bytes(b"partial")
    old = time.time() - 120
    for name in [f"{ids[0]}.tif", f"{ids[1]}.tif", "stale.tmp.tif"]:
        os.utime(tmp_path / "uploads" / name, (old, old))
    deleted = store.sweep(in_use={ids[1]})
    assert sorted(deleted) == sorted([ids[0], "stale"])
    assert store.path(ids[0]) is None and store.path(ids[1]) and store.path(ids[2])


def test_uploads_go_with_the_jobs_that_used_them(tmp_path):
    app = create_app(FakeBackend(), ServerSettings(port=8765, work_dir=str(tmp_path / "work"), keep_jobs=0,
                                                   allowed_dirs=[str(tmp_path)]))
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        raster = post(client, png_bytes()).json()["raster"]
        first = client.post("/v1/jobs", json={"raster": raster, "instruction": "x"}).json()["id"]
        deadline = time.monotonic() + 10
        while client.get(f"/v1/jobs/{first}").json()["state"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        other = post(client, png_bytes()).json()["raster"]
        # the next submission forgets the finished job (keep_jobs=0), and its upload with it
        client.post("/v1/jobs", json={"raster": other, "instruction": "x"})
        assert client.post("/v1/jobs", json={"raster": raster, "instruction": "x"}).status_code == 404


def test_crs_given_as_a_url_or_file_is_refused_without_fetching_it(server, tmp_path):
    import socket

    client, folder = server
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/crs"
        for crs in (url, "/etc/hostname", "+init=epsg:4326"):
            response = post(client, png_bytes(), crs=crs)
            assert response.status_code == 400 and "CRS" in response.json()["detail"], crs
        with pytest.raises(OSError):  # nobody connected: GDAL was never asked to fetch the URL
            listener.accept()
    finally:
        listener.close()
    assert leftovers(folder) == []
