"""Refining a result by clicking, the parts without widgets: which layers can be refined (and how to reach
their run on the backend), the ``POST /v1/refine`` body, and writing a refined geometry through the layer's
edit buffer as one undoable command.

A result layer records its run in a custom property (``REFINE_PROPERTY``, saved with the project): the backend
job that wrote it and the job's ``frame`` (how the run read its images), so a layer of an earlier QGIS session
can still be refined when the backend has forgotten the job. Main thread only, except ``refine_body``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import QgsFields, QgsGeometry, QgsJsonUtils, QgsVectorLayer, QgsWkbTypes

from ..toolbelt.i18n import tr

#: Layer custom properties: the layer kind a run wrote (boxes, polygons, points), and how to refine it.
KIND_PROPERTY = "georsmllm/kind"
REFINE_PROPERTY = "georsmllm/refine"
#: The fields that measure a polygon (``vector.measures`` on the backend), updated with the geometry.
MEASURE_FIELDS = ("area_m2", "length_m")


@dataclass(frozen=True)
class RefineLink:
    """How to refine the features of one layer: the ``job_id`` and ``frame`` of the run that wrote it, and the
    layer ``kind`` (``polygons``: the outline replaces the geometry; ``boxes``: its minimum rotated rectangle)."""

    job_id: str
    frame: dict[str, Any]
    kind: str

    def needed_dirs(self) -> tuple[str, ...]:
        """Folders of the run's rasters, which a local backend must allow (the paths are the backend's)."""
        return tuple(str(Path(p).parent) for p in (self.frame.get("raster"), self.frame.get("raster_b"))
                     if p and Path(p).is_absolute())


def refinable(frame: dict[str, Any] | None, kind: str) -> bool:
    """Whether a layer of ``kind`` written by a run with ``frame`` holds SAM2 outlines or their rectangles: the
    polygons of a segmentation, and the polygons and boxes of a run refined with SAM2."""
    if not frame or kind not in ("polygons", "boxes"):
        return False
    task, refine = str(frame.get("task") or ""), str(frame.get("refine") or "none")
    return (task == "seg" and kind == "polygons") or (refine != "none" and task in ("detection", "change", "vqa"))


def mark_refinable(layers: list[QgsVectorLayer], job_id: str | None, result: dict[str, Any]) -> int:
    """Record on each refinable layer of a finished run how to refine it; returns how many were marked."""
    frame = result.get("frame")
    marked = 0
    for layer in layers:
        kind = str(layer.customProperty(KIND_PROPERTY, "") or "")
        if job_id and refinable(frame, kind) and layer.geometryType() == QgsWkbTypes.PolygonGeometry:
            layer.setCustomProperty(REFINE_PROPERTY, json.dumps({"job_id": job_id, "frame": frame, "kind": kind}))
            marked += 1
    return marked


def refine_link(layer) -> RefineLink | None:
    """The layer's ``RefineLink``, or ``None`` when it is not a refinable GeoRSMLLM result."""
    if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
        return None
    if layer.geometryType() != QgsWkbTypes.PolygonGeometry:
        return None
    try:
        data = json.loads(layer.customProperty(REFINE_PROPERTY, "") or "null")
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("frame"), dict) or not data.get("job_id"):
        return None
    return RefineLink(str(data["job_id"]), data["frame"], str(data.get("kind") or "polygons"))


def refine_body(link: RefineLink, geometry: QgsGeometry, crs: str, label: str | None,
                points: list[tuple[float, float, int]], box: tuple[float, float, float, float] | None
                ) -> dict[str, Any]:
    """The ``POST /v1/refine`` body: the feature's current ``geometry``, ``points`` ``(x, y, label)`` and
    ``box`` ``(xmin, ymin, xmax, ymax)``, all in map coordinates of the layer's ``crs``."""
    body: dict[str, Any] = {"job_id": link.job_id, "run": link.frame, "feature": json.loads(geometry.asJson(12)),
                            "crs": crs or None, "points": [{"x": x, "y": y, "label": int(lab)} for x, y, lab in points]}
    if label:
        body["label"] = label[:200]
    if box is not None:
        body["box"] = list(box)
    return {k: v for k, v in body.items() if v is not None}


def geometry_from_geojson(geometry: dict[str, Any]) -> QgsGeometry:
    """A GeoJSON geometry as a ``QgsGeometry`` (empty when it cannot be read)."""
    text = json.dumps({"type": "Feature", "properties": {}, "geometry": geometry})
    features = QgsJsonUtils.stringToFeatureList(text, QgsFields())
    return features[0].geometry() if features else QgsGeometry()


def refined_geometry(answer: dict[str, Any], kind: str) -> tuple[QgsGeometry, dict[str, float] | None]:
    """The geometry a layer of ``kind`` takes from a refinement ``answer`` (the outline, or for boxes its
    minimum rotated rectangle) and its measures."""
    key = "box" if kind == "boxes" else "outline"
    return geometry_from_geojson(answer.get(key) or {}), answer.get(f"{key}_measures")


class RefineError(Exception):
    """A refined geometry cannot be written to the layer; the message is for the user."""


def apply_refinement(layer: QgsVectorLayer, fid: int, geometry: QgsGeometry,
                     measures: dict[str, float] | None) -> None:
    """Replace feature ``fid``'s geometry (and its measure fields) in the layer's edit buffer as one undo
    command; the layer is put in editing mode when it is not, and stays in it (save or roll back as usual)."""
    if geometry.isNull() or geometry.isEmpty():
        raise RefineError(tr("The refined outline is empty: the feature was not changed."))
    geometry = QgsGeometry(geometry)
    if QgsWkbTypes.isMultiType(layer.wkbType()):
        geometry.convertToMultiType()
    else:
        geometry.convertToSingleType()
    if not layer.isEditable() and not layer.startEditing():
        raise RefineError(tr("The layer {name} cannot be edited.").format(name=layer.name()))
    layer.beginEditCommand(tr("Refine object"))
    changed = layer.changeGeometry(fid, geometry)
    if changed and measures:
        for name in MEASURE_FIELDS:
            index = layer.fields().indexOf(name)
            if index >= 0 and measures.get(name) is not None:
                layer.changeAttributeValue(fid, index, float(measures[name]))
    if not changed:
        layer.destroyEditCommand()
        raise RefineError(tr("The feature could not be changed (was it deleted?)."))
    layer.endEditCommand()
    layer.triggerRepaint()
