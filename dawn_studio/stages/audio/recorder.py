"""Record a voice-over from a microphone straight into a WAV file (sounddevice + soundfile, no Qt).

The sound card's callback only copies each block into a queue and updates the level meter; a
writer thread appends the blocks to the WAV file and syncs it to disk every half second. If the
app dies, the file holds everything up to the last sync and stays readable: libsndfile and
FFmpeg both read a WAV whose header was never finalised to its end (its data length field is
still 0), and ``repair_recording`` rewrites such a file with a proper header.

Without PortAudio or without an input device, ``recording_availability()`` says why in a
"recording unavailable: …" status instead of raising from deep inside the audio library.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .errors import AudioError
from .levels import BlockLevel, block_level

DEFAULT_MAX_DURATION_S = 30 * 60.0
DEFAULT_SUBTYPE = "PCM_24"
_FLUSH_INTERVAL_S = 0.5


class RecordingUnavailable(AudioError):
    """No way to record here (no PortAudio, no input device, device busy); the message starts with
    'recording unavailable:'."""


def _sounddevice() -> Any:
    """The sounddevice module, imported only when recording is wanted (it needs the PortAudio library)."""
    try:
        import sounddevice
    except OSError as exc:
        raise RecordingUnavailable(
            "recording unavailable: the PortAudio library is not installed "
            "(on Debian/Ubuntu: sudo apt-get install libportaudio2)"
        ) from exc
    except ImportError as exc:
        raise RecordingUnavailable("recording unavailable: the 'sounddevice' package is missing") from exc
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    """A microphone or line input as PortAudio lists it."""

    index: int
    name: str
    host_api: str
    channels: int
    default_sample_rate: int
    is_default: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.host_api})"


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel, the system default first."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_input = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise RecordingUnavailable(f"recording unavailable: the audio system cannot be queried ({exc})") from exc
    found = [
        InputDevice(
            index=int(dev["index"]), name=str(dev["name"]), host_api=str(apis[dev["hostapi"]]["name"]),
            channels=int(dev["max_input_channels"]), default_sample_rate=int(round(dev["default_samplerate"])),
            is_default=int(dev["index"]) == default_input,
        )
        for dev in devices if dev["max_input_channels"] > 0
    ]
    return sorted(found, key=lambda d: (not d.is_default, d.index))


@dataclass(frozen=True)
class RecordingAvailability:
    available: bool
    reason: str
    devices: tuple[InputDevice, ...] = ()

    @property
    def status_text(self) -> str:
        return "recording available" if self.available else self.reason


def rescan_audio_devices() -> None:
    """PortAudio lists the devices once, when it starts: restart it so that an input plugged in (or
    removed) since then shows. Only while no stream is open (the caller never rescans while recording)."""
    sd = _sounddevice()
    try:
        # sounddevice has no public call for this; restarting PortAudio is its documented way to rescan.
        sd._terminate()
        sd._initialize()
    except sd.PortAudioError as exc:
        raise RecordingUnavailable(f"recording unavailable: the audio system cannot be restarted ({exc})") from exc


def recording_availability(rescan: bool = False) -> RecordingAvailability:
    """Can this machine record? Never raises; the reason is ready to show. ``rescan`` looks for devices
    added or removed since the audio system started."""
    try:
        if rescan:
            rescan_audio_devices()
        devices = list_input_devices()
    except RecordingUnavailable as exc:
        return RecordingAvailability(False, str(exc))
    if not devices:
        return RecordingAvailability(False, "recording unavailable: no microphone or other audio input was found")
    return RecordingAvailability(True, "", tuple(devices))


class RecorderState(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PAUSED = "paused"
    LIMIT_REACHED = "limit reached"  # stopped accepting sound; call stop() to finish the file
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class MeterReading(BlockLevel):
    """Level since the previous reading: the highest peak and the RMS of the latest block."""

    clipped: bool = False


@dataclass(frozen=True)
class RecordingResult:
    path: Path
    sample_rate: int
    frames: int
    overflows: int
    limit_reached: bool

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


StreamFactory = Callable[..., Any]


class Recorder:
    """One recording session into a new WAV file: start → (pause ↔ resume)* → stop.

    ``device`` is a PortAudio device index or name (None = system default); ``sample_rate`` None
    means the device's own rate. ``stream_factory`` builds the input stream (default
    ``sounddevice.InputStream``; tests pass a stand-in and call ``callback`` with synthetic blocks).
    """

    def __init__(
        self, path: str | Path, *, device: int | str | None = None, sample_rate: int | None = None,
        max_duration_s: float = DEFAULT_MAX_DURATION_S, subtype: str = DEFAULT_SUBTYPE,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        if max_duration_s <= 0:
            raise ValueError("max_duration_s must be positive")
        if stream_factory is not None and sample_rate is None:
            raise ValueError("a custom stream factory needs an explicit sample_rate")
        self.path = Path(path)
        self.device = device
        self.max_duration_s = float(max_duration_s)
        self.subtype = subtype
        self._stream_factory = stream_factory
        self._requested_rate = sample_rate
        self.sample_rate = 0
        self._state = RecorderState.IDLE
        self._lock = threading.Lock()
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._stream: Any = None
        self._file: sf.SoundFile | None = None
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self._accepted = 0  # frames queued for the file
        self._written = 0  # frames in the file
        self._max_frames = 0
        self._overflows = 0
        self._peak_since_read = 0.0
        self._last_level = BlockLevel(0.0, 0.0)
        self._started = False
        self._result: RecordingResult | None = None

    # ---- state ------------------------------------------------------------------
    @property
    def state(self) -> RecorderState:
        if self._writer_error is not None:
            return RecorderState.FAILED
        return self._state

    @property
    def recorded_s(self) -> float:
        """Seconds of sound accepted so far (paused time excluded)."""
        return self._accepted / self.sample_rate if self.sample_rate else 0.0

    @property
    def frames_written(self) -> int:
        return self._written

    @property
    def overflows(self) -> int:
        """Blocks the sound card reported as overrun (lost input), a sign the machine is too busy."""
        return self._overflows

    def level(self) -> MeterReading:
        """For the level meter; call it at the meter's refresh rate."""
        with self._lock:
            peak, self._peak_since_read = self._peak_since_read, 0.0
            rms = self._last_level.rms
        return MeterReading(peak, rms, peak >= 0.999)

    # ---- control ------------------------------------------------------------------
    def _native_rate(self) -> int:
        if self._requested_rate is not None:
            return int(self._requested_rate)
        sd = _sounddevice()
        try:
            info = sd.query_devices(self.device, "input")
        except (sd.PortAudioError, ValueError) as exc:
            which = "the default input" if self.device is None else f"input device '{self.device}'"
            raise RecordingUnavailable(f"recording unavailable: {which} was not found ({exc})") from exc
        return int(round(info["default_samplerate"]))

    def start(self) -> None:
        """Open the device and the file and start recording. Raises RecordingUnavailable or AudioError."""
        if self._state is not RecorderState.IDLE:
            raise RuntimeError("a Recorder records once; make a new one for the next take")
        if self.path.exists():
            raise AudioError(f"'{self.path.name}' already exists; recordings never overwrite a file")
        self.sample_rate = self._native_rate()
        self._max_frames = int(self.max_duration_s * self.sample_rate)
        try:
            self._file = sf.SoundFile(self.path, "w", samplerate=self.sample_rate, channels=1,
                                      subtype=self.subtype, format="WAV")
        except (OSError, sf.SoundFileRuntimeError) as exc:
            raise AudioError(f"Cannot create the recording file '{self.path}': {exc}") from exc
        self._writer = threading.Thread(target=self._write_loop, name="recording-writer", daemon=True)
        self._writer.start()
        self._state = RecorderState.RECORDING
        try:
            self._stream = self._open_stream()
            self._stream.start()
            self._started = True
        except BaseException:
            self._state = RecorderState.FAILED
            self._shutdown_writer()
            if self._written == 0:
                self.path.unlink(missing_ok=True)  # the empty file this call created
            raise

    def _open_stream(self) -> Any:
        kwargs = dict(samplerate=self.sample_rate, device=self.device, channels=1, dtype="float32",
                      callback=self.callback)
        if self._stream_factory is not None:
            return self._stream_factory(**kwargs)
        sd = _sounddevice()
        try:
            return sd.InputStream(**kwargs)
        except (sd.PortAudioError, ValueError) as exc:
            first_error = exc
        try:  # some devices only open in stereo: record both channels and mix them in the callback
            return sd.InputStream(**{**kwargs, "channels": 2})
        except (sd.PortAudioError, ValueError):
            raise RecordingUnavailable(
                f"recording unavailable: the input device could not be opened ({first_error})"
            ) from first_error

    def pause(self) -> None:
        if self._state is RecorderState.RECORDING:
            self._state = RecorderState.PAUSED

    def resume(self) -> None:
        if self._state is RecorderState.PAUSED:
            self._state = RecorderState.RECORDING

    def stop(self) -> RecordingResult:
        """Stop the device, write what is queued, close the file; returns what was recorded.
        Calling it again returns the same result."""
        if self._result is not None:
            return self._result
        if not self._started:
            raise RuntimeError("the recording was never started")
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # a vanished device must not keep the file from being finished
                pass
            finally:
                self._stream = None
        limit = self._state is RecorderState.LIMIT_REACHED
        self._shutdown_writer()
        self._state = RecorderState.STOPPED
        if self._writer_error is not None:
            raise AudioError(f"The recording could not be written to '{self.path}': {self._writer_error}. "
                             f"{self._written / self.sample_rate:.1f} s were saved.") from self._writer_error
        self._result = RecordingResult(self.path, self.sample_rate, self._written, self._overflows, limit)
        return self._result

    # ---- the sound card's thread ---------------------------------------------------
    def callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's input callback: meter, pause and length guard; the block is copied to the queue."""
        if status and getattr(status, "input_overflow", True):
            self._overflows += 1
        block = np.asarray(indata, dtype=np.float32)
        if block.ndim == 2:
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
        else:
            mono = block
        level = block_level(mono)
        with self._lock:
            self._last_level = level
            self._peak_since_read = max(self._peak_since_read, level.peak)
        if self._state is not RecorderState.RECORDING:
            return
        room = self._max_frames - self._accepted
        take = mono[: max(room, 0)]
        if take.size:
            self._queue.put(take.copy())
            self._accepted += take.size
        if self._accepted >= self._max_frames:
            self._state = RecorderState.LIMIT_REACHED

    # ---- the writer thread -----------------------------------------------------------
    def _write_loop(self) -> None:
        assert self._file is not None
        last_sync = time.monotonic()
        dirty = False
        try:
            while True:
                try:
                    block = self._queue.get(timeout=_FLUSH_INTERVAL_S / 2)
                except queue.Empty:
                    block = np.empty(0, dtype=np.float32)
                if block is None:
                    break
                if block.size:
                    self._file.write(block)
                    self._written += block.size
                    dirty = True
                if dirty and time.monotonic() - last_sync >= _FLUSH_INTERVAL_S:
                    self._file.flush()
                    last_sync, dirty = time.monotonic(), False
        except BaseException as exc:  # disk full, device removed: stop writing, report on stop()
            self._writer_error = exc
        finally:
            try:
                self._file.close()
            except (OSError, sf.SoundFileRuntimeError) as exc:
                self._writer_error = self._writer_error or exc

    def _shutdown_writer(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    def wait_until_written(self, timeout_s: float = 5.0) -> bool:
        """Wait until every accepted block is in the file; False if that did not happen in time."""
        deadline = time.monotonic() + timeout_s
        while self._written < self._accepted:
            if self._writer is None or not self._writer.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


def repair_recording(path: str | Path) -> int:
    """Give a recording left behind by a crash a proper header; returns its length in frames.

    The unfinished file is read (libsndfile recovers its length from the file size) and written
    again next to it, then swapped in.
    """
    source = Path(path)
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
        subtype = sf.info(str(source)).subtype
    except (OSError, sf.SoundFileRuntimeError) as exc:
        raise AudioError(f"'{source.name}' cannot be recovered: {exc}") from exc
    fixed = source.with_name(f".{source.name}.repaired")
    sf.write(fixed, data, rate, subtype=subtype, format="WAV")
    fixed.replace(source)
    return int(data.shape[0])
