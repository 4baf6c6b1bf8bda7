"""The recorder, driven through its stream callback with synthetic blocks (the path PortAudio drives),
including a recording process killed mid-way, and the 'recording unavailable' status."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dawn_studio.stages.audio import AudioError, decode_audio
from dawn_studio.stages.audio import recorder as recorder_module
from dawn_studio.stages.audio.recorder import (
    Recorder,
    RecorderState,
    RecordingUnavailable,
    recording_availability,
    repair_recording,
)

RATE = 48_000
BLOCK = 480  # 10 ms


class FakeStream:
    """Stands in for sounddevice.InputStream: the test calls the callback instead of the sound card."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.started = self.stopped = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def close(self):
        self.closed = True


class Flags:
    def __init__(self, input_overflow: bool = False):
        self.input_overflow = input_overflow

    def __bool__(self):
        return self.input_overflow


def block(index: int, amplitude: float = 0.5) -> np.ndarray:
    t = (np.arange(BLOCK) + index * BLOCK) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, None]


def new_recorder(path: Path, **kwargs) -> tuple[Recorder, list[FakeStream]]:
    streams: list[FakeStream] = []

    def factory(**stream_kwargs):
        streams.append(FakeStream(**stream_kwargs))
        return streams[-1]

    kwargs.setdefault("subtype", "FLOAT")
    return Recorder(path, sample_rate=RATE, stream_factory=factory, **kwargs), streams


def test_a_normal_recording_is_complete_and_valid(tmp_path):
    path = tmp_path / "take1.wav"
    recorder, streams = new_recorder(path)
    recorder.start()
    assert recorder.state is RecorderState.RECORDING
    stream = streams[0]
    assert stream.started and stream.kwargs["channels"] == 1 and stream.kwargs["samplerate"] == RATE
    for index in range(50):
        stream.kwargs["callback"](block(index), BLOCK, None, Flags())
    result = recorder.stop()
    assert stream.stopped and stream.closed and recorder.state is RecorderState.STOPPED
    assert result.frames == 50 * BLOCK and result.duration_s == pytest.approx(0.5)
    data, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    np.testing.assert_array_equal(data, np.concatenate([block(i) for i in range(50)])[:, 0])
    assert decode_audio(path).duration_s == pytest.approx(0.5)


def test_pause_resume_meter_and_overflows(tmp_path):
    recorder, streams = new_recorder(tmp_path / "take.wav")
    recorder.start()
    callback = streams[0].kwargs["callback"]
    callback(block(0, 0.25), BLOCK, None, Flags())
    reading = recorder.level()
    assert reading.peak == pytest.approx(0.25, abs=1e-3) and reading.rms == pytest.approx(0.25 / np.sqrt(2), rel=0.02)
    assert reading.peak_dbfs == pytest.approx(-12.04, abs=0.05) and not reading.clipped
    assert recorder.level().peak == 0.0  # peak is "since the last reading"
    recorder.pause()
    callback(block(1, 1.0), BLOCK, None, Flags(input_overflow=True))  # the meter keeps working while paused
    assert recorder.level().clipped and recorder.state is RecorderState.PAUSED
    recorder.resume()
    callback(block(2, 0.25), BLOCK, None, Flags())
    result = recorder.stop()
    assert result.frames == 2 * BLOCK and result.overflows == 1
    data, _ = sf.read(result.path, dtype="float32")
    np.testing.assert_array_equal(data, np.concatenate([block(0, 0.25), block(2, 0.25)])[:, 0])


def test_maximum_duration_guard(tmp_path):
    recorder, streams = new_recorder(tmp_path / "take.wav", max_duration_s=0.105)
    recorder.start()
    for index in range(20):
        streams[0].kwargs["callback"](block(index), BLOCK, None, Flags())
    assert recorder.state is RecorderState.LIMIT_REACHED
    assert recorder.recorded_s == pytest.approx(0.105)
    result = recorder.stop()
    assert result.limit_reached and result.frames == int(0.105 * RATE)
    assert sf.info(str(result.path)).frames == int(0.105 * RATE)


def test_recordings_never_overwrite_and_record_once(tmp_path):
    existing = tmp_path / "old.wav"
    existing.write_bytes(b"keep me")
    recorder, _ = new_recorder(existing)
    with pytest.raises(AudioError, match="already exists"):
        recorder.start()
    assert existing.read_bytes() == b"keep me"
    recorder, _ = new_recorder(tmp_path / "new.wav")
    recorder.start()
    recorder.stop()
    with pytest.raises(RuntimeError):
        recorder.start()
    with pytest.raises(ValueError, match="sample_rate"):
        Recorder(tmp_path / "x.wav", stream_factory=FakeStream)


