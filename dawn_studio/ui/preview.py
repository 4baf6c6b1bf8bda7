"""Preview player: the generated clip with its sound, beside the original portrait.

Space plays/pauses, ',' and '.' step one frame (40 ms at 25 fps), the slider scrubs,
'Loop' repeats, and the view switches between the face crop the model made and the
face pasted back into the full photo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPaintEvent, QResizeEvent, QShortcut
from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from .media_player import MediaPlayer

FRAME_MS = 40  # 25 fps
#: One line at 1366×768 (two lines took a third of the room above a small clip); the tooltip says more.
SILENT_TEXT = "No sound output found: the preview plays silently (exported videos keep the speech)."


def format_time(ms: int) -> str:
    seconds, millis = divmod(max(0, int(ms)), 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}.{millis // 100}"


class NoticeLabel(QLabel):
    """A word-wrapped line above the clip whose minimum height is the height its text needs at its width.

    A plain wrapped label reports one line as its minimum; when its text wraps to two lines in a narrow
    window the preview's layout got less than it needed and the picture overlapped the scrub bar (seen at
    1024×640). With the real need reported, the window shrinks the bottom panel instead."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._needed = 0

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        hint = super().minimumSizeHint()
        if self.width() > 0:
            hint.setHeight(max(hint.height(), self.heightForWidth(self.width())))
        return hint

    def _remeasure(self) -> None:
        needed = self.heightForWidth(self.width()) if self.width() > 0 else 0
        if needed != self._needed:
            self._needed = needed
            self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._remeasure()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self._remeasure()


