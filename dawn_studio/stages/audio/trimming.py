"""Cut a start/end selection out of a clip into a new WAV file; the source is never modified.

The selection is decoded at the source's own rate and channels and written losslessly
(16-bit sources stay 16-bit PCM, everything else becomes float WAV, so a lossy source is not
quantised again). The new file is written under a temporary name and renamed at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av.error
import numpy as np
import soundfile as sf

from ...frame_rate import FPS, FRAME_MS
from ...progress import Cancelled
from .decoding import frame_to_float, open_audio_container
from .errors import AudioError


@dataclass(frozen=True)
class TrimmedClip:
    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def trim_samples(samples: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> np.ndarray:
    """Samples (first axis = time) between ``start_s`` and ``end_s``, clamped to the signal."""
    begin, stop = _selection(samples.shape[0], sample_rate, start_s, end_s)
    return samples[begin:stop]


def _selection(total: int | None, sample_rate: int, start_s: float, end_s: float) -> tuple[int, int]:
    if not (np.isfinite(start_s) and np.isfinite(end_s)) or start_s < 0 or end_s <= start_s:
        raise AudioError(f"Invalid selection {start_s:.3f}–{end_s:.3f} s: the end must come after the start")
    begin = int(round(start_s * sample_rate))
    stop = int(round(end_s * sample_rate))
    if total is not None:
        if begin >= total:
            raise AudioError(f"The selection starts at {start_s:.2f} s, after the end of the clip "
                             f"({total / sample_rate:.2f} s)")
        stop = min(stop, total)
    if (stop - begin) * FPS < sample_rate:
        raise AudioError(f"The selection is shorter than one video frame ({FRAME_MS} ms)")
    return begin, stop


def _subtype(sample_format: str) -> str:
    return "PCM_16" if sample_format in ("s16", "s16p", "u8", "u8p") else "FLOAT"


def trim_audio_file(
    source: str | Path, destination: str | Path, start_s: float, end_s: float, *,
    cancel: Callable[[], bool] | None = None,
) -> TrimmedClip:
    """Write ``[start_s, end_s)`` of ``source``'s first audio stream to the new WAV ``destination``.

    Refuses to overwrite an existing file (the source included). Decoding stops as soon as the
    selection is complete.
    """
    src, dst = Path(source), Path(destination)
    if dst.exists():
        raise AudioError(f"'{dst.name}' already exists; choose a new name for the trimmed clip")
    if dst.suffix.lower() != ".wav":
        raise AudioError("The trimmed clip is saved as WAV; give the new file a .wav name")
    if not dst.parent.is_dir():
        raise AudioError(f"Folder not found: {dst.parent}")
    container, stream = open_audio_container(src)
    rate = int(stream.codec_context.sample_rate or 0)
    if rate <= 0:
        container.close()
        raise AudioError(f"'{src.name}' does not state its sample rate")
    begin, stop = _selection(None, rate, start_s, end_s)
    partial = dst.with_name(f".{dst.name}.partial")
    position = written = 0
    out: sf.SoundFile | None = None
    try:
        with container:
            for packet in container.demux(stream):
                if position >= stop:
                    break
                if cancel is not None and cancel():
                    raise Cancelled()
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue  # a damaged packet: skipped, as when decoding for generation
                for frame in frames:
                    block = frame_to_float(frame)
                    lo, hi = max(begin - position, 0), min(stop - position, block.shape[1])
                    if out is None:
                        out = sf.SoundFile(partial, "w", samplerate=frame.sample_rate, channels=block.shape[0],
                                           subtype=_subtype(frame.format.name), format="WAV")
                    if hi > lo:
                        out.write(block[:, lo:hi].T)
                        written += hi - lo
                    position += block.shape[1]
        if out is None or written == 0:
            raise AudioError(f"The selection starts at {start_s:.2f} s, after the end of '{src.name}'")
        channels = out.channels
        out.close()
        out = None
        if (written * FPS) < rate:
            raise AudioError(f"The selection is shorter than one video frame ({FRAME_MS} ms)")
        os.replace(partial, dst)
    except (OSError, sf.SoundFileRuntimeError) as exc:
        raise AudioError(f"Could not write '{dst}': {exc.strerror or exc}") from exc
    finally:
        if out is not None:
            out.close()
        if partial.exists():
            partial.unlink()
    return TrimmedClip(dst, rate, channels, written)
