"""Several model servers at once: the same detection run through ``OpenAIEngine`` against one loopback
server, then against two, each serving ONE request at a time (``fake_server.py --slots 1``, own
processes, fixed latency). Target: two servers at least 1.8 times as fast as one. Then the two-server run
again with the second server's process terminated (SIGTERM) once a third of the tiles are done. Target:
every tile still done, with the same objects as the one-server run.

One server: 1 tile in flight. Two servers: 2 tiles in flight (``RunConfig.concurrency``), at most 1 per
server (``endpoint_concurrency``); the engine sends each request to the server with the fewest requests
outstanding, so each server always has one. Tiles travel as base64 PNG, as with a real server.

    .venv/bin/python bench/endpoints.py [--latency 0.5] [--size 3000] [--tile 512] [--overlap 64]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import print_header, server_stats, start_server, stop_server, verdict, write_synthetic_raster

from model_backend.engines.openai_engine import OpenAIEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline

TARGET = 1.8


def timed_run(raster: str, out: str, urls: list[str], args, stop_after: tuple[int, object] | None = None):
    """One pipeline run over ``urls`` (1 request in flight per server); returns (seconds, result, engine
    description). ``stop_after``: ``(tiles, process)``: terminate that server process once ``tiles`` are done."""
    engine = OpenAIEngine(urls, concurrency=1, read_timeout=60.0)
    config = RunConfig(raster=raster, instruction="[detection] buildings", output=out, engine="openai",
                       base_url=urls, tile_size=args.tile, overlap=args.overlap, concurrency=len(urls),
                       endpoint_concurrency=1)
    pipeline = Pipeline(config, engine)
    engine.load()  # connect and list models before the clock starts, for every run alike
    stopped: list[float] = []

    def on_event(event) -> None:
        if stop_after and event.kind == "tile" and event.tiles_done == stop_after[0] and not stopped:
            stopped.append(time.perf_counter())
            # off the pipeline's thread: waiting for the process to exit must not hold up the run
            threading.Thread(target=stop_server, args=(stop_after[1],)).start()

    started = time.perf_counter()
    result = pipeline.run(on_event=on_event)
    seconds = time.perf_counter() - started
    described = engine.describe()
    engine.close()
    if result.warnings:
        print("warnings: " + "; ".join(result.warnings[:3]))
    return seconds, result, described


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=0.5, help="server seconds per request")
    ap.add_argument("--size", type=int, default=3000, help="raster side in pixels (square)")
    ap.add_argument("--tile", type=int, default=512, help="tile size, pixels")
    ap.add_argument("--overlap", type=int, default=64, help="tile overlap, pixels")
    args = ap.parse_args(argv)

    print_header("endpoints", vars(args))
    status = 0
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        raster = str(Path(tmp) / "scene.tif")
        facts = write_synthetic_raster(raster, args.size)
        print("raster: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
        times, results = {}, {}
        for n in (1, 2):
            servers = [start_server(1, args.latency) for _ in range(n)]
            urls = [url for _, url in servers]
            try:
                times[n], results[n], _ = timed_run(raster, str(Path(tmp) / f"out_{n}.gpkg"), urls, args)
                served = [server_stats(url)["served"] for url in urls]
            finally:
                for proc, _ in servers:
                    stop_server(proc)
            tiles = results[n].tiles_done
            floor = math.ceil(tiles / n) * args.latency
            print(f"{n} server(s): {times[n]:.2f} s for {tiles} tiles (server-time floor ceil({tiles}/{n}) * "
                  f"{args.latency:g} s = {floor:.2f} s); requests served per server: {served}", flush=True)
        speedup = times[1] / times[2]
        status |= verdict("two servers", speedup >= TARGET,
                          f"speed-up {times[1]:.2f} s / {times[2]:.2f} s = {speedup:.2f}x", f">= {TARGET}x")

        servers = [start_server(1, args.latency) for _ in range(2)]
        urls = [url for _, url in servers]
        stop_at = max(1, results[1].tiles_done // 3)
        try:
            seconds, result, described = timed_run(raster, str(Path(tmp) / "out_stop.gpkg"), urls, args,
                                                    stop_after=(stop_at, servers[1][0]))
        finally:
            for proc, _ in servers:
                stop_server(proc)
        per_endpoint = [(e["served"], e["failed"], e["last_error"]) for e in described["endpoints"]]
        print(f"second server stopped after {stop_at} tiles: {seconds:.2f} s, tiles {result.tiles_done}/"
              f"{result.tiles_total}, partial={result.partial}; per server (answered incl. the load check, "
              f"failed, last error): {per_endpoint}", flush=True)
        same = (result.tiles_done == results[1].tiles_done and result.counts == results[1].counts
                and not result.partial)
        status |= verdict("one of two servers stopped mid-run", same,
                          f"{result.tiles_done} tiles done, objects {result.counts}",
                          f"every tile done as with one server: {results[1].tiles_done} tiles, "
                          f"objects {results[1].counts}")
    return status


if __name__ == "__main__":
    sys.exit(main())
