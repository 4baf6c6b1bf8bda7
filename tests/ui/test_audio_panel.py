"""The Audio panel, driven offscreen: open/drop real files, waveform, trim, zoom, errors, playback logic
with a stand-in sound output, recording through the recorder's callback with synthetic blocks."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import av
import numpy as np
import PySide6
import pytest
import soundfile as sf
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent, QWheelEvent
from PySide6.QtMultimedia import QAudioFormat, QMediaDevices
from PySide6.QtWidgets import QApplication

from dawn_studio.stages.audio import InputDevice, Recorder, RecordingAvailability, RecordingUnavailable
from dawn_studio.ui.audio_panel import AudioPanel, PlaybackUnavailable, clock_text, encode_samples
from dawn_studio.ui.recorder_widget import elapsed_text, meter_value, new_recording_path

PYSIDE_LEAKS_NONE = PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12)
UNAVAILABLE = RecordingAvailability(False, "recording unavailable: no microphone or other audio input was found")
MIC = InputDevice(index=3, name="Test microphone", host_api="Fake API", channels=1, default_sample_rate=48_000,
                  is_default=True)
REC_RATE = 48_000
REC_BLOCK = 960  # 20 ms


def tone(seconds: float, rate: int, channels: int = 1, amplitude: float = 0.5, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def write_wav(path: Path, seconds: float = 2.0, rate: int = 44_100, channels: int = 2, **kwargs) -> Path:
    sf.write(path, tone(seconds, rate, channels, **kwargs), rate, subtype="PCM_16")
    return path


def write_video(path: Path, seconds: float = 1.0, with_audio: bool = True) -> Path:
    """A small MP4 (MPEG-4 video, AAC sound when asked)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        audio = container.add_stream("aac", rate=48_000, layout="mono") if with_audio else None
        for index in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), index * 8 % 256, np.uint8), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            samples = tone(seconds, 48_000)
            size = audio.codec_context.frame_size or 1024
            for start in range(0, samples.shape[0], size):
                chunk = samples[start:start + size][None, :]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 48_000, start
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    return path


def make_panel(qtbot, tmp_path, **kwargs) -> AudioPanel:
    kwargs.setdefault("recording_check", lambda: UNAVAILABLE)
    kwargs.setdefault("recordings_dir", tmp_path / "Recordings")
    panel = AudioPanel(**kwargs)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.recorder.availability is not None, timeout=5000)
    return panel


@pytest.fixture
def panel(qtbot, tmp_path):
    widget = make_panel(qtbot, tmp_path)
    yield widget
    widget.shutdown()


def load(panel: AudioPanel, qtbot, path: Path):
    with qtbot.waitSignal(panel.audioReady, timeout=15_000) as blocker:
        panel.open_audio(path)
    return blocker.args[0]


# ---- opening ----------------------------------------------------------------------------------------

def test_text_helpers():
    assert clock_text(0) == "0:00.00" and clock_text(61.257) == "1:01.26" and clock_text(3723.5) == "1:02:03.50"
    assert elapsed_text(65.43) == "1:05.4"
    assert meter_value(-80.0) == 0 and meter_value(0.0) == 1000 and meter_value(-30.0) == 500


def test_open_wav_shows_waveform_info_and_whole_selection(panel, qtbot, tmp_path):
    path = write_wav(tmp_path / "speech.wav", seconds=2.0, rate=44_100, channels=2, amplitude=0.5)
    loaded_path, speech = load(panel, qtbot, path)
    assert loaded_path == path and speech.audio.sample_rate == 16_000
    times, mins, maxs = panel.waveform.plotted_data()
    assert times.size >= 256 and times.size == mins.size == maxs.size
    assert times[0] == 0.0 and times[-1] == pytest.approx(2.0, abs=0.02)
    assert maxs.max() == pytest.approx(0.5, abs=0.02) and mins.min() == pytest.approx(-0.5, abs=0.02)
    info = panel.info_label.text()
    for part in ("0:02.00", "44100 Hz", "stereo", "pcm_s16le"):
        assert part in info
    assert panel.file_label.text() == "speech.wav"
    assert panel.trim() == (0.0, None)
    assert panel.waveform.region_bounds() == pytest.approx((0.0, 2.0))
    assert not panel.progress.isVisible() and not panel.cancel_button.isVisible()
    assert panel.message_label.text() == ""


