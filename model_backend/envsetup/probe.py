"""A script run by the venv's own Python (never imported by the caller's): which requirements are
installed at the pinned versions, whether their top-level modules import, and which torch device
the backend will use. Prints one JSON object on the last line of stdout.

Only the standard library plus pip's vendored ``packaging`` (present in every venv with pip).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import json
import sys
import traceback

MARK = "GEORSMLLM-PROBE "


def _parse(spec):
    try:
        from pip._vendor.packaging.requirements import Requirement
    except Exception:  # pragma: no cover - pip without vendored packaging
        return None
    return Requirement(spec)


def _top_level(dist):
    text = dist.read_text("top_level.txt")
    if text:
        names = [n.strip() for n in text.split() if n.strip()]
    else:
        names = []
        for f in dist.files or ():
            parts = f.parts
            if len(parts) == 2 and parts[1] == "__init__.py":
                names.append(parts[0])
            elif len(parts) == 1 and parts[0].endswith(".py"):
                names.append(parts[0][:-3])
    return [n for n in names if n and not n.startswith("_") and "/" not in n and "." not in n]


def check(specs, imports):
    results = []
    for spec in specs:
        entry = {"spec": spec, "status": "ok"}
        req = _parse(spec)
        name = req.name if req is not None else spec.split("=")[0].split("<")[0].split(">")[0].strip()
        entry["name"] = name
        if req is not None and req.marker is not None and not req.marker.evaluate():
            entry["status"] = "not-needed"
            results.append(entry)
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            entry["status"] = "missing"
            results.append(entry)
            continue
        entry["version"] = dist.version
        if req is not None and req.specifier and not req.specifier.contains(dist.version, prereleases=True):
            entry["status"] = "wrong-version"
        elif imports:
            for module in _top_level(dist)[:1]:
                try:
                    importlib.import_module(module)
                except BaseException as exc:  # DLL errors surface as OSError/ImportError/others
                    entry["status"] = "import-error"
                    entry["error"] = f"import {module}: {type(exc).__name__}: {exc}"[:400]
        results.append(entry)
    return results


def device_report():
    try:
        import torch
    except BaseException as exc:
        return {"torch": None, "error": f"{type(exc).__name__}: {exc}"[:400]}
    info = {
        "torch": torch.__version__,
        "cuda_build": getattr(torch.version, "cuda", None),
        "cuda_available": bool(torch.cuda.is_available()),
        "mps_available": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
    }
    if info["cuda_available"]:
        info["gpu"] = torch.cuda.get_device_name(0)
    try:  # the backend's own choice, when the plugin folder is on sys.path
        from model_backend.engines.device import select_device

        info["device"] = select_device("auto")
        info["device_source"] = "model_backend"
    except ImportError:
        info["device"] = "cuda" if info["cuda_available"] else "mps" if info["mps_available"] else "cpu"
        info["device_source"] = "probe"
    return info


def main(argv):
    request = json.loads(argv[1])
    out = {"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix}
    try:
        out["packages"] = check(request.get("specs", []), request.get("imports", True))
        if request.get("device", True):
            out["device"] = device_report()
    except Exception:
        out["error"] = traceback.format_exc()[-2000:]
    sys.stdout.write("\n" + MARK + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
