"""A bounded cache of SAM2 image encodings, keyed by the pixels that were encoded.

Encoding an image is the expensive half of SAM2 (seconds on a CPU); decoding prompts against a kept
encoding takes milliseconds. A segmenter given an ``EncodingCache`` keeps the encoding of every image it
encodes (the tiles of a run) and reuses it when the same pixels come back (a click refining an object of
that run), so a refinement needs no new encoding while its tile is cached.

The key is a hash of the image itself (shape and every byte, ``image_key``), not of a file name or a tile
index: a raster changed on disk, other bands, another stretch or another tile layout give other pixels and
so another key. A stale encoding can therefore never be reused by mistake; at worst an image is encoded
again. Entries are evicted least recently used first when either bound (``max_entries``, ``max_mb``) would
be passed. Encodings hold the model's own tensors (on its device), so a cache belongs to one loaded
segmenter and is cleared when that segmenter closes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Defaults: 32 encodings of a 1024 px SAM2 input (about 16 MB each in float32).
DEFAULT_MAX_ENTRIES = 32
DEFAULT_MAX_MB = 512.0


def image_key(image_rgb: np.ndarray) -> str:
    """A digest of an image's shape, type and pixels (BLAKE2b, 128 bits): equal keys mean equal images."""
    pixels = np.ascontiguousarray(image_rgb)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{pixels.shape}|{pixels.dtype.str}|".encode("ascii"))
    digest.update(memoryview(pixels).cast("B"))
    return digest.hexdigest()


@dataclass
class _Entry:
    features: Any
    nbytes: int


class EncodingCache:
    """LRU cache of image encodings bounded by ``max_entries`` and ``max_mb`` (mebibytes of features).

    Thread-safe. ``get`` counts hits and misses; ``put`` evicts the least recently used entries until the
    new one fits (an entry larger than ``max_mb`` on its own is not kept)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_mb: float = DEFAULT_MAX_MB):
        if isinstance(max_entries, bool) or int(max_entries) != max_entries or max_entries < 0:
            raise ValueError(f"max_entries must be a whole number >= 0, got {max_entries!r}")
        if not (max_mb >= 0):
            raise ValueError(f"max_mb must be >= 0, got {max_mb!r}")
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_mb * 2**20)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    @property
    def nbytes(self) -> int:
        """Bytes of the features held now."""
        with self._lock:
            return self._bytes

    def get(self, key: str) -> Any | None:
        """The features stored under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.features

    def put(self, key: str, features: Any, nbytes: int) -> bool:
        """Keep ``features`` (``nbytes`` large) under ``key``; returns whether they were kept."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if self.max_entries == 0 or nbytes > self.max_bytes:
                return False
            while self._entries and (len(self._entries) >= self.max_entries
                                     or self._bytes + nbytes > self.max_bytes):
                _key, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
                self.evictions += 1
            self._entries[key] = _Entry(features, int(nbytes))
            self._bytes += int(nbytes)
            return True

    def discard(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is not cached)."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.nbytes

    def clear(self) -> None:
        """Forget every encoding (the model they came from is going away)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def describe(self) -> dict[str, Any]:
        """Sizes, bounds and counters, for health checks."""
        with self._lock:
            return {"entries": len(self._entries), "mb": round(self._bytes / 2**20, 1),
                    "max_entries": self.max_entries, "max_mb": round(self.max_bytes / 2**20, 1),
                    "hits": self.hits, "misses": self.misses, "evictions": self.evictions}
