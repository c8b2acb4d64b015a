"""Refining an object by clicking (``pipeline.reprompt``): seconds from the request's clicks to the new outline
in map coordinates, with the tile's SAM2 encoding kept (the usual case: the run, or an earlier click, encoded
it) and with it evicted (the tile is read and encoded again). Target: a kept encoding answers in under a
second on a CPU with SAM 2.1 tiny.

What is timed is ``reprompt`` itself, everything the server does for ``POST /v1/refine`` but the HTTP
exchange (loopback, milliseconds): open the raster, find the run's tile, read it, encode it (evicted case
only), decode one prompt (a positive point, a negative one, and the box from the feature), pick the outline,
map it back and measure it. SAM2 is SAM 2.1 tiny with random weights built on the spot (its speed is the real
model's; its masks mean nothing), at its real 1024 px input unless ``--sam-size`` says otherwise.

    .venv/bin/python bench/refine_latency.py [--sam-size 1024] [--tile 768] [--overlap 96] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import ROOT, print_header, verdict

import rasterio
import shapely

from model_backend.pipeline.reprompt import Clicks, RunFrame, reprompt
from model_backend.segmenters import EncodingCache, Sam2Segmenter

RASTER = ROOT / "tests" / "data" / "naip_2020.tif"
TARGET_S = 1.0


def build_segmenter(folder: Path, size: int) -> Sam2Segmenter:
    import torch
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None, device="cpu",
                       hydra_overrides_extra=[f"++model.image_size={size}"])
    checkpoint = folder / "sam2_tiny_random.pt"
    torch.save({"model": model.state_dict()}, checkpoint)
    segmenter = Sam2Segmenter(checkpoint, size="tiny", image_size=size, device="cpu")
    segmenter.load()
    segmenter.encodings = EncodingCache()
    return segmenter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sam-size", type=int, default=1024, help="SAM2 input side in pixels")
    parser.add_argument("--tile", type=int, default=768, help="the run's tile size (pixels sent)")
    parser.add_argument("--overlap", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--raster", default=str(RASTER))
    args = parser.parse_args(argv)
    import torch

    print_header("refine latency (pipeline.reprompt, CPU)", {**vars(args), "torch_threads": torch.get_num_threads()})
    with tempfile.TemporaryDirectory() as tmp:
        segmenter = build_segmenter(Path(tmp), args.sam_size)
        frame = RunFrame(raster=args.raster, tile_size=args.tile, overlap=args.overlap, task="seg")
        with rasterio.open(args.raster) as src:
            transform = src.transform
        # an object of 60 x 40 px in the first tile, a point inside it and one beside it
        (x0, y0), (x1, y1) = transform @ (200, 240), transform @ (260, 200)
        feature = shapely.box(x0, y0, x1, y1)
        clicks = Clicks(points=(transform @ (230, 220), transform @ (270, 220)), labels=(1, 0))

        def once() -> tuple[float, bool]:
            started = time.perf_counter()
            out = reprompt(segmenter, frame, feature, clicks)
            return time.perf_counter() - started, out.reused_encoding

        once()  # warm up (first calls allocate)
        evicted, cached = [], []
        for _ in range(args.repeats):
            segmenter.encodings.clear()
            seconds, reused = once()
            assert not reused
            evicted.append(seconds)
            seconds, reused = once()
            assert reused
            cached.append(seconds)
    kept, again = statistics.median(cached), statistics.median(evicted)
    print(f"kept encoding:    median {kept:.3f} s (min {min(cached):.3f}, max {max(cached):.3f})")
    print(f"encoded again:    median {again:.3f} s (min {min(evicted):.3f}, max {max(evicted):.3f})")
    return verdict("refine with a kept encoding", kept < TARGET_S, f"{kept:.3f} s", f"< {TARGET_S:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
