"""Export a SAM2 checkpoint to ONNX (image encoder + prompt decoder) for the 'sam2-onnx' segmenter.

    python -m model_backend.segmenters.export --size tiny --checkpoint sam2.1_hiera_tiny.pt --out DIR

writes ``DIR/encoder.onnx``, ``DIR/decoder.onnx`` and ``DIR/sam2_onnx.json``. The encoder takes the
normalised ``(1, 3, S, S)`` image (S fixed at export); the decoder takes the three feature maps
plus ``point_coords (N, P, 2)`` in model-input pixel indices and ``point_labels (N, P)`` (box corners
as labels 2/3 first), N and P dynamic, and returns the low-resolution mask logits ``(N, 1, S/4,
S/4)`` and SAM2's predicted IoU ``(N, 1)``, single-mask output as in the torch predictor with
``multimask_output=False`` (including its stability-based fallback). Needs torch, sam2, onnx and
onnxscript (the dynamo exporter).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError, EngineError, GeoRSMLLMError
from .image_ops import IMAGENET_MEAN, IMAGENET_STD
from .sam2_loading import (
    DEFAULT_IMAGE_SIZE,
    SIZE_CONFIGS,
    build_sam2_model,
    resolve_checkpoint,
    resolve_config,
)
from .sam2_onnx import (
    DECODER_INPUTS,
    DECODER_OUTPUTS,
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
)


def _wrappers(model: Any) -> tuple[Any, Any]:
    """torch modules with the encoder's and decoder's ONNX signatures, calling the SAM2 model the
    way ``SAM2ImagePredictor.set_image`` and ``._predict`` do."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, sam: Any) -> None:
            super().__init__()
            self.sam = sam

        def forward(self, image: torch.Tensor):
            backbone_out = self.sam.forward_image(image)
            _, feats, _, sizes = self.sam._prepare_backbone_features(backbone_out)
            if self.sam.directly_add_no_mem_embed:
                feats[-1] = feats[-1] + self.sam.no_mem_embed
            maps = [f.permute(1, 2, 0).reshape(1, -1, h, w) for f, (h, w) in zip(feats, sizes)]
            return maps[2], maps[0], maps[1]

    class Decoder(torch.nn.Module):
        def __init__(self, sam: Any) -> None:
            super().__init__()
            self.sam = sam

        def forward(self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels):
            sparse, dense = self.sam.sam_prompt_encoder(
                points=(point_coords, point_labels), boxes=None, masks=None
            )
            low_res_masks, iou_predictions, _, _ = self.sam.sam_mask_decoder(
                image_embeddings=image_embed,
                image_pe=self.sam.sam_prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
                # one image embedding for all N prompts, as the predictor does for N > 1
                repeat_image=True,
                high_res_features=[high_res_feats_0, high_res_feats_1],
            )
            return low_res_masks, iou_predictions

    return Encoder(model).eval(), Decoder(model).eval()


def export_onnx(
    model: str,
    checkpoint: str | Path,
    out_dir: str | Path,
    image_size: int = DEFAULT_IMAGE_SIZE,
    opset_version: int | None = None,
) -> Path:
    """Export ``checkpoint`` (local ``.pt`` or hub id) to ``out_dir``; returns the manifest path.

    ``model``: a size (tiny, small, base_plus, large) or a sam2 hydra config name.
    ``image_size``: the square model input in pixels, fixed in the exported encoder.
    """
    try:
        import torch
    except ImportError as exc:
        raise EngineError(f"exporting SAM2 to ONNX needs torch ({exc})") from exc
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError as exc:
            raise EngineError(f"exporting SAM2 to ONNX needs {module} ({exc}); pip install {module}") from exc

    if model in SIZE_CONFIGS:
        config_name = resolve_config(model, None, checkpoint)
    elif model.endswith(".yaml"):
        config_name = model
    else:
        raise ConfigError(
            f"unknown SAM2 model {model!r}: give a size ({', '.join(SIZE_CONFIGS)}) or a config .yaml name"
        )
    checkpoint_path = resolve_checkpoint(checkpoint)
    sam = build_sam2_model(config_name, checkpoint_path, image_size, "cpu")
    encoder, decoder = _wrappers(sam)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = int(image_size)
    image = torch.zeros(1, 3, s, s)
    with torch.no_grad():
        feats = encoder(image)
    # example prompts: 2 targets, box corners plus 2 keypoints (one padding), so that N and P
    # are traced as general sizes, not as the special sizes 0 and 1
    coords = torch.tensor([[[4.0, 4.0], [60.0, 50.0], [30.0, 20.0], [0.0, 0.0]]] * 2) * (s / 64)
    labels = torch.tensor([[2, 3, 1, -1], [2, 3, 1, 1]], dtype=torch.int32)
    n, p = torch.export.Dim("n_prompts"), torch.export.Dim("n_points")
    try:
        with warnings.catch_warnings():
            # the exporter notes that n and p are shared by two inputs each: expected, not a problem
            warnings.filterwarnings("ignore", message=r".*axis name.* will not be used", category=UserWarning)
            torch.onnx.export(
                encoder, (image,), str(out_dir / "encoder.onnx"),
                input_names=list(ENCODER_INPUTS), output_names=list(ENCODER_OUTPUTS),
                opset_version=opset_version, dynamo=True, external_data=False, verbose=False,
            )
            torch.onnx.export(
                decoder, (*feats, coords, labels), str(out_dir / "decoder.onnx"),
                input_names=list(DECODER_INPUTS), output_names=list(DECODER_OUTPUTS),
                dynamic_shapes={
                    "image_embed": None, "high_res_feats_0": None, "high_res_feats_1": None,
                    "point_coords": {0: n, 1: p}, "point_labels": {0: n, 1: p},
                },
                opset_version=opset_version, dynamo=True, external_data=False, verbose=False,
            )
    except Exception as exc:
        raise EngineError(f"ONNX export of SAM2 failed ({type(exc).__name__}: {exc})") from exc

    manifest = {
        "format": MANIFEST_FORMAT,
        "encoder": "encoder.onnx",
        "decoder": "decoder.onnx",
        "image_size": s,
        "config": config_name,
        "checkpoint": str(checkpoint),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "exported_with": {"torch": torch.__version__, "sam2": _version("sam2")},
    }
    path = out_dir / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_backend.segmenters.export",
        description="Export a SAM2 checkpoint to ONNX for the 'sam2-onnx' segmenter.",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--size", choices=sorted(SIZE_CONFIGS), help="SAM 2.1 model size")
    group.add_argument("--config", help="sam2 hydra config name, e.g. configs/sam2.1/sam2.1_hiera_t.yaml")
    parser.add_argument("--checkpoint", required=True, help="local .pt file or hub id")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--image-size", type=int, default=DEFAULT_IMAGE_SIZE, help="model input side in pixels"
    )
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's)")
    args = parser.parse_args(argv)
    try:
        path = export_onnx(args.size or args.config, args.checkpoint, args.out, args.image_size, args.opset)
    except GeoRSMLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