class ImageView(QWidget):
    """Paints one image scaled to fit, centred, with its aspect ratio kept."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.placeholder = placeholder
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(480, 480)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if self.image.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(x, y, size.width(), size.height()), self.image)


class PreviewPlayer(QWidget):
    """Plays the generated clip (QtMultimedia) with transport controls and view options."""

    viewChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, *,
                 audio_outputs: Callable[[], Sequence[object]] = QMediaDevices.audioOutputs) -> None:
        super().__init__(parent)
        #: Lists the sound outputs (injected in tests: an offscreen CI machine has none).
        self.audio_outputs = audio_outputs
        self.sources: dict[str, Path] = {}
        self.originals: dict[str, QImage] = {}  # the portrait as each view shows it, for side by side
        self.view = "full"
        self.frames_shown = 0

        self.player = MediaPlayer(self)
        self.audio_output = QAudioOutput(self)
        self.player.setAudioOutput(self.audio_output)
        self.sink = QVideoSink(self)
        self.player.setVideoSink(self.sink)
        self.sink.videoFrameChanged.connect(self._show_frame)
        self.player.positionChanged.connect(self._position_changed)
        self.player.durationChanged.connect(self._duration_changed)
        self.player.playbackStateChanged.connect(self._state_changed)
        self.player.mediaStatusChanged.connect(self._media_status_changed)
        #: Where a newly opened source should start; a seek before the media has loaded is dropped.
        self._pending_position: int | None = None

        self.original_view = ImageView("The original portrait")
        self.video_view = ImageView("The generated clip appears here after Generate")
        self.original_view.setVisible(False)

        views = QHBoxLayout()
        views.addWidget(self.original_view, 1)
        views.addWidget(self.video_view, 1)

        style = self.style()
        self.play_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.back_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), "")
        self.back_button.setToolTip("One frame back (,)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "")
        self.forward_button.setToolTip("One frame forward (.)")
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag to move through the clip")
        self.slider.sliderMoved.connect(self.player.setPosition)
        self.slider.setMinimumWidth(160)  # a scrub bar, never a dot, however narrow the window
        self.time_label = QLabel(format_time(0) + " / " + format_time(0))
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setToolTip("Play the clip over and over")
        self.loop_box.toggled.connect(self._set_loop)
        self.side_by_side_box = QCheckBox("Side by side")
        self.side_by_side_box.setToolTip("Show the original portrait next to the generated clip")
        self.side_by_side_box.toggled.connect(self.original_view.setVisible)

        self.full_button = QPushButton("Full photo")
        self.full_button.setToolTip("The animated face pasted back into your photo")
        self.crop_button = QPushButton("Face crop")
        self.crop_button.setToolTip("The square face image the model generated")
        self.view_group = QButtonGroup(self)
        for button, name in ((self.full_button, "full"), (self.crop_button, "crop")):
            button.setCheckable(True)
            button.clicked.connect(lambda _c=False, n=name: self.set_view(n))
            self.view_group.addButton(button)
        self.full_button.setChecked(True)

        # The scrub bar has a row of its own; the buttons and options sit below it.
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.time_label)
        transport = QHBoxLayout()
        for widget in (self.back_button, self.play_button, self.forward_button):
            transport.addWidget(widget)
        transport.addStretch(1)
        transport.addWidget(self.loop_box)
        transport.addWidget(self.side_by_side_box)
        transport.addWidget(self.full_button)
        transport.addWidget(self.crop_button)

        layout = QVBoxLayout(self)
        layout.addLayout(views, 1)
        layout.addLayout(scrub)
        layout.addLayout(transport)
        self.notice = NoticeLabel()
        self.notice.setObjectName("staleNotice")  # styled in common.qss
        self.notice.setVisible(False)
        layout.insertWidget(0, self.notice)
        self.silent_notice = NoticeLabel(SILENT_TEXT)
        self.silent_notice.setObjectName("silentNotice")
        self.silent_notice.setToolTip("Connect speakers or headphones (or enable a sound device); the preview "
                                      "uses them as soon as they appear.")
        self.silent_notice.setVisible(False)
        layout.insertWidget(1, self.silent_notice)
        self.media_devices = QMediaDevices(self)
        self.media_devices.audioOutputsChanged.connect(self._outputs_changed)

        for key, slot in (("Space", self.toggle_play), (",", lambda: self.step(-1)), (".", lambda: self.step(1))):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_enabled()

    # loading ---------------------------------------------------------------------
    def load(self, full: Path | None, crop: Path | None, portrait: QImage | None = None,
             portrait_crop: QImage | None = None) -> None:
        """Show a new clip (pasted-back and/or crop file) and the portrait it came from; side by side
        compares like with like: the photo beside Full photo, the portrait's face crop beside Face crop."""
        self.player.stop()
        self.sources = {name: Path(p) for name, p in (("full", full), ("crop", crop)) if p is not None}
        self.originals = {name: image for name, image in (("full", portrait), ("crop", portrait_crop))
                          if image is not None and not image.isNull()}
        if self.view not in self.sources and self.sources:
            self.view = next(iter(self.sources))
        self._show_original()
        self._open_current(position=0)
        self._update_enabled()

    def clear(self) -> None:
        self.player.stop()
        self.player.setSource(QUrl())
        self.sources = {}
        self.originals = {}
        self.set_notice("")
        self.video_view.set_image(QImage())
        self.original_view.set_image(QImage())
        self._update_enabled()

    def set_view(self, name: str) -> None:
        """Switch between 'full' and 'crop', keeping the playback position."""
        if name not in ("full", "crop"):
            raise ValueError(f"unknown view {name!r}")
        (self.full_button if name == "full" else self.crop_button).setChecked(True)
        if name == self.view:
            return
        self.view = name
        self._show_original()
        if name in self.sources:
            playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
            self._open_current(self.player.position())
            if playing:
                self.player.play()
        self.viewChanged.emit(name)

    def set_notice(self, text: str) -> None:
        """A line above the clip saying it no longer matches what the window shows ('' hides it)."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _show_original(self) -> None:
        self.original_view.set_image(self.originals.get(self.view, QImage()))

    def _open_current(self, position: int) -> None:
        path = self.sources.get(self.view)
        if path is None:
            return
        self._pending_position = position if position > 0 else None
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.setPosition(position)
        self.player.pause()  # shows the first frame without starting playback

    # transport -------------------------------------------------------------------
    def toggle_play(self) -> None:
        if not self.sources:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            if self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
                self.player.setPosition(0)
            self.player.play()

    def step(self, frames: int) -> None:
        if not self.sources:
            return
        self.player.pause()
        target = self.player.position() + frames * FRAME_MS
        self.player.setPosition(max(0, min(self.player.duration(), target)))

    def _set_loop(self, on: bool) -> None:
        self.player.setLoops(QMediaPlayer.Loops.Infinite if on else 1)

    # player signals --------------------------------------------------------------
    def _show_frame(self, frame: QVideoFrame) -> None:
        if frame.isValid():
            self.frames_shown += 1
            self.video_view.set_image(frame.toImage())

    def _position_changed(self, position: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(position)
        duration = self.player.duration()
        frames = round(duration / FRAME_MS)
        frame = min(frames, int(position // FRAME_MS) + 1) if frames else 0
        self.time_label.setText(f"{format_time(position)} / {format_time(duration)} · frame {frame}/{frames}")

    def _duration_changed(self, duration: int) -> None:
        self.slider.setRange(0, max(0, duration))
        self._position_changed(self.player.position())

    def _media_status_changed(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._pending_position is not None and status in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                             QMediaPlayer.MediaStatus.BufferedMedia):
            position, self._pending_position = self._pending_position, None
            self.player.setPosition(position)

    def _state_changed(self, state: QMediaPlayer.PlaybackState) -> None:
        icon = (QStyle.StandardPixmap.SP_MediaPause if state == QMediaPlayer.PlaybackState.PlayingState
                else QStyle.StandardPixmap.SP_MediaPlay)
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _outputs_changed(self) -> None:
        """A sound device appeared or went away: play through the current default, say if there is none."""
        self.audio_output.setDevice(QMediaDevices.defaultAudioOutput())
        self._update_enabled()

    def plays_silently(self) -> bool:
        """Whether the clip would play without sound because this machine has no sound output."""
        return not self.audio_outputs()

    def _update_enabled(self) -> None:
        has_clip = bool(self.sources)
        self.silent_notice.setVisible(has_clip and self.plays_silently())
        for widget in (self.play_button, self.back_button, self.forward_button, self.slider, self.loop_box):
            widget.setEnabled(has_clip)
        self.full_button.setEnabled("full" in self.sources)
        self.crop_button.setEnabled("crop" in self.sources)
