"""The "Set up backend" dialog: creates, checks and repairs the backend's isolated Python environment.

The dialog only collects the folder and the device and shows what the tasks report; ``EnvTask`` does the
work in the background. Set up = plan (the PyTorch sentence, shown and confirmed BEFORE anything is
installed) -> run (resumes: finished steps are skipped) -> the plugin's interpreter set to the new
environment's Python and the verified device shown.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qgis.core import QgsApplication
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...model_backend.envsetup import SetupOptions, default_env_dir, default_options, venv_python
from ..logic.env_tasks import CANCELLED, PLUGIN_DIR, EnvTask, TaskOutcome, device_summary
from ..toolbelt.i18n import tr
from ..toolbelt.settings import load_settings, save_settings

DEVICE_CHOICES = ("auto", "cuda", "cpu", "mps")


def default_backend_env_dir() -> Path:
    """The environment folder beside QGIS's profiles (``<QGIS3>/georsmllm/backend-env``)."""
    return Path(str(default_env_dir(profile_dir=QgsApplication.qgisSettingsDirPath())))


class BackendEnvDialog(QDialog):
    """Non-modal. ``template``: the ``SetupOptions`` whose folder and device the form replaces (default:
    the backend's own requirement files). ``settings_saved`` carries the new ``PluginSettings``."""

    settings_saved = pyqtSignal(object)
    task_done = pyqtSignal(str, object)  # mode, TaskOutcome: for whoever waits on the dialog (tests too)

    def __init__(self, parent: QWidget | None = None, template: SetupOptions | None = None):
        super().__init__(parent)
        self.setWindowTitle(tr("GeoRSMLLM: set up the backend"))
        self.setObjectName("GeoRSMLLMBackendEnvDialog")
        env_dir = template.env_dir if template is not None else default_backend_env_dir()
        self.template = template or default_options(env_dir, backend_root=PLUGIN_DIR)
        self.task: EnvTask | None = None
        self._run_after_plan = False

        layout = QVBoxLayout(self)
        intro = QLabel(tr("The backend runs in its own Python environment (not QGIS's Python): PyTorch, "
                          "transformers and the server are installed there. A failed or cancelled set-up "
                          "resumes where it stopped."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.env_dir = QgsFileWidget()
        self.env_dir.setStorageMode(QgsFileWidget.GetDirectory)
        self.env_dir.setFilePath(str(env_dir))
        form.addRow(tr("Environment folder"), self.env_dir)
        self.device = QComboBox()
        for value in DEVICE_CHOICES:
            self.device.addItem(value, value)
        self.device.setCurrentIndex(max(0, self.device.findData(self.template.device)))
        form.addRow(tr("PyTorch device"), self.device)
        layout.addLayout(form)
        self.plan_label = QLabel(tr("Press Set up to see the plan before anything is installed."))
        self.plan_label.setWordWrap(True)
        layout.addWidget(self.plan_label)
        self.step_label = QLabel()
        layout.addWidget(self.step_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setMinimumHeight(180)
        layout.addWidget(self.log)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        layout.addWidget(self.result_label)

        buttons = QHBoxLayout()
        self.setup_button = QPushButton(tr("Set up"))
        self.check_button = QPushButton(tr("Check"))
        self.repair_button = QPushButton(tr("Repair"))
        self.cancel_button = QPushButton(tr("Cancel"))
        self.close_button = QPushButton(tr("Close"))
        for button in (self.setup_button, self.check_button, self.repair_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.setup_button.clicked.connect(self.start_setup)
        self.check_button.clicked.connect(lambda: self._start("check"))
        self.repair_button.clicked.connect(lambda: self._start("repair"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self._set_busy(False)
        self.resize(720, 520)

    # -- what the form says ------------------------------------------------------------------------
    def options(self) -> SetupOptions:
        return replace(self.template, env_dir=Path(self.env_dir.filePath().strip() or str(self.template.env_dir)),
                       device=self.device.currentData())

    def confirm(self, plan_lines: list[str]) -> bool:
        """Ask before installing, showing the plan (the PyTorch sentence first)."""
        answer = QMessageBox.question(self, tr("Set up the backend"),
                                      "\n".join(plan_lines) + "\n\n" + tr("Install now?"),
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    # -- actions -----------------------------------------------------------------------------------
    def start_setup(self) -> None:
        """Plan first (PyTorch build, which steps are done); ``confirm``; then run."""
        self._run_after_plan = True
        self._start("plan")

    def cancel(self) -> None:
        if self.task is not None:
            self.step_label.setText(tr("Cancelling…"))
            self.task.cancel()

    def _start(self, mode: str) -> None:
        if self.task is not None:
            return
        if mode != "plan":
            self._run_after_plan = False
        self.result_label.clear()
        self.progress.setValue(0)
        self.task = EnvTask(self.options(), mode)
        self.task.line.connect(self._on_line)
        self.task.done.connect(self._on_done)
        self.log.appendPlainText("— " + self.task.description())
        self._set_busy(True)
        QgsApplication.taskManager().addTask(self.task)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.setup_button, self.check_button, self.repair_button, self.env_dir, self.device):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _on_line(self, step: str, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(1000 * fraction)))
        self.step_label.setText(step)
        self.log.appendPlainText(f"[{step}] {text}")

    def _on_done(self, outcome: TaskOutcome) -> None:
        task, self.task = self.task, None
        mode = task.mode if task is not None else ""
        self._set_busy(False)
        if not outcome.ok:
            if outcome.status == CANCELLED:
                text = tr("Cancelled. Set up again to resume: finished steps are skipped.")
            else:
                text = tr("Failed: {error}").format(error=outcome.error)
                if mode in ("run", "repair"):
                    text += "\n" + tr("Fix the cause and press Set up again: finished steps are skipped.")
            self.result_label.setText(text)
            self.log.appendPlainText(text)
            self._run_after_plan = False
        elif mode == "plan":
            self.plan_label.setText("\n".join(outcome.value))
            if self._run_after_plan:
                self._run_after_plan = False
                if self.confirm(list(outcome.value)):
                    self._start("run")
                    self.task_done.emit(mode, outcome)
                    return
                self.result_label.setText(tr("Nothing installed."))
        elif mode == "run":
            self.progress.setValue(1000)
            self._use_environment(task.options.env_dir)
            self.result_label.setText(device_summary(outcome.value, task.torch_expected) + "\n"
                                      + tr("The plugin now runs the backend with {python}.").format(
                                          python=venv_python(task.options.env_dir)))
        else:
            report = outcome.value
            summary = tr("The environment is complete.") if report.ok else tr(
                "{count} problem(s) found: press Repair.").format(count=len(report.broken) or 1)
            if report.python is not None:
                summary += "\n" + device_summary(report, task.torch_expected)
            self.result_label.setText(summary)
        self.task_done.emit(mode, outcome)

    def _use_environment(self, env_dir: Path) -> None:
        # Stored values only: environment overrides (tests, CI) must not be written back.
        settings = replace(load_settings(environ={}), interpreter=str(venv_python(env_dir)))
        save_settings(settings)
        self.settings_saved.emit(settings)

    def shutdown(self) -> None:
        """Cancel what runs and stop listening to it (plugin unload)."""
        if self.task is not None:
            for signal in (self.task.line, self.task.done):
                try:
                    signal.disconnect()
                except TypeError:
                    pass
            self.task.cancel()
            self.task = None
