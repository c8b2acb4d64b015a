"""``python -m model_backend eval --data bench.jsonl --engine ... --model ...``: benchmark metrics as a
Markdown table (stdout, or ``--markdown``) and JSON (``--json``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``eval`` to a CLI's sub-parsers."""
    p = subparsers.add_parser("eval", help="score a model on benchmark JSON lines (grounding, seg, change, VQA ...)")
    p.add_argument("--data", required=True, help="benchmark records (JSON lines, canonical dialect answers)")
    p.add_argument("--root", help="folder the records' image/mask paths are relative to (default: the data's)")
    p.add_argument("--engine", default="transformers", help="transformers (default), openai or scripted")
    p.add_argument("--model", help="model folder or hub id (transformers), model name (openai)")
    p.add_argument("--base-url", dest="base_url", help="OpenAI-compatible server (openai engine)")
    p.add_argument("--api-key", dest="api_key")
    p.add_argument("--script", help="answers file (scripted engine)")
    p.add_argument("--dialect", help="answer format; default: the engine's/model family's own")
    p.add_argument("--device", help="auto (default), cuda, mps or cpu (transformers)")
    p.add_argument("--segmenter", help="turn [seg] box+keypoint answers into masks: sam2 or sam2-onnx")
    p.add_argument("--sam2-checkpoint", dest="sam2_checkpoint")
    p.add_argument("--max-new-tokens", dest="max_new_tokens", type=int, default=512)
    p.add_argument("--limit", type=int, help="evaluate only the first N records")
    p.add_argument("--markdown", help="write the Markdown table here (default: print it)")
    p.add_argument("--json", dest="json_path", help="write the JSON summary here")
    p.add_argument("--details", help="write per-sample results (JSON lines) here")
    p.set_defaults(handler=cmd_eval)
    return p


def _engine(args: argparse.Namespace):
    from ..engines import get_engine

    settings: dict[str, Any]
    if args.engine == "transformers":
        if not args.model:
            raise ConfigError("the transformers engine needs --model FOLDER (or a hub id)")
        settings = {"model": args.model, "device": args.device, "dialect": args.dialect}
    elif args.engine == "openai":
        if not args.base_url:
            raise ConfigError("the openai engine needs --base-url (e.g. http://localhost:8000/v1)")
        settings = {"base_url": args.base_url, "model": args.model, "api_key": args.api_key, "dialect": args.dialect}
    elif args.engine == "scripted":
        if not args.script:
            raise ConfigError("the scripted engine needs --script FILE")
        settings = {"path": args.script}
    else:
        settings = {}
    return get_engine(args.engine, **{k: v for k, v in settings.items() if v is not None})


def cmd_eval(args: argparse.Namespace) -> int:
    """Run ``eval``. Returns 0; user errors raise ``GeoRSMLLMError`` subclasses."""
    import itertools

    from ..data.records import read_jsonl
    from .runner import evaluate, write_outputs

    data = Path(args.data)
    records = read_jsonl(data)
    if args.limit:
        records = itertools.islice(records, args.limit)
    segmenter = None
    if args.segmenter:
        from ..segmenters import create_segmenter

        opts = {"checkpoint": args.sam2_checkpoint} if args.sam2_checkpoint else {}
        segmenter = create_segmenter(args.segmenter, **opts)
        segmenter.load()
    engine = _engine(args)
    try:
        result = evaluate(records, engine, dialect=args.dialect, root=args.root or data.parent,
                          segmenter=segmenter, max_new_tokens=args.max_new_tokens)
    finally:
        engine.close()
        if segmenter is not None:
            segmenter.close()
    write_outputs(result, args.markdown, args.json_path, args.details)
    if not args.markdown:
        print(result.to_markdown())
    for rid, reason in result.skipped[:20]:
        print(f"skipped {rid}: {reason}", file=sys.stderr)
    return 0
