"""Shared fixtures. QGIS tests run headless (QT_QPA_PLATFORM=offscreen, set by the Makefile and here)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder of the real test rasters (copied from the project's shared data; see its README)."""
    return DATA
