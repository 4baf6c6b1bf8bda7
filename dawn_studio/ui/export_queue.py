"""Exports run one after another in the background: a line in the status bar shows the one running
(with its progress and Cancel) and how many wait; each finished export brings a notice with
"Play" and "Open Folder". The window stays usable throughout — also for queueing the next export."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.engine import Engine, GenerationResult
from ..modelstore.store import human_size
from .errors import error_box
from .export_dialog import ExportRequest
from .worker import TaskRunner

log = logging.getLogger(__name__)

Opener = Callable[[QUrl], Any]


@dataclass
class QueuedExport:
    result: GenerationResult
    request: ExportRequest


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


class ExportDoneNotice(QDialog):
    """Says an export is finished, where it is, and offers to play it or open its folder. Not modal:
    work goes on behind it; a later export reuses it."""

    def __init__(self, opener: Opener, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export finished")
        self.setObjectName("exportDoneNotice")
        self.opener = opener
        self.path: Path | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox()
        self.play_button = buttons.addButton("Play", QDialogButtonBox.ButtonRole.ActionRole)
        self.play_button.setToolTip("Open the video in your usual player")
        self.folder_button = buttons.addButton("Open Folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.folder_button.setToolTip("Show the folder that holds it")
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.play_button.clicked.connect(self.play)
        self.folder_button.clicked.connect(self.open_folder)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    def show_export(self, path: Path) -> None:
        self.path = path
        try:
            size = f" ({human_size(_size_of(path))})"
        except OSError:
            size = ""
        what = "The frames and the sound were saved" if path.is_dir() else f"Saved {path.name}{size}"
        self.message.setText(f"{what} in {path.parent}." if not path.is_dir() else f"{what} in {path}{size}.")
        self.play_button.setText("Open" if path.is_dir() else "Play")
        self.show()
        self.raise_()

    def play(self) -> None:
        if self.path is not None:
            self.opener(QUrl.fromLocalFile(str(self.path)))

    def open_folder(self) -> None:
        if self.path is not None:
            self.opener(QUrl.fromLocalFile(str(self.path if self.path.is_dir() else self.path.parent)))


class ExportStatus(QWidget):
    """The status-bar line of the export queue: what runs, how far, what waits, and Cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(140)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel Export")
        self.cancel_button.setToolTip("Stop this export; nothing half-written is kept (waiting exports go on)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)


class ExportQueue(QObject):
    """Runs queued exports one at a time on a ``TaskRunner``; ``exported(path)`` after each one."""

    exported = Signal(object)  # Path

    def __init__(self, window: QMainWindow, engine: Callable[[], Engine], *,
                 on_exported: Callable[[Path], None] | None = None,
                 opener: Opener = QDesktopServices.openUrl) -> None:
        super().__init__(window)
        self.window = window
        self.engine = engine
        self.on_exported = on_exported
        self.runner = TaskRunner(self)
        self.pending: list[QueuedExport] = []
        self.current: QueuedExport | None = None
        self.status = ExportStatus()
        self.status.setVisible(False)
        self.status.cancel_button.clicked.connect(self.cancel_current)
        window.statusBar().addPermanentWidget(self.status)
        self.notice = ExportDoneNotice(opener, window)
        self.runner.progressed.connect(self._progress)
        self.runner.succeeded.connect(self._succeeded)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)

    @property
    def busy(self) -> bool:
        return self.runner.busy or bool(self.pending)

    def targets(self) -> list[Path]:
        """Where the running and waiting exports will write (no new export may propose these)."""
        return [item.request.path for item in ([self.current] if self.current else []) + self.pending]

    def enqueue(self, result: GenerationResult, request: ExportRequest) -> None:
        """Export ``result`` as asked once the exports before it are done."""
        self.pending.append(QueuedExport(result, request))
        if not self.runner.busy:
            self._start_next()
        self._show_status()

    def cancel_current(self) -> None:
        if self.runner.busy:
            self.runner.cancel()

    def clear_pending(self) -> None:
        """Drop the waiting exports (the app is closing)."""
        self.pending.clear()
        self._show_status()

    def _start_next(self) -> None:
        if not self.pending:
            self.current = None
            self._show_status()
            return
        item = self.current = self.pending.pop(0)
        engine = self.engine()
        result, request = item.result, item.request
        self.status.bar.setRange(0, max(1, result.num_frames))
        self.status.bar.setValue(0)

        def task(report: Callable[[Any], None], cancel: Any) -> Path:
            return engine.export(result, request.path, request.settings, full_frame=request.full_frame,
                                 progress=lambda done, total: report(done), cancel=cancel)

        self.runner.start(task)
        self._show_status()

    def _show_status(self) -> None:
        if self.current is None:
            self.status.setVisible(False)
            return
        waiting = f" · {len(self.pending)} waiting" if self.pending else ""
        self.status.label.setText(f"Exporting {self.current.request.path.name}{waiting}")
        self.status.setToolTip("\n".join([f"Now: {self.current.request.path}"]
                                         + [f"Next: {item.request.path}" for item in self.pending]))
        self.status.setVisible(True)

    def _progress(self, done: Any) -> None:
        self.status.bar.setValue(int(done))

    def _succeeded(self, path: Path) -> None:
        path = Path(path)
        if self.on_exported is not None:
            self.on_exported(path)
        self.window.statusBar().showMessage(f"Exported {path}", 8000)
        self.notice.show_export(path)
        self.exported.emit(path)
        self._start_next()

    def _failed(self, message: str, details: str) -> None:
        name = self.current.request.path.name if self.current else "the video"
        error_box(self.window, "Export failed", f"{name} was not written: {message}", details).open()
        self._start_next()

    def _cancelled(self) -> None:
        self.window.statusBar().showMessage("Export cancelled; no file written", 6000)
        self._start_next()
