"""GPU throughput: tiles per second through the transformers engine for real-size Qwen2.5-VL models, and
SAM2 image encodings and decoder calls per second through the torch and ONNX Runtime segmenters.

Nothing is downloaded: each model is built from its configuration, written here, with random weights
(Qwen2.5-VL-3B and -7B shapes as published in their config.json files; SAM 2.1 tiny and large from the
sam2 package's own configs). Random weights make the answers meaningless but cost what real weights
cost per token; the prompt tokenizer is a small one trained on the spot (the model's vocabulary and
output layer keep their full size). Every request asks for ``--tokens`` new tokens; the tokens really
generated are reported (a random model seldom stops early).

Transformers engine: for each model, tile size (``--tiles``, px, square random images sent as the
qwen2.5-vl dialect frames them) and batch size (``--batches``): one warm-up batch, then ``--rounds``
batches of that many tiles through ``TransformersEngine.generate_many`` with ``max_batch`` = the batch
size; tiles/s = tiles / seconds, median round. A batch the engine had to split (out of memory) is
reported as such. SAM2: ``--sam-images`` encodings of a 1024 px image (``_encode``), and as many
decoder calls with ``--targets`` boxes plus keypoints each (``_decode``), per segmenter; the ONNX export
runs first (on the CPU, as ``segmenters.export`` does) and the ONNX segmenter reports the execution
provider it runs on (CUDA with onnxruntime-gpu installed; otherwise the CPU, and the figure says so).

Needs a CUDA GPU and refuses to run without one. ``--smoke`` runs a tiny version on the CPU (a small
Qwen2.5-VL shape, SAM2 tiny at 256 px) to check that the script works, not to measure anything.

    .venv/bin/python bench/gpu.py [--models 3b,7b] [--tiles 512,1024] [--batches 1,4,8] [--tokens 64]
                                  [--rounds 3] [--sam tiny,large] [--no-onnx] [--json FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# importing _common first puts the repository root on sys.path
from _common import print_header

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built here: never ask the hub

from tests.helpers import tiny_models

# Qwen2.5-VL shapes: Qwen/Qwen2.5-VL-3B-Instruct and -7B-Instruct config.json (text model and ViT).
_QWEN25_VIT = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, patch_size=14,
                   spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31])
QWEN25_VL_SHAPES: dict[str, dict[str, Any]] = {
    "3b": dict(text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
               vision=dict(_QWEN25_VIT, out_hidden_size=2048), mrope=[16, 24, 24]),
    "7b": dict(text=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                         num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
               vision=dict(_QWEN25_VIT, out_hidden_size=3584), mrope=[16, 24, 24]),
    # --smoke: the tiny shape of tests/helpers/tiny_models.py
    "smoke": dict(text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, vocab_size=None, tie_word_embeddings=True),
                  vision=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                              window_size=56, fullatt_block_indexes=[0]), mrope=[2, 3, 3]),
}
SAM2_CONFIGS = {"tiny": "configs/sam2.1/sam2.1_hiera_t.yaml", "large": "configs/sam2.1/sam2.1_hiera_l.yaml"}


def build_qwen25_vl(shape: str, device: str, dtype):
    """A random-weight Qwen2.5-VL of ``shape`` on ``device`` and a processor whose image settings are the
    qwen2.5-vl dialect's (so the dialect's frame is what the model sees)."""
    import torch
    import transformers as tf

    spec = QWEN25_VL_SHAPES[shape]
    tok = tiny_models.build_tokenizer(tiny_models._QWEN_SPECIAL, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                      clean_up_tokenization_spaces=False)
    text = dict(spec["text"], vocab_size=spec["text"]["vocab_size"] or len(tok), max_position_embeddings=32768,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": spec["mrope"]})
    config = tf.Qwen2_5_VLConfig(vision_config=spec["vision"], text_config=text,
                                 tie_word_embeddings=text["tie_word_embeddings"], **tiny_models._qwen_vl_ids(tok))
    torch.manual_seed(0)
    with torch.device(device):
        model = tf.Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
    if shape == "smoke":
        image_processor = tiny_models._qwen_image_processor(tf.Qwen2VLImageProcessor)
    else:  # the qwen2.5-vl dialect's limits (dialects/qwen.py): its frame is then the identity resize
        image_processor = tf.Qwen2VLImageProcessor(size={"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280},
                                                   patch_size=14, merge_size=2, temporal_patch_size=2)
    processor = tf.Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tok,
                                       video_processor=tf.Qwen2VLVideoProcessor(),
                                       chat_template=tiny_models.chat_template(tiny_models._QWEN_IMAGE))
    return model.eval(), processor


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def bench_engine(shape: str, tiles: list[int], batches: list[int], args, device: str) -> list[dict]:
    import torch

    from model_backend.engines import EngineRequest
    from model_backend.engines.transformers_engine import TransformersEngine

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    started = time.perf_counter()
    model, processor = build_qwen25_vl(shape, device, dtype)
    params = sum(p.numel() for p in model.parameters())
    print(f"qwen2.5-vl {shape}: {params / 1e9:.2f} B parameters ({dtype}), built in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    rng = np.random.default_rng(0)
    rows = []
    for tile in tiles:
        images = [rng.integers(0, 256, (tile, tile, 3), dtype=np.uint8) for _ in range(max(batches))]
        for batch in batches:
            engine = TransformersEngine.from_loaded(model, processor, name=f"qwen2.5-vl-{shape} (random)",
                                                    dialect="qwen2.5-vl", max_batch=batch)
            requests = [EngineRequest("[detection] storage tank", images=[images[i]], max_new_tokens=args.tokens)
                        for i in range(batch)]
            row: dict[str, Any] = {"model": f"qwen2.5-vl-{shape}", "tile_px": tile, "batch": batch}
            try:
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                engine.generate_many(requests[:1])  # warm-up: kernels, allocator
                seconds, tokens, split = [], [], False
                for _ in range(args.rounds):
                    _sync(device)
                    t0 = time.perf_counter()
                    responses = engine.generate_many(requests)
                    _sync(device)
                    seconds.append(time.perf_counter() - t0)
                    tokens.append(sum(r.info["generated_tokens"] for r in responses))
                    split |= any(r.info["batch_size"] < batch for r in responses)
                median = statistics.median(seconds)
                row.update(seconds=[round(s, 3) for s in seconds], tiles_per_s=round(batch / median, 3),
                           tokens_per_s=round(statistics.median(tokens) / median, 1),
                           tokens_per_tile=round(statistics.median(tokens) / batch, 1),
                           input_tokens=responses[0].info["input_tokens"],
                           model_image_px=responses[0].info.get("model_image_sizes"), split_by_oom=split)
                if device == "cuda":
                    row["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
            except Exception as exc:  # one configuration failing (memory) must not lose the others
                row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            print("  " + json.dumps(row), flush=True)
            rows.append(row)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return rows


def _sam2_checkpoint(size: str, image_size: int, folder: Path) -> Path:
    """A random-weight SAM 2.1 of ``size`` saved as an official-layout checkpoint ``{"model": ...}``."""
    import torch
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2(SAM2_CONFIGS[size], ckpt_path=None, device="cpu",
                       hydra_overrides_extra=[f"++model.image_size={image_size}"])
    path = folder / f"sam2.1_{size}_random.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


def _time_segmenter(segmenter, image: np.ndarray, targets, n: int, device: str) -> dict[str, Any]:
    """Encodings and decoder calls per second (``_encode`` then ``_decode`` of all targets, as
    ``segment_masks`` does, without its polygon tracing)."""
    from model_backend.segmenters.prompts import build_prompts

    prompts = build_prompts(targets, image.shape[:2], segmenter.model_size)
    segmenter._encode(image)  # warm-up
    segmenter._decode(prompts)
    encode_s, decode_s = [], []
    for _ in range(n):
        _sync(device)
        t0 = time.perf_counter()
        segmenter._encode(image)
        _sync(device)
        t1 = time.perf_counter()
        segmenter._decode(prompts)
        _sync(device)
        encode_s.append(t1 - t0)
        decode_s.append(time.perf_counter() - t1)
    return {"encodings_per_s": round(1 / statistics.median(encode_s), 2),
            "decoder_calls_per_s": round(1 / statistics.median(decode_s), 2),
            "encode_ms": round(1000 * statistics.median(encode_s), 1),
            "decode_ms": round(1000 * statistics.median(decode_s), 1)}


def bench_sam2(sizes: list[str], image_size: int, args, device: str, tmp: Path) -> list[dict]:
    from model_backend.geometry import SegTarget
    from model_backend.segmenters import Sam2OnnxSegmenter, Sam2Segmenter

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)
    s = image_size
    targets = [SegTarget((x, y, x + s // 8, y + s // 10), keypoints=((x + s // 16, y + s // 20),))
               for x, y in rng.integers(0, s - s // 8, (args.targets, 2)).tolist()]
    rows = []
    for size in sizes:
        checkpoint = _sam2_checkpoint(size, image_size, tmp)
        seg = Sam2Segmenter(checkpoint, size=size, image_size=image_size, device=device)
        seg.load()
        row = {"segmenter": "sam2 (torch)", "size": size, "image_px": image_size, "targets": args.targets,
               "device": seg.describe().get("device"), **_time_segmenter(seg, image, targets, args.sam_images, device)}
        seg.close()
        print("  " + json.dumps(row), flush=True)
        rows.append(row)
        if args.no_onnx:
            continue
        from model_backend.segmenters.export import export_onnx

        t0 = time.perf_counter()
        out = tmp / f"onnx_{size}"
        try:
            export_onnx(size, checkpoint, out, image_size=image_size)
            onnx = Sam2OnnxSegmenter(out, device="auto")
            onnx.load()
            info = onnx.describe()
            onnx_device = "cuda" if info["provider"] == "CUDAExecutionProvider" else "cpu"
            row = {"segmenter": "sam2-onnx", "size": size, "image_px": image_size, "targets": args.targets,
                   "provider": info["provider"], "export_s": round(time.perf_counter() - t0, 1),
                   **_time_segmenter(onnx, image, targets, args.sam_images, onnx_device)}
            if onnx_device != device:
                row["note"] = "ONNX Runtime without its CUDA provider here (install onnxruntime-gpu for GPU figures)"
            onnx.close()
        except Exception as exc:
            row = {"segmenter": "sam2-onnx", "size": size, "error": f"{type(exc).__name__}: {exc}"[:300]}
        print("  " + json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _list(text: str, kind=str) -> list:
    return [kind(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="3b,7b", help="Qwen2.5-VL shapes: 3b, 7b")
    ap.add_argument("--tiles", default="512,1024", help="tile sizes, px")
    ap.add_argument("--batches", default="1,4,8", help="batch sizes (max_batch)")
    ap.add_argument("--tokens", type=int, default=64, help="max_new_tokens per tile")
    ap.add_argument("--rounds", type=int, default=3, help="timed batches per configuration (median)")
    ap.add_argument("--sam", default="tiny,large", help="SAM 2.1 sizes: tiny, large")
    ap.add_argument("--sam-images", type=int, default=10, help="timed SAM2 encodings (and decoder calls)")
    ap.add_argument("--targets", type=int, default=8, help="targets per SAM2 decoder call")
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX export and the ONNX segmenter")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--smoke", action="store_true", help="a tiny CPU run that checks the script, measures nothing")
    args = ap.parse_args(argv)

    import torch
    import transformers

    if args.smoke:
        device, shapes, tiles, batches, sam_sizes, sam_px = "cpu", ["smoke"], [56, 112], [1, 2], ["tiny"], 256
        args.models, args.tiles, args.batches, args.sam = "smoke", "56,112", "1,2", "tiny (256 px)"
        args.tokens, args.rounds, args.sam_images = min(args.tokens, 8), 1, 1
    else:
        if not torch.cuda.is_available():
            print("bench/gpu.py measures a CUDA GPU and none is available here (torch.cuda.is_available() is "
                  "False); run it on a machine with an NVIDIA GPU, or add --smoke for a tiny CPU check of the "
                  "script itself", file=sys.stderr)
            return 2
        device = "cuda"
        shapes, tiles, batches = _list(args.models), _list(args.tiles, int), _list(args.batches, int)
        sam_sizes, sam_px = _list(args.sam), 1024
        unknown = [s for s in shapes if s not in ("3b", "7b")] + [s for s in sam_sizes if s not in SAM2_CONFIGS]
        if unknown:
            ap.error(f"unknown model or SAM2 size: {', '.join(unknown)}")
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none (smoke run on the CPU)"
    try:
        import onnxruntime

        ort = f"{onnxruntime.__version__} providers {onnxruntime.get_available_providers()}"
    except ImportError:
        ort = "not installed"
    print_header("gpu" + (" (SMOKE: tiny shapes on the CPU, not a measurement)" if args.smoke else ""),
                 {**vars(args), "gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
                  "transformers": transformers.__version__, "onnxruntime": ort})
    results: dict[str, Any] = {"gpu": gpu, "smoke": args.smoke, "engine": [], "sam2": []}
    for shape in shapes:
        results["engine"] += bench_engine(shape, tiles, batches, args, device)
    with tempfile.TemporaryDirectory(prefix="georsmllm-bench-") as tmp:
        results["sam2"] = bench_sam2(sam_sizes, sam_px, args, device, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    failed = [r for r in results["engine"] + results["sam2"] if "error" in r]
    print(f"{len(results['engine'])} engine and {len(results['sam2'])} SAM2 configurations, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
