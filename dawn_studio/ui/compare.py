"""Two clips side by side, in sync: a second, silent player that follows the preview's player.

The preview's side-by-side pane normally shows the original portrait; while comparing it shows the other
take instead, or, for an enhanced clip, the same clip before face enhancement (before/after), playing,
pausing and seeking with the main clip (within one frame), in the same view (Full photo or Face crop)
the preview shows.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

from .media_player import MediaPlayer
from .preview import FRAME_MS, PreviewPlayer

#: The second clip is moved back in line when it drifts further than this from the first.
MAX_DRIFT_MS = FRAME_MS * 2


class ComparePlayer(QObject):
    """Drives ``preview.original_view`` with a second clip while ``active``."""

    def __init__(self, preview: PreviewPlayer) -> None:
        super().__init__(preview)
        self.preview = preview
        self.sources: dict[str, Path] = {}
        self.player = MediaPlayer(self)  # no audio output: only the main clip is heard
        self.sink = QVideoSink(self)
        self.player.setVideoSink(self.sink)
        self.sink.videoFrameChanged.connect(self._show_frame)
        main = preview.player
        main.playbackStateChanged.connect(self._follow_state)
        main.positionChanged.connect(self._follow_position)
        preview.viewChanged.connect(lambda _view: self._open_current())
        self._checked_before: bool | None = None
        self.before_after = False  # the second clip is the main one before enhancement

    @property
    def active(self) -> bool:
        return bool(self.sources)

    def start(self, full: Path | None, crop: Path | None) -> None:
        """Show this clip (another take) beside the preview's own, in sync with it."""
        self._set_before_after(False)
        self.sources = {name: Path(p) for name, p in (("full", full), ("crop", crop)) if p is not None}
        if self._checked_before is None:
            self._checked_before = self.preview.side_by_side_box.isChecked()
        self.preview.side_by_side_box.setChecked(True)
        self.preview.original_view.setVisible(True)
        self._open_current()

    def start_before_after(self, full: Path | None, crop: Path | None) -> None:
        """Make the side-by-side pane show the clip before enhancement (the creator turns it on)."""
        self.sources = {name: Path(p) for name, p in (("full", full), ("crop", crop)) if p is not None}
        if not self.sources:
            return
        self._set_before_after(True)
        self._open_current()

    def _set_before_after(self, on: bool) -> None:
        self.before_after = on
        box = self.preview.side_by_side_box
        box.setText("Before/after" if on else "Side by side")
        box.setToolTip("Show the clip before face enhancement next to the enhanced clip" if on
                       else "Show the original portrait next to the generated clip")

    def stop(self) -> None:
        """Back to the original portrait beside the clip."""
        if not self.sources:
            return
        self.sources = {}
        self._set_before_after(False)
        self.player.stop()
        self.player.setSource(QUrl())
        if self._checked_before is not None:
            self.preview.side_by_side_box.setChecked(self._checked_before)
            self._checked_before = None
        self.preview._show_original()

    def _open_current(self) -> None:
        path = self.sources.get(self.preview.view) or next(iter(self.sources.values()), None)
        if path is None:
            return
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.setPosition(self.preview.player.position())
        if self.preview.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.play()
        else:
            self.player.pause()

    def _show_frame(self, frame: QVideoFrame) -> None:
        if self.active and frame.isValid():
            self.preview.original_view.set_image(frame.toImage())

    def _follow_state(self, state: QMediaPlayer.PlaybackState) -> None:
        if not self.active:
            return
        if state == QMediaPlayer.PlaybackState.PlayingState:
            self.player.setPosition(self.preview.player.position())
            self.player.play()
        else:
            self.player.pause()
            self.player.setPosition(self.preview.player.position())

    def _follow_position(self, position: int) -> None:
        if self.active and abs(self.player.position() - position) > MAX_DRIFT_MS:
            self.player.setPosition(position)
