"""A cancel flag shared between a worker and whoever may stop it (a Cancel button, a client, Ctrl-C).
Standard library only: the QGIS plugin imports it from QGIS's own Python."""

from __future__ import annotations

import threading
from typing import Callable


class Cancelled(Exception):
    """Raised where work notices that its token was set."""


class CancelToken:
    """Set from any thread; the worker checks ``cancelled`` or calls ``raise_if_cancelled`` at safe points.
    ``error`` makes the exception that ``raise_if_cancelled`` raises (default ``Cancelled``)."""

    def __init__(self, error: Callable[[], Exception] = Cancelled) -> None:
        self._event = threading.Event()
        self._error = error

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise self._error()
