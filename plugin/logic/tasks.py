"""Background tasks (``QgsTask``): the network and the backend process are only touched in ``run()`` (a
worker thread); results reach the GUI through signals emitted from ``finished()`` (the main thread) or
queued from the worker. Each task keeps a typed outcome instead of raising."""

from __future__ import annotations

import threading
from typing import Any

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..toolbelt import vocabulary
from ..toolbelt.i18n import tr
from .backend_state import BackendStatus, check_status
from .client import BackendClient, BackendError, BackendHTTPError
from .follow import JobEvent
from .prepare import PreparedJob
from .runner import RunOutcome, execute_job
from .service import BackendService


def adopt_vocabulary(client: BackendClient) -> vocabulary.Vocabulary | None:
    """Use the backend's own names from now on (worker thread); an older backend without
    ``/v1/capabilities`` leaves the plugin's shipped copy in use."""
    try:
        return vocabulary.adopt(client.capabilities(), client.connection.url)
    except (BackendError, vocabulary.VocabularyError):
        return None


class BackendStatusTask(QgsTask):
    """Start the local backend (``start=True``; ``restart=True``: stop it first) or re-check the
    configured server, then observe it. ``done`` carries a ``BackendStatus``. Plain observation without
    starting anything is the ``StatusPoller``'s job."""

    done = pyqtSignal(object)

    def __init__(self, service: BackendService, *, start: bool = True, restart: bool = False,
                 model_server: str = ""):
        super().__init__(tr("GeoRSMLLM: connecting to the backend"), QgsTask.CanCancel)
        self.service = service
        self.start = start
        self.restart = restart
        self.model_server = model_server
        self.status = BackendStatus("stopped")

    def run(self) -> bool:
        error = None
        try:
            if self.restart:
                adopt_vocabulary(BackendClient(self.service.restart()))
            elif self.start:
                adopt_vocabulary(BackendClient(self.service.ensure()))
        except BackendError as exc:
            error = str(exc)
        status = check_status(self.service, model_server=self.model_server, timeout_s=10.0)
        if error and status.state in ("stopped", "starting", "unreachable"):
            # the start itself failed (no interpreter, timeout): its message says why
            status = BackendStatus("exited" if not status.remote else "unreachable", remote=status.remote,
                                   url=status.url, detail=error, log_path=status.log_path)
        self.status = status
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(self.status)


class PlanTask(QgsTask):
    """``POST /v1/plan`` for an instruction; ``done`` carries ``(plan dict or None, error or None)``."""

    done = pyqtSignal(object, object)

    def __init__(self, service: BackendService, instruction: str, task: str | None, n_rasters: int,
                 layer_names: tuple[str, ...] = (), *, previous: dict[str, Any] | None = None,
                 follow_up: str | None = None, needed_dirs: tuple[str, ...] = ()):
        super().__init__(tr("GeoRSMLLM: planning"), QgsTask.CanCancel)
        self.service = service
        self.instruction = instruction
        self.task_name = task
        self.n_rasters = n_rasters
        self.layer_names = tuple(layer_names)
        self.previous = previous  # the result it may follow up on (a job's ``previous`` field)
        self.follow_up = follow_up
        self.needed_dirs = tuple(needed_dirs)
        self.plan: dict[str, Any] | None = None
        self.error: str | None = None

    def run(self) -> bool:
        try:
            client = BackendClient(self.service.ensure(self.needed_dirs))
            self.plan = client.plan(self.instruction, self.task_name, self.n_rasters, self.layer_names,
                                    previous=self.previous, follow_up=self.follow_up)
        except BackendError as exc:
            self.error = getattr(exc, "detail", None) or str(exc)
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(self.plan, self.error)


class RunJobTask(QgsTask):
    """One backend job. ``progress_event`` (queued to the main thread) forwards each ``JobEvent``;
    ``completed`` carries the ``RunOutcome`` from ``finished()``. ``cancel()`` asks the backend to stop and
    the run ends with what was done."""

    progress_event = pyqtSignal(object)
    status_changed = pyqtSignal(str)
    cancelling = pyqtSignal()  # a cancel was asked (from the panel or QGIS's task manager)
    completed = pyqtSignal(object)

    def __init__(self, service: BackendService, job: PreparedJob, resume_job_id: str | None = None):
        """``resume_job_id``: go on with that backend job (see ``execute_job``) instead of submitting ``job``."""
        super().__init__(tr("GeoRSMLLM: {title}").format(title=job.title), QgsTask.CanCancel)
        self.service = service
        self.job = job
        self.resume_job_id = resume_job_id
        self.outcome: RunOutcome | None = None
        self._cancel_requested = threading.Event()
        self.starting = False  # waiting for the backend to start (read by the status poller)

    def _on_status(self, status: str) -> None:
        self.starting = status == "starting"
        self.status_changed.emit(status)

    def cancel(self) -> None:
        # Flag only: the worker thread sees it within one poll and calls the cancel endpoint itself,
        # so the GUI thread never waits on the network.
        first = not self._cancel_requested.is_set()
        self._cancel_requested.set()
        super().cancel()
        if first:
            self.cancelling.emit()

    def _on_event(self, event: JobEvent) -> None:
        if event.tiles_total:
            self.setProgress(100.0 * event.tiles_done / event.tiles_total)
        self.progress_event.emit(event)

    def run(self) -> bool:
        self.outcome = execute_job(self.service, self.job, on_event=self._on_event,
                                   on_status=self._on_status,
                                   is_cancelled=lambda: self._cancel_requested.is_set() or self.isCanceled(),
                                   resume_job_id=self.resume_job_id)
        # A cancel the user asked for is an outcome, not a failure: QGIS's task log must not say "failed".
        return self.outcome.succeeded or self.outcome.cancelled

    def finished(self, result: bool) -> None:
        self.completed.emit(self.outcome)


#: Refinement tasks started and not yet ended. QGIS runs a task's Python ``run()`` from its own thread: if the
#: task's Python object were collected meanwhile (say, with a plugin being unloaded), QGIS would crash. So the
#: module, which outlives any one plugin object, holds them until they end.
_RUNNING: set[QgsTask] = set()


def start_task(task: QgsTask) -> None:
    """Queue ``task`` in QGIS's task manager, keeping it referenced until it ends."""
    _RUNNING.add(task)
    task.taskCompleted.connect(lambda t=task: _RUNNING.discard(t))
    task.taskTerminated.connect(lambda t=task: _RUNNING.discard(t))
    QgsApplication.taskManager().addTask(task)


def running_tasks() -> int:
    """Tasks started with ``start_task`` that have not ended yet."""
    return len(_RUNNING)


class RefineTask(QgsTask):
    """``POST /v1/refine`` for one set of clicks; ``done`` carries ``(answer dict or None, error or None)``.
    ``needed_dirs``: folders a local backend must allow (the run's rasters)."""

    done = pyqtSignal(object, object)

    def __init__(self, service: BackendService, body: dict[str, Any], needed_dirs: tuple[str, ...] = ()):
        super().__init__(tr("GeoRSMLLM: refining an object"), QgsTask.CanCancel)
        self.service = service
        self.body = body
        self.needed_dirs = needed_dirs
        self.answer: dict[str, Any] | None = None
        self.error: str | None = None

    def run(self) -> bool:
        try:
            client = BackendClient(self.service.ensure(self.needed_dirs))
            self.answer = client.refine(self.body)
        except BackendHTTPError as exc:
            self.error = exc.detail
        except BackendError as exc:
            self.error = str(exc)
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(self.answer, self.error)
