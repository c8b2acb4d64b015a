"""The panel's list of runs: newest first in a bounded scroll area, one row per run with its state visible
at a glance (icon, colour and words), where its result was saved (with "open folder"), and a button that
cancels it while it runs and removes it from the list afterwards; "Clear finished" removes every ended run.
Removing a row never touches the run's layers or files."""

from __future__ import annotations

import os

from qgis.PyQt.QtCore import QSize, Qt, QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..toolbelt.i18n import tr

#: state -> (symbol, colour): what a row shows for each of ``wording.RUN_STATES``.
STATE_STYLE = {
    "running": ("▶", "#1565c0"),
    "cancelling": ("◌", "#b26a00"),
    "done": ("✔", "#2e7d32"),
    "partial": ("⚠", "#b26a00"),
    "cancelled": ("⊘", "#616161"),
    "failed": ("✖", "#c62828"),
}
FINISHED = ("done", "partial", "cancelled", "failed")


def open_folder(path: str) -> bool:
    """Show ``path``'s folder in the system's file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path) or "."))


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" to the width it is given (never widening the
    panel); the full text is its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setFullText(text)

    def setFullText(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def fullText(self) -> str:
        return self.full_text

    def _elide(self) -> None:
        width = max(self.width(), 40)
        super().setText(self.fontMetrics().elidedText(self.full_text, Qt.ElideRight, width))

    def resizeEvent(self, event) -> None:
        self._elide()
        super().resizeEvent(event)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(120, super().sizeHint().height())


class JobRow(QWidget):
    """One run: state symbol, title, progress while it runs, then its outcome in the state's colour and
    the file it saved. ``cancel_clicked(key)`` while it runs, ``remove_clicked(key)`` once it ended, and
