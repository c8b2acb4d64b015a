"""Background tasks (``QgsTask``): the network and the backend process are only touched in ``run()`` (a
worker thread); results reach the GUI through signals emitted from ``finished()`` (the main thread) or
queued from the worker. Each task keeps a typed outcome instead of raising."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..toolbelt import vocabulary
from ..toolbelt.i18n import tr
from .client import BackendClient, BackendError
from .follow import JobEvent
from .prepare import PreparedJob
from .runner import RunOutcome, execute_job
from .service import BackendService


@dataclass(frozen=True)
class BackendStatus:
    """Result of a health check: ``health`` is the server's ``/v1/health`` body, or ``error`` says why not."""

    health: dict[str, Any] | None
    error: str | None = None
    url: str = ""


def adopt_vocabulary(client: BackendClient) -> vocabulary.Vocabulary | None:
    """Use the backend's own names from now on (worker thread); an older backend without
    ``/v1/capabilities`` leaves the plugin's shipped copy in use."""
    try:
        return vocabulary.adopt(client.capabilities(), client.connection.url)
    except (BackendError, vocabulary.VocabularyError):
        return None


class BackendStatusTask(QgsTask):
    """Start (``start=True``: also launch the local backend; ``restart=True``: stop it first) and check
    the backend. ``done`` carries a ``BackendStatus``."""

    done = pyqtSignal(object)

    def __init__(self, service: BackendService, *, start: bool = True, restart: bool = False):
        super().__init__(tr("GeoRSMLLM: connecting to the backend"), QgsTask.CanCancel)
        self.service = service
        self.start = start
        self.restart = restart
        self.status = BackendStatus(None, tr("not checked"))

    def run(self) -> bool:
        try:
            if self.restart:
                connection = self.service.restart()
            elif self.start or self.service.config().url:
                connection = self.service.ensure()
            else:
                server = self.service.local_server
                connection = server.connection if server is not None and server.running() else None
                if connection is None:
                    self.status = BackendStatus(None, tr("local backend not started"))
                    return True
            client = BackendClient(connection)
            self.status = BackendStatus(client.health(timeout=10.0), None, connection.url)
            adopt_vocabulary(client)
        except BackendError as exc:
            self.status = BackendStatus(None, str(exc))
        return True

    def finished(self, result: bool) -> None:
        self.done.emit(self.status)


class PlanTask(QgsTask):
    """``POST /v1/plan`` for an instruction; ``done`` carries ``(plan dict or None, error or None)``."""

    done = pyqtSignal(object, object)

    def __init__(self, service: BackendService, instruction: str, task: str | None, n_rasters: int,
                 layer_names: tuple[str, ...] = ()):
        super().__init__(tr("GeoRSMLLM: planning"), QgsTask.CanCancel)
        self.service = service
        self.instruction = instruction
        self.task_name = task
        self.n_rasters = n_rasters
        self.layer_names = tuple(layer_names)
        self.plan: dict[str, Any] | None = None
        self.error: str | None = None

    def run(self) -> bool:
        try:
            client = BackendClient(self.service.ensure())
            self.plan = client.plan(self.instruction, self.task_name, self.n_rasters, self.layer_names)
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
    completed = pyqtSignal(object)

    def __init__(self, service: BackendService, job: PreparedJob):
        super().__init__(tr("GeoRSMLLM: {title}").format(title=job.title), QgsTask.CanCancel)
        self.service = service
        self.job = job
        self.outcome: RunOutcome | None = None
        self._cancel_requested = threading.Event()

    def cancel(self) -> None:
        # Flag only: the worker thread sees it within one poll and calls the cancel endpoint itself,
        # so the GUI thread never waits on the network.
        self._cancel_requested.set()
        super().cancel()

    def _on_event(self, event: JobEvent) -> None:
        if event.tiles_total:
            self.setProgress(100.0 * event.tiles_done / event.tiles_total)
        self.progress_event.emit(event)

    def run(self) -> bool:
        self.outcome = execute_job(self.service, self.job, on_event=self._on_event,
                                   on_status=self.status_changed.emit,
                                   is_cancelled=lambda: self._cancel_requested.is_set() or self.isCanceled())
        return self.outcome.succeeded

    def finished(self, result: bool) -> None:
        self.completed.emit(self.outcome)
