"""Objects cut by a tile edge: the part a tile sees of an object that a neighbouring tile saw whole is the same
object, not another one (no slivers), while distinct objects a few pixels apart stay distinct. Twelve rotated
objects on north-up UTM, rotated-geotransform and geographic rasters, through the whole pipeline."""

from __future__ import annotations

import math

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio import features
from shapely.geometry import Polygon

from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from tests.helpers.pipeline_fakes import RotatedObjectEngine

SIZE = 640  # pixels; 256-px tiles with 64 px overlap start at 0, 192 and 384 on both axes
# (centre x, centre y, length, width, angle in degrees), raster pixels
OBJECTS = [
    (205, 100, 40, 12, 30),    # whole in the first column of tiles, a piece in the second
    (245, 300, 36, 14, -50),   # a piece in the first column, whole in the second
    (100, 250, 40, 10, 70),    # across the first horizontal seam
    (390, 200, 30, 10, 45),    # near a tile corner: whole in one tile, pieces in three others
    (440, 500, 44, 12, 10),
    (560, 190, 38, 12, -20),   # a thin sliver in the tile below
    (80, 80, 30, 10, 0),       # inside tiles
    (320, 560, 40, 14, 60),
    (540, 560, 24, 24, 15),
    (100, 500, 36, 12, -35),
    (452, 100, 30, 10, 0),     # two objects 3 px apart, both cut by the same seam
    (452, 113, 30, 10, 0),
]


def rectangle(cx, cy, length, width, angle_deg) -> Polygon:
    a = math.radians(angle_deg)
    ux, uy = math.cos(a) * length / 2, math.sin(a) * length / 2
    vx, vy = -math.sin(a) * width / 2, math.cos(a) * width / 2
    return Polygon([(cx - ux - vx, cy - uy - vy), (cx + ux - vx, cy + uy - vy), (cx + ux + vx, cy + uy + vy),
                    (cx - ux + vx, cy - uy + vy)])


def write_scene(path, transform, crs) -> list[Polygon]:
    """A dark raster with the objects painted white; returns their outlines in map coordinates."""
    shapes_px = [rectangle(*o) for o in OBJECTS]
    mask = features.rasterize([(s, 1) for s in shapes_px], out_shape=(SIZE, SIZE), transform=Affine.identity(),
                              dtype="uint8")
    data = np.where(mask[None] == 1, 255, 60).repeat(3, axis=0).astype("uint8")
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 3, "dtype": "uint8",
               "transform": transform, "crs": crs}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return [shapely.affinity.affine_transform(s, [transform.a, transform.b, transform.d, transform.e,
                                                  transform.c, transform.f]) for s in shapes_px]


theta = math.radians(25)
SCENES = {
    "utm": (Affine(2.0, 0, 500000.0, 0, -2.0, 4100000.0), "EPSG:32633", 2.0),
    "rotated": (Affine(2 * math.cos(theta), -2 * math.sin(theta), 500000.0,
                       -2 * math.sin(theta), -2 * math.cos(theta), 4100000.0), "EPSG:32633", 2.0),
    "geographic": (Affine(1e-4, 0, 12.0, 0, -1e-4, 45.0), "EPSG:4326", 1e-4),
}


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_objects_cut_by_tile_edges_come_back_once_each(tmp_path, scene):
    transform, crs, px = SCENES[scene]
    planted = write_scene(tmp_path / "scene.tif", transform, crs)
    config = RunConfig(raster=str(tmp_path / "scene.tif"), instruction="[detection] planes",
                       output=str(tmp_path / "out.gpkg"), engine="scripted", tile_size=256, overlap=64)
    result = Pipeline(config, RotatedObjectEngine(label="plane")).run()
    assert result.tiles_total == 9
    _meta, _fids, wkb, _fields = pyogrio.raw.read(tmp_path / "out.gpkg", layer=result.outputs["layers"]["boxes"])
    found = list(shapely.from_wkb(wkb))
    assert result.counts == {"plane": len(OBJECTS)} and len(found) == len(OBJECTS)
    for poly in planted:  # each planted object matched by one box, within rasterisation and quantisation
        best = min(found, key=lambda f: f.hausdorff_distance(poly))
        assert best.hausdorff_distance(poly) <= 2.0 * px, (scene, poly.wkt, best.wkt)


def test_counting_counts_each_cut_object_once(tmp_path):
    transform, crs, _px = SCENES["utm"]
    write_scene(tmp_path / "scene.tif", transform, crs)
    config = RunConfig(raster=str(tmp_path / "scene.tif"), instruction="How many planes are there?",
                       output=str(tmp_path / "out.gpkg"), engine="scripted", tile_size=256, overlap=64)
    result = Pipeline(config, RotatedObjectEngine(label="plane")).run()
    assert [a.text for a in result.answers] == [str(len(OBJECTS))]