def test_pcm_24_default_is_readable_by_the_decoder(tmp_path):
    recorder, streams = new_recorder(tmp_path / "take.wav", subtype="PCM_24")
    recorder.start()
    for index in range(10):
        streams[0].kwargs["callback"](block(index), BLOCK, None, Flags())
    recorder.stop()
    assert sf.info(str(tmp_path / "take.wav")).subtype == "PCM_24"
    data, _ = sf.read(tmp_path / "take.wav", dtype="float32")
    np.testing.assert_allclose(data, np.concatenate([block(i) for i in range(10)])[:, 0], atol=2 ** -22)


_KILLED_CHILD = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    from dawn_studio.stages.audio.recorder import Recorder

    class Stream:
        def __init__(self, callback, **kwargs):
            self.callback = callback
        def start(self):
            def sound_card():
                index = 0
                while True:  # 10-ms blocks of a known ramp, like a sound card would deliver
                    values = ((np.arange(480) + index * 480) % 30000 - 15000) / 32768
                    self.callback(values.astype(np.float32)[:, None], 480, None, None)
                    index += 1
                    time.sleep(0.002)
            threading.Thread(target=sound_card, daemon=True).start()
        def stop(self): pass
        def close(self): pass

    recorder = Recorder(sys.argv[1], sample_rate=48000, stream_factory=Stream, subtype="PCM_16")
    recorder.start()
    while recorder.frames_written < 48000:
        time.sleep(0.01)
    print(recorder.frames_written, flush=True)
    time.sleep(60)
""")


def test_a_killed_recording_leaves_a_readable_file(tmp_path):
    path = tmp_path / "crash.wav"
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, str(path)], cwd=root,
                             stdout=subprocess.PIPE, text=True)
    try:
        written = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    data, rate = sf.read(path, dtype="int16")
    assert rate == 48_000 and data.shape[0] >= written >= 48_000
    expected = (np.arange(data.shape[0]) % 30000 - 15000).astype(np.int16)
    np.testing.assert_array_equal(data, expected)  # nothing lost or garbled before the kill
    assert decode_audio(path).num_samples == pytest.approx(data.shape[0] / 3, abs=2)
    assert repair_recording(path) == data.shape[0]
    assert sf.info(str(path)).frames == data.shape[0]


# ---- availability -----------------------------------------------------------------------
@pytest.mark.parametrize("rescan", [False, True])
def test_availability_status_never_raises(rescan):
    status = recording_availability(rescan=rescan)
    if status.available:
        assert status.devices and status.status_text == "recording available"
    else:
        assert status.status_text.startswith("recording unavailable: ")
    assert recording_availability() == status, "restarting the audio system leaves it usable"


def test_missing_portaudio_gives_a_clear_status(monkeypatch):
    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    importlib.invalidate_caches()
    status = recording_availability()
    assert not status.available
    assert status.status_text.startswith("recording unavailable: the PortAudio library is not installed")
    with pytest.raises(RecordingUnavailable, match="PortAudio"):
        recorder_module.list_input_devices()


def test_without_an_input_device_start_says_recording_is_unavailable(tmp_path):
    if recording_availability().available:
        pytest.skip("this machine has an audio input")
    recorder = Recorder(tmp_path / "take.wav")
    with pytest.raises(RecordingUnavailable, match="^recording unavailable: "):
        recorder.start()
    assert not (tmp_path / "take.wav").exists()


def test_stereo_only_devices_are_mixed_to_mono(tmp_path):
    recorder, streams = new_recorder(tmp_path / "take.wav")
    recorder.start()
    left = block(0)
    streams[0].kwargs["callback"](np.concatenate([left, np.zeros_like(left)], axis=1), BLOCK, None, Flags())
    result = recorder.stop()
    data, _ = sf.read(result.path, dtype="float32")
    np.testing.assert_allclose(data, left[:, 0] / 2, atol=1e-7)


def test_a_vanished_device_still_leaves_a_finished_file(tmp_path):
    class UnpluggedStream(FakeStream):
        def stop(self):
            raise OSError("device unplugged")

    recorder = Recorder(tmp_path / "take.wav", sample_rate=RATE, stream_factory=UnpluggedStream, subtype="FLOAT")
    recorder.start()
    recorder.callback(block(0), BLOCK, None, Flags())
    result = recorder.stop()
    assert result.frames == BLOCK and recorder.stop() is result
    assert sf.info(str(result.path)).frames == BLOCK


def test_a_stream_that_cannot_start_leaves_no_file(tmp_path):
    class BusyStream(FakeStream):
        def start(self):
            raise RecordingUnavailable("recording unavailable: the device is busy")

    recorder = Recorder(tmp_path / "take.wav", sample_rate=RATE, stream_factory=BusyStream)
    with pytest.raises(RecordingUnavailable, match="busy"):
        recorder.start()
    assert recorder.state is RecorderState.FAILED and not (tmp_path / "take.wav").exists()
    with pytest.raises(RuntimeError, match="never started"):
        recorder.stop()
