"""What a run reports while it works: typed events, JSON-serialisable for the server's event stream."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable


@dataclass
class RunEvent:
    """One progress report.

    ``kind``: ``"plan"`` (the parsed plan, before any tile), ``"tile"`` (a tile finished: counters plus the
    features it added, as GeoJSON in EPSG:4326 for display), ``"warning"``, ``"done"``, ``"cancelled"``,
    ``"error"`` (``message`` says why). ``tiles_done``/``tiles_total`` count tiles of the whole run.
    """

    kind: str
    tiles_done: int = 0
    tiles_total: int = 0
    message: str = ""
    features: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EventSink = Callable[[RunEvent], None]


class Cancelled(Exception):
    """Raised inside a run when its cancel token is set; the run keeps what is done, marked partial."""


class CancelToken:
    """A thread-safe flag a client sets to stop a run within one tile."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
