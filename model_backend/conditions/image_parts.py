"""Parts of the run's image ("in the northern half of the image", "in the south-west corner of the scene"):
where the image lies on the map, and which objects' centroids fall in which part of it.

Frames: everything here is in MAP coordinates of the raster's CRS (x = easting or longitude, y =
northing or latitude), the frame the merged results are in. The image is the raster's *footprint*: the
quadrilateral of its four outer pixel corners mapped by its geotransform (a rotated or sheared raster
gives a rotated quadrilateral). Its parts are cut from the axis-aligned bounds of that footprint, in map
directions (north = +y), so "top" means north even for a raster stored south-up or rotated:

- ``north`` / ``south`` / ``east`` / ``west``: the half of the bounds on that side of the middle line;
- ``north-east`` ...: the quarter on both sides (north of the middle and east of the middle);
- ``centre``: the middle third of the bounds in both axes (the centre cell of a 3 x 3 grid).

An object is in a part when its centroid (planar, in map coordinates) lies in the part's rectangle
and in the footprint itself. The middle lines belong to neither half (an object centred exactly on one
is in neither); the outer edges of the bounds and the lines of the middle third are included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely
from affine import Affine
from shapely.geometry import Polygon

from .plan import ImagePartName

XY = tuple[float, float]

#: what each part is called in sentences: "in the {words} of the image"
PART_WORDS: dict[str, str] = {
    "north": "northern half", "south": "southern half", "east": "eastern half", "west": "western half",
    "north-east": "north-east quarter", "north-west": "north-west quarter",
    "south-east": "south-east quarter", "south-west": "south-west quarter", "centre": "centre",
}


def part_phrase(part: str) -> str:
    """``"the northern half of the image"``, ``"the centre of the image (its middle third across and
    down)"``."""
    tail = " (its middle third across and down)" if part == "centre" else ""
    return f"the {PART_WORDS[part]} of the image{tail}"


@dataclass(frozen=True)
class ImageExtent:
    """Where the run's image lies: ``corners_map``, its four outer corners in map coordinates of the
    raster's CRS, in ring order (top-left, top-right, bottom-right, bottom-left of the pixel grid)."""

    corners_map: tuple[XY, XY, XY, XY]

    def __post_init__(self):
        corners = tuple((float(x), float(y)) for x, y in self.corners_map)
        if len(corners) != 4 or not np.all(np.isfinite(corners)):
            raise ValueError(f"an image extent needs four finite corners, got {self.corners_map!r}")
        object.__setattr__(self, "corners_map", corners)
        if self.footprint.area <= 0:
            raise ValueError(f"an image extent needs an area, got the corners {corners!r}")

    @classmethod
    def of_grid(cls, width: int, height: int, transform: Affine) -> "ImageExtent":
        """The footprint of a ``width`` x ``height`` pixel grid whose ``transform`` maps pixel corners
        (column, row; (0, 0) is the top-left corner of the top-left pixel) to map coordinates."""
        corners = [(0, 0), (width, 0), (width, height), (0, height)]
        return cls(tuple(transform @ c for c in corners))

    @property
    def footprint(self) -> Polygon:
        """The image's quadrilateral on the map."""
        return Polygon(self.corners_map)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)``: the axis-aligned bounds of the footprint, in map units."""
        xs = [c[0] for c in self.corners_map]
        ys = [c[1] for c in self.corners_map]
        return min(xs), min(ys), max(xs), max(ys)

    def part_mask(self, xy_map: np.ndarray, part: ImagePartName) -> np.ndarray:
        """Whether each point of ``xy_map`` (an ``(N, 2)`` array of x, y in map coordinates; centroids)
        lies in ``part`` of the image (see the module docstring). NaN points lie nowhere."""
        xy = np.asarray(xy_map, dtype=float).reshape(-1, 2)
        x, y = xy[:, 0], xy[:, 1]
        left, bottom, right, top = self.bounds
        with np.errstate(invalid="ignore"):
            if part == "centre":
                w, h = right - left, top - bottom
                mask = ((x >= left + w / 3) & (x <= left + 2 * w / 3)
                        & (y >= bottom + h / 3) & (y <= bottom + 2 * h / 3))
            else:
                mid_x, mid_y = (left + right) / 2, (bottom + top) / 2
                sides = {"north": y > mid_y, "south": y < mid_y, "east": x > mid_x, "west": x < mid_x}
                mask = np.ones(len(xy), dtype=bool)
                for side in part.split("-"):
                    mask &= sides[side]
        if mask.any():
            inside = shapely.covers(self.footprint, shapely.points(xy[mask]))
            mask[np.flatnonzero(mask)[~inside]] = False
        return mask


def centroids_map(geoms_map: Sequence) -> np.ndarray:
    """(x, y) of each geometry's planar centroid, in the geometries' own (map) coordinates; NaN for an
    empty one."""
    arr = np.asarray(geoms_map, dtype=object).reshape(-1)
    out = np.full((len(arr), 2), np.nan)
    if len(arr):
        centres = shapely.centroid(arr)
        ok = ~shapely.is_empty(centres)
        if ok.any():
            out[ok] = shapely.get_coordinates(centres[ok])
    return out


__all__ = ["PART_WORDS", "ImageExtent", "centroids_map", "part_phrase"]
