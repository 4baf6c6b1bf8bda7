"""HuBERT speech features at video rate, computed exactly as the reference does (preprocessing.md B3–B5).

1. Whole-clip normalisation ``(x − mean) / sqrt(var + 1e−7)`` in float32 (once, before chunking).
2. Independent forward passes over 20-s chunks of 320 080 samples every 320 000 samples, then the
   tail if it has at least one receptive field (400 samples); the frames are concatenated and
   zero-padded or truncated to ``(N − 80) // 320`` (50 Hz).
3. Linear interpolation (align-corners, like scipy ``interp1d``) to ``int(N / 16000 · 25)`` frames.

The signal is normalised chunk by chunk and the interpolation consumes each chunk's frames as
they arrive, so an hour of speech needs only the 25-fps result (90 000 × 1024 float32) in memory,
not the 50-Hz frames as well. Progress is reported per chunk and cancellation is checked between
chunks. One deviation: 400–719 samples give a single HuBERT frame, which the reference cannot
interpolate (scipy needs two points) — here every video frame takes that one frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ...frame_rate import FPS
from ...progress import Cancelled, StepCallback, report
from .errors import AudioError
from .hubert_model import HubertEncoder, frame_geometry
from .validation import video_frame_count

NORMALISATION_EPSILON = 1e-7
_STATS_BLOCK = 1 << 22


@dataclass(frozen=True)
class ChunkingSpec:
    """The reference's long-audio chunking: ``kernel``/``stride`` of the conv front end, chunk length."""

    kernel: int = 400
    stride: int = 320
    clip_length: int = 320 * 1000

    def __post_init__(self) -> None:
        if not 0 < self.stride <= self.kernel <= self.clip_length:
            raise ValueError("chunking needs 0 < stride <= kernel <= clip_length")


REFERENCE_CHUNKING = ChunkingSpec()


