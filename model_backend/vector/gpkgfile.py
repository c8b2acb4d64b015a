"""Recognising a GeoPackage by its SQLite header (standard library only).

A GeoPackage is a SQLite database whose header carries the application id ``GPKG`` (GeoPackage 1.2 and
later; ``GP10``/``GP11`` for 1.0/1.1) at byte offset 68, big-endian. A plain SQLite database (a browser's
history, an application's settings) has another id, usually 0: writers must never rewrite those.
"""

from __future__ import annotations

import os

SQLITE_MAGIC = b"SQLite format 3\x00"
#: GeoPackage application ids: 0x47504B47 'GPKG' (1.2+), 'GP10' and 'GP11' (1.0, 1.1).
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
HEADER_BYTES = 100


def is_geopackage_header(head: bytes) -> bool:
    """Whether the first bytes of a file (at least 72) are a SQLite header with a GeoPackage application id."""
    return len(head) >= 72 and head[:16] == SQLITE_MAGIC and head[68:72] in GPKG_APPLICATION_IDS


def is_sqlite_header(head: bytes) -> bool:
    return head[:16] == SQLITE_MAGIC


def read_header(path: str | os.PathLike, size: int = HEADER_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer for a short file); ``OSError`` when it cannot be read."""
    with open(path, "rb") as fh:
        return fh.read(size)
