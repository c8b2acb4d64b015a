"""Typed GIS filters: the conditions a GIS measures exactly, evaluated on georeferenced results
instead of by the model (area, length/width, distance to / intersection with / direction from a
context layer). What each measure means, and in which frame it is taken, is in ``measure``.

``apply_gis_filters(objects_map, crs, filters, context_layers)`` is the pipeline's GIS stage: objects
in MAP coordinates of ``crs``, context layers ``name -> (shapely geometries, CRS or None)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence

import numpy as np
import shapely

from ..errors import ConfigError
from ..geometry import GeoObject
from .layers import find_layer, resolve_layer
from .measure import (
    ContextLayers,
    CrsLike,
    DIRECTIONS,
    MetricFrame,
    as_crs,
    direction_mask,
    direction_to_layer,
    distances_to_layer_m,
    extents_m,
    intersects_layer,
    intersects_mask,
    layer_tree,
    nearest_distances_m,
    object_areas_m2,
    object_extents_m,
    object_geometries,
    offsets_from_nearest,
    within_mask,
)
from .units import Quantity

COMPARATORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


# --------------------------------------------------------------------------------------------------
# typed filters (what a plan's GIS step holds)

class _Context:
    """Lazily computed measures of one result set, shared by all filters of one run."""

    def __init__(self, objects_map: Sequence[GeoObject], crs: CrsLike, layers: ContextLayers):
        self.geoms_map = object_geometries(objects_map, crs)
        self.frame = MetricFrame(crs, self.geoms_map)
        self.geoms_metric = self.frame.to_metric(self.geoms_map)
        self.layers = layers
        self._trees: dict[str, shapely.STRtree] = {}
        self._extents: tuple[np.ndarray, np.ndarray] | None = None

    def tree(self, name: str) -> shapely.STRtree:
        key = resolve_layer(name, self.layers)
        if key not in self._trees:
            geoms, layer_crs = self.layers[key]
            self._trees[key] = layer_tree(self.frame, geoms, layer_crs)
        return self._trees[key]

    def extents(self) -> tuple[np.ndarray, np.ndarray]:
        if self._extents is None:
            self._extents = extents_m(self.geoms_metric)
        return self._extents


def layer_of(flt: "GisFilter") -> str | None:
    """The context layer a filter refers to, if any."""
    return getattr(flt, "layer", None)


class GisFilter:
    """Base of the typed filters. ``keep`` returns one bool per object; filters that refer to a
    context layer have a ``layer`` field (see ``layer_of``)."""

    type: ClassVar[str] = ""

    def describe(self) -> str:
        raise NotImplementedError

    def keep(self, ctx: _Context) -> np.ndarray:
        raise NotImplementedError

    def _fields(self) -> dict:
        raise NotImplementedError

    def to_dict(self) -> dict:
        """JSON-ready: ``{"type", ...fields, "description"}``."""
        return {"type": self.type, **self._fields(), "description": self.describe()}

    @staticmethod
    def from_dict(d: dict) -> "GisFilter":
        """Inverse of ``to_dict`` (the description is ignored)."""
        try:
            cls = FILTER_TYPES[d["type"]]
        except KeyError:
            raise ConfigError(
                f"unknown GIS filter type {d.get('type')!r}; known: {', '.join(FILTER_TYPES)}"
            ) from None
        return cls._from_fields(d)


def _check_op(op: str) -> None:
    if op not in COMPARATORS:
        raise ValueError(f"comparison must be one of {list(COMPARATORS)}, got {op!r}")


def _check_dim(q: Quantity, dim: str) -> None:
    if q.dimension != dim:
        raise ValueError(f"expected a {dim}, got {q}")


@dataclass(frozen=True)
class AreaFilter(GisFilter):
    """Keep objects whose area compares ``op`` to ``threshold`` (an area)."""

    op: str
    threshold: Quantity
    type: ClassVar[str] = "area"

    def __post_init__(self):
        _check_op(self.op)
        _check_dim(self.threshold, "area")

    def describe(self) -> str:
        return f"area {self.op} {self.threshold}"

    def keep(self, ctx: _Context) -> np.ndarray:
        return COMPARATORS[self.op](ctx.frame.areas_m2(ctx.geoms_map), self.threshold.si)

    def _fields(self) -> dict:
        return {"op": self.op, "threshold": self.threshold.to_dict()}

    @classmethod
    def _from_fields(cls, d: dict) -> "AreaFilter":
        return cls(d["op"], Quantity.from_dict(d["threshold"]))


@dataclass(frozen=True)
class ExtentFilter(GisFilter):
    """Keep objects whose length (``measure="length"``: longer side of the minimum rotated rectangle)
    or width (``"width"``: its shorter side) compares ``op`` to ``threshold`` (a length)."""

    measure: str
    op: str
    threshold: Quantity
    type: ClassVar[str] = "extent"

    def __post_init__(self):
        _check_op(self.op)
        _check_dim(self.threshold, "length")
        if self.measure not in ("length", "width"):
            raise ValueError(f"measure must be 'length' or 'width', got {self.measure!r}")

    def describe(self) -> str:
        side = "longer" if self.measure == "length" else "shorter"
        return f"{self.measure} {self.op} {self.threshold} ({side} side of the minimum rotated rectangle)"

    def keep(self, ctx: _Context) -> np.ndarray:
        lengths, widths = ctx.extents()
        return COMPARATORS[self.op](lengths if self.measure == "length" else widths, self.threshold.si)

    def _fields(self) -> dict:
        return {"measure": self.measure, "op": self.op, "threshold": self.threshold.to_dict()}

    @classmethod
    def _from_fields(cls, d: dict) -> "ExtentFilter":
        return cls(d["measure"], d["op"], Quantity.from_dict(d["threshold"]))


@dataclass(frozen=True)
class DistanceFilter(GisFilter):
    """Keep objects whose distance to the nearest feature of ``layer`` compares ``op`` to
    ``distance`` ("within 200 m of roads": ``<=``; "not within 1 km of rivers": ``>``)."""

    layer: str
    op: str
    distance: Quantity
    type: ClassVar[str] = "distance"

    def __post_init__(self):
        _check_op(self.op)
        _check_dim(self.distance, "length")

    def describe(self) -> str:
        return (
            f"distance to layer '{self.layer}' {self.op} {self.distance} "
            "(nearest feature, outline to outline)"
        )

    def keep(self, ctx: _Context) -> np.ndarray:
        distances_m = nearest_distances_m(ctx.geoms_metric, ctx.tree(self.layer))
        return COMPARATORS[self.op](distances_m, self.distance.si)

    def _fields(self) -> dict:
        return {"layer": self.layer, "op": self.op, "distance": self.distance.to_dict()}

    @classmethod
    def _from_fields(cls, d: dict) -> "DistanceFilter":
        return cls(d["layer"], d["op"], Quantity.from_dict(d["distance"]))


@dataclass(frozen=True)
class IntersectsFilter(GisFilter):
    """Keep objects that share a point with a feature of ``layer`` (or, ``negate``, that do not)."""

    layer: str
    negate: bool = False
    type: ClassVar[str] = "intersects"

    def describe(self) -> str:
        return f"{'does not intersect' if self.negate else 'intersects'} layer '{self.layer}'"

    def keep(self, ctx: _Context) -> np.ndarray:
        hit = intersects_mask(ctx.geoms_metric, ctx.tree(self.layer))
        return ~hit if self.negate else hit

    def _fields(self) -> dict:
        return {"layer": self.layer, "negate": self.negate}

    @classmethod
    def _from_fields(cls, d: dict) -> "IntersectsFilter":
        return cls(d["layer"], bool(d.get("negate", False)))


@dataclass(frozen=True)
class WithinFilter(GisFilter):
    """Keep objects lying wholly inside a feature of ``layer`` (boundary included; or, ``negate``, those
    that do not)."""

    layer: str
    negate: bool = False
    type: ClassVar[str] = "within"

    def describe(self) -> str:
        return f"{'not inside' if self.negate else 'inside'} layer '{self.layer}'"

    def keep(self, ctx: _Context) -> np.ndarray:
        inside = within_mask(ctx.geoms_metric, ctx.tree(self.layer))
        return ~inside if self.negate else inside

    def _fields(self) -> dict:
        return {"layer": self.layer, "negate": self.negate}

    @classmethod
    def _from_fields(cls, d: dict) -> "WithinFilter":
        return cls(d["layer"], bool(d.get("negate", False)))


@dataclass(frozen=True)
class DirectionFilter(GisFilter):
    """Keep objects whose centroid lies in every one of ``directions`` (north/south/east/west) of the
    nearest point of ``layer`` (or, ``negate``, those that do not)."""

    directions: tuple[str, ...]
    layer: str
    negate: bool = False
    type: ClassVar[str] = "direction"

    def __post_init__(self):
        object.__setattr__(self, "directions", tuple(self.directions))
        if not self.directions or any(d not in DIRECTIONS for d in self.directions):
            raise ValueError(f"directions must be among {DIRECTIONS}, got {self.directions}")

    def describe(self) -> str:
        word = "-".join(self.directions)
        neg = "not " if self.negate else ""
        return f"{neg}{word} of layer '{self.layer}' (object centroid vs. the layer's nearest point)"

    def keep(self, ctx: _Context) -> np.ndarray:
        mask = direction_mask(offsets_from_nearest(ctx.geoms_metric, ctx.tree(self.layer)), self.directions)
        return ~mask if self.negate else mask

    def _fields(self) -> dict:
        return {"directions": list(self.directions), "layer": self.layer, "negate": self.negate}

    @classmethod
    def _from_fields(cls, d: dict) -> "DirectionFilter":
        return cls(tuple(d["directions"]), d["layer"], bool(d.get("negate", False)))


FILTER_TYPES: dict[str, type] = {
    c.type: c for c in (AreaFilter, ExtentFilter, DistanceFilter, IntersectsFilter, WithinFilter, DirectionFilter)
}


def filter_mask(
    objects_map: Sequence[GeoObject],
    crs: CrsLike,
    filters: Sequence[GisFilter],
    context_layers: ContextLayers | None = None,
) -> np.ndarray:
    """One bool per object: does it pass every filter (logical AND, in order)."""
    layers = context_layers or {}
    # Fail on an unknown layer before measuring anything, even when there are no objects.
    for f in filters:
        if layer_of(f) is not None:
            resolve_layer(layer_of(f), layers)
    if not len(objects_map):
        return np.zeros(0, dtype=bool)
    ctx = _Context(objects_map, crs, layers)
    mask = np.ones(len(objects_map), dtype=bool)
    for f in filters:
        mask &= f.keep(ctx)
    return mask


def apply_gis_filters(
    objects_map: Sequence[GeoObject],
    crs: CrsLike,
    filters: Sequence[GisFilter],
    context_layers: ContextLayers | None = None,
) -> list[GeoObject]:
    """The objects (map coordinates in ``crs``) that pass every filter, in their original order.

    ``context_layers``: ``name -> (shapely geometries, CRS or None)``; names in the filters are
    matched tolerantly (see ``find_layer``). Raises ``ConfigError`` for an unknown layer or a
    missing CRS.
    """
    mask = filter_mask(objects_map, crs, filters, context_layers)
    return [obj for obj, ok in zip(objects_map, mask) if ok]


__all__ = [
    "AreaFilter",
    "ContextLayers",
    "CrsLike",
    "DirectionFilter",
    "DistanceFilter",
    "ExtentFilter",
    "GisFilter",
    "IntersectsFilter",
    "WithinFilter",
    "MetricFrame",
    "apply_gis_filters",
    "as_crs",
    "direction_to_layer",
    "distances_to_layer_m",
    "filter_mask",
    "find_layer",
    "intersects_layer",
    "layer_of",
    "object_areas_m2",
    "object_extents_m",
    "object_geometries",
    "resolve_layer",
]
