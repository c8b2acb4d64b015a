"""GDAL's raster block cache as rasterio's own GDAL sees it: the size in effect and what it holds.

rasterio wheels bundle their own GDAL library, separate from any GDAL that QGIS (or ``osgeo``) loads in
the same process, so ``osgeo.gdal.GetCacheMax()`` would report the other library's cache. This module
asks the library rasterio loaded, through ``ctypes``, for ``GDALGetCacheMax64``/``GDALGetCacheUsed64``.

Units: bytes. ``rasterio.Env(GDAL_CACHEMAX=n)`` takes ``n`` in bytes (rasterio 1.4), so a size in
mebibytes must be multiplied by ``2**20`` (see ``cache_bytes``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from dataclasses import dataclass
from functools import lru_cache

MIB = 2**20


def cache_bytes(mebibytes: float) -> int:
    """A block cache size in MiB as the byte count ``rasterio.Env(GDAL_CACHEMAX=...)`` expects."""
    return int(mebibytes * MIB)


@dataclass(frozen=True)
class CacheState:
    """GDAL's block cache: ``max_bytes`` allowed, ``used_bytes`` currently held (decoded blocks)."""

    max_bytes: int
    used_bytes: int


@lru_cache(maxsize=1)
def _gdal_library():
    """The GDAL shared library rasterio uses, or ``None`` when it cannot be found."""
    import rasterio

    here = os.path.dirname(rasterio.__file__)
    patterns = [
        os.path.join(here, os.pardir, "rasterio.libs", "libgdal*.so*"),  # manylinux wheels
        os.path.join(here, ".dylibs", "libgdal*.dylib"),  # macOS wheels
        os.path.join(here, os.pardir, "rasterio.libs", "gdal*.dll"),  # Windows wheels
    ]
    candidates = [path for pattern in patterns for path in sorted(glob.glob(pattern))]
    system = ctypes.util.find_library("gdal")  # rasterio built against the system's GDAL
    if system:
        candidates.append(system)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            lib.GDALGetCacheMax64.restype = ctypes.c_int64
            lib.GDALGetCacheUsed64.restype = ctypes.c_int64
            return lib
        except (OSError, AttributeError):
            continue
    return None


def cache_state() -> CacheState | None:
    """The block cache of rasterio's GDAL now (inside any ``rasterio.Env`` in force), or ``None`` when
    that library cannot be reached through ``ctypes``."""
    lib = _gdal_library()
    if lib is None:
        return None
    return CacheState(int(lib.GDALGetCacheMax64()), int(lib.GDALGetCacheUsed64()))
