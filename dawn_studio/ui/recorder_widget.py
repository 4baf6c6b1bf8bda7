"""Record a voice-over in the app: microphone choice, Record / Pause / Stop, level meter, elapsed time.

The sound card's thread only feeds the ``Recorder``; this widget reads its meter and length on a
20-Hz timer, so the UI never waits on the device. Looking for devices (PortAudio can take a
moment) runs on a background thread. Each take goes to a new timestamped WAV in the Recordings folder
and is never overwritten.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..paths import user_data_dir
from ..stages.audio import AudioError, Recorder, RecorderState, RecordingAvailability, recording_availability

log = logging.getLogger(__name__)

METER_INTERVAL_MS = 50  # 20 Hz
SEARCH_POLL_MS = 40
METER_FLOOR_DBFS = -60.0
CLIP_HOLD_S = 1.5
RecorderFactory = Callable[[Path, int | None], Recorder]


def recordings_folder() -> Path:
    """Where takes recorded in the app are kept."""
    return user_data_dir() / "Recordings"


def new_recording_path(folder: Path, now: time.struct_time | None = None) -> Path:
    """A timestamped file name in ``folder`` that does not exist yet."""
    stamp = time.strftime("%Y-%m-%d %H-%M-%S", now or time.localtime())
    candidate = folder / f"Recording {stamp}.wav"
    number = 2
    while candidate.exists():
        candidate = folder / f"Recording {stamp} ({number}).wav"
        number += 1
    return candidate


def elapsed_text(seconds: float) -> str:
    """``m:ss.t`` (``h:mm:ss.t`` past an hour)."""
    tenths = int(max(0.0, seconds) * 10)
    whole, tenth = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}.{tenth}" if hours else f"{minutes}:{secs:02d}.{tenth}"


def meter_value(dbfs_level: float) -> int:
    """A level in dBFS as 0–1000 on the meter (−60 dBFS and below = empty)."""
    share = (dbfs_level - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
    return int(round(1000 * min(max(share, 0.0), 1.0)))


def find_inputs() -> RecordingAvailability:
    """The inputs now, inputs plugged in since the start included (the audio system is asked afresh)."""
    return recording_availability(rescan=True)


_DEVICE_KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # which device an entry is, across rescans


def _default_recorder(path: Path, device: int | None) -> Recorder:
    return Recorder(path, device=device)


class _DeviceSearch:
    """Asks the audio system for inputs on a plain daemon thread that touches no Qt object, so it may
    outlive a widget closed meanwhile; the widget polls ``result`` from a timer."""

    def __init__(self, check: Callable[[], RecordingAvailability]) -> None:
        self.result: RecordingAvailability | None = None
        self._check = check
        self._thread = threading.Thread(target=self._run, name="microphone-search", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._check()
        except Exception as exc:  # the check should never raise; if it does, say so instead of hanging
            log.exception("looking for microphones failed")
            self.result = RecordingAvailability(False, f"recording unavailable: {exc}")


class RecorderWidget(QWidget):
    """Recording controls. ``recordingFinished(path)`` when a take was saved, ``recordingFailed(msg)``
    when the device or the disk failed."""

    recordingFinished = Signal(str)
    recordingFailed = Signal(str)
    stateChanged = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, recorder_factory: RecorderFactory | None = None,
        availability: Callable[[], RecordingAvailability] = find_inputs,
        folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.recorder_factory = recorder_factory or _default_recorder
        self.availability_check = availability
        self.folder = folder
        self.availability: RecordingAvailability | None = None
        self.recorder: Recorder | None = None
        self._clip_until = 0.0

        style = self.style()
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("The microphone to record from")
        self.device_combo.setMinimumContentsLength(16)
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.refresh_button = QToolButton()
        self.refresh_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.refresh_button.setToolTip("Look for microphones again")
        self.refresh_button.clicked.connect(self.refresh_devices)
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip("Record a new take from the chosen microphone")
        self.record_button.clicked.connect(self.start_recording)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause and resume the take")
        self.pause_button.toggled.connect(self._pause_toggled)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish the take and use it as the speech")
        self.stop_button.clicked.connect(self.stop_recording)
        self.meter = QProgressBar()
        self.meter.setRange(0, 1000)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(10)
        self.meter.setToolTip("Input level (peak, −60 to 0 dBFS)")
        self.meter.setAccessibleName("Input level")
        self.clip_label = QLabel("")
        self.clip_label.setToolTip("The input reached full scale: lower the microphone gain")
        self.elapsed_label = QLabel(elapsed_text(0.0))
        self.elapsed_label.setToolTip("Length of the take")
        self.status_label = QLabel("Looking for microphones…")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        row = QHBoxLayout()
        row.addWidget(self.device_combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.record_button)
        row.addWidget(self.pause_button)
        row.addWidget(self.stop_button)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.clip_label)
        meter_row.addWidget(self.elapsed_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(meter_row)
        layout.addWidget(self.status_label)

        self.meter_timer = QTimer(self)
        self.meter_timer.setInterval(METER_INTERVAL_MS)
        self.meter_timer.timeout.connect(self._tick)
        self._search: _DeviceSearch | None = None
        self._search_timer = QTimer(self)
        self._search_timer.setInterval(SEARCH_POLL_MS)
        self._search_timer.timeout.connect(self._poll_search)
        self._update_controls()
        self._search_again = False  # inputs changed while a search or a take ran: look again afterwards
        #: Qt tells when an input appears or goes away; the list follows without a restart.
        self.media_devices = QMediaDevices(self)
        self.media_devices.audioInputsChanged.connect(self._inputs_changed)
        self.refresh_devices()

    # ---- devices ------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self.recorder is not None

    @property
    def available(self) -> bool:
        return self.availability is not None and self.availability.available

    @property
    def searching(self) -> bool:
        return self._search is not None

    def refresh_devices(self) -> None:
        """Ask the audio system for inputs in the background."""
        if self.searching or self.is_recording:
            return
        self.status_label.setText("Looking for microphones…")
        self._search = _DeviceSearch(self.availability_check)
        self._search_timer.start()
        self._update_controls()

    def _inputs_changed(self) -> None:
        if self.searching or self.is_recording:
            self._search_again = True
            return
        self.refresh_devices()

    def _poll_search(self) -> None:
        if self._search is not None and self._search.result is not None:
            self._devices_found(self._search.result)

    def _devices_found(self, availability: RecordingAvailability) -> None:
        self._search = None
        self._search_timer.stop()
        self.availability = availability
        # Device numbers shift when a device comes or goes: the choice is kept by name and host API.
        previous = self.device_combo.currentData(_DEVICE_KEY_ROLE)
        self.device_combo.clear()
        for device in availability.devices:
            label = device.label + ("  (default)" if device.is_default else "")
            self.device_combo.addItem(label, device.index)
            self.device_combo.setItemData(self.device_combo.count() - 1, device.label, _DEVICE_KEY_ROLE)
        if previous is not None and (index := self.device_combo.findData(previous, _DEVICE_KEY_ROLE)) >= 0:
            self.device_combo.setCurrentIndex(index)
        if availability.available:
            self.status_label.setText("Ready to record.")
            self.setToolTip("")
        else:
            self.status_label.setText(availability.status_text)
            self.setToolTip(availability.status_text)
        self._update_controls()
        self._maybe_search_again()

    def _maybe_search_again(self) -> None:
        if self._search_again and not self.searching and not self.is_recording:
            self._search_again = False
            self.refresh_devices()

    def selected_device(self) -> int | None:
        data = self.device_combo.currentData()
        return int(data) if data is not None else None

    # ---- recording ------------------------------------------------------------------
    def start_recording(self) -> None:
        if self.is_recording or not self.available:
            return
        folder = self.folder or recordings_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            recorder = self.recorder_factory(new_recording_path(folder), self.selected_device())
            recorder.start()
        except (AudioError, OSError) as exc:
            self._fail(str(exc))
            return
        self.recorder = recorder
        self._clip_until = 0.0
        self.status_label.setText(f"Recording to {recorder.path.name}")
        self.meter_timer.start()
        self._update_controls()
        self.stateChanged.emit("recording")

    def _pause_toggled(self, paused: bool) -> None:
        if self.recorder is None:
            return
        if paused:
            self.recorder.pause()
            self.status_label.setText("Paused: Resume to go on with the same take")
        else:
            self.recorder.resume()
            self.status_label.setText(f"Recording to {self.recorder.path.name}")
        self.pause_button.setText("Resume" if paused else "Pause")
        self.stateChanged.emit("paused" if paused else "recording")

    def pause_recording(self) -> None:
        if self.recorder is not None:
            self.pause_button.setChecked(True)

    def resume_recording(self) -> None:
        if self.recorder is not None:
            self.pause_button.setChecked(False)

    def stop_recording(self) -> None:
        """Finish the file; a take with sound in it is announced with recordingFinished."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        self.meter_timer.stop()
        self._reset_transport()
        try:
            result = recorder.stop()
        except AudioError as exc:
            self._fail(str(exc))
            return
        self.stateChanged.emit("stopped")
        self._maybe_search_again()
        if result.frames == 0:
            result.path.unlink(missing_ok=True)
            self.status_label.setText("Nothing was recorded.")
            return
        note = " (the maximum length was reached)" if result.limit_reached else ""
        lost = f"; {result.overflows} block(s) of sound were lost, the computer was too busy" \
            if result.overflows else ""
        self.status_label.setText(f"Saved {result.path.name}, {elapsed_text(result.duration_s)}{note}{lost}")
        self.recordingFinished.emit(str(result.path))

    def _tick(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        reading = recorder.level()
        self.meter.setValue(meter_value(reading.peak_dbfs))
        now = time.monotonic()
        if reading.clipped:
            self._clip_until = now + CLIP_HOLD_S
        self.clip_label.setText("CLIP" if now < self._clip_until else "")
        self.elapsed_label.setText(elapsed_text(recorder.recorded_s))
        state = recorder.state
        if state is RecorderState.LIMIT_REACHED or state is RecorderState.FAILED:
            self.stop_recording()

    def _fail(self, message: str) -> None:
        log.warning("recording failed: %s", message)
        self.status_label.setText(message)
        self._update_controls()
        self.stateChanged.emit("failed")
        self.recordingFailed.emit(message)

    def _reset_transport(self) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)
        self.meter.setValue(0)
        self.clip_label.setText("")
        self._update_controls()

    def _update_controls(self) -> None:
        recording = self.is_recording
        ready = self.available and not self.searching
        self.device_combo.setEnabled(ready and not recording and self.device_combo.count() > 0)
        self.refresh_button.setEnabled(not recording and not self.searching)
        self.record_button.setEnabled(ready and not recording)
        self.pause_button.setEnabled(recording)
        self.stop_button.setEnabled(recording)
        reason = "" if self.available or self.availability is None else self.availability.status_text
        self.device_combo.setToolTip(reason or "The microphone to record from")
        self.record_button.setToolTip(reason or "Record a new take from the chosen microphone")

    def shutdown(self) -> None:
        """Finish a running take (the window is closing)."""
        if self.recorder is not None:
            self.stop_recording()
