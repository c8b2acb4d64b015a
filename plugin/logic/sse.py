"""Parser of server-sent events (the ``text/event-stream`` format the backend streams job events in).

Pure Python: feed it decoded lines (without the line break); it returns an event at each blank line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: ``event`` name (``"message"`` when the stream named none), ``data`` text
    (``data:`` lines joined with ``\\n``) and the last ``id:`` seen (``None`` before any)."""

    event: str
    data: str
    id: str | None = None


class SseParser:
    """Incremental parser following the WHATWG event-stream rules that matter here: ``field: value``
    lines, one optional space after the colon, comment lines starting with ``:``, dispatch on a blank
    line, no dispatch for a block without ``data``."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._has_data = False
        self.last_id: str | None = None

    def feed_line(self, line: str) -> SseEvent | None:
        """Consume one line (trailing ``\\r``/``\\n`` tolerated); return the event it completes, if any."""
        line = line.rstrip("\r\n")
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._has_data:
            self._event = ""
            return None
        event = SseEvent(event=self._event or "message", data="\n".join(self._data), id=self.last_id)
        self._event, self._data, self._has_data = "", [], False
        return event
