"""Peak memory of a detection run over a 40,000 x 40,000 raster: the run happens in a child process
whose peak resident set size (``getrusage(RUSAGE_CHILDREN).ru_maxrss``) is read once it exits.
Target: under 1 GB (10^9 bytes).

The raster is a tiled, DEFLATE-compressed 3-band uint8 GeoTIFF written block by block (``--every N``
writes one block in N and leaves the rest sparse). The engine is a ``ScriptedEngine`` with ~0 latency
answering 0 to 6 boxes per tile, keeping no request history (a test engine's history would hold every
tile image and measure the benchmark, not the pipeline). The pipeline bounds GDAL's block cache for the
run (``RunConfig.gdal_cache_mb``, default 128 MB); GDAL's own default, 5 % of RAM, alone broke the target.

    .venv/bin/python bench/memory.py [--size 40000] [--rows-fraction 1.0] [--every 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import detection_answers, print_header, verdict, write_synthetic_raster

TARGET_BYTES = 10**9


def rss_mib() -> float:
    """Current resident set size of this process, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(args) -> int:
    """The measured run (in its own process)."""
    import rasterio

    from model_backend.engines.scripted import ScriptedEngine
    from model_backend.pipeline.config import RunConfig
    from model_backend.pipeline.runner import Pipeline

    aoi = None
    if args.rows_fraction < 1.0:
        with rasterio.open(args.raster) as ds:  # the top rows_fraction of the raster, in its CRS
            left, bottom, right, top = ds.bounds
        aoi = (left, top - (top - bottom) * args.rows_fraction, right, top)
    engine = ScriptedEngine(detection_answers(), latency=args.latency, history=0)
    config = RunConfig(raster=args.raster, instruction="[detection] buildings", output=args.out,
                       engine="scripted", tile_size=args.tile, overlap=args.overlap,
                       concurrency=args.concurrency)
    samples: list[tuple[int, float]] = []

    def on_event(event) -> None:
        done, total = event.tiles_done, event.tiles_total
        if event.kind == "tile" and total and (done % max(1, total // 8) == 0 or done == total):
            samples.append((done, round(rss_mib(), 1)))

    rss_before = rss_mib()
    started = time.perf_counter()
    result = Pipeline(config, engine, aoi_bounds=aoi).run(on_event=on_event)
    print(json.dumps({
        "tiles_done": result.tiles_done, "tiles_total": result.tiles_total, "calls": engine.calls,
        "objects": sum(result.counts.values()), "run_s": round(time.perf_counter() - started, 1),
        "rss_mib_before_run": round(rss_before, 1), "rss_mib_by_tile": samples,
        "rss_mib_end": round(rss_mib(), 1),
        "own_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=40_000, help="raster side in pixels (square)")
    ap.add_argument("--every", type=int, default=1, help="write one block in N (1: dense file)")
    ap.add_argument("--rows-fraction", type=float, default=1.0, help="run over this top fraction of the rows")
    ap.add_argument("--tile", type=int, default=1024, help="tile size, pixels")
    ap.add_argument("--overlap", type=int, default=128, help="tile overlap, pixels")
    ap.add_argument("--concurrency", type=int, default=2, help="requests in flight")
    ap.add_argument("--latency", type=float, default=0.0, help="engine latency per call, seconds")
    ap.add_argument("--raster", help="use this raster instead of writing a synthetic one")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    if not 0.0 < args.rows_fraction <= 1.0:
        ap.error("--rows-fraction must be in (0, 1]")

    print_header("memory", {**vars(args), "GDAL_CACHEMAX": os.environ.get("GDAL_CACHEMAX", "(default)")})
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        raster = args.raster
        if raster is None:
            raster = str(Path(tmp) / "huge.tif")
            facts = write_synthetic_raster(raster, args.size, every=args.every)
            print("raster: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
        command = [sys.executable, __file__, "--child", "--raster", raster, "--out", str(Path(tmp) / "out.gpkg"),
                   "--rows-fraction", str(args.rows_fraction), "--tile", str(args.tile),
                   "--overlap", str(args.overlap), "--concurrency", str(args.concurrency),
                   "--latency", str(args.latency)]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        peak_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    if done.returncode != 0:
        print(done.stdout)
        return verdict("memory", False, f"the run failed with exit status {done.returncode}", "a finished run")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("run: " + ", ".join(f"{k}={v}" for k, v in report.items()))
    complete = report["tiles_done"] == report["tiles_total"]
    figure = (f"peak RSS {peak_bytes / 1e6:.0f} MB ({peak_bytes / 2**20:.0f} MiB) over "
              f"{report['tiles_done']}/{report['tiles_total']} tiles")
    return verdict("memory", complete and peak_bytes < TARGET_BYTES, figure, "< 1000 MB")


if __name__ == "__main__":
    sys.exit(main())
