"""The main window: menus, status bar, dock layout for the studio's panels, remembered state."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
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
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
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


class PanelScroll(QScrollArea):
    """A dock's panel that scrolls when the window is too small for it, instead of forcing the window to
    grow: the window's minimum size then never depends on what a panel shows (a 1024×640 screen works).

    The panel gets the viewport's size, never less than its minimum for that width: it scrolls only
    when it truly does not fit (QScrollArea would size it by its preferred height for wrapped text).
    """

    MINIMUM = QSize(160, 90)

    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{panel.objectName() or 'panel'}Scroll")
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(panel)
        panel.installEventFilter(self)

    def panel(self) -> QWidget:
        return self.widget()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        # The panel's own wish (QScrollArea caps it at a few dozen lines of text).
        return self.widget().sizeHint().expandedTo(self.MINIMUM)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return self.MINIMUM

    def _minimum_height(self, panel: QWidget, width: int) -> int:
        layout = panel.layout()
        minimum = panel.minimumSizeHint().height()
        if layout is not None and layout.hasHeightForWidth():
            minimum = max(minimum, layout.minimumHeightForWidth(width))
        return max(minimum, panel.minimumHeight())

    def fit_panel(self) -> None:
        """Size the panel to the viewport (scrolling only what does not fit)."""
        panel = self.widget()
        if panel is None:
            return
        scrollbar = self.verticalScrollBar().sizeHint().width()
        min_width = max(panel.minimumSizeHint().width(), panel.minimumWidth())
        width = max(self.width(), min_width)
        height = self._minimum_height(panel, width)
        if height > self.height():  # a vertical scroll bar will take part of the width
            width = max(self.width() - scrollbar, min_width)
            height = self._minimum_height(panel, width)
        panel.resize(width, max(height, self.height() - (self.horizontalScrollBar().sizeHint().height()
                                                          if width > self.width() else 0)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.fit_panel()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit_panel()
        return super().eventFilter(watched, event)


class Banner(QFrame):
    """A line across the top of the studio that says what blocks the creator and offers the way out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.button = QPushButton()
        self.button.setObjectName("bannerButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.setVisible(False)

    def show_text(self, text: str, button_text: str) -> None:
        """Show ``text`` with the button labelled ``button_text``; an empty text hides the banner."""
        self.label.setText(text)
        self.button.setText(button_text)
        self.setVisible(bool(text))


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
        self.banner = Banner()
        self._central = QWidget()
        self._central.setObjectName("centralArea")
        self._central_layout = QVBoxLayout(self._central)
        self._central_layout.setContentsMargins(0, 0, 0, 0)
        self._central_layout.setSpacing(4)
        self._central_layout.addWidget(self.banner)
        self._central_layout.addWidget(self.start_page, 1)
        self.central_content: QWidget = self.start_page
        self.setCentralWidget(self._central)
        # Portrait and Controls run the full height at the sides; Voice and Motion sit under the preview.
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._sized_docks = False
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
        dock.setWidget(PanelScroll(widget))
        self.addDockWidget(area, dock)
        self.panels[name] = dock
        self.panels_menu.addAction(dock.toggleViewAction())
        self.panels_menu.setEnabled(True)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        return dock

    def panel(self, name: str) -> QWidget:
        """The panel shown in dock ``name`` (inside its scroll area)."""
        scroll = self.panels[name].widget()
        return scroll.panel() if isinstance(scroll, PanelScroll) else scroll

    def set_central(self, widget: QWidget) -> None:
        """Replace the start page with the studio's central widget (the preview), under the banner."""
        self._central_layout.replaceWidget(self.central_content, widget)
        self.central_content.hide()
        self.central_content.deleteLater()
        self.central_content = widget
        self._central_layout.setStretchFactor(widget, 1)

    def default_dock_sizes(self) -> None:
        """Share the window between the panels: side columns about a quarter each, Voice and Motion
        about a third of the height (a restored layout keeps the sizes the creator chose)."""
        docks = self.panels
        width, height = self.width(), self.height()
        sides = [(d, share) for name, share in (("portrait", 0.24), ("controls", 0.25))
                 if (d := docks.get(name)) is not None]
        if sides:
            # The central preview keeps at least what it needs; the side columns share the rest.
            room = (width - self.central_content.minimumSizeHint().width() - 24) // len(sides)
            widths = [max(200, min(room, max(270, int(width * share)))) for _, share in sides]
            self.resizeDocks([d for d, _ in sides], widths, Qt.Orientation.Horizontal)
        bottom = [d for name in ("audio", "motion") if (d := docks.get(name)) is not None]
        if bottom:
            # Tall enough for the Voice panel without scrolling, and never more than the preview can spare.
            needed = max(d.widget().widget().minimumSizeHint().height() for d in bottom[:1]) + 60
            spare = height - self.central_content.minimumSizeHint().height() - 120
            wanted = max(int(height * 0.38), min(needed, spare))
            self.resizeDocks(bottom, [wanted] * len(bottom), Qt.Orientation.Vertical)

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
            self.resize(self._default_size())
        else:
            self._fit_on_screen()
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)

    def _default_size(self) -> QSize:
        """1280×800, or the screen's free area when it is smaller (a 1366×768 laptop, 1024×640)."""
        screen = self.screen() or QApplication.primaryScreen()
        wanted = QSize(1280, 800)
        return wanted if screen is None else wanted.boundedTo(screen.availableGeometry().size())

    def _fit_on_screen(self) -> None:
        """A remembered size from a bigger screen shrinks to this one, so the status bar stays visible."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        free = screen.availableGeometry()
        if self.width() > free.width() or self.height() > free.height():
            self.resize(self.size().boundedTo(free.size()))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if not self._sized_docks:
            self._sized_docks = True
            if self.settings.window_state() is None:
                self.default_dock_sizes()

    def save_window(self) -> None:
        self.settings.set_window_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.save_window()
        super().closeEvent(event)

