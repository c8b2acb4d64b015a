"""Shared pieces of the benchmark scripts: import path, synthetic rasters, machine facts, verdicts.

The scripts are run as ``.venv/bin/python bench/<name>.py`` from the repository root (the plugin
folder); importing this module puts that root on ``sys.path`` so ``model_backend`` imports.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from affine import Affine  # noqa: E402
from rasterio.windows import Window  # noqa: E402

#: UTM 18N, 0.5 m pixels: a plausible high-resolution scene (coordinates only matter for georeferencing)
BENCH_CRS = "EPSG:32618"
BENCH_TRANSFORM = Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4000000.0)


#: Fresh noise (0..3) added to every block written: without it a row of a striped file repeats the same
#: few block images within DEFLATE's 32 KB window and compresses (and decodes) unrealistically well.
_FRESH_NOISE = 3


def _block_variants(block: int, n: int, seed: int) -> list[np.ndarray]:
    """``n`` different (3, block, block) uint8 images: smooth fields, sensor-like noise and bright
    rectangles ("roofs"), so compression and reads cost about what a real scene costs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:block, 0:block].astype(np.float32)
    variants = []
    for v in range(n):
        base = 90.0 + 40.0 * np.sin(xx / (37 + 5 * v)) * np.cos(yy / (53 - 3 * v))
        img = np.stack([base + 10 * v, base * 0.9 + 20, base * 0.8 + 30])
        img = img + rng.normal(0.0, 2.5, img.shape)
        for _ in range(6):
            r, c = rng.integers(0, block - 40, 2)
            h, w = rng.integers(8, 40, 2)
            img[:, r : r + h, c : c + w] = rng.integers(180, 255)
        variants.append(np.clip(img, 0, 255 - _FRESH_NOISE).astype(np.uint8))
    return variants


def write_synthetic_raster(
    path: str | Path,
    side: int,
    *,
    block: int = 512,
    every: int = 1,
    seed: int = 0,
    compress: str = "deflate",
    tiled: bool = True,
) -> dict[str, Any]:
    """Write a ``side`` x ``side`` 3-band uint8 compressed GeoTIFF ``block`` x ``block`` pixels at a
    time (never whole in memory). ``tiled``: ``block`` px square tiles; otherwise strips as GDAL lays
    them out by default (one row per strip at these widths), the layout of many exported scenes.
    ``every``: write one block in ``every`` (the others stay sparse: absent from the file, read back as
    zeros, which are valid pixels since the file has no nodata). Returns facts about it."""
    variants = _block_variants(block, 8, seed)
    noise_rng = np.random.default_rng(seed + 1)
    started = time.perf_counter()
    written = 0
    profile = dict(
        driver="GTiff", width=side, height=side, count=3, dtype="uint8", tiled=tiled,
        compress=compress, photometric="RGB", crs=BENCH_CRS, transform=BENCH_TRANSFORM,
        sparse_ok=every > 1, BIGTIFF="IF_SAFER",
    )
    if tiled:
        profile.update(blockxsize=block, blockysize=block)
    with rasterio.open(path, "w", **profile) as ds:
        block_shape = ds.block_shapes[0]
        k = 0
        for row in range(0, side, block):
            h = min(block, side - row)
            # A striped file is written one full-width band of rows at a time, so every strip is
            # compressed once (a partly written strip flushed from the cache would be written twice).
            band = None if tiled else np.zeros((3, h, side), dtype=np.uint8)
            for col in range(0, side, block):
                k += 1
                if (k - 1) % every:
                    continue
                w = min(block, side - col)
                variant = variants[(row // block * 7 + col // block * 3) % len(variants)]
                variant = variant + noise_rng.integers(0, _FRESH_NOISE + 1, variant.shape, dtype=np.uint8)
                if band is None:
                    ds.write(variant[:, :h, :w], window=Window(col, row, w, h))
                else:
                    band[:, :, col : col + w] = variant[:, :h, :w]
                written += 1
            if band is not None:
                ds.write(band, window=Window(0, row, side, h))
    return {
        "path": str(path),
        "side_px": side,
        "layout": "tiled" if tiled else "striped",
        "gdal_block_hw": block_shape,
        "blocks_written": written,
        "blocks_total": k,
        "file_mb": round(os.path.getsize(path) / 1e6, 1),
        "write_s": round(time.perf_counter() - started, 1),
        "compress": compress,
    }


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": nproc,
        "cpu": cpu,
        "ram_gib": ram_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        # other work on a shared machine slows every figure: the 1/5/15-minute load averages say how much
        "load_avg": tuple(round(v, 2) for v in os.getloadavg()),
    }


def print_header(title: str, settings: dict[str, Any]) -> None:
    info = machine_info()
    print(f"== {title}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)


def verdict(name: str, ok: bool, figure: str, target: str) -> int:
    """Print ``PASS``/``FAIL`` for one target; return the exit status (0 on pass)."""
    print(f"{'PASS' if ok else 'FAIL'} {name}: {figure} (target {target})", flush=True)
    return 0 if ok else 1


def detection_answers(n: int = 7) -> list[str]:
    """``n`` GeoRSMLLM-dialect detection answers (0-1000 frame), 0 to n-1 boxes each, some near the
    tile edges so that neighbouring tiles' duplicates reach the merge."""
    rng = np.random.default_rng(11)
    answers = []
    for k in range(n):
        lines = []
        for _ in range(k):
            x, y = (int(v) for v in rng.integers(0, 940, 2))
            w, h = (int(v) for v in rng.integers(15, 60, 2))
            lines.append(f"<ref>building</ref>{{({x},{y}),({x + w},{y}),({x + w},{y + h}),({x},{y + h})}}")
        answers.append("\n".join(lines) if lines else "None")
    return answers


FAKE_SERVER = Path(__file__).resolve().parent / "fake_server.py"


def start_server(slots: int, latency: float) -> tuple[subprocess.Popen, str]:
    """Start ``fake_server.py`` in its own process (its work does not share our interpreter lock);
    returns the process and its ``/v1`` base URL once it listens."""
    proc = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), "--slots", str(slots), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"the benchmark server did not start (said {line!r})")
    return proc, line.split(" ", 1)[1]


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def server_stats(url: str) -> dict[str, Any]:
    """``fake_server.py``'s counters (``GET /stats``) for the server at base URL ``url``."""
    import json
    import urllib.request

    with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/stats", timeout=10) as response:
        return json.load(response)
