"""Concurrency speed-up against a model server: the same detection run through ``OpenAIEngine`` with
``K`` requests in flight, and one at a time, against a loopback OpenAI-compatible server
(``fake_server.py``, its own process) that serves ``K`` requests at once with a fixed latency (more
queue). Speed-up = time(one at a time) / time(K in flight). Target: at least 0.8 * K (K = 4).

Each request carries the tile as a base64 PNG, as with a real server, so encoding, HTTP and JSON costs
are part of what is measured; the server parses the JSON but does not decode the image.

    .venv/bin/python bench/concurrency.py [--k 4] [--latency 0.5] [--size 3000] [--tile 512]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import print_header, server_stats, start_server, stop_server, verdict, write_synthetic_raster

from model_backend.engines.openai_engine import OpenAIEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline


def timed_run(raster: str, out: str, url: str, k: int, args) -> tuple[float, int, dict]:
    """One pipeline run with ``k`` in flight (pipeline and engine); returns (seconds, tiles, server stats)."""
    engine = OpenAIEngine(url, concurrency=k, read_timeout=60.0)
    config = RunConfig(raster=raster, instruction="[detection] buildings", output=out, engine="openai",
                       tile_size=args.tile, overlap=args.overlap, concurrency=k)
    pipeline = Pipeline(config, engine)
    engine.load()  # connect and list models before the clock starts, for both runs alike
    started = time.perf_counter()
    result = pipeline.run()
    seconds = time.perf_counter() - started
    engine.close()
    stats = server_stats(url)
    if result.warnings:
        print("warnings: " + "; ".join(result.warnings[:3]))
    return seconds, result.tiles_done, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=4, help="requests the server serves at once = pipeline concurrency")
    ap.add_argument("--latency", type=float, default=0.5, help="server seconds per request")
    ap.add_argument("--size", type=int, default=3000, help="raster side in pixels (square)")
    ap.add_argument("--tile", type=int, default=512, help="tile size, pixels")
    ap.add_argument("--overlap", type=int, default=64, help="tile overlap, pixels")
    args = ap.parse_args(argv)

    print_header("concurrency", vars(args))
    times = {}
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        raster = str(Path(tmp) / "scene.tif")
        facts = write_synthetic_raster(raster, args.size)
        print("raster: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
        for k in (1, args.k):
            proc, url = start_server(args.k, args.latency)
            try:
                seconds, tiles, stats = timed_run(raster, str(Path(tmp) / f"out_{k}.gpkg"), url, k, args)
            finally:
                stop_server(proc)
            ideal = math.ceil(tiles / k) * args.latency
            times[k] = seconds
            print(f"K={k}: {seconds:.2f} s for {tiles} tiles (server-time floor ceil({tiles}/{k}) * "
                  f"{args.latency:g} s = {ideal:.2f} s); server: served {stats['served']}, most in service "
                  f"at once {stats['max_in_service']}, most present at once {stats['max_present']}", flush=True)
    speedup = times[1] / times[args.k]
    target = 0.8 * args.k
    return verdict(f"concurrency K={args.k}", speedup >= target,
                   f"speed-up {times[1]:.2f} s / {times[args.k]:.2f} s = {speedup:.2f}x", f">= {target:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
