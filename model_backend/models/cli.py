"""``python -m model_backend models list|download ID|check ID``.

``add_models_parser(subparsers)`` adds the sub-command; ``cmd_models(args)`` runs it and returns the
exit status: 0 done, 1 failed (one-line reason on stderr), 130 interrupted (partial files kept).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import GeoRSMLLMError
from .manager import catalogue_lines, check_model, download_model


def add_models_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``models`` (with ``list``, ``download``, ``check``) to an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser("models", help="list, download and check models")
    sub = p.add_subparsers(dest="models_command", required=True)
    sub.add_parser("list", help="the supported models, with size, memory, tasks and licence (approximate)")
    dl = sub.add_parser("download", help="download a model into the hub cache (resumes partial files)")
    dl.add_argument("id", help="catalogue id (see 'models list') or hub id organisation/name")
    dl.add_argument("--revision", default="main")
    dl.add_argument("--check", action="store_true", help="load it once after downloading")
    ck = sub.add_parser("check", help="load a downloaded model (or a folder) once")
    ck.add_argument("id", help="catalogue id, hub id or model folder")
    ck.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    for q in (dl, ck):
        q.add_argument("--cache-dir", dest="cache_dir", default=None,
                       help="hub cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)")
    dl.add_argument("--endpoint", default=None, help="hub URL (default $HF_ENDPOINT or https://huggingface.co)")
    dl.add_argument("--quiet", "-q", action="store_true")
    return p


def cmd_models(args: argparse.Namespace) -> int:
    """Run ``models``; returns the exit status."""
    try:
        if args.models_command == "list":
            print("\n".join(catalogue_lines()))
            return 0
        if args.models_command == "download":
            def progress(step: str, fraction: float, line: str) -> None:
                if not args.quiet or line.startswith("WARNING"):
                    print(f"[{fraction * 100:5.1f}%] {line}", flush=True)

            result = download_model(args.id, cache_dir=args.cache_dir, endpoint=args.endpoint,
                                    revision=args.revision, progress=progress)
            print(f"downloaded {result.repo_id}@{result.commit[:12]} to {result.path} "
                  f"({result.downloaded_bytes / 1e6:.1f} MB fetched, {result.reused_files} file(s) already there)")
            if not args.check:
                return 0
            checked = check_model(str(result.path), kind=None)
        else:
            checked = check_model(args.id, cache_dir=args.cache_dir, device=args.device)
        print(checked.message, file=sys.stdout if checked.ok else sys.stderr)
        return 0 if checked.ok else 1
    except KeyboardInterrupt:
        print("interrupted; partial files are kept and the next download continues them", file=sys.stderr)
        return 130
    except GeoRSMLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