``resume_clicked(key)`` when it stopped before the end and can go on from the tiles it finished."""

    cancel_clicked = pyqtSignal(str)
    remove_clicked = pyqtSignal(str)
    resume_clicked = pyqtSignal(str)

    def __init__(self, key: str, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.state = "running"
        self.saved_path: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 2, 0, 2)
        outer.setSpacing(1)
        top = QHBoxLayout()
        self.icon = QLabel()
        self.icon.setFixedWidth(18)
        self.label = ElidedLabel(title)
        self.button = QToolButton()
        self.button.setText("✕")
        self.button.clicked.connect(self._button_clicked)
        self.resume_button = QToolButton()
        self.resume_button.setText("↻")
        self.resume_button.setToolTip(tr("Resume: go on from the tiles this run finished"))
        self.resume_button.clicked.connect(lambda: self.resume_clicked.emit(self.key))
        self.resume_button.setVisible(False)
        top.addWidget(self.icon)
        top.addWidget(self.label, 1)
        top.addWidget(self.resume_button)
        top.addWidget(self.button)
        outer.addLayout(top)

        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first tile event gives a total
        self.bar.setFormat(tr("starting…"))
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(18)
        outer.addWidget(self.bar)
        self.outcome = ElidedLabel()
        self.outcome.setVisible(False)
        outer.addWidget(self.outcome)

        saved = QHBoxLayout()
        self.saved_label = ElidedLabel()
        self.folder_button = QToolButton()
        self.folder_button.setText(tr("Open folder"))
        self.folder_button.clicked.connect(lambda: self.saved_path and open_folder(self.saved_path))
        saved.addWidget(self.saved_label, 1)
        saved.addWidget(self.folder_button)
        self.saved_box = QWidget()
        self.saved_box.setLayout(saved)
        saved.setContentsMargins(18, 0, 0, 0)
        self.saved_box.setVisible(False)
        outer.addWidget(self.saved_box)
        self._show_state()

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def title(self) -> str:
        return self.label.fullText()

    def set_title(self, title: str) -> None:
        self.label.setFullText(title)

    def progress(self, done: int, total: int) -> None:
        if self.finished:
            return
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        text = tr("{done}/{total} tiles").format(done=done, total=total)
        self.bar.setFormat(tr("cancelling… ({progress})").format(progress=text) if self.state == "cancelling"
                           else text)

    def status(self, text: str) -> None:
        if self.bar.maximum() == 0 and self.state == "running":
            self.bar.setFormat(text)

    def cancelling(self) -> None:
        """Shown at once when a cancel is asked (the backend may take a moment to stop)."""
        if self.finished:
            return
        self.state = "cancelling"
        self.bar.setFormat(tr("cancelling…"))
        self._show_state()

    def finish(self, state: str, text: str, saved_path: str | None = None, resumable: bool = False) -> None:
        """The run ended in ``state`` (``done``, ``partial``, ``cancelled``, ``failed``); ``resumable``: it
        can go on from its finished tiles (a resume button shows)."""
        if state not in FINISHED:
            raise ValueError(f"not a finished state: {state!r}")
        self.state = state
        self.bar.setVisible(False)
        self.outcome.setFullText(text)
        self.outcome.setVisible(True)
        self.saved_path = saved_path
        if saved_path:
            self.saved_label.setFullText(tr("Saved in {name}").format(name=os.path.basename(saved_path)))
            self.saved_label.setToolTip(saved_path)
            self.folder_button.setToolTip(tr("Open the folder of {path}").format(path=saved_path))
        self.saved_box.setVisible(bool(saved_path))
        self.resume_button.setVisible(resumable)
        self._show_state()

    def _show_state(self) -> None:
        symbol, colour = STATE_STYLE[self.state]
        self.icon.setText(symbol)
        self.icon.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.icon.setToolTip(state_name(self.state))
        self.outcome.setStyleSheet(f"color: {colour};")
        if self.finished:
            self.button.setToolTip(tr("Remove from the list (the layers stay)"))
            self.button.setEnabled(True)
        else:
            self.button.setToolTip(tr("Cancel this run"))
            self.button.setEnabled(self.state == "running")

    def _button_clicked(self) -> None:
        if self.finished:
            self.remove_clicked.emit(self.key)
        else:
            self.cancel_clicked.emit(self.key)


def state_name(state: str) -> str:
    """The state in words, for tooltips."""
    return {"running": tr("running"), "cancelling": tr("cancelling"), "done": tr("finished"),
            "partial": tr("cancelled, partial result kept"), "cancelled": tr("cancelled"),
            "failed": tr("failed")}[state]


class RunList(QGroupBox):
    """The runs, newest on top, in a scroll area of bounded height. ``cancel_requested(key)``,
    ``resume_requested(key)``."""

    cancel_requested = pyqtSignal(str)
    resume_requested = pyqtSignal(str)
    MAX_HEIGHT = 240

    def __init__(self, parent: QWidget | None = None):
        super().__init__(tr("Runs"), parent)
        self.rows: dict[str, JobRow] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        header = QHBoxLayout()
        header.addStretch(1)
        self.clear_button = QPushButton(tr("Clear finished"))
        self.clear_button.setToolTip(tr("Remove ended runs from this list (their layers stay)"))
        self.clear_button.clicked.connect(self.clear_finished)
        header.addWidget(self.clear_button)
        layout.addLayout(header)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setMaximumHeight(self.MAX_HEIGHT)
        inner = QWidget()
        self.rows_layout = QVBoxLayout(inner)
        self.rows_layout.setContentsMargins(2, 2, 2, 2)
        self.rows_layout.addStretch(1)
        self.scroll.setWidget(inner)
        layout.addWidget(self.scroll)
        self.refresh()

    def add(self, key: str, title: str) -> JobRow:
        if key in self.rows:  # a resumed run: a fresh row on top
            self.remove(key)
        row = JobRow(key, title)
        row.cancel_clicked.connect(self.cancel_requested)
        row.remove_clicked.connect(self.remove)
        row.resume_clicked.connect(self.resume_requested)
        self.rows[key] = row
        self.rows_layout.insertWidget(0, row)  # newest first: a new run is always in view
        row.show()  # now, not at the next event loop pass: refresh() measures the rows shown
        self.scroll.verticalScrollBar().setValue(0)
        self.refresh()
        return row

    def order(self) -> list[str]:
        """Row keys from top to bottom."""
        keys = []
        for i in range(self.rows_layout.count()):
            widget = self.rows_layout.itemAt(i).widget()
            if isinstance(widget, JobRow):
                keys.append(widget.key)
        return keys

    def remove(self, key: str) -> None:
        row = self.rows.pop(key, None)
        if row is not None:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.refresh()

    def clear_finished(self) -> None:
        for key in [k for k, r in self.rows.items() if r.finished]:
            self.remove(key)

    def running(self) -> bool:
        return any(r.state == "running" for r in self.rows.values())

    def refresh(self) -> None:
        """After rows came, went or changed: visibility, the clear button, and a height that shows every
        row up to ``MAX_HEIGHT`` (then the list scrolls)."""
        self.setVisible(bool(self.rows))
        self.clear_button.setEnabled(any(r.finished for r in self.rows.values()))
        inner = self.scroll.widget()
        inner.layout().activate()
        wanted = inner.layout().sizeHint().height() + 2 * self.scroll.frameWidth()
        self.scroll.setFixedHeight(min(wanted, self.MAX_HEIGHT))
