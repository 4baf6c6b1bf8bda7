"""Top-level error handling: an uncaught exception shows a dialog, never a silent death."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ..logging_setup import current_log_file

log = logging.getLogger(__name__)


def error_box(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """A readable error dialog with the technical details folded away. The log is mentioned only when
    there are details to find there: a file the user chose that cannot be used is said in plain words."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    log_file = current_log_file()
    if details and log_file is not None:
        box.setInformativeText(f"Details were written to the log file:\n{log_file}")
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


def models_missing_box(parent: QWidget | None, message: str, open_manager: Callable[[], object]) -> QMessageBox:
    """Models are missing: say which, with a button straight to the model manager (no log, no details:
    nothing went wrong, something is not installed yet)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Models missing")
    box.setText(message)
    manage = box.addButton("Open Model Manager…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.setDefaultButton(manage)
    manage.clicked.connect(lambda: open_manager())
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


class _Relay(QObject):
    """Carries exceptions from any thread to the GUI thread."""

    raised = Signal(str, str)


class ExceptionDialogHook:
    """Installed as sys.excepthook / threading.excepthook while the GUI runs."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.relay = _Relay()
        self.relay.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.shown: list[QMessageBox] = []
        self._previous = (sys.excepthook, threading.excepthook)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def handle(
        self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.app.quit()
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Uncaught exception:\n%s", details)
        message = str(exc) or exc_type.__name__
        self.relay.raised.emit(message, details)

    def _show(self, message: str, details: str) -> None:
        box = error_box(
            self.app.activeWindow(), "Something went wrong",
            f"DAWN Studio hit an unexpected error and could not finish what it was doing:\n\n{message}",
            details,
        )
        box.finished.connect(lambda *_: self.shown.remove(box) if box in self.shown else None)
        self.shown.append(box)
        box.show()
