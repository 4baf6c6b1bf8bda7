"""Portrait panel: open a photo, see the faces found and the square the model will see, pick a face.

Opening (drop, "Open…", "Recent", or ``open_portrait``) runs off the UI thread: a quick downscaled
decode is shown first, then the caller's ``analyse(path, cancel)`` (the engine's cached portrait
analysis) finds the faces. A newer request cancels the older one; the older one's result is
dropped. Problems (no face, unreadable file) are shown inline and announced with
``portraitFailed``; the window decides whether to show a dialog.

The photo is drawn from a copy at most ``MAX_DISPLAY_SIDE`` pixels long, rescaled once per widget
size, so an 8000-pixel photo costs no more to repaint than a small one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFocusEvent,
    QFont,
    QImage,
    QImageIOHandler,
    QImageReader,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..media_types import dialog_filter, media_kind
from ..progress import CancelToken
from ..stages.portrait import FaceResult, Portrait, PortraitAnalysis, PortraitError, crop_image
from .worker import TaskRunner

log = logging.getLogger(__name__)

Analyse = Callable[[Path, CancelToken], tuple[Portrait, PortraitAnalysis]]

MAX_DISPLAY_SIDE = 2048  # longest side of the copy the panel paints from
THUMBNAIL_SIDE = 96  # on-screen size of the model-crop thumbnail (the photo above gets the room)
MAX_RECENT = 10
MAX_WINDING_DOWN = 1  # cancelled analyses allowed to finish their current step while a new one runs
BUSY_TEXT = "Finding faces…"
STRAIGHT_DEGREES = 3.0  # smaller head angles read as "straight"
EYES_OPEN_RATIO = 0.2  # eye ratio (lid gap / eye width) at or above which the eyes read as open
EYES_CLOSED_RATIO = 0.1  # and below which as closed


# -- plain words for what the analysis found (the numbers go to the tooltip) ---------------------
def describe_pose(yaw: float, pitch: float, roll: float) -> str:
    """The head's pose as a creator would say it, as seen in the photo.

    3DDFA angles (degrees): positive yaw turns the face towards the photo's left, positive pitch
    lowers the chin, positive roll tilts the top of the head towards the photo's left.
    """
    head = []
    if abs(yaw) >= STRAIGHT_DEGREES:
        head.append(f"turned {abs(yaw):.0f}° to the {'left' if yaw > 0 else 'right'}")
    if abs(roll) >= STRAIGHT_DEGREES:
        head.append(f"tilted {abs(roll):.0f}° to the {'left' if roll > 0 else 'right'}")
    chin = f"chin {'down' if pitch > 0 else 'up'} {abs(pitch):.0f}°" if abs(pitch) >= STRAIGHT_DEGREES else ""
    if head:
        return "Head " + ", ".join(head + ([chin] if chin else []))
    return chin.capitalize() if chin else "Head straight, facing the camera"


def describe_eyes(left: float, right: float) -> str:
    """Open, half open or closed, per eye only when the two differ."""
    def state(ratio: float) -> str:
        if ratio >= EYES_OPEN_RATIO:
            return "open"
        return "closed" if ratio < EYES_CLOSED_RATIO else "half open"
    first, second = state(left), state(right)
    if first == second:
        return f"Eyes {first}"
    return f"Left eye {first}, right eye {second}"


def face_tooltip(face: FaceResult) -> str:
    """The technical values behind the plain words."""
    yaw, pitch, roll = (float(v) for v in face.pose[:3])
    left, right = face.eye_ratios
    return (f"Head pose (3DDFA): yaw {yaw:+.1f}°, pitch {pitch:+.1f}°, roll {roll:+.1f}°\n"
            f"Eye openness: {left:.2f} (left) / {right:.2f} (right)\n"
            "Left and right as seen in the photo.")


# -- images (plain functions, safe to call from the worker thread) ---------------------------------
def rgb_image(rgb: np.ndarray) -> QImage:
    """An ``(H, W, 3)`` uint8 array as a QImage that owns its pixels."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = data.shape[:2]
    return QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def display_image(rgb: np.ndarray, max_side: int = MAX_DISPLAY_SIDE) -> QImage:
    """The photo to paint: the pixels as they are, or a smooth downscale to ``max_side``."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = data.shape[:2]
    view = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    if max(width, height) <= max_side:
        return view.copy()
    fitted = QSize(max_side, max_side)
    return view.scaled(fitted, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def read_preview(path: Path, max_side: int = MAX_DISPLAY_SIDE) -> tuple[QImage, QSize] | None:
    """A fast downscaled, upright decode and the photo's full upright size; None if Qt cannot read it.

    Only for showing the photo while the analysis runs; the analysis decodes it properly.
    """
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or size.isEmpty():
        return None
    if max(size.width(), size.height()) > max_side:
        reader.setScaledSize(size.scaled(QSize(max_side, max_side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None
    if reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90:
        size = size.transposed()
    return image, size


@dataclass(frozen=True)
class _Preview:
    image: QImage
    size: QSize  # full upright size of the photo


@dataclass(frozen=True)
class _Loaded:
    path: Path
    portrait: Portrait
    analysis: PortraitAnalysis
    display: QImage
    crops: tuple[QImage, ...]  # per face, what the model will see (output_size²)


@dataclass(frozen=True)
class _Unusable:
    message: str  # a PortraitError's message, written for the user


def _load_task(
    path: Path, analyse: Analyse,
) -> Callable[[Callable[[object], None], CancelToken], _Loaded | _Unusable]:
    def run(report: Callable[[object], None], cancel: CancelToken) -> _Loaded | _Unusable:
        preview = read_preview(path)
        if preview is not None:
            report(_Preview(*preview))
        cancel.check()
        try:
            portrait, analysis = analyse(path, cancel)
        except PortraitError as exc:  # the user's photo, not a bug: no traceback in the error log
            log.info("portrait %s not usable: %s", path, exc)
            return _Unusable(str(exc))
        cancel.check()
        crops = tuple(rgb_image(crop_image(portrait.rgb, face.crop)) for face in analysis.faces)
        return _Loaded(path, portrait, analysis, display_image(portrait.rgb), crops)
    return run


# -- the photo with its faces ----------------------------------------------------------------------
class PortraitView(QWidget):
    """Paints the photo scaled to fit, the faces' boxes with their rank, and the model's crop (dashed).

    Click a face or use the arrow keys / number keys to choose it (``faceRequested``).
    """

    faceRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("portraitView")
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Portrait")
        self.setMouseTracking(True)
        self.placeholder = "Drop a portrait photo here\nor press Open…"
        self._image = QImage()
        self._source = QSize()
        self._boxes: list[tuple[float, float, float, float]] = []
        self._crop: tuple[int, int, int, int] | None = None
        self._chosen = 0
        self._drop_hint = False
        self._scaled: QPixmap | None = None
        self.scale_count = 0  # how often the photo was rescaled for painting (once per size)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(420, 420)

    # state -----------------------------------------------------------------------------------
    def set_photo(self, image: QImage, source_size: QSize) -> None:
        """Show ``image`` standing for a photo of ``source_size`` pixels (faces use those pixels)."""
        self._image = image
        self._source = QSize(source_size)
        self._scaled = None
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.set_photo(QImage(), QSize())
        self.set_faces([], None, 0)

    def set_faces(
        self, boxes: Sequence[tuple[float, float, float, float]], crop: tuple[int, int, int, int] | None,
        chosen: int,
    ) -> None:
        self._boxes = [tuple(float(v) for v in box[:4]) for box in boxes]
        self._crop = crop
        self._chosen = chosen
        self.update()

    def set_drop_hint(self, on: bool) -> None:
        self._drop_hint = on
        self.update()

    def has_photo(self) -> bool:
        return not self._image.isNull()

    def photo(self) -> QImage:
        """The image painted (at most ``MAX_DISPLAY_SIDE`` long), not the full-resolution photo."""
        return self._image

    # geometry --------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the whole photo lies in widget coordinates (fitted, centred, aspect kept)."""
        if self._source.isEmpty():
            return QRectF()
        fitted = self._source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF(
            (self.width() - fitted.width()) / 2, (self.height() - fitted.height()) / 2,
            fitted.width(), fitted.height(),
        )

    def _to_widget(self, x0: float, y0: float, x1: float, y1: float) -> QRectF:
        target = self.image_rect()
        scale = target.width() / self._source.width()
        left, top = target.left() + x0 * scale, target.top() + y0 * scale
        return QRectF(left, top, (x1 - x0) * scale, (y1 - y0) * scale)

    def face_rects(self) -> list[QRectF]:
        """Each face's detector box in widget coordinates, in rank order."""
        if self._source.isEmpty():
            return []
        return [self._to_widget(*box) for box in self._boxes]

    def crop_rect(self) -> QRectF | None:
        """The chosen face's model crop in widget coordinates."""
        if self._crop is None or self._source.isEmpty():
            return None
        return self._to_widget(*self._crop)

    def face_at(self, point: QPointF) -> int | None:
        """The face under ``point``; the smallest box wins where boxes overlap."""
        hits = [(rect.width() * rect.height(), index) for index, rect in enumerate(self.face_rects())
                if rect.contains(point)]
        return min(hits)[1] if hits else None

    # painting --------------------------------------------------------------------------------
    def _photo_pixmap(self, target: QRectF) -> QPixmap:
        ratio = self.devicePixelRatioF()
        size = QSize(max(1, round(target.width() * ratio)), max(1, round(target.height() * ratio)))
        if self._scaled is None or self._scaled.size() != size:
            self._scaled = QPixmap.fromImage(self._image.scaled(
                size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation,
            ))
            self._scaled.setDevicePixelRatio(ratio)
            self.scale_count += 1
        return self._scaled

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        self._scaled = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        if self._image.isNull():
            painter.setPen(palette.placeholderText().color())
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        else:
            target = self.image_rect()
            painter.drawPixmap(target.topLeft(), self._photo_pixmap(target))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_crop(painter, target)
            self._paint_faces(painter, palette)
        if self._drop_hint or self.hasFocus():
            pen = QPen(palette.highlight().color(), 3 if self._drop_hint else 1)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5))

    def _paint_crop(self, painter: QPainter, target: QRectF) -> None:
        crop = self.crop_rect()
        if crop is None:
            return
        outside = QPainterPath()
        outside.addRect(target)
        outside.addRect(crop)
        outside.setFillRule(Qt.FillRule.OddEvenFill)
        painter.fillPath(outside, QColor(0, 0, 0, 110))
        pen = QPen(QColor(255, 255, 255, 230), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(crop)

    def _paint_faces(self, painter: QPainter, palette: QPalette) -> None:
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        rects = self.face_rects()
        order = [i for i in range(len(rects)) if i != self._chosen] + ([self._chosen] if rects else [])
        for index in order:
            rect = rects[index]
            chosen = index == self._chosen
            colour = palette.highlight().color() if chosen else QColor(220, 220, 220, 150)
            painter.setPen(QPen(colour, 3 if chosen else 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            label = str(index + 1)
            side = painter.fontMetrics().height() + 4
            width = max(side, painter.fontMetrics().horizontalAdvance(label) + 8)
            tag = QRectF(rect.left(), rect.top() - side, width, side)
            if tag.top() < 0:
                tag.moveTop(rect.top())
            painter.fillRect(tag, colour)
            painter.setPen(palette.highlightedText().color() if chosen else QColor(20, 20, 20))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    # input -----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.face_at(event.position())
            if index is not None:
                self.faceRequested.emit(index)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        index = self.face_at(event.position())
        choosable = index is not None and index != self._chosen
        self.setCursor(Qt.CursorShape.PointingHandCursor if choosable else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        count = len(self._boxes)
        key = event.key()
        if count and key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.faceRequested.emit((self._chosen + 1) % count)
        elif count and key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.faceRequested.emit((self._chosen - 1) % count)
        elif count and Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and key - Qt.Key.Key_1 < count:
            self.faceRequested.emit(key - Qt.Key.Key_1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt API)
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt API)
        self.update()
        super().focusOutEvent(event)


# -- the panel -------------------------------------------------------------------------------------
def _estimate_note(face: FaceResult) -> tuple[str, str]:
    """(plain note, technical tooltip) when the eyes and face outline are estimated; empty otherwise."""
    if not face.estimated:
        return "", ""
    if face.landmark_source == "landmark_head":
        return ("Eyes and face outline are estimated: an optional face-analysis file is not installed.",
                "Eye openness and face box come from 2-D landmarks: the BFM face model (bfm_noneck_v3.pkl) "
                "is not installed (Models ▸ Manage Models…).")
    return ("Eyes and face outline are rough estimates: face-analysis files are missing.",
            "Eye openness and face box are estimated from the detector box: neither the BFM face model "
            "nor the landmark head is available (Models ▸ Manage Models…).")


class PortraitPanel(QWidget):
    """Open a portrait, see its faces and the model's crop, choose a face.

    Signals: ``portraitReady((path, portrait, analysis))`` when the analysis is in (``face_index``
    then says which face is chosen), ``portraitFailed(message)``, ``faceChosen(index)`` when the
    choice changes afterwards, ``portraitOpened(path)`` when a file the user picked here (drop, Open…,
    Recent) has opened fine (the window records it in its recent list; a file that fails is not
    recorded, and the portrait that worked before stays loaded), ``busyChanged(bool)``.
    """

    portraitReady = Signal(object)
    portraitFailed = Signal(str)
    faceChosen = Signal(int)
    portraitOpened = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, analyse: Analyse, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("portraitPanel")
        self.setAcceptDrops(True)
        self._analyse = analyse
        self._request = 0
        self._active: TaskRunner | None = None
        self._winding_down: list[TaskRunner] = []
        self._pending: tuple[int, Path, int] | None = None
        self._busy = False
        self._recent: list[str] = []
        self._loaded: _Loaded | None = None
        #: The last portrait that worked, and its face, while another one is being opened: it comes back
        #: if the new one cannot be used.
        self._kept: tuple[_Loaded, int] | None = None
        self._user_request = 0  # the request the user asked for here (drop, Open…, Recent)
        self._requested_path: Path | None = None
        self._preview_size: QSize | None = None
        self._face_index = 0
        self.error_details = ""  # technical details of the last failure, for the window's error dialog
        self._build()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _build(self) -> None:
        self.open_button = QPushButton("&Open…")
        self.open_button.setToolTip("Choose a portrait photo (or drop one on this panel)")
        self.open_button.clicked.connect(self.choose_file)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setToolTip("Portraits you opened before")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        self.recent_button.setEnabled(False)
        self.face_combo = QComboBox()
        self.face_combo.setToolTip("Which face to animate (or click it in the photo, or use the arrow keys)")
        self.face_combo.setAccessibleName("Face")
        # Sized for its longest text, not for the empty list it starts with ("Face 1 of" was cut off).
        self.face_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.face_combo.setMinimumContentsLength(len("Face 10 of 10"))
        self.face_combo.setEnabled(False)
        self.face_combo.setVisible(False)  # until a photo's faces are known (an empty list says nothing)
        self.face_combo.currentIndexChanged.connect(self._combo_changed)

        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.recent_button)
        top.addStretch(1)

        self.view = PortraitView()
        self.view.faceRequested.connect(self.set_face_index)

        self.thumbnail = QLabel()
        self.thumbnail.setObjectName("portraitCrop")
        self.thumbnail.setFixedSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setToolTip("What the model will see")
        self.thumbnail.setVisible(False)
        self.info_label = QLabel()
        self.info_label.setObjectName("portraitInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel()
        self.note_label.setObjectName("portraitNote")
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(False)
        self.message_label = QLabel()
        self.message_label.setObjectName("portraitMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        self.message_label.setForegroundRole(QPalette.ColorRole.BrightText)  # the theme's error colour

        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(120)
        self.busy_label = QLabel(BUSY_TEXT)
        busy = QHBoxLayout()
        busy.addWidget(self.busy_bar)
        busy.addWidget(self.busy_label, 1)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy)
        busy.setContentsMargins(0, 0, 0, 0)
        self.busy_row.setVisible(False)

        texts = QVBoxLayout()
        texts.addWidget(self.face_combo, 0, Qt.AlignmentFlag.AlignLeft)  # here, the top row stays narrow
        texts.addWidget(self.info_label)
        texts.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        bottom.addLayout(texts, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        # Notes and problems take the panel's whole width, so they stay short on a narrow screen.
        layout.addWidget(self.note_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.busy_row)
        self.setFocusProxy(self.view)
        self._show_info()

    # public state ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def path(self) -> Path | None:
        return self._loaded.path if self._loaded else None

    @property
    def portrait(self) -> Portrait | None:
        return self._loaded.portrait if self._loaded else None

    @property
    def analysis(self) -> PortraitAnalysis | None:
        return self._loaded.analysis if self._loaded else None

    @property
    def face_index(self) -> int:
        return self._face_index

    @face_index.setter
    def face_index(self, index: int) -> None:
        self.set_face_index(index)

    def chosen_face(self) -> FaceResult | None:
        return self._loaded.analysis.faces[self._face_index] if self._loaded else None

    def crop_preview(self) -> QImage:
        """The chosen face's crop as the model will see it (``output_size``²), or a null image."""
        return self._loaded.crops[self._face_index] if self._loaded else QImage()

    def face_rects(self) -> list[QRectF]:
        """The outlined faces in the view's coordinates, in rank order."""
        return self.view.face_rects()

    def crop_rect(self) -> QRectF | None:
        return self.view.crop_rect()

    def message(self) -> str:
        """The inline problem message shown now ("" when there is none)."""
        return "" if self.message_label.isHidden() else self.message_label.text()

    # opening -----------------------------------------------------------------------------------
    def open_portrait(self, path: str | Path, face_index: int = 0) -> None:
        """Show ``path`` and find its faces in the background; ``face_index`` is chosen if it exists."""
        path = Path(path)
        self._request += 1
        request = self._request
        if self._loaded is not None:
            self._kept = (self._loaded, self._face_index)
        self._loaded = None
        self._requested_path = path
        self._preview_size = None
        self._face_index = 0
        self.error_details = ""
        self.view.clear("Opening…")
        self._show_faces()
        self._show_message("")
        self._show_info()
        if self._active is not None:
            self._active.cancel()
            self._winding_down.append(self._active)
            self._active = None
        self._pending = None
        if len(self._winding_down) > MAX_WINDING_DOWN:
            self._pending = (request, path, face_index)
        else:
            self._start(request, path, face_index)
        self._set_busy(True)

    def choose_file(self) -> None:
        start = str(Path(self._recent[0]).parent) if self._recent else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open Portrait", start, dialog_filter("image"))
        if path:
            self._user_opened(path)

    def set_recent(self, paths: Sequence[str | Path]) -> None:
        """The recent portraits to offer, newest first (the window owns the list)."""
        self._recent = [str(p) for p in paths][:MAX_RECENT]
        self._fill_recent_menu()

    def recent(self) -> list[str]:
        return list(self._recent)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel any analysis and wait for its thread (call before the panel is destroyed)."""
        self._pending = None
        runners = ([self._active] if self._active else []) + self._winding_down
        for runner in runners:
            runner.cancel()
        for runner in runners:
            runner.wait(wait_ms)

    def _user_opened(self, path: str) -> None:
        self.open_portrait(path)
        self._user_request = self._request  # portraitOpened once it has opened fine

    def _remember(self, path: Path) -> None:
        text = str(path)
        self._recent = ([text] + [p for p in self._recent if p != text])[:MAX_RECENT]
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for text in self._recent:
            action = self.recent_menu.addAction(Path(text).name)
            action.setToolTip(text)
            action.setStatusTip(text)
            action.setEnabled(Path(text).is_file())
            action.triggered.connect(lambda _checked=False, p=text: self._user_opened(p))
        self.recent_menu.setToolTipsVisible(True)
        self.recent_button.setEnabled(bool(self._recent))

    # background work ---------------------------------------------------------------------------
    def _start(self, request: int, path: Path, face_index: int) -> None:
        runner = TaskRunner(self)
        runner.progressed.connect(lambda item, r=request: self._on_preview(r, item))
        runner.succeeded.connect(
            lambda result, r=request, f=face_index, t=runner: self._on_loaded(t, r, result, f))
        runner.failed.connect(
            lambda message, details, r=request, t=runner: self._on_failed(t, r, message, details))
        runner.cancelled.connect(lambda t=runner: self._on_ended(t))
        self._active = runner
        runner.start(_load_task(path, self._analyse))

    def _on_ended(self, runner: TaskRunner) -> None:
        if runner is self._active:
            self._active = None
        elif runner in self._winding_down:
            self._winding_down.remove(runner)
        # Detached, then deleted from the event loop once this signal has been handled everywhere:
        # a deleteLater() on the child of the panel here crashed in ~QObject (PySide 6, seen when a
        # failed analysis was the panel's only one).
        runner.setParent(None)
        QTimer.singleShot(0, runner.deleteLater)
        if self._pending is not None and len(self._winding_down) <= MAX_WINDING_DOWN and self._active is None:
            request, path, face_index = self._pending
            self._pending = None
            self._start(request, path, face_index)
        self._set_busy(self._active is not None or self._pending is not None)

    def _on_preview(self, request: int, item: object) -> None:
        if request != self._request or not isinstance(item, _Preview):
            return
        self._preview_size = item.size
        self.view.set_photo(item.image, item.size)
        self._show_info()

    def _on_loaded(
        self, runner: TaskRunner, request: int, result: _Loaded | _Unusable, face_index: int,
    ) -> None:
        if isinstance(result, _Unusable):
            self._on_failed(runner, request, result.message, "")
            return
        self._on_ended(runner)
        if request != self._request:
            return
        self._loaded = result
        self._kept = None
        self._remember(result.path)  # only files that worked go to Recent
        self._face_index = face_index if 0 <= face_index < len(result.analysis.faces) else 0
        self.view.set_photo(result.display, QSize(result.portrait.width, result.portrait.height))
        self._show_faces()
        self._show_info()
        self.portraitReady.emit((result.path, result.portrait, result.analysis))
        if request == self._user_request:
            self.portraitOpened.emit(str(result.path))

    def _on_failed(self, runner: TaskRunner, request: int, message: str, details: str) -> None:
        self._on_ended(runner)
        if request != self._request:
            return
        self.error_details = details
        if self._kept is not None:  # the portrait that worked stays in use
            (kept, face_index), self._kept = self._kept, None
            self._loaded, self._face_index = kept, face_index
            self.view.set_photo(kept.display, QSize(kept.portrait.width, kept.portrait.height))
            self._show_faces()
            message = f"{message}\n{kept.path.name} is still in use."
        elif not self.view.has_photo():
            self.view.clear("Could not open this file")
        self._show_message(message)
        self._show_info()
        self.portraitFailed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        self.busy_row.setVisible(busy)
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    # choosing a face ---------------------------------------------------------------------------
    def set_face_index(self, index: int) -> None:
        """Choose face ``index`` (rank order) of the current portrait."""
        if self._loaded is None:
            return
        count = len(self._loaded.analysis.faces)
        if not 0 <= index < count:
            raise ValueError(f"face {index + 1} was chosen but the photo has {count} face(s)")
        if index == self._face_index:
            return
        self._face_index = index
        self._show_faces()
        self._show_info()
        self.faceChosen.emit(index)

    def _combo_changed(self, index: int) -> None:
        if index >= 0:
            self.set_face_index(index)

    # display -----------------------------------------------------------------------------------
    def _show_faces(self) -> None:
        faces = self._loaded.analysis.faces if self._loaded else ()
        chosen = faces[self._face_index] if faces else None
        crop_box = chosen.crop.box if chosen else None
        self.view.set_faces([face.box for face in faces], crop_box, self._face_index)
        self.face_combo.blockSignals(True)
        self.face_combo.clear()
        self.face_combo.addItems([f"Face {i + 1} of {len(faces)}" for i in range(len(faces))])
        self.face_combo.setCurrentIndex(self._face_index if faces else -1)
        self.face_combo.blockSignals(False)
        self.face_combo.setEnabled(len(faces) > 1)
        self.face_combo.setVisible(bool(faces))
        if self._loaded is not None and chosen is not None:
            crop = self.crop_preview()
            self.thumbnail.setPixmap(QPixmap.fromImage(crop.scaled(
                self.thumbnail.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )))
            self.thumbnail.setToolTip(f"What the model will see: {crop.width()}×{crop.height()} pixels")
            self.thumbnail.setVisible(True)
            note, note_tip = _estimate_note(chosen)
        else:
            self.thumbnail.clear()
            self.thumbnail.setVisible(False)
            note, note_tip = "", ""
        self.note_label.setText(note)
        self.note_label.setToolTip(note_tip)
        self.note_label.setVisible(bool(note))

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _show_info(self) -> None:
        path = self._loaded.path if self._loaded else self._requested_path
        self.info_label.setToolTip("")
        if path is None:
            self.info_label.setText("No portrait yet.")
            return
        parts = [path.name]
        lines = []
        if self._loaded is not None:
            analysis = self._loaded.analysis
            parts.append(f"{analysis.image_width}×{analysis.image_height} px")
            count = len(analysis.faces)
            parts.append(f"{count} face" if count == 1 else f"{count} faces")
            face = analysis.faces[self._face_index]
            who = f"Face {self._face_index + 1}: " if count > 1 else ""
            yaw, pitch, roll = (float(v) for v in face.pose[:3])
            lines.append(who + describe_pose(yaw, pitch, roll))
            lines.append(describe_eyes(*face.eye_ratios))
            self.info_label.setToolTip(face_tooltip(face))
        elif self._preview_size is not None:
            parts.append(f"{self._preview_size.width()}×{self._preview_size.height()} px")
        self.info_label.setText("\n".join([" · ".join(parts), *lines]))

    # drag and drop -----------------------------------------------------------------------------
    @staticmethod
    def _dropped_image(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and media_kind(url.toLocalFile()) == "image":
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
            self.view.set_drop_hint(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt API)
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 (Qt API)
        self.view.set_drop_hint(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        self.view.set_drop_hint(False)
        path = self._dropped_image(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self._user_opened(path)
