"""Plugin identity read once from ``metadata.txt`` (the single source of truth)."""

from __future__ import annotations

import configparser
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
METADATA_PATH = PLUGIN_DIR / "metadata.txt"


def read_metadata(path: Path = METADATA_PATH) -> dict[str, str]:
    """The ``[general]`` section of metadata.txt as a dict (keys as written)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep camelCase keys such as qgisMinimumVersion
    with open(path, encoding="utf-8") as fh:
        parser.read_file(fh)
    return dict(parser["general"])


_META = read_metadata()
TITLE: str = _META["name"]
VERSION: str = _META["version"]
ICON_PATH: Path = PLUGIN_DIR / _META["icon"]
TRACKER: str = _META["tracker"]
