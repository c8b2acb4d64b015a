"""SAM2 call counts in a segmentation run: each tile whose answer holds segmentation targets is
encoded once and decoded in one batched call, whatever its number of targets; a tile without
targets costs no SAM2 call. Targets: image encodings per run == tiles with targets, decoder calls
per tile with targets == 1 (and == 0 for the others).

The engine is a ``ScriptedEngine`` whose answer depends on the pixels: every bright square in the tile
becomes a GeoRSMLLM ``[seg]`` target ``<ref>roof</ref><box>[x1,y1,x2,y2]</box><keypoint>[(x,y)]</keypoint>``
(0-1000 frame), so some tiles get several targets and others none. SAM2 is a random-weight SAM 2.1
tiny built offline (input 256 px by default): its masks mean nothing, only the calls are counted,
by the segmenter's own counters ``n_image_encodings`` and ``n_decoder_calls``.

    .venv/bin/python bench/sam2_calls.py [--sam-size 256] [--tile 256] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import BENCH_CRS, BENCH_TRANSFORM, print_header, verdict

import numpy as np
import rasterio
from rasterio import features

from model_backend.engines.base import EngineRequest
from model_backend.engines.scripted import ScriptedEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline

#: bright squares (col, row, side) in raster pixels: clustered so that some tiles hold several and
#: many hold none (a few straddle the tile overlaps and appear in two tiles)
SQUARES = [(40, 40, 30), (120, 90, 24), (180, 30, 20), (600, 100, 40), (660, 170, 16),
           (230, 520, 28), (900, 700, 36), (950, 640, 18), (1000, 780, 22), (470, 300, 30)]
WIDTH, HEIGHT = 1120, 896


def write_scene(path: Path) -> None:
    """A small dark, noisy scene with bright squares (the only pixels >= 250)."""
    rng = np.random.default_rng(3)
    data = rng.integers(30, 120, (3, HEIGHT, WIDTH), dtype=np.uint8)
    for col, row, side in SQUARES:
        data[:, row : row + side, col : col + side] = 255
    with rasterio.open(path, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=3, dtype="uint8",
                       crs=BENCH_CRS, transform=BENCH_TRANSFORM, photometric="RGB") as ds:
        ds.write(data)


def build_tiny_sam2(path: Path, image_size: int) -> None:
    """Save a random-weight SAM 2.1 tiny (official checkpoint layout ``{"model": state_dict}``)."""
    import torch
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None, device="cpu",
                       hydra_overrides_extra=[f"++model.image_size={image_size}"])
    torch.save({"model": model.state_dict()}, path)


class SquareTargets:
    """The scripted answer: one ``[seg]`` target per bright square in the image; records how many
    targets each request got."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets_per_request: list[int] = []

    def __call__(self, request: EngineRequest) -> str:
        image = request.images[0]
        h, w = image.shape[:2]
        bright = (image >= 250).all(axis=2)
        lines = []
        if bright.any():
            for geom, _ in features.shapes(bright.astype("uint8"), mask=bright, connectivity=8):
                xs = [x for ring in geom["coordinates"] for x, _ in ring]
                ys = [y for ring in geom["coordinates"] for _, y in ring]
                x1, x2 = round(min(xs) / w * 1000), round(max(xs) / w * 1000)
                y1, y2 = round(min(ys) / h * 1000), round(max(ys) / h * 1000)
                cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
                lines.append(f"<ref>roof</ref><box>[{x1},{y1},{x2},{y2}]</box><keypoint>[({cx},{cy})]</keypoint>")
        with self.lock:
            self.targets_per_request.append(len(lines))
        return "\n".join(lines) if lines else "None"


class CountingSegmenter:
    """Passes calls to a real segmenter and records, per ``segment`` call (one per tile with targets),
    the number of targets and how much its own encoding/decoder counters moved."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.per_call: list[tuple[int, int, int]] = []  # (targets, encodings, decoder calls)

    def load(self) -> None:
        self.inner.load()

    def segment(self, image_rgb, targets):
        with self.lock:  # the segmenter serialises anyway; this keeps the deltas per call exact
            enc0, dec0 = self.inner.n_image_encodings, self.inner.n_decoder_calls
            result = self.inner.segment(image_rgb, targets)
            self.per_call.append((len(targets), self.inner.n_image_encodings - enc0,
                                  self.inner.n_decoder_calls - dec0))
        return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sam-size", type=int, default=256, help="SAM2 input side, pixels (multiple of 16)")
    ap.add_argument("--tile", type=int, default=256, help="tile size, pixels")
    ap.add_argument("--overlap", type=int, default=32, help="tile overlap, pixels")
    ap.add_argument("--concurrency", type=int, default=2, help="tiles in flight")
    args = ap.parse_args(argv)

    from model_backend.segmenters import Sam2Segmenter

    print_header("sam2 calls", vars(args))
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        tmp_path = Path(tmp)
        write_scene(tmp_path / "scene.tif")
        build_tiny_sam2(tmp_path / "random_tiny.pt", args.sam_size)
        sam2 = Sam2Segmenter(tmp_path / "random_tiny.pt", size="tiny", image_size=args.sam_size, device="cpu")
        segmenter = CountingSegmenter(sam2)
        answers = SquareTargets()
        engine = ScriptedEngine(answers, history=0)
        config = RunConfig(raster=str(tmp_path / "scene.tif"), instruction="[seg] roofs",
                           output=str(tmp_path / "out.gpkg"), engine="scripted", tile_size=args.tile,
                           overlap=args.overlap, concurrency=args.concurrency)
        started = time.perf_counter()
        result = Pipeline(config, engine, segmenter=segmenter).run()
        seconds = time.perf_counter() - started
        sam2.close()

    per_request = answers.targets_per_request
    tiles_with = sum(1 for n in per_request if n > 0)
    calls_with = [c for c in segmenter.per_call if c[0] > 0]
    print(f"tiles: {result.tiles_done}/{result.tiles_total}, model calls: {engine.calls}, run {seconds:.1f} s, "
          f"layers written: {sorted(result.outputs.get('layers') or {})}, objects: {result.counts}")
    print(f"targets per tile (in answer order): {per_request}")
    print(f"tiles with targets: {tiles_with}; SAM2 image encodings: {sam2.n_image_encodings}; "
          f"SAM2 decoder calls: {sam2.n_decoder_calls}; segment() calls: {len(segmenter.per_call)}")
    print(f"per segment() call (targets, encodings, decoder calls): {segmenter.per_call}")
    status = verdict("sam2 encodings per run", sam2.n_image_encodings == tiles_with,
                     f"{sam2.n_image_encodings} encodings for {tiles_with} tiles with targets", "equal")
    empty_calls = [c for c in segmenter.per_call if c[0] == 0]
    per_tile_ok = (len(calls_with) == tiles_with
                   and all(enc == 1 and dec == 1 for _, enc, dec in calls_with)
                   and all(enc == 0 and dec == 0 for _, enc, dec in empty_calls))
    decoder_counts = sorted({dec for _, _, dec in calls_with})
    status |= verdict("sam2 decoder calls per tile", per_tile_ok and sam2.n_decoder_calls == tiles_with,
                      f"decoder calls per tile with targets: {decoder_counts} over {len(calls_with)} tiles; "
                      f"SAM2 work for tiles without targets: {sum(e + d for _, e, d in empty_calls)}",
                      "1 per tile with targets, 0 for the others")
    several = max(per_request, default=0)
    status |= verdict("several targets in one decoder call", several >= 2,
                      f"most targets in one tile: {several}", ">= 2 (the batching is exercised)")
    return status


if __name__ == "__main__":
    sys.exit(main())
