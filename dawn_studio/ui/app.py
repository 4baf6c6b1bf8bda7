"""Start the desktop application: QApplication, theme, crash dialog, main window.

Importing this module is cheap (Qt only): the start-up splash is on screen before the engine's
libraries (torch, transformers) load, in the background; the main window follows.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from .. import APP_ID, APP_NAME, __version__
from .errors import ExceptionDialogHook
from .resources import app_icon
from .settings import AppSettings
from .splash import StartupSplash, import_in_background
from .theme import apply_theme

if TYPE_CHECKING:
    from .main_window import MainWindow

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
    from .main_window import MainWindow  # imports torch (the compute device): after the splash is up

    settings = settings or AppSettings()
    apply_theme(app, settings.theme())
    return MainWindow(settings)


def run_gui(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    app = create_application(argv)
    hook = ExceptionDialogHook(app)
    hook.install()
    settings = AppSettings()
    apply_theme(app, settings.theme())
    splash = StartupSplash()
    splash.show_centred()
    log.info("start-up window painted after %.2f s", time.monotonic() - started)
    import_in_background(splash=splash)
    splash.say("Opening the studio…")
    from .studio import Studio

    window = create_main_window(app, settings)
    studio = Studio(window)
    studio.restore_autosave()
    app.aboutToQuit.connect(studio.shutdown)
    window.show()
    splash.close()
    log.info("%s %s started; main window shown after %.2f s", APP_NAME, __version__, time.monotonic() - started)
    try:
        return app.exec()
    finally:
        hook.uninstall()
        # Tear widgets down while Qt still runs: pyqtgraph views left to Python's shutdown can crash it.
        window.close()
        window.deleteLater()
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
