"""Image chunks clients upload (``POST /v1/uploads``): PNG only, bounded, stored as GeoTIFFs that expire.

What a hostile page or client could do with an image decoder is bounded here, before any pixel is decoded:

* only PNG is decoded: the 8-byte signature and the ``IHDR`` chunk are checked by hand, then Pillow is told
  to try its PNG plugin and no other (an "image" in EPS would otherwise start Ghostscript);
* the pixel count is read from ``IHDR`` and refused above ``max_pixels`` (a 20 KB one-bit PNG can declare
  hundreds of millions of pixels: a decompression bomb);
* the GeoTIFF it becomes must fit both the work folder's cap and the disk's free space, checked before
  writing; a write that fails anyway (disk full, quota) removes its partial file.

Uploads live in ``<work>/uploads/<id>.tif``. They are deleted when every job that used them is forgotten,
or ``ttl_s`` after they were made if no queued or running job uses them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Bytes kept free on the disk beyond what an upload needs.
DISK_RESERVE_BYTES = 64 * 2**20


class UploadRefused(Exception):
    """An upload the server will not store; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    color_type: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def bands(self) -> int:
        """Bands of the GeoTIFF it becomes: RGBA for alpha or a palette (which may be transparent), else RGB."""
        return 4 if self.color_type in (3, 4, 6) else 3


def read_png_header(data: bytes) -> PngHeader:
    """The PNG's size from its ``IHDR`` chunk, without decoding anything; ``UploadRefused`` (422) when the
    bytes are not a PNG."""
    if data[:8] != PNG_SIGNATURE:
        kind = _guess_kind(data)
        raise UploadRefused(422, f"upload is not a PNG image{f' (it looks like {kind})' if kind else ''}: "
                                 "only PNG is accepted")
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise UploadRefused(422, "upload is not a readable PNG image: its IHDR chunk is missing or malformed")
    width, height, bit_depth, color_type = struct.unpack(">IIBB", data[16:26])
    if width == 0 or height == 0:
        raise UploadRefused(422, "upload PNG has no pixels")
    return PngHeader(width, height, bit_depth, color_type)


def _guess_kind(data: bytes) -> str:
    for magic, kind in ((b"%!PS", "PostScript/EPS"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"\xff\xd8\xff", "JPEG"),
                        (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"GIF8", "GIF"), (b"BM", "BMP"),
                        (b"RIFF", "RIFF/WebP"), (b"%PDF", "PDF")):
        if data.startswith(magic):
            return kind
    return ""


