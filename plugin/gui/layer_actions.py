"""Entries in the layer tree's context menu (``iface.addCustomActionForLayerType``): on raster layers,
"Ask GeoRSMLLM…", "Detect objects…", "Segment…", "Describe this image", "Detect changes against…"; on
vector layers, "Describe these features". Each calls back the plugin with the layer it was used on."""

from __future__ import annotations

from collections.abc import Callable

from qgis.core import QgsMapLayer, QgsMapLayerType
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .. import about
from ..toolbelt.i18n import tr

MENU = "GeoRSMLLM"


class LayerActions:
    """``on_raster(layer, kind)`` with kind ``ask``, ``detection``, ``seg``, ``caption`` or ``change``;
    ``on_vector(layer)`` for region captions. ``register``/``unregister`` add and remove every action."""

    def __init__(self, iface, on_raster: Callable[[QgsMapLayer, str], None],
                 on_vector: Callable[[QgsMapLayer], None]):
        self.iface = iface
        self.on_raster = on_raster
        self.on_vector = on_vector
        self.actions: list[QAction] = []

    def _action(self, text: str, callback: Callable[[], None]) -> QAction:
        action = QAction(QIcon(str(about.ICON_PATH)), text, self.iface.mainWindow())
        action.triggered.connect(callback)
        self.actions.append(action)
        return action

    def register(self) -> None:
        raster_entries = (
            (tr("Ask GeoRSMLLM…"), "ask"), (tr("Detect objects…"), "detection"), (tr("Segment…"), "seg"),
            (tr("Describe this image"), "caption"), (tr("Detect changes against…"), "change"),
        )
        for text, kind in raster_entries:
            action = self._action(text, lambda _checked=False, k=kind: self._raster(k))
            self.iface.addCustomActionForLayerType(action, MENU, QgsMapLayerType.RasterLayer, True)
        action = self._action(tr("Describe these features"), lambda _checked=False: self._vector())
        self.iface.addCustomActionForLayerType(action, MENU, QgsMapLayerType.VectorLayer, True)

    def _raster(self, kind: str) -> None:
        layer = self.iface.activeLayer()
        if layer is not None and layer.type() == QgsMapLayerType.RasterLayer:
            self.on_raster(layer, kind)

    def _vector(self) -> None:
        layer = self.iface.activeLayer()
        if layer is not None and layer.type() == QgsMapLayerType.VectorLayer:
            self.on_vector(layer)

    def unregister(self) -> None:
        for action in self.actions:
            self.iface.removeCustomActionForLayerType(action)
            action.deleteLater()
        self.actions.clear()
