"""The backend status line of the panel: a coloured symbol and one sentence saying what the backend is
doing (starting, loading a named model, ready on the CPU or a GPU, using a model server, unreachable),
with the details (URL, memory, log, full error) in its tooltip."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from ..logic.backend_state import BackendStatus
from ..toolbelt.i18n import tr

#: level -> (symbol, colour)
LEVELS = {"idle": ("○", "#616161"), "busy": ("◔", "#b26a00"), "ok": ("●", "#2e7d32"), "error": ("●", "#c62828")}
_LEVEL_OF = {"stopped": "idle", "starting": "busy", "loading": "busy", "ready": "ok", "load_failed": "error",
             "exited": "error", "unreachable": "error"}


def _where(status: BackendStatus) -> str:
    """Which backend: the local one, or the server at its URL."""
    if status.remote:
        return tr("Backend at {url}").format(url=status.url)
    return tr("Local backend")


def _device_words(status: BackendStatus) -> str:
    """Where the model runs, in words."""
    device = status.device.lower()
    if status.engine == "openai" or device == "server":
        return tr("using the model server at {url} (model {model})").format(url=status.model_server or "?",
                                                                            model=status.model_name or "?")
    if status.engine == "scripted" or device == "none":
        return tr("scripted demo answers from {script}, no model").format(script=status.model_name or "?")
    if device.startswith("cuda"):
        where = tr("on the GPU ({device})").format(device=status.device)
    elif device == "mps":
        where = tr("on the Apple GPU (MPS)")
    elif device == "cpu":
        where = tr("on the CPU (slow)")
    else:
        where = tr("on {device}").format(device=status.device or "?")
    return tr("model {model} {where}").format(model=status.model_name or "?", where=where)


def _load_failure(status: BackendStatus) -> str:
    if status.problem == "unreachable":
        return tr("the model server at {url} is unreachable: is it running, and is the URL right?").format(
            url=status.model_server or "?")
    if status.problem == "refused":
        return tr("the model server at {url} refused: {reason}").format(url=status.model_server or "?",
                                                                        reason=status.detail)
    return tr("the model {model} failed to load: {reason}").format(model=status.model_name or "?",
                                                                  reason=status.detail)


def status_text(status: BackendStatus) -> str:
    """The status line's sentence."""
    where = _where(status)
    if status.state == "stopped":
        return tr("Local backend: not started yet; it starts with the first run.")
    if status.state == "starting":
        return tr("Local backend: starting…")
    if status.state == "loading":
        if status.engine == "openai":
            return tr("{where}: connecting to the model server at {url}…").format(where=where,
                                                                                   url=status.model_server or "?")
        return tr("{where}: loading the model {model}…").format(where=where, model=status.model_name or "?")
    if status.state == "ready":
        text = tr("{where}: ready, {what}").format(where=where, what=_device_words(status))
        if status.jobs_running:
            text += " " + (tr("(1 run going)") if status.jobs_running == 1 else
                           tr("({count} runs going)").format(count=status.jobs_running))
        return text
    if status.state == "load_failed":
        return tr("{where} runs, but {problem}").format(where=where, problem=_load_failure(status))
    if status.state == "exited":
        return tr("Local backend stopped: {reason}").format(reason=_first_line(status.detail))
    return tr("{where} is unreachable: {reason}").format(where=where, reason=_first_line(status.detail))


def status_tooltip(status: BackendStatus) -> str:
    lines = []
    if status.url:
        lines.append(tr("Backend server: {url}").format(url=status.url))
    if status.model:
        lines.append(tr("Model: {model}").format(model=status.model))
    if status.memory_mb is not None:
        lines.append(tr("Backend memory (peak): {mb} MB").format(mb=round(status.memory_mb)))
    if status.detail:
        lines.append(status.detail)
    if status.log_path:
        lines.append(tr("Log: {path}").format(path=status.log_path))
    return "\n".join(lines)


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "?"


class StatusLine(QWidget):
    """Symbol + sentence; ``show_status(BackendStatus)``; ``level`` is idle, busy, ok or error."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.symbol = QLabel()
        self.symbol.setFixedWidth(16)
        self.label = QLabel()
        self.label.setWordWrap(True)
        # a long word (a path, a URL) must not widen the panel: the label takes the width it is given
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.label.setMinimumWidth(120)
        layout.addWidget(self.symbol)
        layout.addWidget(self.label, 1)
        self.level = "idle"
        self.set_text(tr("Local backend: not started yet; it starts with the first run."), "idle")

    def set_text(self, text: str, level: str, tooltip: str = "") -> None:
        symbol, colour = LEVELS[level]
        self.level = level
        self.symbol.setText(symbol)
        self.symbol.setStyleSheet(f"color: {colour};")
        self.label.setText(text)
        self.label.setToolTip(tooltip)
        self.symbol.setToolTip(tooltip)

    def show_status(self, status: BackendStatus) -> None:
        self.set_text(status_text(status), _LEVEL_OF[status.state], status_tooltip(status))

    def text(self) -> str:
        return self.label.text()
