"""Progress where the eye is: a panel over the preview with the stage, the step, the pace, a steady
estimate of the time left and Cancel; afterwards a clear "done" notice. A desktop notification says
the clip is ready when the window is not the active one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from ..engine.events import ProgressEvent
from ..progress_estimate import Rate, TimeLeft
from .resources import app_icon

#: How long the done notice stays over the preview.
DONE_NOTICE_MS = 8000
#: Stages whose steps are video frames (their pace is shown in frames per second).
FRAME_STAGES = ("render", "compose")


def notification_route(window_active: bool, tray_available: bool) -> str:
    """How to tell that a clip is ready: 'none' when the creator is looking at the window, else a desktop
    notification ('tray') where the desktop has a tray, else the task bar's attention mark ('alert')."""
    if window_active:
        return "none"
    return "tray" if tray_available else "alert"


def pace_text(stage: str, per_second: float | None) -> str:
    if per_second is None or per_second <= 0:
        return ""
    if stage in FRAME_STAGES:
        return f"{per_second:.1f} frames/s"
    if per_second >= 1:
        return f"{per_second:.1f} steps/s"
    return f"{1 / per_second:.1f} s per step"


class ProgressOverlay(QFrame):
    """Sits over ``host`` (the preview), centred at the top of ``anchor`` (the picture; the host's top when
    none), and follows their size and place: notices above the picture stay readable, never half covered."""

    def __init__(self, host: QWidget, cancel: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic, *, anchor: QWidget | None = None) -> None:
        super().__init__(host)
        self.clock = clock
        self.setObjectName("progressOverlay")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.host = host
        self.anchor = anchor
        self.time_left = TimeLeft(clock)
        self.rate = Rate(clock)
        self.title = QLabel()
        self.title.setObjectName("overlayTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the generation (Esc); nothing half-made is kept")
        self.cancel_button.clicked.connect(cancel)
        self.close_button = QPushButton("OK")
        self.close_button.setToolTip("Hide this notice")
        self.close_button.clicked.connect(self.hide)
        texts = QVBoxLayout()
        texts.addWidget(self.title)
        texts.addWidget(self.detail)
        texts.addWidget(self.bar)
        texts.setSpacing(2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(texts, 1)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.close_button)
        self.hide_timer = QTimer(self)
        self.hide_timer.setSingleShot(True)
        self.hide_timer.timeout.connect(self.hide)
        self.hide()
        host.installEventFilter(self)
        if anchor is not None:
            anchor.installEventFilter(self)  # a notice appearing above the picture moves it down

    # states -------------------------------------------------------------------------------
    def start(self, text: str = "Starting…") -> None:
        self.hide_timer.stop()
        self.time_left.reset()
        self.rate = Rate(self.clock)
        self.title.setText(text)
        self.detail.setText(self.time_left.text())
        self.bar.setValue(0)
        self.bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.close_button.setVisible(False)
        self._show()

    def progress(self, event: ProgressEvent) -> None:
        self.time_left.update(event.eta_seconds)
        self.rate.update(event.stage, event.step)
        title = event.label + (" (reused)" if event.cached else "")
        step = event.detail or (f"step {event.step} of {event.total}" if event.total > 1 else "")
        self.title.setText(f"{title} — {step}" if step else title)
        parts = [f"{event.fraction:.0%}", pace_text(event.stage, self.rate.per_second()), self.time_left.text()]
        self.detail.setText(" · ".join(p for p in parts if p))
        self.bar.setValue(int(event.fraction * 1000))
        if not self.isVisible():
            self._show()

    def cancelling(self) -> None:
        self.title.setText("Cancelling… the current step finishes first")
        self.cancel_button.setEnabled(False)

    def finished(self, title: str, detail: str = "") -> None:
        """The done (or failed, or cancelled) notice: stays a few seconds, OK hides it at once."""
        self.title.setText(title)
        self.detail.setText(detail)
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.close_button.setVisible(True)
        self._show()
        self.hide_timer.start(DONE_NOTICE_MS)

    # placement ----------------------------------------------------------------------------
    def _show(self) -> None:
        self._place()
        self.show()
        self.raise_()

    def _place(self) -> None:
        width = max(200, min(560, self.host.width() - 24))
        self.setFixedWidth(width)
        self.adjustSize()
        x = (self.host.width() - width) // 2
        top = 0 if self.anchor is None else self.anchor.mapTo(self.host, QPoint(0, 0)).y()
        self.move(x, top + 8)  # over the top of the clip, where the eye is, clear of the transport controls

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        moved = event.type() in (QEvent.Type.Resize, QEvent.Type.Move)
        if watched in (self.host, self.anchor) and moved and self.isVisible():
            self._place()
        return super().eventFilter(watched, event)


class DoneNotifier(QObject):
    """Tells the creator a generation ended when they are looking elsewhere."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.tray: QSystemTrayIcon | None = None
        self.last_route = "none"

    def notify(self, title: str, message: str) -> str:
        """Notify as :func:`notification_route` decides; returns the route taken."""
        route = notification_route(self.window.isActiveWindow(), QSystemTrayIcon.isSystemTrayAvailable())
        if route == "tray":
            if self.tray is None:
                self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.show()
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)
        elif route == "alert":
            QApplication.alert(self.window)
        self.last_route = route
        return route
