"""Fakes for end-to-end tests: a "model" that really looks at the pixels it is sent."""

from __future__ import annotations

import numpy as np
from rasterio import features
from shapely.geometry import shape

from model_backend.dialects import get_dialect
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.geometry import PolygonRegion, RotatedBox, SegTarget
from model_backend.segmenters.base import Segmenter
from model_backend.tasks import Task, split_tag


class BrightObjectEngine(Engine):
    """Answers detection requests by finding bright blobs (all channels >= ``threshold``) in the image
    it is sent and writing their boxes in the canonical dialect: a fake model whose answers depend on
    the pixels, so tiling, parsing and georeferencing are tested for real."""

    name = "bright-objects"

    def __init__(self, label: str = "target", threshold: int = 250, dialect: str = "georsmllm"):
        self.label = label
        self.threshold = threshold
        self.dialect = get_dialect(dialect)  # e.g. "qwen3-vl": a model that answers horizontal boxes only
        self.calls = 0
        self.answers_with_objects = 0

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
        self.answers_with_objects += bool(boxes)
        return EngineResponse(self.dialect.format_objects(boxes, Task.DETECTION, (w, h)))

    def describe(self):
        return {"engine": self.name, "model": "bright-object finder", "device": "cpu", "dialect": self.dialect.name}


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


def _blobs(mask: np.ndarray):
    """The connected parts of a bool mask as shapely polygons in image pixels (corner convention)."""
    if not mask.any():
        return []
    return [shape(geom) for geom, _ in features.shapes(mask.astype("uint8"), mask=mask, connectivity=8)]


class ColourObjectEngine(Engine):
    """A fake model that looks at the pixels and routes by the prompt text: a request naming one of
    ``colours``' words ("[detection] bridges", "[seg] rivers") finds the pixels of exactly that colour (of
    every channel >= 250 for a word mapped to ``None``, like ``BrightObjectEngine``); a request naming
    none finds nothing. It answers in the
    canonical dialect, for the task the prompt's tag names: detection as boxes, segmentation as outlines
    (``seg_as="polygons"``) or as a box and a keypoint for the segmenter (``seg_as="targets"``). Records
    every prompt and every image it was sent."""

    name = "colour-objects"

    def __init__(self, colours: dict[str, tuple[int, int, int] | None], label: str | None = None,
                 seg_as: str = "polygons"):
        self.colours = colours
        self.label = label
        self.seg_as = seg_as
        self.dialect = get_dialect("georsmllm")
        self.prompts: list[str] = []
        self.images: list[np.ndarray] = []  # held, so that no two tiles' images can share an id()

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def load(self) -> None:
        pass

    def mask(self, prompt: str, image: np.ndarray) -> np.ndarray:
        for word, colour in self.colours.items():
            if word in prompt.lower():
                if colour is None:
                    return (image >= 250).all(axis=2)
                return (image == np.array(colour, np.uint8)).all(axis=2)
        return np.zeros(image.shape[:2], bool)  # asked for something the scene does not hold

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.prompts.append(request.prompt)
        self.images.append(request.images[0])
        task, _text = split_tag(request.prompt)
        task = task or Task.DETECTION
        image = request.images[0]
        h, w = image.shape[:2]
        objects = []
        for blob in _blobs(self.mask(request.prompt, image)):
            x0, y0, x1, y1 = blob.bounds
            if task is Task.SEGMENTATION and self.seg_as == "polygons":
                objects.append(PolygonRegion(tuple(blob.exterior.coords)[:-1], label=self.label))
            elif task is Task.SEGMENTATION:
                inside = blob.representative_point()
                objects.append(SegTarget((x0, y0, x1, y1), ((inside.x, inside.y),), label=self.label))
            else:
                objects.append(RotatedBox(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), label=self.label))
        return EngineResponse(self.dialect.format_objects(objects, task, (w, h)))

    def describe(self):
        return {"engine": self.name, "model": "colour-object finder", "device": "cpu", "dialect": "georsmllm"}


class _PixelSegmenter(Segmenter):
    """What the fake segmenters share: loading is a flag, the model input is ``model_size`` px square."""

    def __init__(self, model_size: int):
        super().__init__(min_area_px=4.0, simplify_px=0.5)
        self.size = model_size
        self._loaded = False

    def load(self) -> None:
        self._loaded = True

    @property
    def is_loaded(self) -> bool:
        return self._loaded

    @property
    def model_size(self) -> int:
        return self.size

    def _release(self) -> None:
        self._loaded = False


class DiamondSegmenter(_PixelSegmenter):
    """A segmenter whose mask for each prompt box is the diamond inscribed in it (the box's edge midpoints),
    so refined geometry is known exactly: the outline is that diamond and its minimum rotated rectangle is
    the diamond itself, at 45 degrees for a square box. Counts encodings and decoder calls like SAM2
    (``Segmenter`` does)."""

    name = "diamond"

    def __init__(self, model_size: int = 256):
        super().__init__(model_size)
        self._image_hw = (0, 0)

    def _encode(self, image_rgb):
        self._image_hw = image_rgb.shape[:2]

    def _decode(self, prompts):
        h, w = self._image_hw
        sx, sy = w / self.size, h / self.size
        rows, cols = np.mgrid[0:h, 0:w]
        masks = np.zeros((len(prompts), h, w), bool)
        for i, (x1, y1, x2, y2) in enumerate(prompts.boxes_xyxy_model):
            # back to image pixels (prompts hold inclusive pixel indices of the model input)
            x1, x2 = x1 * sx, (x2 + 1) * sx
            y1, y2 = y1 * sy, (y2 + 1) * sy
            cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
            masks[i] = np.abs(cols + 0.5 - cx) / hw + np.abs(rows + 0.5 - cy) / hh <= 1.0
        return masks, np.ones(len(prompts), np.float32)


class ColourSegmenter(_PixelSegmenter):
    """A segmenter whose mask for a prompt box is the pixels inside the box that have the colour of the
    box's first keypoint, as SAM2 would outline the object the model pointed at: a diagonal road's
    outline, not its bounding box."""

    name = "colour"

    def __init__(self, model_size: int = 1024):
        super().__init__(model_size)
        self._image = None

    def _encode(self, image_rgb):
        self._image = image_rgb

    def _decode(self, prompts):
        image = self._image
        h, w = image.shape[:2]
        sx, sy = w / self.model_size, h / self.model_size
        masks = np.zeros((len(prompts), h, w), bool)
        for i, ((x1, y1, x2, y2), points) in enumerate(zip(prompts.boxes_xyxy_model, prompts.points_xy_model)):
            px, py = int((points[0][0] + 0.5) * sx), int((points[0][1] + 0.5) * sy)  # index -> corner frame
            c0, c1, r0, r1 = int(x1 * sx), int(np.ceil((x2 + 1) * sx)), int(y1 * sy), int(np.ceil((y2 + 1) * sy))
            same = (image == image[py, px]).all(axis=2)
            masks[i, r0:r1, c0:c1] = same[r0:r1, c0:c1]
        return masks, np.ones(len(prompts), np.float32)
