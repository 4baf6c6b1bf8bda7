"""The Audio panel: open, drop or record the speech, see its waveform, trim it and listen to the selection.

Decoding runs on a worker thread (a newer file supersedes the one being read, Cancel stops it);
the waveform redraws only the visible span; playback streams the decoded 16-kHz selection to a
QAudioSink, so every file the decoder reads (including the sound of a video) plays the same way,
starts exactly at the trim start and ends exactly at the trim end. Without a sound output
(headless machines) playback reports why in the status line instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import PySide6.QtMultimedia as QtMultimedia
from PySide6.QtCore import QIODevice, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..media_types import dialog_filter, media_kind
from ..stages.audio import (
    STUDIO_DECODING,
    DecodeOptions,
    RecordingAvailability,
    SpeechInput,
    WaveformOverview,
    load_speech,
)
from .recorder_widget import RecorderFactory, RecorderWidget, find_inputs
from .waveform_view import WaveformView
from .worker import TaskRunner

log = logging.getLogger(__name__)

_AUDIO = getattr(QtMultimedia, "QtAudio", None) or QtMultimedia.QAudio  # renamed in Qt 6.7
MIN_SELECTION_S = 0.04  # one video frame: the shortest speech that still makes a video
PLAYHEAD_INTERVAL_MS = 30
RECORDER_COMBO_CHARS = 8  # the microphone list may be narrow; its drop-down shows the full names
WAVEFORM_MIN_HEIGHT = 80  # the panel fits under the preview on a 768-pixel-high screen
END_GRACE_S = 1.0  # a sink that never reports running dry is stopped this long after the selection's end


def clock_text(seconds: float) -> str:
    """``m:ss.cc`` (``h:mm:ss.cc`` past an hour) for positions and lengths."""
    hundredths = int(round(max(0.0, seconds) * 100))
    whole, frac = divmod(hundredths, 100)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}.{frac:02d}" if hours else f"{minutes}:{secs:02d}.{frac:02d}"


def channels_text(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels")


# ---- playback ----------------------------------------------------------------------------------------

class PlaybackUnavailable(RuntimeError):
    """No sound output to play to; the message starts with 'playback unavailable:'."""


SinkFactory = Callable[[int, QObject], tuple[Any, QAudioFormat]]


def default_sink(sample_rate: int, parent: QObject) -> tuple[QAudioSink, QAudioFormat]:
    """A QAudioSink on the system's default output: mono float at the signal's rate where the device
    takes it, else the device's preferred format (the selection is converted as it streams)."""
    device = QMediaDevices.defaultAudioOutput()
    if device.isNull():
        raise PlaybackUnavailable("playback unavailable: no sound output device was found")
    wanted = QAudioFormat()
    wanted.setSampleRate(sample_rate)
    wanted.setChannelCount(1)
    wanted.setSampleFormat(QAudioFormat.SampleFormat.Float)
    chosen = wanted if device.isFormatSupported(wanted) else device.preferredFormat()
    if chosen.sampleRate() <= 0 or chosen.channelCount() <= 0:
        raise PlaybackUnavailable(f"playback unavailable: '{device.description()}' offers no usable format")
    return QAudioSink(device, chosen, parent), chosen


def encode_samples(mono: np.ndarray, channels: int, sample_format: QAudioFormat.SampleFormat) -> bytes:
    """Float mono in [-1, 1] → interleaved PCM bytes of the sink's format."""
    clipped = np.clip(mono, -1.0, 1.0)
    if sample_format == QAudioFormat.SampleFormat.Int16:
        data = (clipped * 32767.0).astype("<i2")
    elif sample_format == QAudioFormat.SampleFormat.Int32:
        data = (clipped.astype(np.float64) * 2147483647.0).astype("<i4")
    elif sample_format == QAudioFormat.SampleFormat.UInt8:
        data = (clipped * 127.0 + 128.0).astype(np.uint8)
    else:
        data = clipped.astype("<f4")
    if channels > 1:
        data = np.repeat(data[:, None], channels, axis=1)
    return data.tobytes()


