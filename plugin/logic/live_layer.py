"""Results on the map while a run goes: memory layers (EPSG:4326, as the events carry them) that grow
with each tile's features and are removed when the run's GeoPackage replaces them. Main thread only."""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Iterable

from qgis.core import QgsJsonUtils, QgsProject, QgsVectorLayer

from ..toolbelt.i18n import tr
from .fields import result_fields
from .results import style_for

_GEOMETRY = {"Polygon": "MultiPolygon", "MultiPolygon": "MultiPolygon", "Point": "Point", "MultiPoint": "Point",
             "LineString": "MultiLineString", "MultiLineString": "MultiLineString"}


class LiveLayers:
    """Memory layers of one run, one per geometry type seen, named ``<title> (running)``."""

    def __init__(self, title: str, task: str = "", project: QgsProject | None = None):
        self.title = title
        self.task = task
        self.project = project or QgsProject.instance()
        self._layers: dict[str, QgsVectorLayer] = {}
        self._ids: dict[str, str] = {}  # kept apart: a removed layer's wrapper can no longer tell its id
        self._created: list[str] = []  # every layer id this run added, so remove() never leaves one behind
        self.feature_count = 0
        self.project.layerWillBeRemoved[str].connect(self._forget)

    def _forget(self, layer_id: str) -> None:
        """The user removed one of our layers while the run went on: the next features start a new one."""
        for kind, known in list(self._ids.items()):
            if known == layer_id:
                del self._ids[kind]
                self._layers.pop(kind, None)

    @property
    def layer_ids(self) -> list[str]:
        return [self._ids[kind] for kind in self._layers]

    def _layer(self, geometry_type: str) -> QgsVectorLayer:
        if geometry_type not in self._layers:
            layer = QgsVectorLayer(f"{geometry_type}?crs=EPSG:4326", tr("{title} (running)").format(title=self.title),
                                   "memory")
            layer.dataProvider().addAttributes(result_fields().toList())
            layer.updateFields()
            kind = "points" if geometry_type == "Point" else ("boxes" if self.task == "detection" else "polygons")
            qml = style_for(self.task, kind)
            if qml.is_file():
                layer.loadNamedStyle(str(qml))
            self.project.addMapLayer(layer)
            self._layers[geometry_type] = layer
            self._ids[geometry_type] = layer.id()
            self._created.append(layer.id())
        return self._layers[geometry_type]

    def add(self, features: Iterable[dict[str, Any]]) -> int:
        """Add GeoJSON features (EPSG:4326); returns how many were added."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for feature in features:
            geometry_type = _GEOMETRY.get(((feature or {}).get("geometry") or {}).get("type", ""))
            if geometry_type:
                groups.setdefault(geometry_type, []).append(feature)
        added = 0
        fields = result_fields()
        names = fields.names()
        for geometry_type, items in groups.items():
            layer = self._layer(geometry_type)
            # every field present (null where the event has none): OGR's GeoJSON reader otherwise reports an
            # "Invalid index" error for each field a feature lacks
            items = [dict(item, properties={name: (item.get("properties") or {}).get(name) for name in names})
                     for item in items]
            parsed = QgsJsonUtils.stringToFeatureList(
                json.dumps({"type": "FeatureCollection", "features": items}), fields)
            if parsed:
                layer.dataProvider().addFeatures(parsed)
                layer.updateExtents()
                layer.triggerRepaint()
                added += len(parsed)
        self.feature_count += added
        return added

    def remove(self) -> None:
        """Take the memory layers out of the project (they are deleted with it)."""
        try:
            self.project.layerWillBeRemoved[str].disconnect(self._forget)
        except TypeError:
            pass  # already disconnected by an earlier remove()
        for layer_id in self._created:
            if layer_id in self.project.mapLayers():
                self.project.removeMapLayer(layer_id)
        self._created.clear()
        self._layers.clear()
        self._ids.clear()
