"""The run controller: turns ``RunRequest``s into ``RunJobTask``s, shows live results while they run,
loads the GeoPackage when they end, and relays plans and backend status. It owns no widgets; the dock
listens to its signals. Main thread only (tasks do the waiting)."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

from qgis.core import Qgis, QgsApplication, QgsProject, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from .logic.backend_state import BackendStatus, check_status
from .logic.follow import JobEvent
from .logic.followup import LastResult, last_result, previous_body
from .logic.live_layer import LiveLayers
from .logic.prepare import PrepareError, RunRequest, prepare_run
from .logic.refine import mark_refinable
from .logic.results import demo_title, load_run_layers
from .logic.runner import RunOutcome
from .logic.service import BackendService
from .logic.status_poller import StatusPoller
from .logic.tasks import BackendStatusTask, PlanTask, RunJobTask
from .logic.wording import outcome_summary
from .toolbelt.i18n import tr
from .toolbelt.log import log
from .toolbelt.settings import PluginSettings, load_settings


@dataclass
class _Run:
    task: RunJobTask
    live: LiveLayers
    title: str
    layer_ids: list[str] = field(default_factory=list)
    cancelling: bool = False
    task_name: str = ""  # the task the live layers are styled for
    outcome: RunOutcome | None = None
    previous: LastResult | None = None  # the result it may follow up on
    followup: bool = False  # the backend read it as a follow-up
    plain_title: str = ""  # its title before the row said it is a follow-up


class RunController(QObject):
    """Signals carry plain values: ``job_started(key, title)``, ``job_progress(key, JobEvent)``,
    ``job_status(key, text)``, ``job_cancelling(key)`` (at once when a cancel is asked),
    ``job_retitled(key, title)`` (a run whose answers were scripted says so), ``job_finished(key, summary,
    RunOutcome or None)``, ``answers(title, [text])``, ``message(text, is_error)``, ``plan_ready(plan or None,
    error or None)``, ``status_changed(BackendStatus)``, ``last_result_changed(title, "" for none)`` (the
    result the next instruction may follow up on)."""

    job_started = pyqtSignal(str, str)
    job_progress = pyqtSignal(str, object)
    job_status = pyqtSignal(str, str)
    job_cancelling = pyqtSignal(str)
    job_retitled = pyqtSignal(str, str)
    job_finished = pyqtSignal(str, str, object)
    answers = pyqtSignal(str, list)
    message = pyqtSignal(str, bool)
    plan_ready = pyqtSignal(object, object)
    status_changed = pyqtSignal(object)
    last_result_changed = pyqtSignal(str)

    def __init__(self, service: BackendService, settings_loader=load_settings, project: QgsProject | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.settings_loader = settings_loader
        self.project = project or QgsProject.instance()
        self.runs: dict[str, _Run] = {}
        self.stopped: dict[str, _Run] = {}  # runs that can be resumed: cancelled, failed, their backend stopped
        self._helpers: set[QgsTask] = set()
        self._keys = itertools.count(1)
        self._closed = False
        self._starting = 0  # start/restart tasks in flight: the backend is about to change
        self.last: LastResult | None = None  # the last result with objects: what a follow-up works on
        self.poller = StatusPoller(self._check_status, busy=lambda: self.busy() or self._starting > 0, parent=self)
        self.poller.changed.connect(self.status_changed)
        self.project.layersRemoved.connect(self._layers_removed)

    @property
    def settings(self) -> PluginSettings:
        return self.settings_loader()

    # -- runs -------------------------------------------------------------------------------------
    def start_run(self, request: RunRequest) -> str | None:
        """Prepare ``request`` (reads layers) and queue its task; returns the run key, or ``None`` with an
        error message when the request cannot run."""
        if request.previous is None and request.follow_up != "no":
            request = dataclasses.replace(request, previous=self.last)
        try:
            job = prepare_run(request, self.project, self.settings)
        except PrepareError as exc:
            self.message.emit(str(exc), True)
            return None
        key = f"run{next(self._keys)}"
        last = self.poller.last
        title = demo_title(job.title) if last is not None and last.engine == "scripted" else job.title
        self._launch(key, RunJobTask(self.service, job), title, request.task or "",
                     request.previous if job.followup_gpkg else None)
        return key

    def resume(self, key: str) -> None:
        """Go on with a cancelled or failed run (``key``) from its finished tiles (the backend keeps them); its
        partial layers make way for the complete ones."""
        stopped = self.stopped.pop(key, None)
        if stopped is None or stopped.outcome is None or not stopped.outcome.resumable:
            return
        self.project.removeMapLayers([i for i in stopped.layer_ids if self.project.mapLayer(i) is not None])
        task = RunJobTask(self.service, stopped.outcome.job, resume_job_id=stopped.outcome.job_id)
        self._launch(key, task, stopped.title, stopped.task_name, stopped.previous)

    def _launch(self, key: str, task: RunJobTask, title: str, task_name: str,
                previous: LastResult | None = None) -> None:
        run = _Run(task=task, live=LiveLayers(title, task_name, self.project), title=title, task_name=task_name,
                   previous=previous)
        self.runs[key] = run
        task.progress_event.connect(lambda event, k=key: self._on_event(k, event))
        task.status_changed.connect(lambda status, k=key: self._on_status(k, status))
        task.cancelling.connect(lambda k=key: self._on_cancelling(k))
        task.completed.connect(lambda outcome, k=key: self._on_completed(k, outcome))
        self.job_started.emit(key, title)
        QgsApplication.taskManager().addTask(task)

    def cancel(self, key: str = "") -> None:
        """Cancel one run (``key``) or all (``""``). Returns at once (``job_cancelling`` says so); the task
        asks the backend to stop and the run ends with what was done."""
        for run_key, run in list(self.runs.items()):
            if key in ("", run_key):
                run.task.cancel()  # its cancelling signal reaches _on_cancelling

    def _on_cancelling(self, key: str) -> None:
        run = self.runs.get(key)
        if run is not None and not run.cancelling:
            run.cancelling = True
            self.job_cancelling.emit(key)

    def busy(self) -> bool:
        return bool(self.runs)

    def _on_status(self, key: str, status: str) -> None:
        if status == "starting":
            self.poller.poll_now()  # the local backend may be starting now: say so at once
        self.job_status.emit(key, status)

    def _on_event(self, key: str, event: JobEvent) -> None:
        run = self.runs.get(key)
        if run is None or self._closed:
            return
        if event.kind == "plan" and event.data.get("task"):
            run.live.task = str(event.data["task"])  # the task the backend chose: live layers styled for it
        if event.kind == "plan" and event.data.get("followup") and run.previous is not None and not run.followup:
            run.followup = True  # the row says so at once
            run.plain_title = run.title
            run.title = tr("↳ {title} (follow-up of {previous})").format(title=run.title,
                                                                            previous=run.previous.title)
            self.job_retitled.emit(key, run.title)
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
        self.poller.poll_now()
        run.outcome = outcome
        if outcome is not None and outcome.resumable:
            self.stopped[key] = run
        summary = outcome_summary(outcome)
        if outcome is None or outcome.error is not None:
            failed = outcome is not None
            text = (tr("{title} failed: {reason}").format(title=run.title, reason=outcome.error) if failed
                    else tr("{title}: {summary}").format(title=run.title, summary=summary))
            log(text, Qgis.Critical if failed else Qgis.Info)
            self.message.emit(text, failed)
            self.job_finished.emit(key, summary, outcome)
            return
        result = outcome.result
        demo = (outcome.engine or result.get("engine") or {}).get("engine") == "scripted"
        if demo and run.title == outcome.job.title:
            # canned answers, not a model's: the layers, the group and the row say so
            run.title = demo_title(run.title)
            self.job_retitled.emit(key, run.title)
        layers = []
        group = self._group_of(run.previous) if result.get("followup") else None
        if outcome.gpkg:
            layers = load_run_layers(outcome.gpkg, result, outcome.job.recipe, run.title, self.project,
                                     demo=demo, group=group)
            mark_refinable(layers, outcome.job_id, result)  # the map tool can refine SAM2 outlines by clicks
        if layers:
            self._remember(run, result, outcome.gpkg, layers, group)
        answers = [str(a.get("text") or "") for a in result.get("answers") or []]
        self.answers.emit(run.title, [a for a in answers if a])
        for warning in result.get("warnings") or []:
            log(str(warning), Qgis.Warning)
        text = tr("{title}: {summary}").format(title=run.title, summary=summary)
        if layers:
            text += " " + tr("(saved in {path})").format(path=outcome.gpkg)
        log(text, Qgis.Info)  # the one line that says how the run ended
        self.message.emit(text, False)
        run.layer_ids = [layer.id() for layer in layers]
        self.job_finished.emit(key, summary, outcome)

    # -- follow-ups -------------------------------------------------------------------------------
    def _group_of(self, previous: LastResult | None):
        """The layer-tree group of the result a follow-up filtered (``None``: removed meanwhile, a new group
        is made); the filtered layer is hidden, the follow-up's layer shows in its place."""
        if previous is None:
            return None
        group = self.project.layerTreeRoot().findGroup(previous.group_name)
        node = self.project.layerTreeRoot().findLayer(previous.layer_id)
        if node is not None:
            node.setItemVisibilityChecked(False)
        return group

    def _layers_removed(self, layer_ids) -> None:
        if self.last is not None and self.last.layer_id in layer_ids:
            self.last = None  # its objects are gone from the project: nothing to follow up on
            self.last_result_changed.emit("")

    def _remember(self, run: _Run, result: dict, gpkg: str, layers: list, group) -> None:
        """The run's objects become what the next instruction may follow up on."""
        # named by its own instruction (the row's "↳ … (follow-up of …)" would nest with every step)
        title = run.plain_title or run.title
        found = last_result(title, group.name() if group is not None else run.title, gpkg, result, layers)
        if found is not None:
            self.last = found
            self.last_result_changed.emit(found.title)

    # -- plan and status --------------------------------------------------------------------------
    def _queue_helper(self, task: QgsTask) -> None:
        # Keep a Python reference until the task ends, or its wrapper (and its finished()) is collected.
        self._helpers.add(task)
        task.taskCompleted.connect(lambda t=task: self._helpers.discard(t))
        task.taskTerminated.connect(lambda t=task: self._helpers.discard(t))
        QgsApplication.taskManager().addTask(task)

    def request_plan(self, instruction: str, task: str | None, n_rasters: int, layer_names=(),
                     follow_up: str = "auto") -> None:
        """Ask the backend how ``instruction`` would run; with the last result, as a follow-up when it reads
        as one (``follow_up``: see ``RunRequest``)."""
        previous, needed = None, ()
        layer = self.project.mapLayer(self.last.layer_id) if self.last is not None else None
        if follow_up != "no" and layer is not None:
            previous, folder = previous_body(self.last, layer, layer.crs(), bool(self.settings.server_url),
                                             self.project)
            needed = (folder,) if folder else ()
        plan_task = PlanTask(self.service, instruction, task, n_rasters, tuple(layer_names or ()),
                             previous=previous, follow_up=follow_up if previous is not None else None,
                             needed_dirs=needed)
        plan_task.done.connect(self.plan_ready)
        self._queue_helper(plan_task)

    def _check_status(self) -> BackendStatus:
        """One observation (worker thread: the poller's). A local backend that a task is about to launch
        is already "starting" (the process may not exist yet)."""
        status = check_status(self.service, model_server=self.settings.model_base_url)
        if status.state == "stopped" and (self._starting or any(r.task.starting for r in list(self.runs.values()))):
            return BackendStatus("starting")
        return status

    def refresh_status(self, start: bool = False, restart: bool = False) -> None:
        """Observe the backend now (``start``: also start the local one; ``restart``: stop it first)."""
        if not (start or restart):
            self.poller.poll_now()
            return
        status_task = BackendStatusTask(self.service, start=start, restart=restart,
                                        model_server=self.settings.model_base_url)
        self._starting += 1
        status_task.done.connect(self._started)
        self._queue_helper(status_task)
        self.poller.poll_now()  # says "starting" while the task waits for the backend

    def _started(self, status: BackendStatus) -> None:
        self._starting = max(0, self._starting - 1)
        if not self._closed:
            self.status_changed.emit(status)

    def watch_status(self, active: bool) -> None:
        """Follow the backend's state continuously while the panel is shown."""
        self.poller.set_active(active)

    def shutdown(self) -> None:
        """Cancel running work and remove live layers (plugin unload); later task ends show nothing."""
        self._closed = True
        self.poller.close()
        try:
            self.project.layersRemoved.disconnect(self._layers_removed)
        except TypeError:  # already disconnected
            pass
        self.cancel("")
        for run in self.runs.values():
            run.live.remove()
