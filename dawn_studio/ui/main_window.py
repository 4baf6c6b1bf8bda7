"""The main window: menus, status bar, dock layout for the studio's panels, remembered state."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..device import ComputeDevice, default_device
from ..logging_setup import current_log_file
from ..media_types import dialog_filter, media_kind
from .about import show_about
from .resources import app_icon
from .settings import AppSettings
from .theme import Theme, apply_theme

log = logging.getLogger(__name__)


class StartPage(QFrame):
    """What an empty studio shows: the three steps, and that files can be dropped anywhere."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 48, 48, 48)
        layout.addStretch(1)
        title = QLabel(f"Welcome to {APP_NAME}")
        title.setObjectName("startTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        steps = QLabel(
            "1. Drop a portrait photo here (or File ▸ Open Portrait…)\n"
            "2. Drop a speech recording or a video with speech (File ▸ Open Audio…)\n"
            "3. Press Generate, preview the talking head, and export an MP4"
        )
        steps.setObjectName("startSteps")
        steps.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addSpacing(16)
        layout.addWidget(steps)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    """Top-level window. Panels are added as docks with ``add_panel``; files arrive as signals."""

    portraitRequested = Signal(str)
    audioRequested = Signal(str)
    projectRequested = Signal(str)
    exportRequested = Signal()

    def __init__(self, settings: AppSettings | None = None, device: ComputeDevice | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.device = device or default_device()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.start_page = StartPage(self)
        self.setCentralWidget(self.start_page)
        self.panels: dict[str, QDockWidget] = {}
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._restore_window()

    # construction ------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.open_portrait_action = self._action(
            "Open &Portrait…", self.choose_portrait, QKeySequence.StandardKey.Open,
            "Choose the photo of the face to animate",
        )
        self.open_audio_action = self._action(
            "Open &Audio…", self.choose_audio, "Ctrl+Shift+O",
            "Choose the speech recording (or a video whose sound to use)",
        )
        self.export_action = self._action(
            "&Export…", self.exportRequested.emit, "Ctrl+E", "Save the generated clip as a video file",
        )
        self.export_action.setEnabled(False)
        self.quit_action = self._action(
            "&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit DAWN Studio",
        )
        self.about_action = self._action("&About DAWN Studio", self.show_about, None, "Versions and credits")
        self.log_folder_action = self._action(
            "Show &Log Folder", self.show_log_folder, None, "Open the folder with the log files",
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addAction(self.open_portrait_action)
        self.file_menu.addAction(self.open_audio_action)
        self.recent_menu = self.file_menu.addMenu("&Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.export_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)

        self.view_menu = bar.addMenu("&View")
        self.panels_menu = self.view_menu.addMenu("&Panels")
        self.panels_menu.setEnabled(False)
        theme_menu = self.view_menu.addMenu("&Theme")
        self.theme_actions: dict[Theme, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        labels = {Theme.SYSTEM: "Follow &System", Theme.DARK: "&Dark", Theme.LIGHT: "&Light"}
        current = self.settings.theme()
        for theme, label in labels.items():
            action = QAction(label, self, checkable=True)
            action.setChecked(theme is current)
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[theme] = action

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.about_action)
        self.help_menu.addAction(self.log_folder_action)

    def _build_status_bar(self) -> None:
        self.device_label = QLabel(f"Compute: {self.device.label}")
        self.device_label.setObjectName("deviceLabel")
        self.device_label.setToolTip("The processor DAWN Studio generates video on")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().showMessage("Ready", 3000)

    # panels ------------------------------------------------------------------------
    def add_panel(
        self, name: str, title: str, widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.LeftDockWidgetArea,
    ) -> QDockWidget:
        """Dock a studio panel; its visibility toggle goes to View ▸ Panels, its place is remembered."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"panel_{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.panels[name] = dock
        self.panels_menu.addAction(dock.toggleViewAction())
        self.panels_menu.setEnabled(True)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        return dock

    def set_central(self, widget: QWidget) -> None:
        """Replace the start page with the studio's central widget (the preview)."""
        self.setCentralWidget(widget)

    # files -------------------------------------------------------------------------
    def choose_portrait(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Portrait", self._last_dir("portrait"),
                                              dialog_filter("image"))
        if path:
            self.request_file(path, "image")

    def choose_audio(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Audio", self._last_dir("audio"),
                                              dialog_filter("audio"))
        if path:
            self.request_file(path, "audio")

    def _last_dir(self, kind: str) -> str:
        recent = self.settings.recent(kind)
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def request_file(self, path: str, kind: str | None = None) -> bool:
        """Route a file to whoever handles its kind; False (and a status message) if unknown."""
        kind = kind or media_kind(path)
        # Portraits and speech go to Recent once they have opened fine (the studio records them).
        if kind == "image":
            self.portraitRequested.emit(path)
        elif kind in ("audio", "video"):
            self.audioRequested.emit(path)
        elif kind == "project":
            self.settings.add_recent("project", path)
            self.projectRequested.emit(path)
        else:
            self.statusBar().showMessage(
                f"{Path(path).name}: not an image, audio, video or project file", 6000,
            )
            return False
        self.statusBar().showMessage(f"Opened {Path(path).name}", 4000)
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        sections = (
            ("portrait", "Portraits", "image"),
            ("audio", "Audio", "audio"),
            ("project", "Projects", "project"),
        )
        any_item = False
        for key, label, kind in sections:
            items = self.settings.recent(key)
            if not items:
                continue
            self.recent_menu.addSection(label)
            for path in items:
                action = self.recent_menu.addAction(Path(path).name)
                action.setToolTip(path)
                action.setStatusTip(path)
                action.setEnabled(Path(path).exists())
                action.triggered.connect(lambda _c=False, p=path, k=kind: self.request_file(p, k))
                any_item = True
        if any_item:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear Recent")
            clear.triggered.connect(self._clear_recent)
        else:
            empty = self.recent_menu.addAction("No recent files")
            empty.setEnabled(False)

    def _clear_recent(self) -> None:
        for key in ("portrait", "audio", "project"):
            self.settings.clear_recent(key)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls()
        if any(u.isLocalFile() and media_kind(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        handled = [self.request_file(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if any(handled):
            event.acceptProposedAction()

    # view / help -------------------------------------------------------------------
    def set_theme(self, theme: Theme) -> None:
        self.settings.set_theme(theme)
        self.theme_actions[theme].setChecked(True)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)

    def show_about(self) -> None:
        self._about_box = show_about(self)

    def show_log_folder(self) -> None:
        log_file = current_log_file()
        if log_file is None:
            self.statusBar().showMessage("Logging to a file is not available", 5000)
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file.parent)))

    # state -------------------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(QSize(1280, 800))
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)

    def save_window(self) -> None:
        self.settings.set_window_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.save_window()
        super().closeEvent(event)

