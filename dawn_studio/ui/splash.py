"""The start-up window: painted within a moment of launch, while the engine (PyTorch and the speech
model's libraries, many seconds on a cold disk) loads in the background.

This module imports Qt only, never torch: it must be cheap to import.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from .. import APP_NAME, __version__
from .resources import app_icon

log = logging.getLogger(__name__)

#: Modules without Qt that take seconds to import (torch, transformers through the engine): imported
#: on a background thread while the splash is on screen. Qt modules are imported on the GUI thread.
HEAVY_MODULES = ("dawn_studio.device", "dawn_studio.engine.engine", "dawn_studio.modelstore.contents")
#: What the splash says while each of ``HEAVY_MODULES`` loads.
STEP_TEXTS = {
    "dawn_studio.device": "Loading PyTorch…",
    "dawn_studio.engine.engine": "Loading the engine…",
    "dawn_studio.modelstore.contents": "Looking at the model files…",
}
POLL_MS = 100


class StartupSplash(QFrame):
    """A small frameless window: the app's name, what is loading, a busy bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("startupSplash")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(APP_NAME)
        title.setObjectName("startTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        version = QLabel(f"version {__version__}")
        version.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel("Starting…")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.bar = QProgressBar()
        # Steps, not a busy animation: repainting one while the libraries load on the other thread slowed
        # the start by a second (both need the interpreter).
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addWidget(version)
        layout.addSpacing(12)
        layout.addWidget(self.message)
        layout.addWidget(self.bar)
        self.setFixedWidth(max(380, self.message.fontMetrics().horizontalAdvance("M" * 30)))

    def show_centred(self) -> None:
        """Show in the middle of the screen and paint now (before anything slow runs)."""
        self.adjustSize()
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            centre = screen.availableGeometry().center()
            self.move(centre.x() - self.width() // 2, centre.y() - self.height() // 2)
        self.show()
        self.raise_()
        self.repaint()
        app = QApplication.instance()
        if app is not None:
            app.processEvents()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.adjustSize()  # a longer message wraps onto another line instead of being cut
        self.message.repaint()


def import_in_background(modules: Sequence[str] = HEAVY_MODULES, splash: StartupSplash | None = None) -> None:
    """Import ``modules`` on a worker thread while the GUI thread keeps painting; re-raise a failure here.

    Only modules without Qt belong here (widgets must be made on the GUI thread).
    """
    failure: list[BaseException] = []
    done: list[str] = []

    def work() -> None:
        try:
            for name in modules:
                importlib.import_module(name)
                done.append(name)
        except BaseException as exc:  # handed to the GUI thread, which raises it
            failure.append(exc)

    def show_step() -> None:
        if splash is None or len(done) >= len(modules):
            return
        splash.bar.setValue(len(done))
        splash.say(STEP_TEXTS.get(modules[len(done)], "Loading…"))

    if splash is not None:
        splash.bar.setRange(0, len(modules) + 1)  # the last step: building the window
    show_step()
    thread = threading.Thread(target=work, name="dawn-startup-imports", daemon=True)
    thread.start()
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(lambda: loop.quit() if not thread.is_alive() else show_step())
    timer.start()
    if thread.is_alive():
        loop.exec()
    timer.stop()
    thread.join()
    if failure:
        raise failure[0]
    if splash is not None:
        splash.bar.setValue(len(modules))
