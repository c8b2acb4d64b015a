"""Hand-made objects for the executor's tests: squares placed in metres from an origin in a UTM grid."""

from __future__ import annotations

from typing import Callable

from model_backend.geometry import PolygonRegion

#: the origin the squares are placed from (metres, in EPSG:32633)
UTM_ORIGIN = (500_000.0, 5_000_000.0)


def square(label: str, x: float, y: float, side: float = 10.0,
           crs_xy: Callable[[float, float], tuple[float, float]] | None = None,
           origin: tuple[float, float] = UTM_ORIGIN) -> PolygonRegion:
    """A ``side`` m square centred (x, y) metres east and north of ``origin`` (map coordinates), its corners
    passed through ``crs_xy`` (e.g. a transformer to EPSG:4326) when given."""
    x0, y0 = origin
    h = side / 2
    ring = [(x0 + x - h, y0 + y - h), (x0 + x + h, y0 + y - h), (x0 + x + h, y0 + y + h), (x0 + x - h, y0 + y + h)]
    if crs_xy is not None:
        ring = [crs_xy(*p) for p in ring]
    return PolygonRegion(tuple(ring), label=label)
