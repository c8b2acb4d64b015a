"""The GeoRSMLLM panel. It only collects parameters into a ``RunRequest`` and emits signals; the plugin's
run controller starts the work and calls back the ``show_*``/``job_*`` methods to display progress, plans,
answers and the backend's status."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsMapLayerProxyModel, QgsProject, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsDockWidget, QgsMapCanvas, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..logic.backend_state import BackendStatus
from ..logic.follow import JobEvent
from ..logic.followup import FOLLOW_UP_MODES
from ..logic.plan_view import plan_html
from ..logic.prepare import RunRequest
from ..logic.runner import RunOutcome
from ..logic.wording import run_state
from ..toolbelt import vocabulary
from ..toolbelt.i18n import tr
from .run_list import ElidedLabel, RunList
from .status_line import StatusLine

AREAS = ("layer", "extent", "selection")


def task_choices() -> list[tuple[str | None, str]]:
    """The task chooser's entries: ``None`` (let the backend infer the task), then the backend's tasks with
    a label each (a task this plugin has no words for shows its name)."""
    labels = {"detection": tr("Detect objects"), "seg": tr("Segment"), "change": tr("Detect changes"),
              "caption": tr("Describe the image"), "identify": tr("Describe regions"), "vqa": tr("Answer a question"),
              "classify": tr("Classify the scene"), "geolocation": tr("Geolocate")}
    return [(None, tr("Automatic (from the instruction)"))] + [
        (name, labels.get(name, name)) for name in vocabulary.current().task_names]


def _area_labels() -> list[str]:
    """Labels of ``AREAS``, in order."""
    return [tr("Whole layer"), tr("Current map extent"), tr("Selected features of")]


def _follow_up_labels() -> list[str]:
    """Labels of ``FOLLOW_UP_MODES``, in order."""
    return [tr("Automatic (from the wording)"), tr("Follow up on the last result"), tr("New run on the image")]


class GeoRSMLLMDock(QgsDockWidget):
    """Signals: ``run_requested(RunRequest)``, ``plan_requested(instruction, task or None, n_rasters, context layer names)``,
    ``cancel_requested(job key, '' for all)``, ``resume_requested(job key)``, ``restart_requested()``,
    ``status_requested()``."""

    run_requested = pyqtSignal(object)
    plan_requested = pyqtSignal(str, object, int, object)
    cancel_requested = pyqtSignal(str)
    resume_requested = pyqtSignal(str)
    restart_requested = pyqtSignal()
    status_requested = pyqtSignal()

    def __init__(self, canvas: QgsMapCanvas | None, history: list[str] | None = None,
                 parent: QWidget | None = None):
        super().__init__(tr("GeoRSMLLM"), parent)
        self.setObjectName("GeoRSMLLMDock")
        self.canvas = canvas
        self._remote = False
        body = QWidget()
        root = QVBoxLayout(body)

        status_row = QHBoxLayout()
        self.status_line = StatusLine()
        self.restart_button = QPushButton(tr("Start / restart backend"))
        self.restart_button.clicked.connect(self._restart_clicked)
        status_row.addWidget(self.status_line, 1)
        status_row.addWidget(self.restart_button)
        root.addLayout(status_row)

        self.instruction = QComboBox()
        self.instruction.setEditable(True)
        self.instruction.setInsertPolicy(QComboBox.NoInsert)
        # a long instruction (or history entry) must not widen the panel and squeeze the map
        self.instruction.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.instruction.setMinimumContentsLength(12)
        self.instruction.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.instruction.lineEdit().setPlaceholderText(
            tr("e.g. segment all buildings north of the river"))
        self.instruction.lineEdit().returnPressed.connect(self.request_run)
        self.set_history(history or [])
        root.addWidget(self.instruction)

        form = QFormLayout()
        self.task_combo = QComboBox()
        for value, text in task_choices():
            self.task_combo.addItem(text, value)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        form.addRow(tr("Task"), self.task_combo)

        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.layer_label = QLabel(tr("Image"))
        form.addRow(self.layer_label, self.layer_combo)
        self.layer_b_combo = QgsMapLayerComboBox()
        self.layer_b_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.layer_b_combo.setAllowEmptyLayer(True)
        self.layer_b_combo.setLayer(None)
        self.layer_b_label = QLabel(tr("After image"))
        form.addRow(self.layer_b_label, self.layer_b_combo)

        area_row = QHBoxLayout()
        self.area_combo = QComboBox()
        for value, text in zip(AREAS, _area_labels(), strict=True):
            self.area_combo.addItem(text, value)
        self.area_layer_combo = QgsMapLayerComboBox()
        self.area_layer_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.area_combo.currentIndexChanged.connect(self._area_changed)
        area_row.addWidget(self.area_combo)
        area_row.addWidget(self.area_layer_combo, 1)
        form.addRow(tr("Area"), area_row)

        self.regions_combo = QgsMapLayerComboBox()
        self.regions_combo.setFilters(QgsMapLayerProxyModel.VectorLayer)
        self.regions_label = QLabel(tr("Features to describe"))
        form.addRow(self.regions_label, self.regions_combo)
        self.classes_edit = QLineEdit()
        self.classes_edit.setPlaceholderText(tr("farmland, forest, city (optional)"))
        self.classes_label = QLabel(tr("Classes"))
        form.addRow(self.classes_label, self.classes_edit)

        self.context_list = QListWidget()
        self.context_list.setMaximumHeight(80)
        self.context_list.setToolTip(tr("Vector layers the instruction may name (\"within 200 m of roads\")"))
        form.addRow(tr("Context layers"), self.context_list)

        self.follow_combo = QComboBox()
        for value, text in zip(FOLLOW_UP_MODES, _follow_up_labels(), strict=True):
            self.follow_combo.addItem(text, value)
        self.follow_combo.setToolTip(tr("Whether the instruction filters the last result (\"now only those larger "
                                        "than 500 m²\", \"which of these are north of the river?\") or starts a "
                                        "new run on the image. Automatic: a follow-up when the wording refers to "
                                        "the last result (these, those, the ones…)."))
        self.last_result_label = ElidedLabel()
        self.show_last_result("")
        follow_box = QVBoxLayout()
        follow_box.setSpacing(1)
        follow_box.addWidget(self.follow_combo)
        follow_box.addWidget(self.last_result_label)
        form.addRow(tr("Follow up"), follow_box)
        root.addLayout(form)

        buttons = QHBoxLayout()
        self.plan_button = QPushButton(tr("Show plan"))
        self.plan_button.clicked.connect(self.request_plan)
        self.run_button = QPushButton(tr("Run"))
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.request_run)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.cancel_requested.emit(""))
        for button in (self.plan_button, self.run_button, self.cancel_button):
            buttons.addWidget(button)
        root.addLayout(buttons)

        self.runs = RunList()
        self.runs.cancel_requested.connect(self.cancel_requested)
        self.runs.resume_requested.connect(self.resume_requested)
        root.addWidget(self.runs)

        self.plan_view = QTextBrowser()
        self.plan_view.setVisible(False)
        root.addWidget(self.plan_view, 1)  # shares the height with the answers: a plan is a few long sentences
        self.answers = QTextBrowser()
        self.answers.setPlaceholderText(tr("Captions, answers and messages appear here."))
        self.answers.setMinimumHeight(90)
        root.addWidget(self.answers, 1)
        self.setWidget(body)

        QgsProject.instance().layersAdded.connect(self._refresh_context_layers)
        QgsProject.instance().layersRemoved.connect(self._refresh_context_layers)
        self._refresh_context_layers()
        self._task_changed()
        self._area_changed()

    # -- collecting parameters -----------------------------------------------------------------
    def current_task(self) -> str | None:
        return self.task_combo.currentData()

    def set_task(self, task: str | None) -> None:
        index = self.task_combo.findData(task)
        self.task_combo.setCurrentIndex(max(index, 0))

    def follow_up_mode(self) -> str:
        """``auto``, ``yes`` or ``no``: whether the next instruction follows up on the last result."""
        return self.follow_combo.currentData()

    def set_follow_up_mode(self, mode: str) -> None:
        self.follow_combo.setCurrentIndex(max(self.follow_combo.findData(mode), 0))

    def show_last_result(self, title: str) -> None:
        """Name the result a follow-up would filter (``""``: there is none yet)."""
        self.last_result_label.setFullText(tr("Last result: {title}").format(title=title) if title else
                                           tr("No result to follow up on yet."))
        self.last_result_label.setEnabled(bool(title))

    def set_history(self, history: list[str]) -> None:
        text = self.instruction.currentText()
        self.instruction.clear()
        self.instruction.addItems(history)
        self.instruction.setEditText(text)

    def build_request(self) -> RunRequest | None:
        """The run the panel describes, or ``None`` (with a message) when something is missing."""
        instruction = self.instruction.currentText().strip()
        layer = self.layer_combo.currentLayer()
        task = self.current_task()
        instruction = vocabulary.current().instruction_for(task, instruction)
        if not instruction:
            self.show_message(tr("Write an instruction first."), error=True)
            return None
        if layer is None:
            self.show_message(tr("Add a raster layer to the project and choose it."), error=True)
            return None
        layer_b = self.layer_b_combo.currentLayer() if task in (None, "change") else None
        area = self.area_combo.currentData()
        extent, extent_crs, units_per_px = None, "", None
        if self.canvas is not None:
            rect = self.canvas.extent()
            extent = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
            extent_crs = self.canvas.mapSettings().destinationCrs().authid() or \
                self.canvas.mapSettings().destinationCrs().toWkt()
            units_per_px = self.canvas.mapUnitsPerPixel()
        if area == "extent" and extent is None:
            self.show_message(tr("There is no map canvas to take the extent from."), error=True)
            return None
        area_layer = self.area_layer_combo.currentLayer() if area == "selection" else None
        regions = self.regions_combo.currentLayer() if task == "identify" else None
        classes = tuple(c.strip() for c in self.classes_edit.text().split(",") if c.strip()) \
            if task == "classify" else ()
        return RunRequest(
            instruction=instruction, task=task, layer_id=layer.id(),
            layer_b_id=layer_b.id() if layer_b is not None else None, area=area, extent=extent,
            extent_crs=extent_crs, area_layer_id=area_layer.id() if area_layer is not None else None,
            regions_layer_id=regions.id() if regions is not None else None,
            context_layer_ids=tuple(self.checked_context_layers()), classes=classes, units_per_px=units_per_px,
            follow_up=self.follow_up_mode())

    def request_run(self) -> None:
        request = self.build_request()
        if request is not None:
            self.run_requested.emit(request)

    def request_plan(self) -> None:
        instruction = self.instruction.currentText().strip()
        if not instruction:
            self.show_message(tr("Write an instruction first."), error=True)
            return
        n_rasters = 2 if self.layer_b_combo.currentLayer() is not None or self.current_task() == "change" else 1
        self.plan_view.setVisible(True)
        self.plan_view.setPlainText(tr("Asking the backend for a plan…"))
        project = QgsProject.instance()
        names = tuple(layer.name() for layer in (project.mapLayer(i) for i in self.checked_context_layers()) if layer)
        self.plan_requested.emit(instruction, self.current_task(), n_rasters, names)

    def checked_context_layers(self) -> list[str]:
        return [self.context_list.item(i).data(Qt.UserRole) for i in range(self.context_list.count())
                if self.context_list.item(i).checkState() == Qt.Checked]

    def _restart_clicked(self) -> None:
        self.status_line.set_text(tr("Local backend: starting…") if not self._remote else
                                  tr("Checking the backend…"), "busy")
        self.restart_requested.emit()

    # -- reacting to choices ---------------------------------------------------------------------
    def _task_changed(self) -> None:
        task = self.current_task()
        change = task in (None, "change")
        self.layer_b_label.setVisible(change)
        self.layer_b_combo.setVisible(change)
        self.layer_label.setText(tr("Before image") if task == "change" else tr("Image"))
        self.regions_label.setVisible(task == "identify")
        self.regions_combo.setVisible(task == "identify")
        self.classes_label.setVisible(task == "classify")
        self.classes_edit.setVisible(task == "classify")

    def _area_changed(self) -> None:
        self.area_layer_combo.setEnabled(self.area_combo.currentData() == "selection")

    def _refresh_context_layers(self, *_args) -> None:
        checked = set(self.checked_context_layers())
        self.context_list.clear()
        for layer in QgsProject.instance().mapLayers().values():
            if isinstance(layer, QgsVectorLayer) and layer.geometryType() != QgsWkbTypes.NullGeometry:
                item = QListWidgetItem(layer.name())
                item.setData(Qt.UserRole, layer.id())
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if layer.id() in checked else Qt.Unchecked)
                self.context_list.addItem(item)

    # -- called by the run controller ------------------------------------------------------------
    def show_status(self, status: BackendStatus) -> None:
        self._remote = status.remote
        self.status_line.show_status(status)

    def show_plan(self, plan: dict[str, Any] | None, error: str | None) -> None:
        self.plan_view.setVisible(True)
        if plan is None:
            self.plan_view.setPlainText(tr("No plan: {reason}").format(reason=error or ""))
            return
        self.plan_view.setHtml(plan_html(plan))

    def job_started(self, key: str, title: str) -> None:
        self.runs.add(key, title)
        self.cancel_button.setEnabled(True)

    def job_progress(self, key: str, event: JobEvent) -> None:
        row = self.runs.rows.get(key)
        if row is not None and event.tiles_total:
            row.progress(event.tiles_done, event.tiles_total)
        if event.kind == "warning" and event.message:
            self.show_message(event.message)
        if event.kind == "plan" and event.data.get("sentences") and not self.plan_view.isHidden():
            self.plan_view.setHtml(plan_html(event.data))  # the plan shown is the one the latest run follows

    def job_status(self, key: str, status: str) -> None:
        row = self.runs.rows.get(key)
        if row is not None:
            row.status({"starting": tr("starting the backend…"), "uploading": tr("uploading…"),
                        "submitting": tr("submitting…"), "running": tr("running…"),
                        "resuming": tr("resuming…")}.get(status, status))

    def job_cancelling(self, key: str) -> None:
        row = self.runs.rows.get(key)
        if row is not None:
            row.cancelling()
        self.cancel_button.setEnabled(self.runs.running())

    def job_retitled(self, key: str, title: str) -> None:
        row = self.runs.rows.get(key)
        if row is not None:
            row.set_title(title)

    def job_finished(self, key: str, text: str, outcome: RunOutcome | None = None) -> None:
        """Show how run ``key`` ended (``text``: its summary) and the file it saved, if any."""
        row = self.runs.rows.get(key)
        if row is not None:
            row.finish(run_state(outcome), text, outcome.gpkg if outcome is not None else None,
                       resumable=outcome is not None and outcome.resumable)
        self.runs.refresh()
        self.cancel_button.setEnabled(self.runs.running())

    def show_answers(self, title: str, answers: list[str]) -> None:
        if answers:
            self.answers.append(f"<b>{_escape(title)}</b>")
            for answer in answers:
                self.answers.append(_escape(answer))
            self._scroll_answers()

    def show_message(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#555555"
        self.answers.append(f'<span style="color:{color}">{_escape(text)}</span>')
        self._scroll_answers()

    def _scroll_answers(self) -> None:
        """New text is at the bottom: keep it in view (append alone only scrolls when already there)."""
        bar = self.answers.verticalScrollBar()
        bar.setValue(bar.maximum())

    def disconnect_project(self) -> None:
        """Called before the dock is deleted at unload."""
        for signal in (QgsProject.instance().layersAdded, QgsProject.instance().layersRemoved):
            try:
                signal.disconnect(self._refresh_context_layers)
            except TypeError:
                pass


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
