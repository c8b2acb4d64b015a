"""The model manager dialog: the catalogue as a table (size, memory, tasks and dialect, licence,
downloaded or not), Download (resumable, cancellable), Check (one load, run by the BACKEND's Python as
``python -m model_backend models check ID``: torch never enters QGIS's Python) and "Use this model".
Downloads, checks and the cache scan run as tasks from ``logic.env_tasks``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qgis.core import QgsApplication
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...model_backend.models import CATALOGUE, ModelEntry, default_cache_dir, default_endpoint
from ..logic.env_tasks import (
    CANCELLED,
    CacheScanTask,
    CheckCommand,
    ModelCheckTask,
    ModelDownloadTask,
    TaskOutcome,
)
from ..toolbelt.i18n import tr
from ..toolbelt.settings import PluginSettings, load_settings, save_settings

STATUS_COLUMN = 5


def settings_for_model(settings: PluginSettings, entry: ModelEntry, location: str) -> PluginSettings:
    """``settings`` changed to use ``entry``. ``location``: the downloaded snapshot folder (a SAM2
    checkpoint file for segmenters), a folder the user chose (``local``), a model server URL
    (``server``), or the hub id when not downloaded (the backend then downloads it at first load)."""
    if entry.kind == "segmenter":
        return replace(settings, segmenter="sam2", sam2_checkpoint=location)
    if entry.kind == "parser":
        return replace(settings, parser_model=location)
    if entry.kind == "server":
        return replace(settings, engine="openai", model_base_url=location)
    # the catalogue's dialect: the family's own, or the checkpoint's own prompt style (Geo-R1), which the
    # backend cannot tell from a snapshot folder; none for a folder of the user's (read from its checkpoint)
    return replace(settings, engine="transformers", model=location, dialect=entry.dialect or "")


def _fmt_gb(value: float | None) -> str:
    return f"~{value:g} GB" if value is not None else "—"


class ModelsDialog(QDialog):
    """Non-modal. ``cache_dir``/``endpoint``: the hub cache and hub (defaults: ``$HF_HUB_CACHE`` or
    ``~/.cache/huggingface/hub``, ``$HF_ENDPOINT`` or huggingface.co). ``settings_saved`` carries the new
    ``PluginSettings``; ``task_done(kind, outcome)`` reports each finished task (scan, download, check)."""

    settings_saved = pyqtSignal(object)
    task_done = pyqtSignal(str, object)

    def __init__(self, parent: QWidget | None = None, cache_dir: Path | None = None, endpoint: str | None = None):
        super().__init__(parent)
        self.setWindowTitle(tr("GeoRSMLLM: models"))
        self.setObjectName("GeoRSMLLMModelsDialog")
        self.downloaded: dict[str, Path] = {}
        self.task = None  # the download or check in progress (one at a time)
        self.scan_task: CacheScanTask | None = None
        self._rescan = False

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.cache_dir = QgsFileWidget()
        self.cache_dir.setStorageMode(QgsFileWidget.GetDirectory)
        self.cache_dir.setFilePath(str(cache_dir or default_cache_dir()))
        self.cache_dir.fileChanged.connect(lambda _path: self.refresh())
        form.addRow(tr("Model cache"), self.cache_dir)
        self.endpoint = QLineEdit(endpoint or default_endpoint())
        form.addRow(tr("Model hub"), self.endpoint)
        layout.addLayout(form)
        note = QLabel(tr("Sizes and memory are approximate. Check each licence on the model's page before use."))
        note.setWordWrap(True)
        layout.addWidget(note)

        headers = [tr("Model"), tr("Download"), tr("Memory"), tr("Dialect / tasks"), tr("Licence"), tr("Status")]
        self.table = QTableWidget(len(CATALOGUE), len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        for row, entry in enumerate(CATALOGUE):
            tasks = ", ".join(entry.tasks) or "—"
            cells = (entry.title, _fmt_gb(entry.size_gb), _fmt_gb(entry.memory_gb),
                     f"{entry.dialect or '—'} / {tasks}", entry.licence, "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, entry.id)
                item.setToolTip("\n".join(t for t in (text, entry.notes) if t))
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column, width in ((3, 220), (4, 180)):
            header.setSectionResizeMode(column, QHeaderView.Interactive)
            self.table.setColumnWidth(column, width)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(140)
        layout.addWidget(self.log)

        buttons = QHBoxLayout()
        self.download_button = QPushButton(tr("Download"))
        self.check_button = QPushButton(tr("Check"))
        self.use_button = QPushButton(tr("Use this model"))
        self.cancel_button = QPushButton(tr("Cancel"))
        self.close_button = QPushButton(tr("Close"))
        for button in (self.download_button, self.check_button, self.use_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.download_button.clicked.connect(self.download_selected)
        self.check_button.clicked.connect(self.check_selected)
        self.use_button.clicked.connect(self.use_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self._update_buttons()
        self.resize(1100, 640)
        self.refresh()

    # -- selection -----------------------------------------------------------------------------------
    def selected_entry(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return CATALOGUE[rows[0].row()]

    def select_model(self, model_id: str) -> None:
        for row, entry in enumerate(CATALOGUE):
            if entry.id == model_id:
                self.table.selectRow(row)
                return
        raise KeyError(model_id)

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        busy = self.task is not None
        self.download_button.setEnabled(not busy and entry is not None and entry.downloadable)
        self.check_button.setEnabled(not busy and entry is not None and entry.id in self.downloaded)
        self.use_button.setEnabled(not busy and entry is not None)
        self.cancel_button.setEnabled(busy)

    # -- the cache -------------------------------------------------------------------------------------
    def current_cache_dir(self) -> Path:
        return Path(self.cache_dir.filePath().strip() or str(default_cache_dir()))

    def refresh(self) -> None:
        """Look for finished downloads in the cache (in a task)."""
        if self.scan_task is not None:
            self._rescan = True  # the folder changed while scanning: scan again when this one ends
            return
        self._rescan = False
        self.scan_task = CacheScanTask(self.current_cache_dir())
        self.scan_task.done.connect(self._on_scanned)
        QgsApplication.taskManager().addTask(self.scan_task)

    def _on_scanned(self, found: dict) -> None:
        self.scan_task = None
        if self._rescan:
            self.refresh()
            return
        self.downloaded = dict(found)
        for row, entry in enumerate(CATALOGUE):
            if not entry.downloadable:
                text = tr("your server") if entry.kind == "server" else tr("your folder")
            else:
                text = tr("downloaded") if entry.id in found else tr("not downloaded")
            self.table.item(row, STATUS_COLUMN).setText(text)
        self._update_buttons()
        self.task_done.emit("scan", TaskOutcome("ok", dict(found)))

    # -- tasks -------------------------------------------------------------------------------------------
    def download_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or not entry.downloadable or self.task is not None:
            return
        task = ModelDownloadTask(entry.id, self.current_cache_dir(), self.endpoint.text().strip() or None)
        self._start(task, "download", tr("Downloading {model}…").format(model=entry.title))

    def check_selected(self) -> None:
        """Load the downloaded model once with the backend's Python (the plugin's interpreter setting)."""
        entry = self.selected_entry()
        if entry is None or self.task is not None:
            return
        settings = load_settings()
        command = CheckCommand(settings.resolved_interpreter(), entry.id, self.current_cache_dir(),
                               device=settings.device or "cpu")
        self._start(ModelCheckTask(command), "check",
                    tr("Loading {model} once with {python}…").format(model=entry.title, python=command.interpreter))

    def _start(self, task, kind: str, text: str) -> None:
        self.task = task
        self.task_kind = kind
        task.line.connect(self._on_line)
        task.done.connect(self._on_done)
        self.progress.setValue(0)
        self.status.setText(text)
        self.log.appendPlainText("— " + text)
        self._update_buttons()
        QgsApplication.taskManager().addTask(task)

    def cancel(self) -> None:
        if self.task is not None:
            self.status.setText(tr("Cancelling…"))
            self.task.cancel()

    def _on_line(self, step: str, fraction: float, text: str) -> None:
        if self.task_kind == "download":
            self.progress.setValue(int(round(1000 * fraction)))
        self.log.appendPlainText(text)

    def _on_done(self, outcome: TaskOutcome) -> None:
        kind = self.task_kind
        self.task = None
        if outcome.ok:
            if kind == "download":
                self.progress.setValue(1000)
                result = outcome.value
                text = tr("Downloaded to {path}.").format(path=result.path)
                if result.warnings:
                    text += "\n" + "\n".join(result.warnings)
            else:
                text = tr("The model loads: {message}").format(message=outcome.value)
        elif outcome.status == CANCELLED:
            text = tr("Cancelled. Partial files are kept: Download again continues them.") if kind == "download" \
                else tr("Check cancelled.")
        else:
            text = tr("Failed: {error}").format(error=outcome.error)
        self.status.setText(text)
        self.log.appendPlainText(text)
        self._update_buttons()
        if kind == "download":
            self.refresh()
        self.task_done.emit(kind, outcome)

    # -- use -----------------------------------------------------------------------------------------------
    def ask_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, tr("Model folder (transformers checkpoint)"))

    def ask_url(self) -> str:
        text, ok = QInputDialog.getText(self, tr("Model server"),
                                        tr("OpenAI-compatible model server URL (e.g. http://localhost:8000/v1):"))
        return text.strip() if ok else ""

    def use_selected(self) -> PluginSettings | None:
        """Point the plugin's settings at the selected model; ``None`` when nothing changed."""
        entry = self.selected_entry()
        if entry is None:
            return None
        if entry.kind == "server":
            location = self.ask_url()
        elif not entry.downloadable:  # "a local folder" and checkpoints that are not on the hub
            location = self.ask_folder()
        elif entry.id in self.downloaded:
            location = str(self.downloaded[entry.id])
        elif entry.kind == "segmenter":
            self.status.setText(tr("Download {model} first: the segmenter needs its checkpoint file.").format(
                model=entry.title))
            return None
        else:
            location = entry.repo_id  # not downloaded: the backend downloads it when it first loads
        if not location:
            return None
        settings = settings_for_model(load_settings(environ={}), entry, location)
        save_settings(settings)
        self.status.setText(tr("The plugin now uses {model} ({location}).").format(model=entry.title,
                                                                                   location=location))
        self.settings_saved.emit(settings)
        return settings

    def shutdown(self) -> None:
        """Cancel what runs and stop listening to it (plugin unload)."""
        for task in (self.task, self.scan_task):
            if task is None:
                continue
            for signal in [getattr(task, "line", None), task.done]:
                if signal is None:
                    continue
                try:
                    signal.disconnect()
                except TypeError:
                    pass
            task.cancel()
        self.task = self.scan_task = None
