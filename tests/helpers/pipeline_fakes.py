"""Fakes for end-to-end tests: a "model" that really looks at the pixels it is sent."""

from __future__ import annotations

from rasterio import features
from shapely.geometry import shape

from model_backend.dialects import get_dialect
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.geometry import RotatedBox
from model_backend.tasks import Task


class BrightObjectEngine(Engine):
    """Answers detection requests by finding bright blobs (all channels >= ``threshold``) in the image
    it is sent and writing their boxes in the canonical dialect: a fake model whose answers depend on
    the pixels, so tiling, parsing and georeferencing are tested for real."""

    name = "bright-objects"

    def __init__(self, label: str = "target", threshold: int = 250):
        self.label = label
        self.threshold = threshold
        self.dialect = get_dialect("georsmllm")
        self.calls = 0

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.calls += 1
        image = request.images[0]
        h, w = image.shape[:2]
        bright = (image >= self.threshold).all(axis=2)
        boxes = []
        if bright.any():
            # identity transform: polygon coordinates are image pixels, corner convention
            for geom, _ in features.shapes(bright.astype("uint8"), mask=bright, connectivity=8):
                x0, y0, x1, y1 = shape(geom).bounds
                boxes.append(RotatedBox(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), label=self.label))
        return EngineResponse(self.dialect.format_objects(boxes, Task.DETECTION, (w, h)))

    def describe(self):
        return {"engine": self.name, "model": "bright-object finder", "device": "cpu", "dialect": "georsmllm"}


class RotatedObjectEngine(BrightObjectEngine):
    """Like ``BrightObjectEngine``, but answers each bright blob's minimum rotated rectangle, as a model of
    rotated boxes does: an object cut by the tile's edge comes back as a box around the part it sees."""

    name = "rotated-objects"

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.calls += 1
        image = request.images[0]
        h, w = image.shape[:2]
        bright = (image >= self.threshold).all(axis=2)
        boxes = []
        if bright.any():
            for geom, _ in features.shapes(bright.astype("uint8"), mask=bright, connectivity=8):
                rect = shape(geom).minimum_rotated_rectangle
                boxes.append(RotatedBox(tuple(rect.exterior.coords)[:4], label=self.label))
        return EngineResponse(self.dialect.format_objects(boxes, Task.DETECTION, (w, h)))
