"""The GeoRSMLLM page of Settings > Options: edits ``PluginSettings`` and saves them on Apply/OK. The names
offered (engines, dialects, segmenters, devices) are the backend's vocabulary."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Callable
from typing import Any

from qgis.gui import QgsFileWidget, QgsOptionsPageWidget, QgsOptionsWidgetFactory
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import about
from ..toolbelt.i18n import tr
from ..toolbelt import vocabulary
from ..toolbelt.settings import PluginSettings, load_settings, save_settings, split_urls


def _combo(values: tuple[str, ...], current: str, empty_label: str = "") -> QComboBox:
    """An editable combo of ``values`` (with an entry ``empty_label`` for '' when given)."""
    combo = QComboBox()
    combo.setEditable(True)
    for value in (("",) if empty_label else ()) + tuple(values):
        combo.addItem(value or empty_label, value)
    index = combo.findData(current)
    if index >= 0:
        combo.setCurrentIndex(index)
    else:
        combo.setEditText(current)
    return combo


def _set_combo(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
    else:
        combo.setEditText(value)


def _combo_value(combo: QComboBox) -> str:
    text = combo.currentText().strip()
    data = combo.currentData()
    return data if data is not None and combo.itemText(combo.currentIndex()) == text else text


class SettingsPage(QgsOptionsPageWidget):
    """One form over every field of ``PluginSettings``; ``apply()`` saves and calls ``on_saved``."""

    def __init__(self, parent: QWidget | None = None, on_saved: Callable[[PluginSettings], None] | None = None,
                 open_setup: Callable[[QWidget], Any] | None = None, open_models: Callable[[QWidget], Any] | None = None):
        super().__init__(parent)
        self.on_saved = on_saved
        self._listening: set[int] = set()
        # Stored values only: environment overrides are for tests and must not be saved back.
        settings = load_settings(environ={})
        self.setObjectName("GeoRSMLLMOptions")
        layout = QVBoxLayout(self)

        backend = QGroupBox(tr("Backend"))
        form = QFormLayout(backend)
        self.interpreter = QgsFileWidget()
        self.interpreter.setFilePath(settings.interpreter)
        self.interpreter.lineEdit().setPlaceholderText(settings.resolved_interpreter())
        form.addRow(tr("Python interpreter"), self.interpreter)
        self.server_url = QLineEdit(settings.server_url)
        self.server_url.setPlaceholderText(tr("empty: start a local backend"))
        form.addRow(tr("Server URL"), self.server_url)
        self.token = QLineEdit(settings.token)
        self.token.setEchoMode(QLineEdit.Password)
        form.addRow(tr("Server token"), self.token)
        self.startup_timeout = QDoubleSpinBox()
        self.startup_timeout.setRange(5, 3600)
        self.startup_timeout.setValue(settings.startup_timeout_s)
        self.startup_timeout.setSuffix(" s")
        form.addRow(tr("Start-up timeout"), self.startup_timeout)
        self.extra_args = QLineEdit(settings.extra_args)
        self.extra_args.setPlaceholderText("--max-upload-mb 512")
        form.addRow(tr("More backend options"), self.extra_args)
        tools = QHBoxLayout()
        # the dialogs save settings themselves; the form follows so OK/Apply does not write old values back
        for text, opener in ((tr("Set up backend…"), open_setup), (tr("Models…"), open_models)):
            if opener is not None:
                button = QPushButton(text)
                button.clicked.connect(lambda _checked=False, o=opener: self._open_tool(o))
                tools.addWidget(button)
        tools.addStretch(1)
        form.addRow(tools)
        layout.addWidget(backend)

        model = QGroupBox(tr("Model"))
        form = QFormLayout(model)
        names = vocabulary.current()
        self.engine = _combo(names.engines, settings.engine)
        form.addRow(tr("Engine"), self.engine)
        self.model = QLineEdit(settings.model)
        self.model.setPlaceholderText(tr("model folder or hub id (empty: the backend's default)"))
        form.addRow(tr("Model"), self.model)
        self.model_base_url = QPlainTextEdit("\n".join(settings.model_base_urls))
        self.model_base_url.setPlaceholderText(tr("http://localhost:8000/v1 (several: one per line)"))
        self.model_base_url.setMaximumHeight(self.model_base_url.fontMetrics().lineSpacing() * 4)
        form.addRow(tr("Model servers (openai engine)"), self.model_base_url)
        self.dialect = _combo(names.dialects, settings.dialect, tr("(the model family's own)"))
        form.addRow(tr("Dialect"), self.dialect)
        self.parser_model = QLineEdit(settings.parser_model)
        self.parser_model.setPlaceholderText(tr("empty: rule-based; 'same': the main model"))
        form.addRow(tr("Condition parser model"), self.parser_model)
        self.segmenter = _combo(names.segmenters, settings.segmenter)
        form.addRow(tr("Segmenter"), self.segmenter)
        self.sam2_checkpoint = QgsFileWidget()
        self.sam2_checkpoint.setFilePath(settings.sam2_checkpoint)
        form.addRow(tr("SAM2 checkpoint"), self.sam2_checkpoint)
        self.refine = QCheckBox(tr("Refine boxes with SAM2 (outlines and rotated boxes for detection and change)"))
        self.refine.setChecked(settings.refine == "sam2")
        form.addRow("", self.refine)
        self.device = _combo(names.devices, settings.device)
        form.addRow(tr("Device"), self.device)
        layout.addWidget(model)

        tiling = QGroupBox(tr("Tiling"))
        form = QFormLayout(tiling)
        self.tile_size = QSpinBox()
        self.tile_size.setRange(32, 8192)
        self.tile_size.setValue(settings.tile_size)
        form.addRow(tr("Tile size (px)"), self.tile_size)
        self.overlap = QSpinBox()
        self.overlap.setRange(0, 4096)
        self.overlap.setValue(settings.overlap)
        form.addRow(tr("Overlap (px)"), self.overlap)
        self.gsd = QDoubleSpinBox()
        self.gsd.setRange(0, 1e6)
        self.gsd.setDecimals(6)
        self.gsd.setValue(settings.gsd)
        self.gsd.setSpecialValueText(tr("native"))
        form.addRow(tr("Target GSD (map units/px)"), self.gsd)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(settings.concurrency)
        form.addRow(tr("Tiles in flight"), self.concurrency)
        self.output_dir = QgsFileWidget()
        self.output_dir.setStorageMode(QgsFileWidget.GetDirectory)
        self.output_dir.setFilePath(settings.output_dir)
        form.addRow(tr("Results folder"), self.output_dir)
        layout.addWidget(tiling)
        self.problems = QLabel()
        self.problems.setStyleSheet("color: #b00020")
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        layout.addStretch(1)
        self._base = settings

    def settings(self) -> PluginSettings:
        """The settings the form shows."""
        return replace(
            self._base,
            interpreter=self.interpreter.filePath().strip(), server_url=self.server_url.text().strip(),
            token=self.token.text().strip(), startup_timeout_s=self.startup_timeout.value(),
            extra_args=self.extra_args.text().strip(), engine=_combo_value(self.engine),
            model=self.model.text().strip(), model_base_url="\n".join(split_urls(self.model_base_url.toPlainText())),
            dialect=_combo_value(self.dialect), parser_model=self.parser_model.text().strip(),
            segmenter=_combo_value(self.segmenter), sam2_checkpoint=self.sam2_checkpoint.filePath().strip(),
            refine="sam2" if self.refine.isChecked() else "none",
            device=_combo_value(self.device), tile_size=self.tile_size.value(), overlap=self.overlap.value(),
            gsd=self.gsd.value(), concurrency=self.concurrency.value(), output_dir=self.output_dir.filePath().strip(),
        )

    def _open_tool(self, opener: Callable[[QWidget], Any]) -> None:
        dialog = opener(self)
        if id(dialog) not in self._listening:
            self._listening.add(id(dialog))
            dialog.settings_saved.connect(self.show_saved)

    def show_saved(self, saved: PluginSettings) -> None:
        """Show the backend and model fields another dialog saved (``Set up backend``, ``Models``)."""
        self._base = replace(self._base, setup_prompted=saved.setup_prompted)
        self.interpreter.setFilePath(saved.interpreter)
        self.server_url.setText(saved.server_url)
        _set_combo(self.engine, saved.engine)
        self.model.setText(saved.model)
        self.model_base_url.setPlainText("\n".join(saved.model_base_urls))
        _set_combo(self.dialect, saved.dialect)
        self.parser_model.setText(saved.parser_model)
        _set_combo(self.segmenter, saved.segmenter)
        self.sam2_checkpoint.setFilePath(saved.sam2_checkpoint)

    def apply(self) -> None:
        settings = self.settings()
        problems = settings.check()
        self.problems.setText("\n".join(problems))
        if problems:
            return
        save_settings(settings)
        if self.on_saved is not None:
            self.on_saved(settings)


class SettingsPageFactory(QgsOptionsWidgetFactory):
    """Registers the page with ``iface.registerOptionsWidgetFactory``."""

    def __init__(self, on_saved: Callable[[PluginSettings], None] | None = None,
                 open_setup: Callable[[QWidget], Any] | None = None, open_models: Callable[[QWidget], Any] | None = None):
        super().__init__()
        self.on_saved = on_saved
        self.open_setup = open_setup
        self.open_models = open_models
        self.setTitle(about.TITLE)

    def icon(self) -> QIcon:
        return QIcon(str(about.ICON_PATH))

    def createWidget(self, parent: QWidget | None = None) -> SettingsPage:
        return SettingsPage(parent, self.on_saved, self.open_setup, self.open_models)