def hubert_frame_count(num_samples: int, spec: ChunkingSpec = REFERENCE_CHUNKING) -> int:
    """Frames one pass over the whole signal would give: ``(N − (kernel − stride)) // stride``."""
    return max(0, (num_samples - (spec.kernel - spec.stride)) // spec.stride)


def chunk_segments(num_samples: int, spec: ChunkingSpec = REFERENCE_CHUNKING) -> list[tuple[int, int]]:
    """``[start, end)`` sample ranges of the model calls, in order, as the reference makes them."""
    clip = spec.clip_length
    full_chunks = num_samples // clip
    span = clip - spec.stride + spec.kernel
    segments = [(i * clip, min(i * clip + span, num_samples)) for i in range(full_chunks)]
    tail_start = full_chunks * clip
    if num_samples - tail_start >= spec.kernel:
        segments.append((tail_start, num_samples))
    return segments


def normalisation_stats(samples: np.ndarray) -> tuple[float, float]:
    """Mean and population variance of the whole clip, accumulated in float64 blocks (the feature
    extractor uses float32 NumPy reductions; the results agree to float32 rounding)."""
    count = samples.shape[0]
    total = 0.0
    for start in range(0, count, _STATS_BLOCK):
        total += float(np.sum(samples[start:start + _STATS_BLOCK], dtype=np.float64))
    mean = total / count
    squares = 0.0
    for start in range(0, count, _STATS_BLOCK):
        block = np.asarray(samples[start:start + _STATS_BLOCK], dtype=np.float64) - mean
        squares += float(np.dot(block, block))
    return mean, squares / count


def normalise(samples: np.ndarray, mean: float, variance: float) -> np.ndarray:
    """``(x − mean) / sqrt(var + 1e−7)`` with the feature extractor's float32 arithmetic."""
    scale = np.sqrt(np.float32(variance) + np.float32(NORMALISATION_EPSILON), dtype=np.float32)
    return (np.asarray(samples, dtype=np.float32) - np.float32(mean)) / scale


class FrameInterpolator:
    """Linear interpolation of ``hidden_frames`` frames onto ``num_frames`` evenly spaced positions
    (first and last frames map exactly, like ``interp1d(arange(T), h)(linspace(0, T−1, F))``),
    fed frame blocks in order, so the whole 50-Hz sequence never has to be held."""

    def __init__(self, hidden_frames: int, num_frames: int, width: int) -> None:
        if hidden_frames < 1 or num_frames < 1:
            raise ValueError("interpolation needs at least one input and one output frame")
        self.hidden_frames = hidden_frames
        self.output = np.zeros((num_frames, width), dtype=np.float32)
        self._positions = np.linspace(0, hidden_frames - 1, num_frames)
        # interp1d's bracketing: hi = first index >= position, clipped to [1, T-1]; lo = hi - 1.
        hi = np.clip(np.searchsorted(np.arange(hidden_frames), self._positions, side="left"), 1,
                     max(hidden_frames - 1, 1))
        self._hi = hi if hidden_frames > 1 else np.zeros(num_frames, dtype=np.int64)
        self._lo = self._hi - 1 if hidden_frames > 1 else self._hi
        self._buffer = np.zeros((0, width), dtype=np.float32)
        self._buffer_start = 0
        self._received = 0
        self._next = 0

    def push(self, frames: np.ndarray) -> None:
        """Append the next 50-Hz frames; frames beyond ``hidden_frames`` are dropped (the reference truncates)."""
        frames = frames[: max(0, self.hidden_frames - self._received)]
        if frames.shape[0] == 0:
            return
        self._buffer = np.concatenate([self._buffer, frames.astype(np.float32, copy=False)])
        self._received += frames.shape[0]
        self._emit()

    def finish(self) -> np.ndarray:
        """Zero-pad any missing trailing frames (as the reference does) and return ``(num_frames, width)``."""
        missing = self.hidden_frames - self._received
        if missing > 0:
            self.push(np.zeros((missing, self.output.shape[1]), dtype=np.float32))
        return self.output

    def _emit(self) -> None:
        ready = int(np.searchsorted(self._hi, self._received, side="left"))
        if ready > self._next:
            span = slice(self._next, ready)
            lo = self._lo[span] - self._buffer_start
            hi = self._hi[span] - self._buffer_start
            y_lo = self._buffer[lo]
            slope = (self._buffer[hi] - y_lo).astype(np.float64)
            offset = (self._positions[span] - self._lo[span])[:, None]
            self.output[span] = (slope * offset + y_lo).astype(np.float32)
            self._next = ready
        keep_from = int(self._lo[self._next]) if self._next < len(self._lo) else self._received
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start = keep_from


def interpolate_frames(hidden: np.ndarray, num_frames: int) -> np.ndarray:
    """``(T, D)`` 50-Hz frames → ``(num_frames, D)`` float32 by align-corners linear interpolation."""
    interpolator = FrameInterpolator(hidden.shape[0], num_frames, hidden.shape[1])
    interpolator.push(np.asarray(hidden, dtype=np.float32))
    return interpolator.finish()


@dataclass(frozen=True)
class SpeechFeatures:
    """HuBERT features at video rate plus how they were computed."""

    features: np.ndarray  # (num_frames, D) float32, 25 fps
    hidden_frames: int  # 50-Hz frames after the length fix-up (= (N - 80) // 320)
    segments: tuple[tuple[int, int], ...]  # [start, end) samples of each model call
    segment_frames: tuple[int, ...]  # frames each call returned
    hidden: np.ndarray | None = None  # (hidden_frames, D) float32, only when asked for

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def _chunking_for(encoder: HubertEncoder, spec: ChunkingSpec | None) -> ChunkingSpec:
    field, hop = frame_geometry(encoder.model.config)
    if spec is None:
        return ChunkingSpec(kernel=field, stride=hop, clip_length=hop * 1000)
    if (spec.kernel, spec.stride) != (field, hop):
        raise ValueError(f"chunking kernel/stride {spec.kernel}/{spec.stride} do not match the model's "
                         f"receptive field/hop {field}/{hop}")
    return spec


@torch.inference_mode()
def extract_speech_features(
    encoder: HubertEncoder, samples: np.ndarray, *, sample_rate: int = 16_000, fps: int = FPS,
    chunking: ChunkingSpec | None = None, keep_hidden: bool = False,
    progress: StepCallback | None = None, cancel: Callable[[], bool] | None = None,
) -> SpeechFeatures:
    """HuBERT ``last_hidden_state`` of mono ``samples`` at 16 kHz, resampled to ``fps`` frames per second.

    Runs on the encoder's device and dtype (move it with ``encoder.to``); results are float32 on the
    CPU. ``samples`` may be a memory map. ``progress(chunks_done, chunks_total)`` after each chunk;
    ``cancel()`` returning True raises ``Cancelled`` before the next one.
    """
    expected_rate = int(encoder.feature_extractor.sampling_rate)
    if sample_rate != expected_rate:
        raise AudioError(f"Speech must be sampled at {expected_rate} Hz for HuBERT, not {sample_rate} Hz")
    if samples.ndim != 1:
        raise AudioError(f"Speech must be a mono signal, got an array of shape {tuple(samples.shape)}")
    spec = _chunking_for(encoder, chunking)
    count = int(samples.shape[0])
    num_frames = video_frame_count(count, sample_rate, fps)
    hidden_frames = hubert_frame_count(count, spec)
    segments = chunk_segments(count, spec)
    if num_frames < 1 or not segments or hidden_frames < 1:
        raise AudioError(f"The speech is only {count / sample_rate * 1000:.0f} ms long, shorter than one "
                         f"video frame ({1000 / fps:.0f} ms)")
    do_normalize = bool(encoder.feature_extractor.do_normalize)
    mean, variance = normalisation_stats(samples) if do_normalize else (0.0, 0.0)
    encoder.model.eval()  # training mode would mask time steps (SpecAugment) and drop layers
    device, dtype = encoder.device, encoder.dtype
    interpolator = FrameInterpolator(hidden_frames, num_frames, encoder.feature_size)
    kept: list[np.ndarray] = []
    produced: list[int] = []
    report(progress, 0, len(segments))
    for index, (start, end) in enumerate(segments):
        if cancel is not None and cancel():
            raise Cancelled()
        values = samples[start:end]
        chunk = torch.from_numpy(normalise(values, mean, variance) if do_normalize
                                 else np.array(values, dtype=np.float32))
        output = encoder.model(input_values=chunk[None].to(device=device, dtype=dtype))
        frames = output.last_hidden_state[0].float().cpu().numpy()
        produced.append(int(frames.shape[0]))
        interpolator.push(frames)
        if keep_hidden:
            kept.append(frames)
        report(progress, index + 1, len(segments))
    if abs(sum(produced) - hidden_frames) > 1:
        raise AudioError(f"HuBERT returned {sum(produced)} frames where {hidden_frames} were expected; "
                         "the model's configuration does not match its weights")
    hidden = None
    if keep_hidden:
        hidden = np.zeros((hidden_frames, encoder.feature_size), dtype=np.float32)
        joined = np.concatenate(kept)[:hidden_frames]
        hidden[: joined.shape[0]] = joined
    return SpeechFeatures(interpolator.finish(), hidden_frames, tuple(segments), tuple(produced), hidden)
