"""What a run reports while it works: typed events, JSON-serialisable for the server's event stream."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..cancel import CancelToken, Cancelled


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


# Runs stop on this token: a set token makes the run raise ``Cancelled``; what is done is kept, marked partial.
__all__ = ["RunEvent", "EventSink", "CancelToken", "Cancelled"]
