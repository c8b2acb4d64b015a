"""The segmenter protocol: one RGB image plus SegTargets in, polygons per target out.

A segmenter encodes each image once and decodes all of its targets in one batched call; the
counters ``n_image_encodings`` and ``n_decoder_calls`` let a benchmark check that. Every
implementation shares ``segment_masks`` and ``segment_prompt`` below and only provides ``_encode`` and
``_decode`` (plus ``_snapshot``/``_restore`` to keep encodings in an ``EncodingCache``).

With ``encodings`` set to an ``encodings.EncodingCache``, every encoding is kept there (keyed by the
image's pixels) and an image seen before is decoded from its kept encoding instead of being encoded again.
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
from .encodings import EncodingCache, image_key
from .prompts import SamPrompts, build_click_prompt, build_prompts


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


@dataclass
class PromptSegmentation:
    """What one click prompt became (``Segmenter.segment_prompt``).

    ``polygons``: the mask's parts in pixels of the input image (corner convention); ``mask``: (H, W)
    bool; ``predicted_iou``: SAM2's estimate of the mask's quality (0..1); ``reused_encoding``: whether
    the image's encoding came from the cache (no new encoding was made)."""

    polygons: list[PolygonRegion]
    mask: np.ndarray
    predicted_iou: float
    reused_encoding: bool


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
        #: where encodings are kept for reuse (``None``: every image is encoded for each call)
        self.encodings: EncodingCache | None = None

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

    def _snapshot(self) -> tuple[Any, int]:
        """The current image's encoding as an object ``_restore`` takes back, and its size in bytes.
        Needed only by segmenters used with an ``EncodingCache``."""
        raise EngineError(f"segmenter {self.name!r} cannot keep image encodings")

    def _restore(self, features: Any) -> None:
        """Make a ``_snapshot`` the current image's encoding again."""
        raise EngineError(f"segmenter {self.name!r} cannot keep image encodings")

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
            masks, predicted_iou, _reused = self._encode_and_decode(image_rgb, prompts, f"{len(targets)} targets")
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

    def segment_prompt(
        self,
        image_rgb: np.ndarray,
        points_xy: Sequence[tuple[float, float]] = (),
        point_labels: Sequence[int] = (),
        box_xyxy: tuple[float, float, float, float] | None = None,
        window_xyxy: tuple[float, float, float, float] | None = None,
    ) -> PromptSegmentation:
        """Segment one object from clicks: ``points_xy`` with ``point_labels`` (1 positive, 0 negative)
        and/or a ``box_xyxy``, all in pixels of ``image_rgb`` ((H, W, 3) uint8, corner convention).

        One decoder call; the image is encoded only when no kept encoding of it exists (see
        ``encodings``). Returns the mask and its polygons (pixels of ``image_rgb``); with ``window_xyxy``
        only the mask's part within that window (same frame) is turned into polygons, which is all a caller
        interested in one region needs and costs far less than a whole noisy mask."""
        self._check_loaded()
        _check_image(image_rgb)
        with self._lock:
            self._check_loaded()
            prompts = build_click_prompt(list(points_xy), list(point_labels), box_xyxy, image_rgb.shape[:2],
                                         self.model_size)
            masks, predicted_iou, reused = self._encode_and_decode(image_rgb, prompts, "a click prompt")
        mask = masks[0]
        return PromptSegmentation(self._polygons_within(mask, window_xyxy), mask, float(predicted_iou[0]), reused)

    def _polygons_within(self, mask: np.ndarray, window_xyxy: tuple[float, float, float, float] | None
                         ) -> list[PolygonRegion]:
        """Polygons of ``mask`` (its pixels), only within ``window_xyxy`` when given."""
        height, width = mask.shape
        c0, r0, c1, r1 = 0, 0, width, height
        if window_xyxy is not None:
            x0, y0, x1, y1 = window_xyxy
            c0, r0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
            c1, r1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
            if c1 <= c0 or r1 <= r0:
                return []
        polygons = mask_to_polygons(mask[r0:r1, c0:c1], min_area_px=self.min_area_px, simplify_px=self.simplify_px)
        if (c0, r0) == (0, 0):
            return polygons
        return [polygon.map_xy(lambda p: (p[0] + c0, p[1] + r0)) for polygon in polygons]

    def _encode_and_decode(self, image_rgb: np.ndarray, prompts: SamPrompts,
                           what: str) -> tuple[np.ndarray, np.ndarray, bool]:
        """Make ``image_rgb`` the current image (from the cache when it holds it, else by encoding it, and
        keeping the encoding when there is a cache), then decode ``prompts``; called with the lock held.
        Returns ``(masks, predicted_iou, reused_encoding)``."""
        try:
            reused = False
            cache = self.encodings
            key = image_key(image_rgb) if cache is not None else None
            features = cache.get(key) if cache is not None else None
            if features is not None:
                self._restore(features)
                reused = True
            else:
                self._encode(image_rgb)
                self._n_image_encodings += 1
                if cache is not None:
                    cache.put(key, *self._snapshot())
            masks, predicted_iou = self._decode(prompts)
            self._n_decoder_calls += 1
        except GeoRSMLLMError:
            raise
        except Exception as exc:  # out of memory, runtime failures: one message, cause chained
            raise EngineError(
                f"segmenter {self.name!r} failed on a {image_rgb.shape[1]}x{image_rgb.shape[0]} px "
                f"image with {what} ({type(exc).__name__}: {exc})"
            ) from exc
        return masks, predicted_iou, reused

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
        """Release the model (and the encodings it made); ``load`` may be called again later. Counters
        are kept."""
        with self._lock:
            if self.encodings is not None:
                self.encodings.clear()
            self._release()

    def describe(self) -> dict[str, Any]:
        """What is loaded, for health checks and run summaries."""
        info = {
            "segmenter": self.name,
            "loaded": self.is_loaded,
            "n_image_encodings": self.n_image_encodings,
            "n_decoder_calls": self.n_decoder_calls,
        }
        if self.encodings is not None:
            info["encoding_cache"] = self.encodings.describe()
        return info

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
