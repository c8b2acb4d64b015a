"""Running a plan's GIS part over georeferenced results: conditions, boolean logic, ranking, counting.

``execute_plan(plan, objects_map, crs, context_layers, found, image=...)`` takes the merged objects in
MAP coordinates of ``crs`` and the references as geometries -- context layers by name
(``name -> (shapely geometries, CRS or None)``), and what the model found for a model-found reference
in ``found``, keyed by the reference's id, the same way -- and, for ``ImagePart`` conditions ("in the
northern half of the image"), where the run's image lies (``image_parts.ImageExtent``, in ``crs``), and
returns the objects kept, in order.
Measures and frames are those of ``measure`` (edge-to-edge distances in metres, geodesic for
geographic CRSs; direction by centroid against the reference's nearest point, or the side of a line;
"between" by the directions of the two references' nearest points from the centroid).

Semantics the plan types leave to the executor:

- ``Topology(relation="inside")``: covered by a polygon feature of the reference; for line and point
  features (a road centreline, a point of interest) it means touching one;
- ``Between(a, b)``: from the object's centroid, the nearest points of ``a`` and ``b`` lie in opposite
  directions (more than 90 degrees apart), and the object touches neither (it shares no point with a
  feature of either, so an object on or inside one is not between them);
- a reference with no features: distances are infinite ("within 100 m of" keeps nothing, "not within"
  keeps everything), nothing intersects, covers, lies in a direction of it or between it and another;
- ranking: after the conditions; values sorted (descending or ascending), the first ``k`` kept plus
  every object whose value equals the k-th (ties, to 1e-9 relative); objects without a value (no
  reference feature to measure from) are never ranked; equal values keep the results' order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import shapely

from ..errors import ConfigError
from ..geometry import GeoObject
from .image_parts import PART_WORDS, ImageExtent, centroids_map
from .layers import resolve_layer
from .measure import (
    ContextLayers,
    CrsLike,
    MetricFrame,
    compass_mask,
    covered_mask,
    direction_offsets,
    extents_m,
    intersects_mask,
    layer_tree,
    nearest_distances_m,
    nearest_offsets,
    object_geometries,
    opposite_mask,
)
from .plan import And, Between, Direction, Distance, ImagePart, Measure, Not, Or, Plan, Reference, Topology, walk

_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
_POLYGON_TYPES = (3, 6)  # shapely type ids of Polygon and MultiPolygon


@dataclass
class PlanResult:
    """What ``execute_plan`` kept: ``objects`` in order (ranking order when the plan ranks, else the
    input order), ``indices`` into the input, ``count`` (the number kept) when the plan counts."""

    objects: list[GeoObject]
    indices: list[int]
    count: int | None = None


class ObjectMeasures:
    """Measures of one result set against the plan's references, each computed once.

    ``objects_map``: objects in map coordinates of ``crs``. ``references``: reference id ->
    ``(shapely geometries, CRS or None)``. ``image``: where the run's image lies in ``crs`` (needed only
    by ``ImagePart`` conditions).
    """

    def __init__(self, objects_map: Sequence[GeoObject], crs: CrsLike,
                 references: Mapping[str, tuple[Sequence[Any], Any]] | None = None,
                 image: ImageExtent | None = None):
        self.image = image
        self.geoms_map = object_geometries(objects_map, crs)
        self.frame = MetricFrame(crs, self.geoms_map)
        self.geoms_metric = self.frame.to_metric(self.geoms_map)
        self.references = dict(references or {})
        self._trees: dict[tuple[str, str], shapely.STRtree] = {}
        self._cache: dict[tuple, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.geoms_map)

    def _tree(self, ref_id: str, which: str = "all") -> shapely.STRtree:
        key = (ref_id, which)
        if key not in self._trees:
            geoms, crs = self.references[ref_id]
            geoms = [g for g in geoms if g is not None and not g.is_empty]
            if which != "all":
                polygonal = [shapely.get_type_id(g) in _POLYGON_TYPES for g in geoms]
                geoms = [g for g, p in zip(geoms, polygonal) if p == (which == "polygons")]
            self._trees[key] = layer_tree(self.frame, geoms, crs)
        return self._trees[key]

    def _cached(self, key: tuple, compute) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- the objects' own measures ---------------------------------------------------------------

    def areas_m2(self) -> np.ndarray:
        return self._cached(("area",), lambda: self.frame.areas_m2(self.geoms_map))

    def perimeters_m(self) -> np.ndarray:
        return self._cached(("perimeter",), lambda: self.frame.perimeters_m(self.geoms_map))

    def lengths_m(self) -> np.ndarray:
        return self._cached(("length",), lambda: extents_m(self.geoms_metric)[0])

    def widths_m(self) -> np.ndarray:
        return self._cached(("width",), lambda: extents_m(self.geoms_metric)[1])

    def centroids_m(self) -> np.ndarray:
        """(x, y) of each centroid in the metric frame (metres east and north)."""
        return self._cached(("centroid",), lambda: shapely.get_coordinates(shapely.centroid(self.geoms_metric)))

    # -- against a reference ---------------------------------------------------------------------

    def distances_m(self, ref_id: str) -> np.ndarray:
        return self._cached(("distance", ref_id), lambda: nearest_distances_m(self.geoms_metric, self._tree(ref_id)))

    def intersects(self, ref_id: str) -> np.ndarray:
        return self._cached(("intersects", ref_id), lambda: intersects_mask(self.geoms_metric, self._tree(ref_id)))

    def inside(self, ref_id: str) -> np.ndarray:
        def compute():
            covered = covered_mask(self.geoms_metric, self._tree(ref_id, "polygons"))
            return covered | intersects_mask(self.geoms_metric, self._tree(ref_id, "others"))

        return self._cached(("inside", ref_id), compute)

    def in_direction(self, ref_id: str, direction: str) -> np.ndarray:
        offsets = self._cached(("offsets", ref_id), lambda: direction_offsets(self.geoms_metric, self._tree(ref_id)))
        return compass_mask(offsets, direction)

    def between(self, ref_a: str, ref_b: str) -> np.ndarray:
        """Whether each object lies between the two references: the references' nearest points lie in
        opposite directions from its centroid, and it touches neither of them."""
        def compute():
            offsets = [self._cached(("nearest", r), lambda r=r: nearest_offsets(self.geoms_metric, self._tree(r)))
                       for r in (ref_a, ref_b)]
            return opposite_mask(*offsets) & ~self.intersects(ref_a) & ~self.intersects(ref_b)

        return self._cached(("between",) + tuple(sorted((ref_a, ref_b))), compute)

    def in_image_part(self, part: str) -> np.ndarray:
        """Whether each object's centroid (planar, map coordinates) lies in ``part`` of the image."""
        if self.image is None:
            raise _no_image(part)
        centres = self._cached(("centroid_map",), lambda: centroids_map(self.geoms_map))
        return self._cached(("image_part", part), lambda: self.image.part_mask(centres, part))

    def measure(self, name: str) -> np.ndarray:
        return {"area": self.areas_m2, "length": self.lengths_m, "width": self.widths_m,
                "perimeter": self.perimeters_m}[name]()


