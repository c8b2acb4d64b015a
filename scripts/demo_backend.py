"""``python -m model_backend`` with one more segmenter, ``demo-fill``, for ``make screenshot`` only.

No SAM2 weights can be downloaded where the screenshots are made, and a SAM2 with random weights outlines
noise. ``demo-fill`` stands in for it: a colour flood fill from the prompts (the colour under the positive
points, or the box's centre, grown over similar neighbouring pixels within the box, stopping where a negative
point's colour is closer). It is not SAM2 and not part of the plugin: the pictures say so. It implements the
``Segmenter`` protocol (encodings kept, prompts batched), so the server, its encoding cache and the refine
endpoint run as they do with SAM2.

Usage (the screenshot script's interpreter wrapper runs it): ``python scripts/demo_backend.py serve ...``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_backend.segmenters import SEGMENTERS
from model_backend.segmenters.base import Segmenter
from model_backend.segmenters.prompts import (
    LABEL_BOX_BOTTOM_RIGHT,
    LABEL_BOX_TOP_LEFT,
    LABEL_NEGATIVE,
    LABEL_POSITIVE,
)

MODEL_SIZE = 1024  # the square frame prompts are given in (as SAM2's)
TOLERANCE = 32.0  # RGB distance (0-441) within which a pixel counts as the seed's colour


class ColourFill(Segmenter):
    """A colour flood fill standing in for SAM2 in demos (see the module doc)."""

    name = "demo-fill"

    def __init__(self, tolerance: float = TOLERANCE, **_ignored):
        super().__init__(min_area_px=16.0, simplify_px=1.0)
        self.tolerance = float(tolerance)
        self._loaded = False
        self._image: np.ndarray | None = None

    def load(self) -> None:
        self._loaded = True

    @property
    def is_loaded(self) -> bool:
        return self._loaded

    @property
    def model_size(self) -> int:
        return MODEL_SIZE

    def _encode(self, image_rgb: np.ndarray) -> None:
        # smoothed colours, so that texture does not break a region into specks
        self._image = ndimage.uniform_filter(image_rgb.astype(np.float32), size=(5, 5, 1))

    def _snapshot(self):
        return self._image, int(self._image.nbytes)

    def _restore(self, features) -> None:
        self._image = features

    def _decode(self, prompts):
        image = self._image
        h, w = image.shape[:2]
        coords, labels = prompts.decoder_inputs()
        sx, sy = w / MODEL_SIZE, h / MODEL_SIZE
        masks = np.zeros((len(prompts), h, w), bool)
        for i in range(len(prompts)):
            x0, y0, x1, y1 = 0, 0, w, h
            positives, negatives = [], []
            for (x, y), label in zip(coords[i], labels[i]):
                if label == LABEL_BOX_TOP_LEFT:
                    x0, y0 = int(x * sx), int(y * sy)
                elif label == LABEL_BOX_BOTTOM_RIGHT:
                    x1, y1 = int(np.ceil((x + 1) * sx)), int(np.ceil((y + 1) * sy))
                elif label in (LABEL_POSITIVE, LABEL_NEGATIVE):
                    point = (min(int((x + 0.5) * sx), w - 1), min(int((y + 0.5) * sy), h - 1))
                    (positives if label == LABEL_POSITIVE else negatives).append(point)
            if not positives:
                positives = [((x0 + x1) // 2, (y0 + y1) // 2)]
            near = np.min([np.linalg.norm(image - image[y, x], axis=2) for x, y in positives], axis=0)
            inside = near <= self.tolerance
            if negatives:
                inside &= near < np.min([np.linalg.norm(image - image[y, x], axis=2) for x, y in negatives], axis=0)
            box = np.zeros((h, w), bool)
            box[max(y0, 0):y1, max(x0, 0):x1] = True
            regions, _n = ndimage.label(inside & box)
            seeds = {regions[y, x] for x, y in positives} - {0}
            masks[i] = np.isin(regions, list(seeds))
        return masks, np.ones(len(prompts), np.float32)

    def _release(self) -> None:
        self._loaded, self._image = False, None


if __name__ == "__main__":
    SEGMENTERS[ColourFill.name] = ColourFill
    from model_backend.cli import main

    sys.exit(main(sys.argv[1:]))
