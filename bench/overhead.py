"""Pipeline overhead: end-to-end time of a detection run over a large raster divided by the time the
engine alone needs. Target: at most 1.05.

The engine is a ``ScriptedEngine`` with a fixed ``latency`` that lets concurrent requests wait in
parallel (like a batching server), answering GeoRSMLLM-dialect boxes (0 to 6 per tile). With ``N``
model calls, latency ``L`` and ``K`` requests allowed in flight (``RunConfig.concurrency``), no
scheduler can finish sooner than ``ceil(N / K) * L``: that is the *engine time*. Everything above it
(opening and sampling the raster, reading and converting tiles, parsing, merging, georeferencing,
live display features, checkpoints and the final GeoPackage) is pipeline overhead.

    .venv/bin/python bench/overhead.py [--size 10000] [--latency 1.0] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import detection_answers, print_header, verdict, write_synthetic_raster

from model_backend.engines.scripted import ScriptedEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline

TARGET = 1.05


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=10_000, help="raster side in pixels (square)")
    ap.add_argument("--latency", type=float, default=1.0, help="engine latency per call, seconds")
    ap.add_argument("--concurrency", type=int, default=2, help="requests in flight (RunConfig.concurrency)")
    ap.add_argument("--tile", type=int, default=1024, help="tile size, pixels")
    ap.add_argument("--overlap", type=int, default=128, help="tile overlap, pixels")
    ap.add_argument("--raster", help="use this raster instead of writing a synthetic one")
    args = ap.parse_args(argv)

    print_header("overhead", vars(args))
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        raster = args.raster
        if raster is None:
            raster = str(Path(tmp) / "scene.tif")
            facts = write_synthetic_raster(raster, args.size)
            print("raster: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
        engine = ScriptedEngine(detection_answers(), latency=args.latency, history=0)
        config = RunConfig(
            raster=raster, instruction="[detection] buildings", output=str(Path(tmp) / "out.gpkg"),
            engine="scripted", tile_size=args.tile, overlap=args.overlap, concurrency=args.concurrency,
        )
        events = []
        started = time.perf_counter()
        result = Pipeline(config, engine).run(on_event=lambda e: events.append(e.kind))
        wall_s = time.perf_counter() - started

    calls = engine.calls
    rounds = math.ceil(calls / args.concurrency)
    engine_s = rounds * args.latency
    print(f"tiles: {result.tiles_done}/{result.tiles_total}, model calls: {calls}, objects kept: "
          f"{sum(result.counts.values())}, events: {len(events)}")
    print(f"engine time = ceil(calls / K) * latency = ceil({calls} / {args.concurrency}) * {args.latency:g} s "
          f"= {engine_s:.2f} s (calls * latency / K = {calls * args.latency / args.concurrency:.2f} s)")
    print(f"end-to-end time: {wall_s:.2f} s (RunResult.elapsed_s {result.elapsed_s:.2f} s)")
    ratio = wall_s / engine_s if engine_s > 0 else float("inf")
    ok = calls == result.tiles_total and ratio <= TARGET
    if calls != result.tiles_total:
        print(f"unexpected: {calls} model calls for {result.tiles_total} tiles (one call per tile expected)")
    return verdict("overhead", ok, f"end-to-end / engine time = {ratio:.3f}", f"<= {TARGET}")


if __name__ == "__main__":
    sys.exit(main())
