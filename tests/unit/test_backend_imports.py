"""The backend must run without QGIS: import every module in a clean interpreter and check that
neither qgis nor PyQt got imported along the way."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, pkgutil, sys
import model_backend
names = [m.name for m in pkgutil.walk_packages(model_backend.__path__, "model_backend.")]
failed = []
for name in names:
    if name.endswith("__main__"):
        continue
    try:
        importlib.import_module(name)
    except ImportError as exc:  # an optional heavy dependency may be absent; qgis must not be needed
        if "qgis" in str(exc) or "PyQt" in str(exc):
            raise
        failed.append(f"{name}: {exc}")
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("qgis", "PyQt5", "PyQt6"))
print(len(names), "modules")
for f in failed:
    print("IMPORT-FAIL", f)
assert not bad, bad
"""


def test_every_backend_module_imports_without_qgis():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "IMPORT-FAIL" not in out.stdout, out.stdout


def test_no_backend_source_mentions_qgis_imports():
    offenders = []
    for path in (ROOT / "model_backend").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import qgis", "from qgis", "import PyQt", "from PyQt")):
                offenders.append(f"{path}: {stripped}")
    assert offenders == []
