"""The segmenter protocol: one RGB image plus SegTargets in, polygons per target out.

A segmenter encodes each image once and decodes all of its targets in one batched call; the
counters ``n_image_encodings`` and ``n_decoder_calls`` let a benchmark check that. Every
implementation shares ``segment_masks`` below and only provides ``_encode`` and ``_decode``.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import EngineError, GeoRSMLLMError
from ..geometry import PolygonRegion, SegTarget
from ..vector.mask import mask_to_polygons
from .prompts import SamPrompts, build_prompts


@dataclass
class TargetSegmentation:
    """What one target became.

    ``polygons``: in pixels of the input image (corner convention), each carrying the target's
    ``label``, ``score`` and ``span`` unchanged. ``mask``: (H, W) bool, ``mask[row, col]`` for
    the pixel ``[col, col+1] x [row, row+1]``. ``predicted_iou``: SAM2's own estimate of the
    mask's quality (0..1); it is never written into ``score``, which stays the score of whatever
    produced the target (``None`` stays ``None``).
    """

    target: SegTarget
    polygons: list[PolygonRegion]
    mask: np.ndarray
    predicted_iou: float


class Segmenter(abc.ABC):
    """A loaded promptable segmentation model. ``segment`` may be called from several threads;
    calls are serialised because the model holds the current image's encoding."""

    #: registry key, e.g. ``"sam2"``
    name: str = ""

    def __init__(self, *, min_area_px: float = 16.0, simplify_px: float = 1.0) -> None:
        """``min_area_px``: polygons smaller than this many square pixels are dropped;
        ``simplify_px``: outline simplification tolerance in pixels (both of the input image)."""
        self.min_area_px = float(min_area_px)
        self.simplify_px = float(simplify_px)
        self._n_image_encodings = 0
        self._n_decoder_calls = 0
        self._lock = threading.Lock()

    # -- what implementations provide -------------------------------------------------------

    @abc.abstractmethod
    def load(self) -> None:
        """Load the model (idempotent). Raises ``EngineError``/``ConfigError`` with one clear
        message on failure, leaving nothing half-loaded."""

    @property
    @abc.abstractmethod
    def is_loaded(self) -> bool:
        """Whether ``load`` has succeeded and ``close`` has not been called since."""

    @property
    @abc.abstractmethod
    def model_size(self) -> int:
        """Side in pixels of the square image the model encodes (SAM2: 1024)."""

    @abc.abstractmethod
    def _encode(self, image_rgb: np.ndarray) -> None:
        """Encode one image and keep its features for the following ``_decode``."""

    @abc.abstractmethod
    def _decode(self, prompts: SamPrompts) -> tuple[np.ndarray, np.ndarray]:
        """Decode all prompts against the current image in one call. Returns ``(masks (N, H, W)
        bool in pixels of the encoded image, predicted_iou (N,) float)``."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Drop the model and its memory."""

    # -- shared behaviour ---------------------------------------------------------------------

    @property
    def n_image_encodings(self) -> int:
        """Images encoded since this segmenter was created."""
        return self._n_image_encodings

    @property
    def n_decoder_calls(self) -> int:
        """Batched decoder calls since this segmenter was created (one per image with targets)."""
        return self._n_decoder_calls

    def segment_masks(
        self, image_rgb: np.ndarray, targets: Sequence[SegTarget]
    ) -> list[TargetSegmentation]:
        """Segment every target of one image: one encoding, one batched decoder call.

        ``image_rgb``: (H, W, 3) uint8. ``targets``: boxes/keypoints in pixels of that image
        (corner convention). Returns one ``TargetSegmentation`` per target, in order. No targets:
        nothing is encoded and ``[]`` is returned.
        """
        self._check_loaded()
        _check_image(image_rgb)
        targets = list(targets)
        for target in targets:
            if not isinstance(target, SegTarget):
                raise TypeError(f"segment() takes SegTarget objects, got {type(target).__name__}")
        if not targets:
            return []
        with self._lock:
            self._check_loaded()  # again: close() may have run while we waited
            prompts = build_prompts(targets, image_rgb.shape[:2], self.model_size)
            try:
                self._encode(image_rgb)
                self._n_image_encodings += 1
                masks, predicted_iou = self._decode(prompts)
                self._n_decoder_calls += 1
            except GeoRSMLLMError:
                raise
            except Exception as exc:  # out of memory, runtime failures: one message, cause chained
                raise EngineError(
                    f"segmenter {self.name!r} failed on a {image_rgb.shape[1]}x{image_rgb.shape[0]} px "
                    f"image with {len(targets)} targets ({type(exc).__name__}: {exc})"
                ) from exc
        results = []
        for target, mask, iou in zip(targets, masks, predicted_iou):
            polygons = [
                polygon.with_(label=target.label, score=target.score, span=target.span)
                for polygon in mask_to_polygons(
                    mask, min_area_px=self.min_area_px, simplify_px=self.simplify_px
                )
            ]
            results.append(TargetSegmentation(target, polygons, mask, float(iou)))
        return results

    def _check_loaded(self) -> None:
        if not self.is_loaded:
            raise EngineError(f"segmenter {self.name!r} is not loaded: call load() before segment()")

    def segment(
        self, image_rgb: np.ndarray, targets: Sequence[SegTarget]
    ) -> list[list[PolygonRegion]]:
        """Polygons per target (pixels of ``image_rgb``, corner convention); see ``segment_masks``.
        A target whose mask is empty (or only specks under ``min_area_px``) gets ``[]``."""
        return [result.polygons for result in self.segment_masks(image_rgb, targets)]

    def close(self) -> None:
        """Release the model; ``load`` may be called again later. Counters are kept."""
        with self._lock:
            self._release()

    def describe(self) -> dict[str, Any]:
        """What is loaded, for health checks and run summaries."""
        return {
            "segmenter": self.name,
            "loaded": self.is_loaded,
            "n_image_encodings": self.n_image_encodings,
            "n_decoder_calls": self.n_decoder_calls,
        }

    def __enter__(self):
        self.load()
        return self

    def __exit__(self, *exc):
        self.close()


def _check_image(image_rgb: np.ndarray) -> None:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        shape = getattr(image_rgb, "shape", type(image_rgb).__name__)
        raise ValueError(f"segment() needs an (H, W, 3) RGB array, got {shape}")
    if image_rgb.dtype != np.uint8:
        raise ValueError(f"segment() needs a uint8 image, got {image_rgb.dtype}")
    if image_rgb.shape[0] < 1 or image_rgb.shape[1] < 1:
        raise ValueError(f"segment() got an empty image of shape {image_rgb.shape}")