class SelectionStream(QIODevice):
    """A read-only device the sink pulls from: samples ``[begin, end)`` converted (rate, channels,
    sample format) chunk by chunk, so an hour-long selection never becomes one big byte array."""

    def __init__(self, samples: np.ndarray, sample_rate: int, begin: int, end: int, fmt: QAudioFormat,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._samples = samples
        self._begin, self._end = begin, end
        self._ratio = sample_rate / fmt.sampleRate()
        self._channels = fmt.channelCount()
        self._format = fmt.sampleFormat()
        self._frame_bytes = max(1, fmt.bytesPerFrame())
        self.total_frames = int((end - begin) / self._ratio)
        self.frames_read = 0
        self.open(QIODevice.OpenModeFlag.ReadOnly)

    def readData(self, maxlen: int) -> bytes:  # noqa: N802 (Qt API)
        count = min(maxlen // self._frame_bytes, self.total_frames - self.frames_read)
        if count <= 0:
            return b""
        if self._ratio == 1.0:
            start = self._begin + self.frames_read
            mono = self._samples[start:start + count]
        else:  # linear interpolation to the device's rate
            where = self._begin + (self.frames_read + np.arange(count)) * self._ratio
            low = np.minimum(np.floor(where).astype(np.int64), self._end - 1)
            high = np.minimum(low + 1, self._end - 1)
            frac = (where - low).astype(np.float32)
            mono = self._samples[low] * (1.0 - frac) + self._samples[high] * frac
        self.frames_read += count
        return encode_samples(mono, self._channels, self._format)

    def writeData(self, data: bytes) -> int:  # noqa: N802 (Qt API)
        return -1

    def isSequential(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def bytesAvailable(self) -> int:  # noqa: N802 (Qt API)
        return (self.total_frames - self.frames_read) * self._frame_bytes + super().bytesAvailable()

    def atEnd(self) -> bool:  # noqa: N802 (Qt API)
        return self.frames_read >= self.total_frames


class SelectionPlayer(QObject):
    """Plays ``[start_s, end_s)`` of a signal; reports the position for the playhead and stops at the end."""

    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, sink_factory: SinkFactory | None = None) -> None:
        super().__init__(parent)
        self.sink_factory = sink_factory or default_sink
        self.samples: np.ndarray | None = None
        self.sample_rate = 0
        self.sink: Any = None
        self.stream: SelectionStream | None = None
        self.start_s = self.end_s = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(PLAYHEAD_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def playing(self) -> bool:
        return self.sink is not None

    def set_signal(self, samples: np.ndarray | None, sample_rate: int) -> None:
        self.stop()
        self.samples, self.sample_rate = samples, sample_rate

    def position(self) -> float:
        if self.sink is None:
            return self.start_s
        return min(self.start_s + self.sink.processedUSecs() / 1e6, self.end_s)

    def play(self, start_s: float, end_s: float) -> bool:
        """Start playing the selection; False (and ``failed``) when there is no way to play it."""
        self.stop()
        if self.samples is None:
            return False
        begin = max(0, int(round(start_s * self.sample_rate)))
        end = min(self.samples.shape[0], int(round(end_s * self.sample_rate)))
        if end <= begin:
            return False
        try:
            sink, fmt = self.sink_factory(self.sample_rate, self)
        except PlaybackUnavailable as exc:
            self.failed.emit(str(exc))
            return False
        stream = SelectionStream(self.samples, self.sample_rate, begin, end, fmt, self)
        sink.start(stream)
        if sink.error() != _AUDIO.Error.NoError:
            error = sink.error()
            sink.stop()
            stream.deleteLater()
            self.failed.emit(f"playback failed: the sound output reported {getattr(error, 'name', error)}")
            return False
        self.sink, self.stream = sink, stream
        self.start_s, self.end_s = begin / self.sample_rate, end / self.sample_rate
        self._timer.start()
        self.playingChanged.emit(True)
        self.positionChanged.emit(self.start_s)
        return True

    def stop(self) -> None:
        sink, stream, self.sink, self.stream = self.sink, self.stream, None, None
        self._timer.stop()
        if sink is None:
            return
        sink.stop()
        if stream is not None:
            stream.close()
            stream.deleteLater()
        if isinstance(sink, QObject):
            sink.deleteLater()
        self.playingChanged.emit(False)

    def _poll(self) -> None:
        if self.sink is None:
            return
        position = self.position()
        self.positionChanged.emit(position)
        # processedUSecs counts what went into the device's buffer, ahead of the loudspeaker: the end of
        # the selection is reached when the sink has played its buffer dry, not when the count gets there.
        drained = self.stream is not None and self.stream.atEnd() and self.sink.state() == _AUDIO.State.IdleState
        overdue = self.start_s + self.sink.processedUSecs() / 1e6 > self.end_s + END_GRACE_S
        if drained or overdue:
            self.stop()
        elif self.sink.state() == _AUDIO.State.StoppedState and self.sink.error() != _AUDIO.Error.NoError:
            error = self.sink.error()
            self.stop()
            self.failed.emit(f"playback stopped: the sound output reported {getattr(error, 'name', error)}")


# ---- the panel -----------------------------------------------------------------------------------------

class AudioPanel(QWidget):
    """Speech input of the studio.

    Signals: ``audioReady((path, SpeechInput))`` when a file is decoded and checked;
    ``audioFailed(message)`` when it cannot be used (the window shows the dialog; the panel shows the
    message inline and keeps the previous audio); ``audioChosen(path)`` for a file picked inside the
    panel (Open…, a drop, a finished recording), which the panel opens itself;
    ``trimChanged(start_s, end_s or None)`` (None = to the end of the clip).
    """

    audioReady = Signal(object)
    audioFailed = Signal(str)
    audioChosen = Signal(str)
    trimChanged = Signal(float, object)

    def __init__(
        self, parent: QWidget | None = None, *, decode_options: DecodeOptions = STUDIO_DECODING,
        max_duration_s: float | None = None, recorder_factory: RecorderFactory | None = None,
        recording_check: Callable[[], RecordingAvailability] = find_inputs,
        recordings_dir: Path | None = None, sink_factory: SinkFactory | None = None,
    ) -> None:
        super().__init__(parent)
        self.decode_options = decode_options
        self.max_duration_s = max_duration_s
        self.path: Path | None = None
        self.speech: SpeechInput | None = None
        self.loading_path: Path | None = None
        self._pending: Path | None = None
        self._pending_trim: tuple[Path, float, float | None] | None = None  # selection for the file being read
        self._emitted_trim: tuple[float, float | None] | None = None
        self._trim_start, self._trim_end = 0.0, 0.0  # exact; the spin boxes show them to the millisecond
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        style = self.style()
        self.open_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton), "Open…")
        self.open_button.setToolTip("Open a speech recording, or a video whose sound is used (or drop one here)")
        self.open_button.clicked.connect(self.choose_file)
        self.record_toggle = QToolButton()
        self.record_toggle.setText("Record…")
        self.record_toggle.setCheckable(True)
        self.record_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.record_toggle.setToolTip("Show or hide the recorder: record a voice-over with a microphone")
        self.file_label = QLabel("No audio yet")
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop reading the file (Esc)")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setVisible(False)
        self.info_label = QLabel("")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(WAVEFORM_MIN_HEIGHT)
        self.waveform.regionChanged.connect(self._region_dragging)
        self.waveform.regionEdited.connect(self.set_trim)

        self.start_spin = self._time_spin("Start of the selection (seconds)")
        self.end_spin = self._time_spin("End of the selection (seconds)")
        self.start_spin.valueChanged.connect(lambda value: self.set_trim(value, self._trim_end))
        self.end_spin.valueChanged.connect(lambda value: self.set_trim(self._trim_start, value))
        self.selection_label = QLabel("")
        self.reset_trim_button = QPushButton("Reset trim")
        self.reset_trim_button.setToolTip("Use the whole clip")
        self.reset_trim_button.clicked.connect(self.reset_trim)
        self.zoom_in_button = self._tool_button("+", "Zoom in (+ or the mouse wheel)", self.waveform.zoom_in)
        self.zoom_out_button = self._tool_button("−", "Zoom out (−)", self.waveform.zoom_out)
        self.fit_button = self._tool_button("Fit", "Show the whole clip (0)", self.waveform.fit)

        self.play_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.play_button.setToolTip("Play the selection / stop (Space; Esc stops)")
        self.play_button.clicked.connect(self.toggle_play)
        self.position_label = QLabel(clock_text(0.0))
        self.playback_status = QLabel("")
        self.playback_status.setWordWrap(True)

        self.player = SelectionPlayer(self, sink_factory)
        self.player.positionChanged.connect(self.set_playhead)
        self.player.playingChanged.connect(self._playing_changed)
        self.player.failed.connect(self.playback_status.setText)

        self.recorder = RecorderWidget(recorder_factory=recorder_factory, availability=recording_check,
                                       folder=recordings_dir)
        self.recorder.device_combo.setMinimumContentsLength(RECORDER_COMBO_CHARS)
        self.recorder.recordingFinished.connect(self._recorded)
        self.recorder.stateChanged.connect(self._recorder_state)
        # Shown on demand (Record…), so the panel fits under the preview on a laptop screen.
        self.record_box = QGroupBox("Record")
        record_layout = QVBoxLayout(self.record_box)
        record_layout.addWidget(self.recorder)
        self.record_box.setVisible(False)
        self.record_toggle.toggled.connect(self.show_recorder)

        self.decoder = TaskRunner(self)
        self.decoder.progressed.connect(self._progress)
        self.decoder.succeeded.connect(self._loaded)
        self.decoder.failed.connect(self._load_failed)
        self.decoder.cancelled.connect(self._load_cancelled)

        header = QHBoxLayout()
        header.addWidget(self.open_button)
        header.addWidget(self.record_toggle)
        header.addWidget(self.file_label, 1)
        header.addWidget(self.progress)
        header.addWidget(self.cancel_button)
        trim_row = QHBoxLayout()
        trim_row.addWidget(QLabel("Start"))
        trim_row.addWidget(self.start_spin)
        trim_row.addWidget(QLabel("End"))
        trim_row.addWidget(self.end_spin)
        trim_row.addWidget(self.selection_label)
        trim_row.addWidget(self.reset_trim_button)
        trim_row.addStretch(1)
        transport = QHBoxLayout()
        transport.addWidget(self.play_button)
        transport.addWidget(self.position_label)
        transport.addWidget(self.playback_status, 1)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            transport.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.message_label)
        layout.addWidget(self.info_label)
        layout.addWidget(self.waveform, 1)
        layout.addLayout(trim_row)
        layout.addLayout(transport)
        layout.addWidget(self.record_box)

        for keys, slot in (
            (("Space",), self.toggle_play), (("+", "="), self.waveform.zoom_in), (("-",), self.waveform.zoom_out),
            (("0",), self.waveform.fit), (("Escape",), self.escape),
        ):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
        self._update_controls()

    def _time_spin(self, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(3)
        spin.setSingleStep(0.1)
        spin.setSuffix(" s")
        spin.setKeyboardTracking(False)
        spin.setToolTip(tip)
        spin.setAccessibleName(tip)
        return spin

    def _tool_button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # ---- opening ----------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self.speech.audio.duration_s if self.speech is not None else 0.0

    @property
    def loading(self) -> bool:
        return self.decoder.busy

    def choose_file(self) -> None:
        start_dir = str(self.path.parent) if self.path is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open Audio", start_dir, dialog_filter("audio"))
        if path:
            self.audioChosen.emit(path)
            self.open_audio(path)

    def open_audio(self, path: str | Path) -> None:
        """Decode ``path`` in the background; a file already being read is cancelled in its favour."""
        self._pending = Path(path)
        if self.decoder.busy:
            self.decoder.cancel()  # _start_pending runs when that task has ended
            return
        self._start_pending()

    def cancel_loading(self) -> None:
        self._pending = None
        self.decoder.cancel()

    def escape(self) -> None:
        """Esc: stop reading a file if one is being read, else stop playback."""
        if self.decoder.busy:
            self.cancel_loading()
        else:
            self.player.stop()

    def _start_pending(self) -> None:
        path, self._pending = self._pending, None
        if path is None:
            return
        self.player.stop()
        self.loading_path = path
        self._show_message(f"Reading {path.name}…")
        self.progress.setRange(0, 0)
        options, limit = self.decode_options, self.max_duration_s

        def task(report: Callable[[Any], None], cancel: Callable[[], bool]) -> tuple[Path, SpeechInput,
                                                                                       WaveformOverview]:
            speech = load_speech(path, options, max_duration_s=limit,
                                 progress=lambda done, total: report((done, total)), cancel=cancel)
            overview = WaveformOverview.from_samples(speech.audio.samples, speech.audio.sample_rate)
            return path, speech, overview

        self.decoder.start(task)
        self._update_controls()

    def _progress(self, step: object) -> None:
        if isinstance(step, tuple) and len(step) == 2:
            done, total = step
            if total > 0:
                self.progress.setRange(0, int(total))
                self.progress.setValue(int(done))

    def _superseded(self) -> bool:
        """A newer file was asked for while this one was read: start that one instead."""
        if self._pending is None:
            return False
        self._start_pending()
        return True

    def _loaded(self, result: tuple[Path, SpeechInput, WaveformOverview]) -> None:
        if self._superseded():
            return
        path, speech, overview = result
        self.loading_path = None
        self.path, self.speech = path, speech
        audio = speech.audio
        self.player.set_signal(audio.samples, audio.sample_rate)
        self.waveform.set_signal(audio.samples, audio.sample_rate, overview)
        self.file_label.setText(path.name)
        self.file_label.setToolTip(str(path))
        info = audio.info
        parts = [f"{clock_text(audio.duration_s)}", f"{info.sample_rate} Hz" if info.sample_rate else "",
                 channels_text(info.channels) if info.channels else "", info.codec,
                 "sound of a video" if info.has_video else ""]
        self.info_label.setText(" · ".join(p for p in parts if p))
        self._show_message("\n".join(f"⚠ {w.message}" for w in speech.warnings), QPalette.ColorRole.Link)
        self.playback_status.setText("")
        self._emitted_trim = None
        self.start_spin.blockSignals(True)
        self.end_spin.blockSignals(True)
        self.start_spin.setRange(0.0, audio.duration_s)
        self.end_spin.setRange(0.0, audio.duration_s)
        self.start_spin.blockSignals(False)
        self.end_spin.blockSignals(False)
        wanted, self._pending_trim = self._pending_trim, None
        self.set_trim(*(wanted[1:] if wanted is not None and wanted[0] == path else (0.0, None)))
        self.set_playhead(0.0)
        self._update_controls()
        self.audioReady.emit((path, speech))

    def _load_failed(self, message: str, details: str) -> None:
        if self._superseded():
            return
        self.loading_path = self._pending_trim = None
        self._show_message(message, QPalette.ColorRole.BrightText)
        self._update_controls()
        self.audioFailed.emit(message)

    def _load_cancelled(self) -> None:
        if self._superseded():
            return
        name = self.loading_path.name if self.loading_path is not None else "the file"
        self.loading_path = self._pending_trim = None
        kept = f"; {self.path.name} is still in use" if self.path is not None else ""
        self._show_message(f"Reading {name} was cancelled{kept}.")
        self._update_controls()

    # ---- drag and drop ------------------------------------------------------------------
    @staticmethod
    def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and media_kind(url.toLocalFile()) in ("audio", "video"):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if self._dropped_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        path = self._dropped_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.audioChosen.emit(path)
        self.open_audio(path)

    # ---- trim ------------------------------------------------------------------------------
    def trim(self) -> tuple[float, float | None]:
        """The selection: (start, end), end None when it runs to the end of the clip."""
        if self.speech is None:
            return 0.0, None
        end = self._trim_end
        return self._trim_start, (None if end >= self.duration_s - 0.5 / self.speech.audio.sample_rate else end)

    def set_trim(self, start_s: float, end_s: float | None = None) -> None:
        """Select ``[start_s, end_s]`` (None = to the end), clamped to the clip and at least one video frame."""
        loading = self._pending or self.loading_path
        if loading is not None:
            # A file is still being read (an opened project, a restored session): its selection is
            # applied when it arrives instead of being replaced by the whole clip.
            self._pending_trim = (Path(loading), float(start_s), None if end_s is None else float(end_s))
            return
        if self.speech is None:
            return
        duration = self.duration_s
        shortest = min(MIN_SELECTION_S, duration)
        end = duration if end_s is None else float(end_s)
        start, end = sorted((min(max(float(start_s), 0.0), duration), min(max(end, 0.0), duration)))
        if end - start < shortest:
            end = min(start + shortest, duration)
            start = end - shortest
        self._trim_start, self._trim_end = start, end
        self.waveform.set_region(start, end)
        self._show_selection(start, end)
        current = self.trim()
        if current != self._emitted_trim:
            self._emitted_trim = current
            self.player.stop()  # what was playing is no longer the selection
            self.trimChanged.emit(current[0], current[1])

    def reset_trim(self) -> None:
        self.set_trim(0.0, None)

    def _region_dragging(self, start: float, end: float) -> None:
        self._show_selection(start, end)

    def _show_selection(self, start: float, end: float) -> None:
        for spin, value in ((self.start_spin, start), (self.end_spin, end)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.selection_label.setText(f"selection {clock_text(end - start)}")

    # ---- playback ------------------------------------------------------------------------------
    def set_playhead(self, seconds: float) -> None:
        self.waveform.set_playhead(seconds)
        self.position_label.setText(clock_text(self.waveform.playhead_position()))

    def toggle_play(self) -> None:
        if self.player.playing:
            self.player.stop()
        else:
            self.play_selection()

    def play_selection(self) -> bool:
        if self.speech is None or self.recorder.is_recording:
            return False
        self.playback_status.setText("")
        return self.player.play(self._trim_start, self._trim_end)

    def _playing_changed(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaStop if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Stop" if playing else "Play")
        if not playing:
            self.set_playhead(self._trim_start)

    # ---- recording ---------------------------------------------------------------------------------
    def show_recorder(self, shown: bool = True) -> None:
        """Show or hide the recorder (the Record… button); it stays shown while a take is running."""
        shown = shown or self.recorder.is_recording
        self.record_box.setVisible(shown)
        if self.record_toggle.isChecked() != shown:
            self.record_toggle.setChecked(shown)

    def _recorder_state(self, state: str) -> None:
        if state == "recording":
            self.player.stop()
        self._update_controls()

    def _recorded(self, path: str) -> None:
        self.audioChosen.emit(path)
        self.open_audio(path)

    # ---- state -----------------------------------------------------------------------------------------
    def _show_message(self, text: str, role: QPalette.ColorRole = QPalette.ColorRole.WindowText) -> None:
        """The inline status line; errors and warnings take the theme's alert colours."""
        self.message_label.setForegroundRole(role)
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _update_controls(self) -> None:
        loading = self.decoder.busy
        has_audio = self.speech is not None
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)
        for widget in (self.start_spin, self.end_spin, self.reset_trim_button, self.zoom_in_button,
                       self.zoom_out_button, self.fit_button):
            widget.setEnabled(has_audio)
        self.play_button.setEnabled(has_audio and not self.recorder.is_recording)
        self.record_toggle.setEnabled(not self.recorder.is_recording)

    def shutdown(self) -> None:
        """Stop playback, finish a running take and end the background read (the window is closing)."""
        self.player.stop()
        self.recorder.shutdown()
        self._pending = None
        self.decoder.cancel()
        self.decoder.wait(10_000)
