"""The run controller: turns ``RunRequest``s into ``RunJobTask``s, shows live results while they run,
loads the GeoPackage when they end, and relays plans and backend status. It owns no widgets; the dock
listens to its signals. Main thread only (tasks do the waiting)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from qgis.core import Qgis, QgsApplication, QgsProject, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from .logic.follow import JobEvent
from .logic.live_layer import LiveLayers
from .logic.prepare import PrepareError, RunRequest, prepare_run
from .logic.results import load_run_layers
from .logic.runner import RunOutcome
from .logic.service import BackendService
from .logic.tasks import BackendStatusTask, PlanTask, RunJobTask
from .toolbelt.i18n import tr
from .toolbelt.log import log
from .toolbelt.settings import PluginSettings, load_settings


@dataclass
class _Run:
    task: RunJobTask
    live: LiveLayers
    title: str
    layer_ids: list[str] = field(default_factory=list)


class RunController(QObject):
    """Signals carry plain values: ``job_started(key, title)``, ``job_progress(key, JobEvent)``,
    ``job_status(key, text)``, ``job_finished(key, summary, RunOutcome)``, ``answers(title, [text])``,
    ``message(text, is_error)``, ``plan_ready(plan or None, error or None)``, ``status_changed(BackendStatus)``."""

    job_started = pyqtSignal(str, str)
    job_progress = pyqtSignal(str, object)
    job_status = pyqtSignal(str, str)
    job_finished = pyqtSignal(str, str, object)
    answers = pyqtSignal(str, list)
    message = pyqtSignal(str, bool)
    plan_ready = pyqtSignal(object, object)
    status_changed = pyqtSignal(object)

    def __init__(self, service: BackendService, settings_loader=load_settings, project: QgsProject | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.settings_loader = settings_loader
        self.project = project or QgsProject.instance()
        self.runs: dict[str, _Run] = {}
        self._helpers: set[QgsTask] = set()
        self._keys = itertools.count(1)
        self._closed = False

    @property
    def settings(self) -> PluginSettings:
        return self.settings_loader()

    # -- runs -------------------------------------------------------------------------------------
    def start_run(self, request: RunRequest) -> str | None:
        """Prepare ``request`` (reads layers) and queue its task; returns the run key, or ``None`` with an
        error message when the request cannot run."""
        try:
            job = prepare_run(request, self.project, self.settings)
        except PrepareError as exc:
            self.message.emit(str(exc), True)
            return None
        key = f"run{next(self._keys)}"
        task = RunJobTask(self.service, job)
        run = _Run(task=task, live=LiveLayers(job.title, request.task or "", self.project), title=job.title)
        self.runs[key] = run
        task.progress_event.connect(lambda event, k=key: self._on_event(k, event))
        task.status_changed.connect(lambda status, k=key: self.job_status.emit(k, status))
        task.completed.connect(lambda outcome, k=key: self._on_completed(k, outcome))
        self.job_started.emit(key, job.title)
        QgsApplication.taskManager().addTask(task)
        return key

    def cancel(self, key: str = "") -> None:
        """Cancel one run (``key``) or all (``""``). Returns at once; the task asks the backend to stop."""
        for run_key, run in list(self.runs.items()):
            if key in ("", run_key):
                run.task.cancel()

    def busy(self) -> bool:
        return bool(self.runs)

    def _on_event(self, key: str, event: JobEvent) -> None:
        run = self.runs.get(key)
        if run is None or self._closed:
            return
        if event.features:
            run.live.add(event.features)
        self.job_progress.emit(key, event)

    def _on_completed(self, key: str, outcome: RunOutcome | None) -> None:
        run = self.runs.pop(key, None)
        if run is None:
            return
        run.live.remove()
        if self._closed:  # the plugin was unloaded while this ran: nothing to show it in
            return
        if outcome is None:  # cancelled before it started
            self.job_finished.emit(key, tr("cancelled"), None)
            return
        if outcome.error is not None:
            text = tr("GeoRSMLLM run failed: {reason}").format(reason=outcome.error)
            log(text, Qgis.Critical)
            self.message.emit(text, True)
            self.job_finished.emit(key, tr("failed"), outcome)
            return
        result = outcome.result
        layers = []
        if outcome.gpkg:
            layers = load_run_layers(outcome.gpkg, result, outcome.job.recipe, run.title, self.project)
        answers = [str(a.get("text") or "") for a in result.get("answers") or []]
        self.answers.emit(run.title, [a for a in answers if a])
        for warning in result.get("warnings") or []:
            log(str(warning), Qgis.Warning)
        counts = result.get("counts") or {}
        summary = ", ".join(f"{n} {label}" for label, n in counts.items()) or tr("nothing found")
        if outcome.cancelled:
            summary = tr("cancelled: {summary}").format(summary=summary)
        self.message.emit(tr("{title}: {summary}").format(title=run.title, summary=summary), False)
        run.layer_ids = [layer.id() for layer in layers]
        self.job_finished.emit(key, summary, outcome)

    # -- plan and status --------------------------------------------------------------------------
    def _queue_helper(self, task: QgsTask) -> None:
        # Keep a Python reference until the task ends, or its wrapper (and its finished()) is collected.
        self._helpers.add(task)
        task.taskCompleted.connect(lambda t=task: self._helpers.discard(t))
        task.taskTerminated.connect(lambda t=task: self._helpers.discard(t))
        QgsApplication.taskManager().addTask(task)

    def request_plan(self, instruction: str, task: str | None, n_rasters: int, layer_names=()) -> None:
        plan_task = PlanTask(self.service, instruction, task, n_rasters, tuple(layer_names or ()))
        plan_task.done.connect(self.plan_ready)
        self._queue_helper(plan_task)

    def refresh_status(self, start: bool = False, restart: bool = False) -> None:
        status_task = BackendStatusTask(self.service, start=start, restart=restart)
        status_task.done.connect(self.status_changed)
        self._queue_helper(status_task)

    def shutdown(self) -> None:
        """Cancel running work and remove live layers (plugin unload); later task ends show nothing."""
        self._closed = True
        self.cancel("")
        for run in self.runs.values():
            run.live.remove()
