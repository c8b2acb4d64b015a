"""Reading pip requirements files (following ``-r``) into pins, and hashing them for resumable set-up."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import EnvSetupError

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")


def normalize_name(name: str) -> str:
    """PEP 503 normalized project name (``Pillow`` -> ``pillow``, ``ml_dtypes`` -> ``ml-dtypes``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    """One requirement line: ``spec`` as written (``torch==2.14.1``), ``name`` normalized."""

    name: str
    spec: str
    source: str  # file it came from

    @property
    def pinned_version(self) -> str | None:
        """The version of an exact ``==`` pin, else ``None``."""
        match = re.fullmatch(r"[A-Za-z0-9._-]+(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)", self.spec.split(";")[0].strip())
        return match.group(1) if match else None


def read_requirements(paths: Iterable[str | Path]) -> list[Requirement]:
    """Requirements of ``paths`` in order, ``-r`` includes followed once, duplicates dropped.

    Options other than ``-r`` / ``-c`` (index URLs, ``-e``, hashes) are not supported: the set-up
    chooses indexes itself; such a line raises ``EnvSetupError``.
    """
    seen_files: set[Path] = set()
    out: dict[str, Requirement] = {}

    def read(path: Path) -> None:
        path = path.resolve()
        if path in seen_files:
            return
        seen_files.add(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise EnvSetupError(f"cannot read requirements file {path}: {exc.strerror or exc}") from exc
        for number, raw in enumerate(lines, 1):
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
                target = re.sub(r"^(-r|--requirement)[\s=]*", "", line)
                read(path.parent / target)
                continue
            if line.startswith(("-c ", "--constraint")):
                continue  # constraints limit versions but add nothing to install
            if line.startswith("-"):
                raise EnvSetupError(f"{path}:{number}: option {line.split()[0]!r} is not supported here")
            match = _NAME_RE.match(line)
            if not match:
                raise EnvSetupError(f"{path}:{number}: cannot read requirement {line!r}")
            name = normalize_name(match.group(1))
            out.setdefault(name, Requirement(name, line, str(path)))

    for p in paths:
        read(Path(p))
    return list(out.values())


def requirements_hash(requirements: Iterable[Requirement]) -> str:
    """A short hash of the requirement specs (order-independent): changes when a pin changes."""
    text = "\n".join(sorted(r.spec for r in requirements))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def split_torch(requirements: Iterable[Requirement]) -> tuple[list[Requirement], list[Requirement]]:
    """``(torch family, the rest)``: the torch family comes from the index the ``TorchPlan`` chose."""
    torch, rest = [], []
    for r in requirements:
        (torch if r.name in TORCH_FAMILY else rest).append(r)
    return torch, rest


def default_requirement_files(root: str | Path | None = None) -> list[Path]:
    """The backend's ``requirements/base.txt`` and ``requirements/ml.txt`` (root: the plugin folder)."""
    base = Path(root) if root else Path(__file__).resolve().parents[2]
    return [base / "requirements" / "base.txt", base / "requirements" / "ml.txt"]


#: A package named ``X-gpu`` in the CUDA build files is the CUDA build of ``X`` and takes its place.
GPU_SUFFIX = "-gpu"


def with_cuda_builds(
    requirements: Iterable[Requirement], cuda_builds: Iterable[Requirement]
) -> tuple[list[Requirement], list[tuple[Requirement, Requirement]]]:
    """``requirements`` with each package that has a CUDA build in ``cuda_builds`` (``X-gpu`` for ``X``)
    replaced by it, in place; and the ``(replaced, replacement)`` pairs. Such pairs cannot be installed
    side by side (``onnxruntime-gpu`` and ``onnxruntime`` both provide the ``onnxruntime`` module)."""
    builds = {r.name[: -len(GPU_SUFFIX)]: r for r in cuda_builds if r.name.endswith(GPU_SUFFIX)}
    out, swapped = [], []
    for r in requirements:
        if r.name in builds:
            out.append(builds[r.name])
            swapped.append((r, builds[r.name]))
        else:
            out.append(r)
    return out, swapped


def default_cuda_build_files(root: str | Path | None = None) -> list[Path]:
    """The backend's ``requirements/cuda.txt``: CUDA builds installed beside a CUDA PyTorch."""
    base = Path(root) if root else Path(__file__).resolve().parents[2]
    path = base / "requirements" / "cuda.txt"
    return [path] if path.is_file() else []


def default_source_build_files(root: str | Path | None = None) -> list[Path]:
    """The backend's ``requirements/sam2.txt``: built without isolation against the installed torch."""
    base = Path(root) if root else Path(__file__).resolve().parents[2]
    path = base / "requirements" / "sam2.txt"
    return [path] if path.is_file() else []
