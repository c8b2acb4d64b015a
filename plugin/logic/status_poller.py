"""Watches the backend while the panel is shown, so its status line follows what really happens (starting,
loading the model, ready, gone) instead of the last time someone asked.

Each check runs ``check_status`` in a short-lived worker thread (a health call, at most a few seconds) and
the result comes back through a queued signal, so the GUI thread never waits. A plain thread rather than a
``QgsTask``: QGIS 3.22 has no hidden tasks, and a check every second would flicker in its task bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .backend_state import BackendStatus


class StatusPoller(QObject):
    """``changed(BackendStatus)`` carries every observation (GUI thread). While active it checks every
    ``fast_ms`` when the state is changing by itself (starting, loading, runs going: ``busy()``) and every
    ``slow_ms`` otherwise; ``poll_now`` checks at once (a second request while one runs is merged)."""

    changed = pyqtSignal(object)
    _observed = pyqtSignal(object)  # from the worker thread; queued to the GUI thread

    def __init__(self, check: Callable[[], BackendStatus], busy: Callable[[], bool] = lambda: False,
                 fast_ms: int = 1000, slow_ms: int = 10000, parent: QObject | None = None):
        super().__init__(parent)
        self._check = check
        self._busy = busy
        self.fast_ms = fast_ms
        self.slow_ms = slow_ms
        self.last: BackendStatus | None = None
        self._active = False
        self._closed = False
        self._in_flight = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.poll_now)
        self._observed.connect(self._deliver)

    @property
    def active(self) -> bool:
        return self._active

    def set_active(self, active: bool) -> None:
        """Start (with a check at once) or stop the periodic checks (the panel shown or hidden)."""
        self._active = active and not self._closed
        if self._active:
            self.poll_now()
        else:
            self._timer.stop()

    def poll_now(self) -> None:
        if self._closed:
            return
        if self._in_flight:
            self._again = True
            return
        self._in_flight = True
        threading.Thread(target=self._work, name="georsmllm-status", daemon=True).start()

    def _work(self) -> None:
        try:
            status = self._check()
        except Exception as exc:  # a bug in a check must not silence the status line for good
            status = BackendStatus("unreachable", detail=f"{type(exc).__name__}: {exc}")
        try:
            self._observed.emit(status)
        except RuntimeError:  # the poller was deleted (plugin unloaded) while this thread checked
            pass

    def _deliver(self, status: BackendStatus) -> None:
        self._in_flight = False
        if self._closed:
            return
        self.last = status
        self.changed.emit(status)
        if self._again:
            self._again = False
            self.poll_now()
        elif self._active:
            self._timer.start(self.fast_ms if status.busy or self._busy() else self.slow_ms)

    def close(self) -> None:
        """Stop for good (plugin unload); a check still running is dropped when it ends."""
        self._closed = True
        self._active = False
        self._timer.stop()
