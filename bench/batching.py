"""Batched local generation on the CPU: four requests answered by one batched ``generate`` call
(``TransformersEngine.generate_many``, ``max_batch`` 4) against the same four answered one call at a time,
with tiny random-weight checkpoints built offline (``tests/helpers/tiny_models.py``: LLaVA-OneVision and
Qwen2.5-VL, a few MB). Target: the batched answers are the single answers, token for token (greedy). The
time ratio is printed as a figure without a target: on a tiny model it shows the per-call overhead a
batch shares, not what a real model gains on a GPU (see ``bench/gpu.py`` for that).

Images differ in size (each request keeps its own), prompts in length; ``--tokens`` new tokens each
(random weights seldom stop earlier). Timing: ``--repeat`` rounds, the median of each way, with
``--threads`` torch threads (default 1: on a small shared machine two OpenMP threads spin against other
processes and one tiny-model step then swings from 10 to 100 ms; one thread measures the work itself).

    .venv/bin/python bench/batching.py [--tokens 32] [--repeat 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# importing _common first puts the repository root on sys.path
from _common import print_header, verdict

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tiny checkpoints are local folders: never ask the hub

from model_backend.engines import EngineRequest, get_engine
from tests.helpers import tiny_models

FAMILIES = {"llava_onevision": tiny_models.build_llava_onevision, "qwen2_5_vl": tiny_models.build_qwen2_5_vl}
SIZES = [(60, 90), (120, 56), (56, 56), (100, 150)]  # (height, width) px of the four requests' images
PROMPTS = ["[detection] plane", "[vqa] is there a ship in the harbour near the bridge", "[caption]",
           "[detection] storage tank"]


def requests(tokens: int) -> list[EngineRequest]:
    rng = np.random.default_rng(0)
    return [EngineRequest(p, images=[rng.integers(0, 256, (h, w, 3), dtype=np.uint8)], max_new_tokens=tokens)
            for p, (h, w) in zip(PROMPTS, SIZES)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=32, help="max_new_tokens per request")
    ap.add_argument("--repeat", type=int, default=5, help="timing rounds (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args(argv)

    import torch
    import transformers

    torch.set_num_threads(args.threads)

    print_header("batching (CPU, tiny models)", {**vars(args), "torch": torch.__version__,
                                                   "transformers": transformers.__version__,
                                                   "torch_threads": torch.get_num_threads()})
    status = 0
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        for family, build in FAMILIES.items():
            folder = build(Path(tmp) / family)
            engine = get_engine("transformers", model=str(folder), device="cpu", max_batch=4)
            engine.load()
            batch = requests(args.tokens)
            engine.generate_many(batch)  # warm-up: first-call allocations and lazy initialisation
            single_s, batched_s = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                singles = [engine.generate(r) for r in batch]
                single_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                together = engine.generate_many(batch)
                batched_s.append(time.perf_counter() - started)
            engine.close()
            same = all(a.text == b.text and len(a.tokens) == len(b.tokens) for a, b in zip(singles, together))
            prob_gap = max(abs(x.prob - y.prob) for a, b in zip(singles, together) for x, y in zip(a.tokens, b.tokens))
            t1, t4 = statistics.median(single_s), statistics.median(batched_s)
            tokens = [r.info["generated_tokens"] for r in singles]
            print(f"{family}: 4 single calls {t1 * 1000:.0f} ms (rounds: {[round(t * 1000) for t in single_s]}), "
                  f"one batch of 4 {t4 * 1000:.0f} ms (rounds: {[round(t * 1000) for t in batched_s]}); "
                  f"speed-up {t1 / t4:.2f}x; tokens generated {tokens}; batch sizes "
                  f"{[r.info['batch_size'] for r in together]}; largest token-probability difference "
                  f"{prob_gap:.1e}", flush=True)
            status |= verdict(f"{family} batched answers", same and all(r.info["batch_size"] == 4 for r in together),
                              "identical to the single answers" if same else "DIFFERENT from the single answers",
                              "identical texts (greedy)")
    return status


if __name__ == "__main__":
    sys.exit(main())