def _no_image(part: str) -> ConfigError:
    return ConfigError(
        f"\u201cin the {PART_WORDS[part]} of the image\u201d needs to know where the image lies, and none was "
        "given: measure it on a run over a georeferenced raster"
    )


def _compare(values: np.ndarray, op: str, low: float, high: float | None) -> np.ndarray:
    if op == "between":
        return (values >= low) & (values <= high)
    return _OPS[op](values, low)


def condition_mask(condition, measures: ObjectMeasures) -> np.ndarray:
    """One bool per object: does it satisfy ``condition`` (a plan condition tree)."""
    if isinstance(condition, Distance):
        upper = condition.upper.si if condition.upper is not None else None
        return _compare(measures.distances_m(condition.ref), condition.op, condition.value.si, upper)
    if isinstance(condition, Measure):
        upper = condition.upper.si if condition.upper is not None else None
        return _compare(measures.measure(condition.measure), condition.op, condition.value.si, upper)
    if isinstance(condition, Topology):
        if condition.relation == "inside":
            return measures.inside(condition.ref)
        return measures.intersects(condition.ref)
    if isinstance(condition, Direction):
        return measures.in_direction(condition.ref, condition.direction)
    if isinstance(condition, Between):
        return measures.between(condition.ref_a, condition.ref_b)
    if isinstance(condition, ImagePart):
        return measures.in_image_part(condition.part)
    if isinstance(condition, Not):
        return ~condition_mask(condition.item, measures)
    if isinstance(condition, And):
        mask = np.ones(len(measures), dtype=bool)
        for item in condition.items:
            mask &= condition_mask(item, measures)
        return mask
    if isinstance(condition, Or):
        mask = np.zeros(len(measures), dtype=bool)
        for item in condition.items:
            mask |= condition_mask(item, measures)
        return mask
    raise TypeError(f"not a plan condition: {condition!r}")