def test_flac_and_the_sound_of_a_video(panel, qtbot, tmp_path):
    flac = tmp_path / "speech.flac"
    sf.write(flac, tone(1.0, 22_050), 22_050, format="FLAC")
    _, speech = load(panel, qtbot, flac)
    assert "flac" in panel.info_label.text() and "22050 Hz" in panel.info_label.text()
    assert "mono" in panel.info_label.text()
    video = write_video(tmp_path / "talk.mp4", seconds=1.0)
    _, speech = load(panel, qtbot, video)
    assert speech.audio.info.has_video
    assert "aac" in panel.info_label.text() and "sound of a video" in panel.info_label.text()
    assert panel.waveform.plotted_data()[2].max() == pytest.approx(0.5, abs=0.05)


def test_silent_file_shows_the_warning_inline(panel, qtbot, tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    _, speech = load(panel, qtbot, path)
    assert [w.code for w in speech.warnings] == ["silent"]
    assert "silent" in panel.message_label.text()


def test_not_an_audio_file_shows_the_error_and_keeps_the_previous_audio(panel, qtbot, tmp_path):
    good = load(panel, qtbot, write_wav(tmp_path / "good.wav"))[0]
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not sound\n" * 50)
    with qtbot.waitSignal(panel.audioFailed, timeout=10_000) as blocker:
        panel.open_audio(bad)
    message = blocker.args[0]
    assert "notes.wav" in message and "not a readable audio or video file" in message
    assert panel.message_label.text() == message
    assert panel.path == good and panel.file_label.text() == "good.wav"


def test_video_without_sound_gets_the_stage_message(panel, qtbot, tmp_path):
    video = write_video(tmp_path / "mute.mp4", with_audio=False)
    with qtbot.waitSignal(panel.audioFailed, timeout=10_000) as blocker:
        panel.open_audio(video)
    assert blocker.args[0].startswith("This video has no sound track: 'mute.mp4'")
    assert panel.speech is None and not panel.play_button.isEnabled()


# PySide6 6.12 marks the QPoint constructor deprecated in favour of QPointF, which older releases lack.
@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent.*deprecated:DeprecationWarning")
def test_drop_of_an_audio_file_via_mime_urls(panel, qtbot, tmp_path):
    path = write_wav(tmp_path / "dropped.wav", seconds=1.0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.audioChosen) as chosen, qtbot.waitSignal(panel.audioReady, timeout=10_000):
        QApplication.sendEvent(panel, drop)
    assert chosen.args == [str(path)] and panel.path == path

    text = tmp_path / "readme.txt"
    text.write_text("hello")
    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile(str(text))])
    refused = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, other, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, refused)
    assert not refused.isAccepted()


def test_event_loop_keeps_ticking_while_a_long_file_decodes(panel, qtbot, tmp_path):
    path = write_wav(tmp_path / "long.wav", seconds=240.0, rate=48_000, channels=2)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    started = time.monotonic()
    with qtbot.waitSignal(panel.audioReady, timeout=60_000):
        panel.open_audio(path)
        assert panel.loading and panel.progress.isVisible() and panel.cancel_button.isVisible()
    took = time.monotonic() - started
    timer.stop()
    assert took > 0.1
    assert len(ticks) >= 5
    gaps = np.diff([started, *ticks])
    assert gaps.max() < 0.5, f"the UI thread stalled for {gaps.max():.2f} s while decoding"
    assert panel.duration_s == pytest.approx(240.0, abs=0.01)


def test_a_newer_file_supersedes_the_one_being_read(panel, qtbot, tmp_path):
    long = write_wav(tmp_path / "long.wav", seconds=120.0, rate=48_000)
    short = write_wav(tmp_path / "short.wav", seconds=1.0)
    ready: list = []
    panel.audioReady.connect(ready.append)
    panel.open_audio(long)
    panel.open_audio(short)
    qtbot.waitUntil(lambda: bool(ready) and not panel.loading, timeout=30_000)
    qtbot.wait(50)
    assert [p for p, _ in ready] == [short]


