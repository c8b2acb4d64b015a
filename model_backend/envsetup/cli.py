"""``python -m model_backend setup-env [PATH] [--device ...] [--requirements ...] [--check] [--repair]``.

``add_setup_env_parser(subparsers)`` adds the sub-command; ``cmd_setup_env(args)`` runs it and returns
the exit status: 0 ready, 1 failed or broken (the message says what to do), 130 cancelled (re-run to
resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GeoRSMLLMError
from .builder import EnvBuilder, SetupOptions
from .errors import SetupCancelled
from .paths import default_env_dir
from .process import CancelToken
from .requirements import default_cuda_build_files, default_requirement_files, default_source_build_files
from .torchplan import DEFAULT_TORCH_INDEX, DEVICE_CHOICES


def add_setup_env_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``setup-env`` to an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "setup-env",
        help="create, check or repair the backend's own Python environment (never QGIS's Python)",
        description="Create an isolated venv for the backend and install its pinned requirements, "
        "with the PyTorch build that fits this machine. Re-running resumes after a failure.",
    )
    p.add_argument("path", nargs="?", default=None,
                   help=f"environment folder (default: {default_env_dir()})")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                   help="PyTorch build: auto (NVIDIA GPU -> CUDA, Apple silicon -> MPS, else CPU)")
    p.add_argument("--requirements", action="append", default=None, metavar="FILE",
                   help="requirements file (repeatable; default: requirements/base.txt and requirements/ml.txt)")
    p.add_argument("--torch-index", dest="torch_index", default=DEFAULT_TORCH_INDEX,
                   help="base URL of the PyTorch wheel indexes holding cpu/, cu124/, ... (a mirror)")
    p.add_argument("--cuda-tag", dest="cuda_tag", default=None, help="force a CUDA wheel tag, e.g. cu126")
    p.add_argument("--python", dest="base_python", default=None, help="interpreter to create the venv with")
    p.add_argument("--pip-arg", dest="pip_args", action="append", default=[],
                   help="extra pip option for requirement installs (repeatable), e.g. --pip-arg=--index-url=URL")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="only check an existing environment")
    group.add_argument("--repair", action="store_true", help="reinstall only what --check finds broken")
    group.add_argument("--plan", action="store_true", help="say what would be done and stop")
    p.add_argument("--quiet", "-q", action="store_true", help="no pip log, only steps and results")
    return p


def _printer(quiet: bool):
    def progress(step: str, fraction: float, line: str) -> None:
        # quiet: step transitions and the verify findings only, not pip's log
        if quiet and not line.startswith(f"{step}:") and step != "verify":
            return
        print(f"[{fraction * 100:5.1f}%] {step}: {line}", flush=True)

    return progress


def cmd_setup_env(args: argparse.Namespace) -> int:
    """Run ``setup-env``; returns the exit status."""
    env_dir = Path(args.path) if args.path else Path(str(default_env_dir()))
    files = [Path(f) for f in args.requirements] if args.requirements else default_requirement_files()
    cancel = CancelToken()
    try:
        builder = EnvBuilder(
            SetupOptions(
                env_dir=env_dir,
                requirement_files=files,
                device=args.device,
                torch_index=args.torch_index,
                cuda_tag=args.cuda_tag,
                base_python=args.base_python,
                pip_args=list(args.pip_args),
                # the backend's own source builds (sam2) only with its own requirement files
                source_build_files=[] if args.requirements else default_source_build_files(),
                cuda_build_files=[] if args.requirements else default_cuda_build_files(),
            ),
            progress=_printer(getattr(args, "quiet", False)),
            cancel=cancel,
        )
        if args.check:
            report = builder.check()
            print("\n".join(report.lines()))
            if report.python is None:
                print("no environment there yet: run setup-env without --check to create it", file=sys.stderr)
            elif not report.ok:
                print("some requirements are broken: run setup-env again with --repair", file=sys.stderr)
            return 0 if report.ok else 1
        for line in builder.describe_plan():
            print(line, flush=True)
        if args.plan:
            return 0
        report = builder.repair() if args.repair else builder.run()
        print("\n".join(report.lines()))
        if not report.ok:
            print("some requirements are still broken; see the log above", file=sys.stderr)
            return 1
        print(f"ready: {builder.python}")
        return 0
    except KeyboardInterrupt:
        cancel.cancel()
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except SetupCancelled as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except GeoRSMLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
