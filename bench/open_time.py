"""Opening cost of a large raster: ``open_raster`` (validation, band choice, the nodata check and the
statistics sample) on a striped (untiled) and a tiled compressed GeoTIFF. Target: each open within
1 s, whatever the layout.

Both rasters are ``--size`` x ``--size`` 3-band uint8 DEFLATE GeoTIFFs without overviews (the
costliest case: nothing decimated to read from). The striped one has GDAL's default layout at that
width, one row per strip, so any read decodes whole raster rows; the tiled one has 512 px tiles.
Each open runs inside the block cache a pipeline run sets (``RunConfig.gdal_cache_mb``), ``--repeat``
times (the median is judged; the files were just written, so they are in the OS page cache: this
measures decoding, not the disk). "cached" is what GDAL's block cache holds right after an open under a
cache large enough to keep everything: the blocks the open decompressed (plus GDAL's mask blocks).

    .venv/bin/python bench/open_time.py [--size 20000] [--repeat 3] [--raster-striped F --raster-tiled F]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import print_header, verdict, write_synthetic_raster

import rasterio

from model_backend.pipeline.config import RunConfig
from model_backend.raster import open_raster
from model_backend.raster.gdal_cache import cache_bytes, cache_state

TARGET_S = 1.0
#: a cache big enough that nothing an open decodes is evicted before it is counted
_COUNTING_CACHE_MIB = 4096


def measure(path: str, repeat: int) -> dict:
    """Open times (s) under the pipeline's cache, and the MB of blocks one open leaves in the cache."""
    run_cache = cache_bytes(RunConfig().gdal_cache_mb)
    times = []
    for _ in range(repeat):
        with rasterio.Env(GDAL_CACHEMAX=run_cache):
            started = time.perf_counter()
            source = open_raster(path)
            times.append(time.perf_counter() - started)
            how = source.sample_how
            source.close()
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes(_COUNTING_CACHE_MIB)):
        source = open_raster(path)
        state = cache_state()
        source.close()
    return {
        "open_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "cached_mb": None if state is None else round(state.used_bytes / 1e6, 1),
        "sample": how,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20_000, help="raster side in pixels (square)")
    ap.add_argument("--repeat", type=int, default=3, help="opens per raster (the median is judged)")
    ap.add_argument("--raster-striped", help="use this striped raster instead of writing one")
    ap.add_argument("--raster-tiled", help="use this tiled raster instead of writing one")
    args = ap.parse_args(argv)

    print_header("open time", {**vars(args), "gdal_cache_mb": RunConfig().gdal_cache_mb})
    status = 0
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        for layout, given in (("striped", args.raster_striped), ("tiled", args.raster_tiled)):
            path = given
            if path is None:
                path = str(Path(tmp) / f"{layout}.tif")
                facts = write_synthetic_raster(path, args.size, tiled=layout == "tiled")
                print("raster: " + ", ".join(f"{k}={v}" for k, v in facts.items()), flush=True)
            report = measure(path, args.repeat)
            print(f"{layout}: " + ", ".join(f"{k}={v}" for k, v in report.items()), flush=True)
            status |= verdict(f"open {layout}", report["median_s"] <= TARGET_S,
                              f"median open {report['median_s']:.3f} s, {report['cached_mb']} MB of blocks cached",
                              f"<= {TARGET_S:g} s")
            if given is None:
                Path(path).unlink()  # free the disk before writing the next one
    return status


if __name__ == "__main__":
    sys.exit(main())