def test_cancel_keeps_the_current_audio(panel, qtbot, tmp_path):
    first = load(panel, qtbot, write_wav(tmp_path / "first.wav", seconds=1.0))[0]
    long = write_wav(tmp_path / "long.wav", seconds=180.0, rate=48_000)
    with qtbot.waitSignal(panel.decoder.cancelled, timeout=30_000):
        panel.open_audio(long)
        panel.cancel_button.click()
    assert "cancelled" in panel.message_label.text() and "first.wav is still in use" in panel.message_label.text()
    assert panel.path == first and not panel.cancel_button.isVisible()
    panel.setFocus()
    with qtbot.waitSignal(panel.decoder.cancelled, timeout=30_000):
        panel.open_audio(long)
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert "cancelled" in panel.message_label.text() and "first.wav is still in use" in panel.message_label.text()
    assert panel.path == first and not panel.cancel_button.isVisible()


# ---- trim and zoom ---------------------------------------------------------------------------------

def _drag(widget, start: QPointF, end: QPointF) -> None:
    """A left-button drag as real mouse events (press, moves with the button held, release)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(widget, QMouseEvent(QEvent.Type.MouseButtonPress, start, widget.mapToGlobal(start),
                                               left, left, mods))
    steps = 8
    for i in range(1, steps + 1):
        point = start + (end - start) * (i / steps)
        QApplication.sendEvent(widget, QMouseEvent(QEvent.Type.MouseMove, point, widget.mapToGlobal(point),
                                                   none, left, mods))
    QApplication.sendEvent(widget, QMouseEvent(QEvent.Type.MouseButtonRelease, end, widget.mapToGlobal(end),
                                               left, none, mods))


def test_dragging_the_trim_edge_emits_trim_changed(panel, qtbot, tmp_path):
    load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=4.0))
    panel.set_trim(1.0, 3.0)
    qtbot.wait(50)
    plot = panel.waveform.plot
    view_box = panel.waveform.view_box

    def to_viewport(seconds: float) -> QPointF:
        scene = view_box.mapViewToScene(QPointF(seconds, 0.0))
        return QPointF(plot.mapFromScene(scene))

    with qtbot.waitSignal(panel.trimChanged, timeout=3000) as blocker:
        _drag(plot.viewport(), to_viewport(1.0), to_viewport(2.0))
    start, end = blocker.args
    assert start == pytest.approx(2.0, abs=0.1) and end == pytest.approx(3.0, abs=1e-6)
    assert panel.start_spin.value() == pytest.approx(start, abs=0.01)
    assert panel.trim() == pytest.approx((start, 3.0), abs=0.01)


def test_set_trim_clamps_to_the_clip(panel, qtbot, tmp_path):
    load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=2.0))
    emitted: list = []
    panel.trimChanged.connect(lambda s, e: emitted.append((s, e)))
    panel.set_trim(-1.0, 99.0)
    assert panel.trim() == (0.0, None) and emitted == []  # unchanged: whole clip already selected
    panel.set_trim(1.5, 0.5)
    assert panel.trim() == pytest.approx((0.5, 1.5)) and emitted[-1] == pytest.approx((0.5, 1.5))
    assert panel.waveform.region_bounds() == pytest.approx((0.5, 1.5))
    panel.set_trim(1.99, 1.99)  # shorter than a video frame: widened, still inside the clip
    start, end = panel.trim()
    assert end is None and start == pytest.approx(1.96)
    panel.end_spin.setValue(1.0)  # typing a new end before the start swaps them
    assert panel.trim() == pytest.approx((1.0, 1.96))
    panel.reset_trim_button.click()
    assert panel.trim() == (0.0, None) and emitted[-1] == (0.0, None)


def test_zoom_recomputes_the_envelope_for_the_visible_range(panel, qtbot, tmp_path):
    load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=8.0))
    waveform = panel.waveform
    assert waveform.plotted_data()[0][-1] == pytest.approx(8.0, abs=0.05)
    count = waveform.redraw_count
    panel.zoom_in_button.click()
    panel.zoom_in_button.click()
    qtbot.waitUntil(lambda: waveform.redraw_count > count, timeout=3000)
    x0, x1 = waveform.visible_range()
    assert x1 - x0 == pytest.approx(2.0, rel=0.01)
    times = waveform.plotted_data()[0]
    assert times[0] >= x0 - 1e-6 and times[-1] <= x1 and times[-1] - times[0] == pytest.approx(2.0, rel=0.02)
    waveform.set_visible_range(1.0, 1.02)  # 320 samples at 16 kHz: exact, from the samples
    qtbot.waitUntil(lambda: waveform.plotted_data()[0][-1] < 1.03, timeout=3000)
    envelope = waveform.current_envelope
    samples = panel.speech.audio.samples
    assert envelope.starts[0] == 16_000 and len(envelope) <= 320
    assert envelope.maxs[0] == samples[envelope.starts[0]:envelope.starts[1]].max()
    panel.fit_button.click()
    qtbot.waitUntil(lambda: waveform.plotted_data()[0][-1] > 7.9, timeout=3000)
    assert waveform.visible_range() == pytest.approx((0.0, 8.0), abs=1e-6)


def test_mouse_wheel_and_keys_zoom(panel, qtbot, tmp_path):
    load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=8.0))
    waveform = panel.waveform
    viewport = waveform.plot.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    wheel = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    x0, x1 = waveform.visible_range()
    assert x1 - x0 < 7.0 and 0.0 <= x0 < 4.0 < x1 <= 8.0
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_0)
    assert waveform.visible_range() == pytest.approx((0.0, 8.0), abs=1e-6)
    qtbot.keyClick(panel, Qt.Key.Key_Plus)
    assert waveform.visible_range() == pytest.approx((2.0, 6.0), abs=1e-6)
    qtbot.keyClick(panel, Qt.Key.Key_Minus)
    assert waveform.visible_range() == pytest.approx((0.0, 8.0), abs=1e-6)


# ---- playback ------------------------------------------------------------------------------------------

class FakeSink:
    """Stands in for QAudioSink: the test decides how much has been played."""

    def __init__(self, fmt: QAudioFormat):
        from PySide6.QtMultimedia import QtAudio

        self.audio = QtAudio
        self.format = fmt
        self.device = None
        self.processed_us = 0
        self.idle = False
        self.stopped = False

    def start(self, device):
        self.device = device

    def stop(self):
        self.stopped = True

    def state(self):
        return self.audio.State.IdleState if self.idle else self.audio.State.ActiveState

    def error(self):
        return self.audio.Error.NoError

    def processedUSecs(self):  # noqa: N802 (Qt API)
        return self.processed_us


def fake_sink_factory(sinks: list[FakeSink], rate: int | None = None, channels: int = 1,
                      sample_format=QAudioFormat.SampleFormat.Float):
    def factory(signal_rate, _parent):
        fmt = QAudioFormat()
        fmt.setSampleRate(rate or signal_rate)
        fmt.setChannelCount(channels)
        fmt.setSampleFormat(sample_format)
        sinks.append(FakeSink(fmt))
        return sinks[-1], fmt
    return factory


def test_playback_without_a_sound_device_says_so(panel, qtbot, tmp_path):
    if not QMediaDevices.defaultAudioOutput().isNull():
        pytest.skip("this machine has a sound output")
    load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=1.0))
    panel.play_button.click()
    assert not panel.player.playing
    assert panel.playback_status.text().startswith("playback unavailable:")
    assert panel.play_button.text() == "Play"


def test_playback_streams_the_selection_moves_the_playhead_and_stops_at_the_end(qtbot, tmp_path):
    sinks: list[FakeSink] = []
    panel = make_panel(qtbot, tmp_path, sink_factory=fake_sink_factory(sinks))
    try:
        _, speech = load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=2.0))
        panel.set_trim(0.5, 1.0)
        playing: list[bool] = []
        panel.player.playingChanged.connect(playing.append)
        panel.setFocus()
        qtbot.keyClick(panel, Qt.Key.Key_Space)  # Space toggles playback when the panel has focus
        assert panel.player.playing and playing == [True] and panel.play_button.text() == "Stop"
        sink = sinks[-1]
        data = b""
        while chunk := bytes(sink.device.read(4096)):
            data += chunk
        played = np.frombuffer(data, "<f4")
        np.testing.assert_array_equal(played, speech.audio.samples[8000:16000])
        sink.processed_us = 250_000
        qtbot.waitUntil(lambda: panel.waveform.playhead_position() == pytest.approx(0.75), timeout=2000)
        assert panel.position_label.text() == "0:00.75"
        sink.processed_us = 500_000  # all of it is in the device's buffer, not yet out of the loudspeaker
        qtbot.wait(100)
        assert panel.player.playing and panel.waveform.playhead_position() == pytest.approx(1.0)
        sink.idle = True  # played dry: the selection is over
        qtbot.waitUntil(lambda: not panel.player.playing, timeout=2000)
        assert playing == [True, False] and sink.stopped
        assert panel.waveform.playhead_position() == pytest.approx(0.5)  # back at the start of the selection
        panel.toggle_play()
        assert panel.player.playing
        panel.toggle_play()  # stop before the end
        assert not panel.player.playing and sinks[-1].stopped
        panel.toggle_play()
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
        assert not panel.player.playing
        panel.toggle_play()
        panel.set_trim(0.2, 0.6)  # a new selection stops what was playing
        assert not panel.player.playing and panel.waveform.playhead_position() == pytest.approx(0.2)
    finally:
        panel.shutdown()


def test_playback_converts_to_the_device_format(qtbot, tmp_path):
    sinks: list[FakeSink] = []
    panel = make_panel(qtbot, tmp_path, sink_factory=fake_sink_factory(
        sinks, rate=48_000, channels=2, sample_format=QAudioFormat.SampleFormat.Int16))
    try:
        _, speech = load(panel, qtbot, write_wav(tmp_path / "speech.wav", seconds=1.0))
        panel.set_trim(0.25, 0.75)
        assert panel.play_selection()
        data = b""
        while chunk := bytes(sinks[-1].device.read(10_000)):
            data += chunk
        frames = np.frombuffer(data, "<i2").reshape(-1, 2)
        assert frames.shape[0] == 24_000 and np.array_equal(frames[:, 0], frames[:, 1])
        expected = speech.audio.samples[4000:12000]
        np.testing.assert_allclose(frames[::3, 0] / 32767.0, expected, atol=2e-4)
    finally:
        panel.shutdown()


def test_sample_encoding():
    mono = np.array([-1.5, -1.0, 0.0, 0.5, 1.0], np.float32)
    assert np.frombuffer(encode_samples(mono, 1, QAudioFormat.SampleFormat.Int16), "<i2").tolist() == \
        [-32767, -32767, 0, 16383, 32767]
    assert np.frombuffer(encode_samples(mono, 2, QAudioFormat.SampleFormat.UInt8), np.uint8).tolist() == \
        [1, 1, 1, 1, 128, 128, 191, 191, 255, 255]
    assert issubclass(PlaybackUnavailable, RuntimeError)


# ---- recording -----------------------------------------------------------------------------------------

class FakeStream:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.started = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        pass

    def close(self):
        self.closed = True


def recording_panel(qtbot, tmp_path, streams: list[FakeStream], max_duration_s: float = 60.0,
                    refuse: bool = False) -> AudioPanel:
    def stream_factory(**kwargs):
        if refuse:
            raise RecordingUnavailable("recording unavailable: the input device could not be opened (busy)")
        streams.append(FakeStream(**kwargs))
        return streams[-1]

    def recorder_factory(path: Path, device: int | None) -> Recorder:
        return Recorder(path, device=device, sample_rate=REC_RATE, stream_factory=stream_factory,
                        max_duration_s=max_duration_s)

    available = RecordingAvailability(True, "", (MIC,))
    return make_panel(qtbot, tmp_path, recorder_factory=recorder_factory, recording_check=lambda: available)


def feed(qtbot, stream: FakeStream, blocks: int, first: int = 0, amplitude: float = 0.5) -> None:
    """Synthetic sine blocks through the callback, in real time-ish so the meter timer runs in between."""
    for index in range(first, first + blocks):
        t = (np.arange(REC_BLOCK) + index * REC_BLOCK) / REC_RATE
        block = (amplitude * np.sin(2 * np.pi * 330 * t)).astype(np.float32)[:, None]
        stream.kwargs["callback"](block, REC_BLOCK, None, None)
        if index % 5 == 4:
            qtbot.wait(20)


def test_recording_meters_counts_and_opens_the_take(qtbot, tmp_path):
    streams: list[FakeStream] = []
    panel = recording_panel(qtbot, tmp_path, streams)
    recorder = panel.recorder
    try:
        assert recorder.record_button.isEnabled() and not recorder.stop_button.isEnabled()
        assert recorder.device_combo.currentText().startswith("Test microphone (Fake API)")
        assert recorder.status_label.text() == "Ready to record."
        recorder.record_button.click()
        stream = streams[0]
        assert stream.started and stream.kwargs["device"] == 3 and stream.kwargs["samplerate"] == REC_RATE
        assert not recorder.record_button.isEnabled() and recorder.stop_button.isEnabled()
        assert not panel.play_button.isEnabled()
        levels: list[int] = []
        recorder.meter.valueChanged.connect(levels.append)
        feed(qtbot, stream, 50)  # 1 s
        qtbot.waitUntil(lambda: recorder.elapsed_label.text() == "0:01.0", timeout=2000)
        assert max(levels) == meter_value(20 * np.log10(0.5))

        recorder.pause_button.click()  # paused: the meter still moves, the take does not grow
        assert recorder.pause_button.text() == "Resume"
        feed(qtbot, stream, 25, first=50)
        qtbot.wait(80)
        assert recorder.elapsed_label.text() == "0:01.0"
        recorder.pause_button.click()
        feed(qtbot, stream, 25, first=75)  # 0.5 s more
        qtbot.waitUntil(lambda: recorder.elapsed_label.text() == "0:01.5", timeout=2000)

        with qtbot.waitSignal(panel.audioChosen) as chosen, \
                qtbot.waitSignal(panel.audioReady, timeout=10_000) as ready:
            recorder.stop_button.click()
        path = Path(chosen.args[0])
        assert path.parent == tmp_path / "Recordings" and path.name.startswith("Recording ")
        info = sf.info(str(path))
        assert info.format == "WAV" and info.samplerate == REC_RATE and info.frames == 75 * REC_BLOCK
        assert ready.args[0][0] == path and panel.duration_s == pytest.approx(1.5, abs=1e-3)
        assert stream.closed and recorder.record_button.isEnabled() and recorder.meter.value() == 0
        assert "Saved" in recorder.status_label.text()
    finally:
        panel.shutdown()


def test_the_length_limit_finishes_the_take(qtbot, tmp_path):
    streams: list[FakeStream] = []
    panel = recording_panel(qtbot, tmp_path, streams, max_duration_s=0.5)
    try:
        panel.recorder.record_button.click()
        with qtbot.waitSignal(panel.audioReady, timeout=10_000) as ready:
            feed(qtbot, streams[0], 50)
        assert panel.duration_s == pytest.approx(0.5, abs=1e-3) and not panel.recorder.is_recording
        assert "maximum length" in panel.recorder.status_label.text()
        assert sf.info(str(ready.args[0][0])).frames == REC_RATE // 2
    finally:
        panel.shutdown()


def test_a_device_that_refuses_to_open_is_reported(qtbot, tmp_path):
    panel = recording_panel(qtbot, tmp_path, [], refuse=True)
    try:
        with qtbot.waitSignal(panel.recorder.recordingFailed) as failed:
            panel.recorder.record_button.click()
        assert failed.args[0].startswith("recording unavailable: the input device could not be opened")
        assert panel.recorder.status_label.text() == failed.args[0]
        assert not panel.recorder.is_recording and panel.recorder.record_button.isEnabled()
        assert list((tmp_path / "Recordings").iterdir()) == []  # no empty file left behind
    finally:
        panel.shutdown()


def test_unavailable_recording_disables_the_controls_and_says_why(panel):
    recorder = panel.recorder
    assert not recorder.record_button.isEnabled()
    assert not recorder.pause_button.isEnabled() and not recorder.stop_button.isEnabled()
    assert recorder.status_label.text() == UNAVAILABLE.status_text
    assert recorder.record_button.toolTip() == UNAVAILABLE.status_text
    recorder.start_recording()  # ignored, nothing breaks
    assert not recorder.is_recording


def test_recording_names_never_overwrite(tmp_path):
    now = time.struct_time((2026, 1, 2, 3, 4, 5, 0, 1, -1))
    first = new_recording_path(tmp_path, now)
    assert first.name == "Recording 2026-01-02 03-04-05.wav"
    first.write_bytes(b"x")
    assert new_recording_path(tmp_path, now).name == "Recording 2026-01-02 03-04-05 (2).wav"


@pytest.mark.skipif(
    PYSIDE_LEAKS_NONE,
    reason="PySide6 6.12.0 on Python < 3.12 drops a reference to None/True on every void Qt call (it assumes "
    "immortal singletons); deleting one more widget tips this test process into a fatal refcount error at exit",
)
def test_a_panel_closed_during_the_microphone_search_does_not_crash(qtbot, tmp_path):
    def slow_check():
        time.sleep(0.3)
        return UNAVAILABLE

    panel = AudioPanel(recording_check=slow_check, recordings_dir=tmp_path)
    panel.show()
    assert panel.recorder.searching and not panel.recorder.record_button.isEnabled()
    assert panel.recorder.status_label.text() == "Looking for microphones…"
    panel.close()
    panel.deleteLater()
    del panel
    qtbot.wait(600)  # the search ends after its widget is gone: the answer is dropped quietly


def test_the_microphone_list_follows_inputs_plugged_in_and_out(qtbot, tmp_path):
    def device(index, name, default=False):
        return InputDevice(index=index, name=name, host_api="Fake API", channels=1, default_sample_rate=48_000,
                           is_default=default)

    devices = [device(0, "Built-in microphone", default=True), device(1, "USB headset")]
    calls = []

    def check():
        calls.append(len(devices))
        return RecordingAvailability(True, "", tuple(devices)) if devices else UNAVAILABLE

    panel = make_panel(qtbot, tmp_path, recording_check=check)
    recorder = panel.recorder
    try:
        assert recorder.device_combo.count() == 2
        recorder.device_combo.setCurrentIndex(1)
        assert recorder.selected_device() == 1

        # A new input appears ahead of the others: every device number shifts.
        devices[:] = [device(0, "Studio interface"), device(1, "Built-in microphone", default=True),
                      device(2, "USB headset")]
        recorder.media_devices.audioInputsChanged.emit()
        qtbot.waitUntil(lambda: recorder.device_combo.count() == 3, timeout=5000)
        assert recorder.device_combo.currentText().startswith("USB headset"), "the chosen input stays chosen"
        assert recorder.selected_device() == 2

        # The chosen input is unplugged: the list drops it and recording uses another.
        devices[:] = [device(0, "Built-in microphone", default=True)]
        recorder.media_devices.audioInputsChanged.emit()
        qtbot.waitUntil(lambda: recorder.device_combo.count() == 1, timeout=5000)
        assert recorder.selected_device() == 0 and recorder.record_button.isEnabled()

        devices.clear()
        recorder.media_devices.audioInputsChanged.emit()
        qtbot.waitUntil(lambda: recorder.device_combo.count() == 0, timeout=5000)
        assert not recorder.record_button.isEnabled() and "no microphone" in recorder.status_label.text()
    finally:
        panel.shutdown()