def folder_bytes(folder: Path) -> int:
    """Total size of the regular files under ``folder`` (symlinks not followed)."""
    total = 0
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class UploadStore:
    """Uploads in ``folder`` (inside the work folder ``work``, whose total size is capped at ``max_work_bytes``)."""

    def __init__(self, folder: Path, work: Path, *, max_pixels: int, max_work_bytes: int, ttl_s: float):
        self.folder = folder
        self.work = work
        self.max_pixels = max_pixels
        self.max_work_bytes = max_work_bytes
        self.ttl_s = ttl_s
        self._lock = threading.Lock()  # one store at a time: the room check and the write go together
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path | None:
        """The stored GeoTIFF of ``upload_id``, or ``None`` (unknown, expired, or not a plain id)."""
        if not upload_id.isalnum():
            return None
        path = self.folder / f"{upload_id}.tif"
        return path if path.is_file() else None

    def store(self, png: bytes, geotransform: Sequence[float], crs: str, *, in_use: Iterable[str] = ()) -> str:
        """Check, decode and store a PNG chunk as a georeferenced GeoTIFF; returns its id. Blocking (call
        from a worker thread). ``UploadRefused`` or ``ConfigError`` (bad CRS) when refused; a refused
        upload leaves no file behind."""
        from ..errors import ConfigError

        header = read_png_header(png)
        if header.pixels > self.max_pixels:
            raise UploadRefused(413, f"upload PNG of {header.width} x {header.height} pixels is over the server's "
                                     f"limit of {self.max_pixels:,} pixels: send smaller chunks")
        crs_obj = parse_crs(crs)
        if crs_obj is None:
            raise ConfigError(f"upload CRS {crs[:80]!r} is not recognised: give an authority code (EPSG:4326), "
                              "WKT, a PROJ string or PROJJSON")
        tiff = _encode_geotiff(_decode_png(png), geotransform, crs_obj)
        with self._lock:
            self.sweep(in_use)
            used = folder_bytes(self.work)
            if used + len(tiff) > self.max_work_bytes:
                raise UploadRefused(413, f"the server's work folder is full ({used / 2**20:.0f} MB of "
                                         f"{self.max_work_bytes / 2**20:.0f} MB; this upload needs "
                                         f"{len(tiff) / 2**20:.1f} MB): wait for jobs to be forgotten, or raise "
                                         "--max-work-mb")
            free = shutil.disk_usage(self.folder).free
            if len(tiff) + DISK_RESERVE_BYTES > free:
                raise UploadRefused(413, f"the server's disk has {free / 2**20:.0f} MB free, too little for this "
                                         f"upload ({len(tiff) / 2**20:.1f} MB): free some space")
            upload_id = uuid.uuid4().hex[:16]
            _write_file(tiff, self.folder / f"{upload_id}.tif")
        return upload_id

    def sweep(self, in_use: Iterable[str] = (), now: float | None = None) -> list[str]:
        """Delete uploads older than the time to live that no queued or running job uses (``in_use``), and
        partial files left by a crash. Returns the deleted ids."""
        now = time.time() if now is None else now
        keep = set(in_use)
        deleted = []
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return deleted
        for entry in entries:
            name = entry.name
            upload_id = name.split(".", 1)[0]
            try:
                old = now - entry.stat(follow_symlinks=False).st_mtime > self.ttl_s
            except OSError:
                continue
            if old and upload_id not in keep:
                _unlink(Path(entry.path))
                deleted.append(upload_id)
        return deleted

    def delete(self, upload_ids: Iterable[str]) -> None:
        for upload_id in upload_ids:
            path = self.path(upload_id)
            if path is not None:
                _unlink(path)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# What a CRS may be written as: an authority code (EPSG:32633, ESRI:102100, OGC:CRS84), WKT, a PROJ string or
# PROJJSON. GDAL would also take a URL (and fetch it: request forgery) or a file name (and read it).
_CRS_FORMS = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9_]*:[A-Za-z0-9_.]+\s*$|[A-Za-z][A-Za-z0-9_]*\s*\[|\+proj=|\{)")


def parse_crs(crs: str):
    """A rasterio CRS, or ``None`` when ``crs`` is not an accepted form or not a CRS GDAL knows."""
    from rasterio.crs import CRS

    if not _CRS_FORMS.match(crs) or "+init" in crs:
        return None
    try:
        return CRS.from_user_input(crs)
    except Exception:  # rasterio raises CRSError and, for odd input, others
        return None


def _decode_png(png: bytes):
    """The PNG's pixels as an ``(height, width, bands)`` uint8 array, RGB or RGBA. Pillow may try its PNG
    plugin only; its own bomb limit is lifted because the size was checked against ``max_pixels`` already."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
            image.load()
            return np.asarray(image.convert(mode))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise UploadRefused(422, f"upload is not a readable PNG image: {exc}") from None


def _encode_geotiff(array, geotransform: Sequence[float], crs_obj) -> bytes:
    """``array`` as the bytes of a DEFLATE-compressed GeoTIFF (built in memory, so that writing it to disk is
    one plain file write whose failure Python reports, rather than a GDAL flush that may fail silently)."""
    import numpy as np
    from affine import Affine
    from rasterio.enums import ColorInterp
    from rasterio.io import MemoryFile

    x0, dx, rx, y0, ry, dy = geotransform
    bands = array.shape[2]
    profile = {"driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": bands,
               "dtype": "uint8", "crs": crs_obj, "transform": Affine(dx, rx, x0, ry, dy, y0),
               "compress": "deflate", "predictor": 2, "tiled": True}
    with MemoryFile() as memory:
        with memory.open(**profile) as dst:
            dst.write(np.moveaxis(array, 2, 0))
            if bands == 4:
                dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        return memory.read()


def _write_file(data: bytes, path: Path) -> None:
    """Write ``data`` at ``path`` through a temporary name, synced; on any failure nothing is left."""
    tmp = path.with_name(path.stem + ".tmp.tif")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise UploadRefused(507, "the server could not store the upload "
                                 f"({exc.strerror or exc}: disk full or over quota?)") from None
    except BaseException:
        _unlink(tmp)
        raise
