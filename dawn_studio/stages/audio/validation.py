"""Is this decoded speech usable? Hard problems raise AudioError, doubtful ones become warnings.

DAWN renders one video frame per 40 ms of speech, so anything shorter than one frame cannot
produce a video (the reference crashes on it, bugs B18). There is no built-in length cap:
the reference silently renders only the first 8 s (``max_n_frames = 200``); here the caller
(the generation engine, which knows the model and the device) passes ``max_duration_s`` when
it has a limit, and the error states it. ``None`` lifts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...frame_rate import FPS, FRAME_MS
from ...progress import StepCallback
from .decoding import STUDIO_DECODING, DecodedAudio, DecodeOptions, decode_audio
from .errors import AudioError

# Below this peak level (dBFS) the clip is treated as silence.
SILENCE_PEAK_DBFS = -60.0
# Clipping warning: this many flat-topped runs at full scale, or this share of full-scale samples.
CLIPPING_MIN_RUNS = 3
CLIPPING_MIN_SHARE = 0.001
# Decoding less than this share of the duration the container announces means parts are missing.
INCOMPLETE_SHARE = 0.9


@dataclass(frozen=True)
class AudioWarning:
    """A problem worth telling the user about that does not stop generation."""

    code: str  # "silent", "clipping", "incomplete", "damaged"
    message: str


@dataclass(frozen=True)
class SpeechInput:
    """Decoded speech that passed the checks, with the warnings to show."""

    audio: DecodedAudio
    warnings: tuple[AudioWarning, ...]


def clock_text(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss`` for messages."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def video_frame_count(num_samples: int, sample_rate: int, fps: int = FPS) -> int:
    """Frames of video the speech drives, computed as the reference does: ``int(N / rate * fps)``."""
    return int(num_samples / sample_rate * fps)


def check_speech(audio: DecodedAudio, *, max_duration_s: float | None = None) -> list[AudioWarning]:
    """Raise AudioError if ``audio`` cannot drive a video; return the warnings otherwise."""
    name = audio.info.path.name
    frame_ms = FRAME_MS
    if video_frame_count(audio.num_samples, audio.sample_rate) < 1:
        raise AudioError(
            f"'{name}' is only {audio.duration_s * 1000:.0f} ms long, shorter than one video frame "
            f"({frame_ms} ms). Use a longer recording."
        )
    if max_duration_s is not None and audio.duration_s > max_duration_s:
        raise AudioError(
            f"'{name}' is {clock_text(audio.duration_s)} long; with the current model and compute device "
            f"at most {clock_text(max_duration_s)} can be rendered. Trim the speech or choose a device "
            "with more memory."
        )
    warnings: list[AudioWarning] = []
    stats = audio.stats
    if stats.peak_dbfs < SILENCE_PEAK_DBFS:
        warnings.append(AudioWarning(
            "silent",
            f"'{name}' appears to be silent (loudest sample {stats.peak_dbfs:.0f} dBFS): the face will "
            "barely move. Check the microphone or the file.",
        ))
    total = max(stats.frames * stats.channels, 1)
    if stats.clipped_runs >= CLIPPING_MIN_RUNS or stats.full_scale_samples / total >= CLIPPING_MIN_SHARE:
        warnings.append(AudioWarning(
            "clipping",
            f"'{name}' is clipped ({stats.clipped_runs} places hit full scale): distortion can make lip "
            "movements less accurate. Record again with a lower input level if you can.",
        ))
    stated = audio.info.duration_s
    if stated is not None and audio.duration_s < INCOMPLETE_SHARE * stated - 0.1:
        warnings.append(AudioWarning(
            "incomplete",
            f"Only {clock_text(audio.duration_s)} of the {clock_text(stated)} that '{name}' announces could be "
            "decoded; the file may be damaged or cut short.",
        ))
    if stats.damaged_packets:
        warnings.append(AudioWarning(
            "damaged",
            f"'{name}' has {stats.damaged_packets} damaged part(s) that were skipped; there may be short "
            "gaps in the sound.",
        ))
    return warnings


def load_speech(
    path: str | Path, options: DecodeOptions = STUDIO_DECODING, *, max_duration_s: float | None = None,
    progress: StepCallback | None = None, cancel: Callable[[], bool] | None = None,
) -> SpeechInput:
    """Decode ``path`` to 16-kHz mono and check it: the one call the engine and the UI need."""
    audio = decode_audio(path, options, progress=progress, cancel=cancel)
    return SpeechInput(audio, tuple(check_speech(audio, max_duration_s=max_duration_s)))
