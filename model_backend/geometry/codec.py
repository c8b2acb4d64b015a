"""Geometry objects to and from plain JSON-ready dicts, exactly (coordinates are Python floats, which JSON
writes with ``repr`` precision and reads back bit for bit).

The frame is the caller's: the run journal stores objects in RASTER pixels (corner convention);
``GeoPoint`` is always WGS84 lat/lon. ``span`` (the object's place in the model's answer text) is not
kept: it only serves to attach token scores, which are already in ``score``.
"""

from __future__ import annotations

from typing import Any, Mapping

from .types import GeoObject, GeoPoint, PolygonRegion, RotatedBox, SegTarget


def object_to_dict(obj: GeoObject) -> dict[str, Any]:
    """``{"kind": ..., <geometry fields>, "label": ..., "score": ...}``; ``label``/``score`` only when set."""
    if isinstance(obj, RotatedBox):
        out: dict[str, Any] = {"kind": obj.kind, "corners": [list(p) for p in obj.corners]}
    elif isinstance(obj, SegTarget):
        out = {"kind": obj.kind, "bbox": list(obj.bbox), "keypoints": [list(p) for p in obj.keypoints]}
    elif isinstance(obj, PolygonRegion):
        out = {"kind": obj.kind, "exterior": [list(p) for p in obj.exterior]}
        if obj.holes:
            out["holes"] = [[list(p) for p in hole] for hole in obj.holes]
    elif isinstance(obj, GeoPoint):
        out = {"kind": obj.kind, "lat": obj.lat, "lon": obj.lon}
    else:
        raise TypeError(f"cannot encode a {type(obj).__name__} as a geometry object")
    if obj.label is not None:
        out["label"] = obj.label
    if obj.score is not None:
        out["score"] = float(obj.score)
    return out


def object_from_dict(data: Mapping[str, Any]) -> GeoObject:
    """The object ``object_to_dict`` encoded. ``ValueError`` when ``data`` is not such an encoding."""
    common = {"label": data.get("label"), "score": data.get("score")}
    kind = data.get("kind")
    try:
        if kind == RotatedBox.kind:
            return RotatedBox(tuple(tuple(p) for p in data["corners"]), **common)
        if kind == SegTarget.kind:
            return SegTarget(tuple(data["bbox"]), tuple(tuple(p) for p in data.get("keypoints", ())), **common)
        if kind == PolygonRegion.kind:
            return PolygonRegion(tuple(tuple(p) for p in data["exterior"]),
                                 tuple(tuple(tuple(p) for p in hole) for hole in data.get("holes", ())), **common)
        if kind == GeoPoint.kind:
            return GeoPoint(data["lat"], data["lon"], **common)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed {kind} object: {exc}") from None
    raise ValueError(f"unknown geometry object kind {kind!r}")
