"""The "Refine by clicking" map tool: prompts SAM2 again on one object of a segmentation (or SAM2-refined)
result layer and replaces the object's geometry through the layer's edit buffer.

- Click inside an object: a positive point (part of the object); the first click picks the object.
- Shift+click: a negative point (not part of it).
- Drag: a box around the object (replaces an earlier box); a first drag picks the object it covers most.
- Each prompt sends the object's current geometry and all prompts so far to the backend (in a ``QgsTask``;
  prompts given while an answer is awaited are sent together once it arrives); the answer is drawn as a preview.
- Enter or right-click keeps the preview: the feature's geometry (and its ``area_m2``/``length_m``) is replaced
  as one undo command (Ctrl+Z undoes it; the layer stays in editing mode, save it to keep the change).
- Backspace removes the last prompt; Esc drops the prompts and the preview, leaving the feature as it was.

Points are drawn green (positive) and red (negative). The GUI thread never waits: the tool only starts
requests through ``start_refine`` and reacts to their answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qgis.core import QgsFeatureRequest, QgsGeometry, QgsPointXY, QgsRectangle, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand, QgsVertexMarker
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QKeyEvent
from qgis.PyQt.QtWidgets import QApplication

from ..logic.refine import RefineError, RefineLink, apply_refinement, refine_body, refine_link, refined_geometry
from ..toolbelt.i18n import tr

#: ``start_refine(body, needed_dirs, on_answer)``: start a refinement request in the background and call
#: ``on_answer(answer or None, error or None)`` in the main thread when it ends.
StartRefine = Callable[[dict[str, Any], tuple[str, ...], Callable[[Any, Any], None]], None]

POSITIVE_COLOUR = QColor(40, 200, 60)
NEGATIVE_COLOUR = QColor(230, 40, 40)
PREVIEW_COLOUR = QColor(255, 200, 0)


class RefineMapTool(QgsMapTool):
    """Signals: ``message(text, is_error)`` for the message bar, ``refined(layer id, feature id)`` once a
    geometry was replaced, ``answered()`` when a preview (or an error) arrived."""

    message = pyqtSignal(str, bool)
    refined = pyqtSignal(str, int)
    answered = pyqtSignal()

    def __init__(self, canvas: QgsMapCanvas, start_refine: StartRefine):
        super().__init__(canvas)
        self.start_refine = start_refine
        self.layer: QgsVectorLayer | None = None
        self.link: RefineLink | None = None
        self.setCursor(Qt.CrossCursor)
        self._markers: list[QgsVertexMarker] = []
        self._preview_band = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
        self._preview_band.setColor(PREVIEW_COLOUR)
        self._preview_band.setFillColor(QColor(255, 200, 0, 50))
        self._preview_band.setWidth(2)
        self._box_band = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
        self._box_band.setColor(QColor(40, 120, 255))
        self._box_band.setFillColor(QColor(0, 0, 0, 0))
        self._box_band.setLineStyle(Qt.DashLine)
        self._box_band.setWidth(2)
        self._generation = 0
        self._press_px = None
        self._dragging = False
        self._reset_state()

    # -- state ------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        """Forget the object, its prompts and its preview; answers to requests already sent are ignored."""
        self._generation += 1
        self.fid: int | None = None
        self.geometry: QgsGeometry | None = None
        self.label: str | None = None
        self.points: list[tuple[QgsPointXY, int]] = []  # layer CRS, label 1 or 0
        self.box: QgsRectangle | None = None  # layer CRS
        self.order: list[str] = []  # "point" / "box", the order prompts were given (for Backspace)
        self.preview: QgsGeometry | None = None
        self.measures: dict[str, float] | None = None
        self.pending = False  # a request is in flight
        self.dirty = False  # prompts changed since that request was sent
        self.commit_requested = False
        for marker in self._markers:
            self.canvas().scene().removeItem(marker)
        self._markers = []
        self._preview_band.reset(QgsWkbTypes.PolygonGeometry)
        self._box_band.reset(QgsWkbTypes.PolygonGeometry)

    def set_layer(self, layer) -> bool:
        """Refine features of ``layer`` from now on (prompts on another layer are dropped); ``False`` when it
        is not a refinable result layer."""
        self._reset_state()
        self.link = refine_link(layer)
        self.layer = layer if self.link is not None else None
        return self.layer is not None

    def deactivate(self) -> None:
        self._reset_state()
        super().deactivate()

    def release(self) -> None:
        """Take the tool's drawings off the map (plugin unload)."""
        self._reset_state()
        for band in (self._preview_band, self._box_band):
            self.canvas().scene().removeItem(band)

    def activate(self) -> None:
        super().activate()
        self.message.emit(tr("Refine by clicking: click inside an object to add a point, Shift+click for a point "
                             "outside it, drag a box around it; Enter or right-click keeps the result, Backspace "
                             "removes the last prompt, Esc cancels."), False)

    # -- mouse ------------------------------------------------------------------------------------
    def canvasPressEvent(self, event: QgsMapMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._press_px = event.pos()
            self._press_map = event.mapPoint()
            self._dragging = False

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        if self._press_px is None:
            return
        if not self._dragging and (event.pos() - self._press_px).manhattanLength() >= QApplication.startDragDistance():
            self._dragging = True
        if self._dragging:
            rect = QgsRectangle(self._press_map, event.mapPoint())
            self._box_band.setToGeometry(QgsGeometry.fromRect(rect), None)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if event.button() == Qt.RightButton:
            self.commit()
            return
        if event.button() != Qt.LeftButton or self._press_px is None:
            return
        dragged, press_map = self._dragging, self._press_map
        self._press_px, self._dragging = None, False
        if self.layer is None:
            self.message.emit(tr("Choose a segmentation result layer to refine first."), True)
            return
        if dragged:
            self.add_box(self.toLayerCoordinates(self.layer, QgsRectangle(press_map, event.mapPoint())))
        else:
            positive = not (event.modifiers() & Qt.ShiftModifier)
            self.add_point(self.toLayerCoordinates(self.layer, event.mapPoint()), 1 if positive else 0)

    # -- keys -------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self.commit()
        elif key == Qt.Key_Escape:
            self.cancel()
        elif key in (Qt.Key_Backspace, Qt.Key_Delete) and self.order:
            self.undo_prompt()
            # QGIS deletes the layer's selected features on a Backspace/Delete the map tool leaves
            # *accepted* (QgisApp::mapCanvas_keyPressed); its own tools ignore the keys they use, and so do we
            event.ignore()
            return
        else:
            event.ignore()
            return
        event.accept()

    # -- prompts (layer CRS) ----------------------------------------------------------------------
    def add_point(self, point: QgsPointXY, label: int) -> None:
        """A positive (``label`` 1) or negative (0) point in the layer's CRS; the first one picks the object."""
        if self.fid is None and not self._pick(QgsGeometry.fromPointXY(point), by_area=False):
            self.message.emit(tr("Click inside an object of {name} to refine it.").format(name=self.layer.name()),
                              True)
            return
        self.points.append((QgsPointXY(point), int(label)))
        self.order.append("point")
        self._draw_prompts()
        self._send()

    def add_box(self, rect: QgsRectangle) -> None:
        """A box in the layer's CRS around the object (replaces an earlier box)."""
        if rect.isEmpty():
            return
        if self.fid is None and not self._pick(QgsGeometry.fromRect(rect), by_area=True):
            self._box_band.reset(QgsWkbTypes.PolygonGeometry)
            self.message.emit(tr("Drag the box over an object of {name} to refine it.").format(name=self.layer.name()),
                              True)
            return
        self.box = QgsRectangle(rect)
        self.order = [o for o in self.order if o != "box"] + ["box"]
        self._draw_prompts()
        self._send()

    def undo_prompt(self) -> None:
        """Remove the last prompt; with none left, the preview goes too and the next click picks an object
        again."""
        if not self.order:
            return
        if self.order.pop() == "box":
            self.box = None
        else:
            self.points.pop()
        if self.order:
            self._draw_prompts()
            self._send()
        else:
            self._reset_state()  # an answer still coming is no longer wanted

    def cancel(self) -> None:
        """Drop the prompts and the preview; the feature stays as it is."""
        had_prompts = bool(self.order)
        self._reset_state()
        if had_prompts:
            self.message.emit(tr("Refinement cancelled: the object is unchanged."), False)

    def _pick(self, probe: QgsGeometry, by_area: bool) -> bool:
        """Choose the object: the smallest one containing ``probe`` (a point), or the one ``probe`` (a box)
        covers most."""
        request = QgsFeatureRequest().setFilterRect(probe.boundingBox()).setNoAttributes()
        if self.layer.fields().indexOf("label") >= 0:
            request.setSubsetOfAttributes(["label"], self.layer.fields())
        best, best_key = None, None
        for feature in self.layer.getFeatures(request):
            geometry = feature.geometry()
            if geometry.isNull():
                continue
            if by_area:
                key = geometry.intersection(probe).area()
                if key <= 0:
                    continue
            elif geometry.contains(probe):
                key = -geometry.area()
            else:
                continue
            if best_key is None or key > best_key:
                best, best_key = feature, key
        if best is None:
            return False
        self.fid, self.geometry = best.id(), QgsGeometry(best.geometry())
        index = self.layer.fields().indexOf("label")
        value = best.attribute(index) if index >= 0 else None
        self.label = str(value) if value not in (None, "") and not _is_null(value) else None
        return True

    # -- requests ---------------------------------------------------------------------------------
    def _send(self) -> None:
        if self.pending:
            self.dirty = True  # sent with everything given meanwhile once the answer is in
            return
        points = [(p.x(), p.y(), label) for p, label in self.points]
        box = None if self.box is None else (self.box.xMinimum(), self.box.yMinimum(), self.box.xMaximum(),
                                             self.box.yMaximum())
        crs = self.layer.crs()
        body = refine_body(self.link, self.geometry, crs.authid() or crs.toWkt(), self.label, points, box)
        self.pending, self.dirty = True, False
        generation = self._generation
        self.start_refine(body, self.link.needed_dirs(), lambda answer, error: self._answered(generation, answer,
                                                                                                error))

    def _answered(self, generation: int, answer: dict[str, Any] | None, error: str | None) -> None:
        if generation != self._generation:
            return  # cancelled, or the prompts were all removed, meanwhile
        self.pending = False
        if error is not None or answer is None:
            self.commit_requested = False
            self.message.emit(tr("Refinement failed: {reason}").format(reason=error or tr("no answer")), True)
        else:
            geometry, measures = refined_geometry(answer, self.link.kind)
            if geometry.isEmpty():
                self.message.emit(tr("The backend answered no outline."), True)
            else:
                self.preview, self.measures = geometry, measures
                self._preview_band.setToGeometry(geometry, self.layer)
        self.answered.emit()
        if self.dirty:
            self._send()
        elif self.commit_requested:
            self.commit()

    # -- commit -----------------------------------------------------------------------------------
    def commit(self) -> None:
        """Write the preview into the feature (one undo command). While an answer is awaited, the commit
        happens when it arrives."""
        if self.fid is None:
            return
        if self.pending:
            self.commit_requested = True
            return
        if self.preview is None:
            self.message.emit(tr("Nothing to keep yet: click inside the object or drag a box around it."), True)
            return
        layer, fid = self.layer, self.fid
        try:
            apply_refinement(layer, fid, self.preview, self.measures)
        except RefineError as exc:
            self.message.emit(str(exc), True)
            return
        self._reset_state()
        self.message.emit(tr("Object refined in {name} (Ctrl+Z undoes; save the layer's edits to keep it).").format(
            name=layer.name()), False)
        self.refined.emit(layer.id(), fid)

    # -- drawing ----------------------------------------------------------------------------------
    def _draw_prompts(self) -> None:
        for marker in self._markers:
            self.canvas().scene().removeItem(marker)
        self._markers = []
        for point, label in self.points:
            marker = QgsVertexMarker(self.canvas())
            marker.setCenter(self.toMapCoordinates(self.layer, point))
            marker.setColor(POSITIVE_COLOUR if label else NEGATIVE_COLOUR)
            marker.setIconType(QgsVertexMarker.ICON_CROSS if label else QgsVertexMarker.ICON_X)
            marker.setIconSize(14)
            marker.setPenWidth(3)
            self._markers.append(marker)
        if self.box is None:
            self._box_band.reset(QgsWkbTypes.PolygonGeometry)
        else:
            self._box_band.setToGeometry(QgsGeometry.fromRect(self.box), self.layer)


def _is_null(value) -> bool:
    """QGIS's NULL variant (an unset attribute)."""
    return hasattr(value, "isNull") and value.isNull()
