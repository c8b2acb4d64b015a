"""The plugin's backend tools: the "Set up backend…" and "Models…" menu actions, their (non-modal)
dialogs, and the first-run prompt. Owned by the plugin object; ``unload()`` removes what it made.

First run: when no server URL is set and the prompt was never shown, a ``BackendProbeTask`` checks in
the background whether the configured interpreter can run ``-m model_backend``; when it cannot, the user
is asked once whether to set up the backend now (the menu action stays for later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QAction, QMessageBox, QWidget

from ..logic.env_tasks import BackendProbeTask
from ..toolbelt.i18n import tr
from ..toolbelt.settings import PluginSettings, load_settings, save_settings
from .backend_env_dialog import BackendEnvDialog
from .models_dialog import ModelsDialog


def ask_first_run(parent: QWidget | None, reason: str) -> bool:
    """Ask whether to set up the backend now (tests replace this function)."""
    answer = QMessageBox.question(
        parent, tr("GeoRSMLLM: no backend yet"),
        tr("GeoRSMLLM runs its models in a backend: a Python environment of its own with PyTorch and the "
           "model libraries, apart from QGIS's Python. None is ready yet: {reason}.\n\n"
           "Set it up now? Before anything is installed you will see what will be installed and about how "
           "much will be downloaded. You can also do it later (Raster > GeoRSMLLM > Set up backend…), or "
           "enter the URL of a running backend server in the settings.").format(reason=reason),
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


def needs_probe(settings: PluginSettings) -> bool:
    """Whether the first-run check should run: no server URL and the prompt never shown."""
    return not settings.server_url and not settings.setup_prompted


class BackendTools(QObject):
    """``parent_widget``: QGIS's main window. ``on_saved(settings)``: called when a dialog saved
    settings (the plugin refreshes its backend status). ``first_run_checked(prompted)`` reports the
    first-run check's end."""

    first_run_checked = pyqtSignal(bool)

    def __init__(self, parent_widget: QWidget | None, on_saved: Callable[[PluginSettings], None] | None = None):
        super().__init__()
        self.parent_widget = parent_widget
        self.on_saved = on_saved
        self.setup_dialog: BackendEnvDialog | None = None
        self.models_dialog: ModelsDialog | None = None
        self.probe_task: BackendProbeTask | None = None
        self._timer: QTimer | None = None
        self.setup_action = QAction(tr("Set up backend…"), parent_widget)
        self.setup_action.triggered.connect(lambda: self.open_setup())
        self.models_action = QAction(tr("Models…"), parent_widget)
        self.models_action.triggered.connect(lambda: self.open_models())

    def actions(self) -> list[QAction]:
        return [self.setup_action, self.models_action]

    # -- dialogs ---------------------------------------------------------------------------------------
    def open_setup(self, parent: QWidget | None = None) -> BackendEnvDialog:
        if self.setup_dialog is None:
            self.setup_dialog = BackendEnvDialog(parent or self.parent_widget)
            self.setup_dialog.settings_saved.connect(self._saved)
        self.setup_dialog.show()
        self.setup_dialog.raise_()
        return self.setup_dialog

    def open_models(self, parent: QWidget | None = None) -> ModelsDialog:
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(parent or self.parent_widget)
            self.models_dialog.settings_saved.connect(self._saved)
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def _saved(self, settings: PluginSettings) -> None:
        if self.on_saved is not None:
            self.on_saved(settings)

    # -- first run -------------------------------------------------------------------------------------
    def start_first_run_check(self, delay_ms: int = 0) -> bool:
        """Start the background check (after ``delay_ms``, once QGIS has drawn its window); ``False``
        when settings say there is nothing to check."""
        settings = load_settings()
        if not needs_probe(settings):
            return False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self._probe(settings.resolved_interpreter()))
        self._timer.start(delay_ms)
        return True

    def _probe(self, interpreter: str) -> None:
        self.probe_task = BackendProbeTask(interpreter)
        self.probe_task.done.connect(self._probed)
        QgsApplication.taskManager().addTask(self.probe_task)

    def _probed(self, ok: bool, message: str) -> None:
        self.probe_task = None
        if ok:
            self.first_run_checked.emit(False)
            return
        # Asked once: recorded before asking, so a crash in the dialog cannot make it nag at every start.
        save_settings(replace(load_settings(environ={}), setup_prompted=True))
        if ask_first_run(self.parent_widget, message):
            self.open_setup()
        self.first_run_checked.emit(True)

    # -- unload -------------------------------------------------------------------------------------
    def unload(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.probe_task is not None:
            try:
                self.probe_task.done.disconnect()
            except TypeError:
                pass
            self.probe_task.cancel()
            self.probe_task = None
        for dialog in (self.setup_dialog, self.models_dialog):
            if dialog is not None:
                dialog.shutdown()
                dialog.close()
                dialog.deleteLater()
        self.setup_dialog = self.models_dialog = None
        # the actions are the plugin's to remove from the menu and delete, with its others