def rank_values(plan: Plan, measures: ObjectMeasures) -> np.ndarray:
    """The value each object is ranked by (NaN where there is none)."""
    rank = plan.rank
    if rank.by == "distance":
        values = measures.distances_m(rank.ref).astype(float)
    elif rank.by in ("northing", "easting"):
        values = measures.centroids_m()[:, 1 if rank.by == "northing" else 0].astype(float)
    else:
        values = measures.measure(rank.by).astype(float)
    return np.where(np.isfinite(values), values, np.nan)


def ranked(indices: Sequence[int], values: np.ndarray, descending: bool, k: int) -> list[int]:
    """``indices`` ordered by ``values`` (NaN dropped), the first ``k`` plus ties with the k-th."""
    have = [i for i in indices if not np.isnan(values[i])]
    order = sorted(have, key=lambda i: -values[i] if descending else values[i])  # stable: ties keep order
    if len(order) <= k:
        return order
    cut = values[order[k - 1]]
    tolerance = 1e-9 * max(1.0, abs(cut))
    return [i for n, i in enumerate(order) if n < k or abs(values[i] - cut) <= tolerance]


def reference_geometries(
    plan: Plan,
    context_layers: ContextLayers | None = None,
    found: Mapping[str, tuple[Sequence[Any], Any]] | None = None,
) -> dict[str, tuple[list, Any]]:
    """Reference id -> ``(shapely geometries, CRS)``: a layer reference from ``context_layers`` (its
    name matched tolerantly), a model-found one from ``found`` (shapely geometries or ``GeoObject``s).
    ``ConfigError`` naming what is missing."""
    layers = dict(context_layers or {})
    found = dict(found or {})
    out: dict[str, tuple[list, Any]] = {}
    for ref in plan.references:
        out[ref.id] = _geometries(ref, layers, found)
    return out


def _geometries(ref: Reference, layers: dict, found: dict) -> tuple[list, Any]:
    if ref.source == "layer":
        geoms, crs = layers[resolve_layer(ref.layer, layers)]
        return list(geoms), crs
    if ref.id not in found:
        raise ConfigError(
            f"reference {ref.id} (\u201c{ref.phrase}\u201d) is to be found by the model first, and no results were "
            "given for it; add a context layer for it instead"
        )
    items, crs = found[ref.id]
    items = list(items)
    if items and isinstance(items[0], GeoObject):
        if crs is None:
            raise ConfigError(f"the objects found for reference {ref.id} come without a CRS")
        items = list(object_geometries(items, crs))
    return items, crs


def execute_plan(
    plan: Plan,
    objects_map: Sequence[GeoObject],
    crs: CrsLike,
    context_layers: ContextLayers | None = None,
    found: Mapping[str, tuple[Sequence[Any], Any]] | None = None,
    *,
    image: ImageExtent | None = None,
) -> PlanResult:
    """The objects that satisfy ``plan.where``, ranked by ``plan.rank``, counted when ``plan.count``.

    ``objects_map``: the merged results in map coordinates of ``crs``. ``context_layers``: layer name ->
    ``(shapely geometries, CRS or None: the results' CRS)``. ``found``: reference id -> what the model
    found for that reference, the same way (or ``GeoObject``s with their CRS). ``image``: where the
    run's image lies, in ``crs`` (for ``ImagePart`` conditions). References and the image extent are
    checked before anything is measured, even when there are no objects; ``ConfigError`` for a missing
    layer, CRS or image extent.
    """
    references = reference_geometries(plan, context_layers, found)
    parts = [n.part for n in walk(plan.where) if isinstance(n, ImagePart)]
    if parts and image is None:
        raise _no_image(parts[0])
    objects = list(objects_map)
    if not objects:
        return PlanResult([], [], 0 if plan.count else None)
    measures = ObjectMeasures(objects, crs, references, image)
    mask = condition_mask(plan.where, measures) if plan.where is not None else np.ones(len(objects), dtype=bool)
    indices = [i for i in range(len(objects)) if mask[i]]
    if plan.rank is not None:
        indices = ranked(indices, rank_values(plan, measures), plan.rank.descending, plan.rank.k)
    return PlanResult([objects[i] for i in indices], indices, len(indices) if plan.count else None)


__all__ = ["ObjectMeasures", "PlanResult", "condition_mask", "execute_plan", "ranked", "reference_geometries"]
