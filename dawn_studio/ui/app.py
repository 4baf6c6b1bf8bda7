"""Start the desktop application: QApplication, theme, crash dialog, main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from .. import APP_ID, APP_NAME, __version__
from .errors import ExceptionDialogHook
from .main_window import MainWindow
from .resources import app_icon
from .settings import AppSettings
from .studio import Studio
from .theme import apply_theme

log = logging.getLogger(__name__)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with the app's identity, icon and theme (reuses an existing one)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app


def create_main_window(app: QApplication, settings: AppSettings | None = None) -> MainWindow:
    settings = settings or AppSettings()
    apply_theme(app, settings.theme())
    return MainWindow(settings)


def run_gui(argv: Sequence[str] | None = None) -> int:
    app = create_application(argv)
    hook = ExceptionDialogHook(app)
    hook.install()
    window = create_main_window(app)
    studio = Studio(window)
    studio.restore_autosave()
    app.aboutToQuit.connect(studio.shutdown)
    window.show()
    log.info("%s %s started", APP_NAME, __version__)
    try:
        return app.exec()
    finally:
        hook.uninstall()
        # Tear widgets down while Qt still runs: pyqtgraph views left to Python's shutdown can crash it.
        window.close()
        window.deleteLater()
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
